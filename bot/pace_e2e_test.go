package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// TestDecisionsInOneBusyChannel decides several requests of one channel at
// once while Slack paces the channel at one post a second: every
// requester still gets the notice in their request's thread. Each post
// waits for the channel's turn and, after a 429, for its Retry-After,
// for as long as it takes; none is dropped after a fixed number of tries.
func TestDecisionsInOneBusyChannel(t *testing.T) {
	const n = 6
	w := newWorld(t, options{workers: n})
	var msgs []slacktest.Message
	for i := range n {
		msgs = append(msgs, w.ask(requester, fmt.Sprintf("/addons buy 6 %d", i+1)))
	}
	w.slack.SetChannelRate(1, time.Second)
	for _, m := range msgs {
		w.click(approver, m, "Approve")
	}
	for _, m := range msgs {
		if _, err := w.slack.WaitForMessage(w.ctx(), func(x slacktest.Message) bool {
			return x.ThreadTS == m.TS && strings.Contains(slacktest.TextOf(x), "<@"+requester+">")
		}); err != nil {
			t.Errorf("request %s: no notice in its thread: %v", requestID(t, m), err)
		}
		w.waitState(requestID(t, m), store.StateSucceeded)
	}
	limited := w.slack.RateLimited("chat.postMessage")
	if limited == 0 {
		t.Fatal("Slack paced no post: the test did not test the pace")
	}
	if got := len(w.slack.Messages(channel)); got != 2*n {
		t.Errorf("channel holds %d messages, want %d: %d requests and a notice each, none twice", got, 2*n, n)
	}
	t.Logf("%d notices through a channel paced at one a second; %d answers 429", n, limited)
}
