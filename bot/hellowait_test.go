package bot

import "time"

// SetHelloWait changes how long Start waits for hello, for tests of its
// bound.
func (b *Bot) SetHelloWait(d time.Duration) { b.helloWait = d }

// SetStartTimeout changes how long Start waits for each of Slack's
// answers, for tests of its bound.
func (b *Bot) SetStartTimeout(d time.Duration) { b.startTimeout = d }
