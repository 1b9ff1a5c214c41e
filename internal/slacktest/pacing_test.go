package slacktest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestChannelPace(t *testing.T) {
	start := time.Now()
	var elapsed atomic.Int64
	advance := func(d time.Duration) { elapsed.Add(int64(d)) }
	srv := NewServer(t, WithClock(func() time.Time { return start.Add(time.Duration(elapsed.Load())) }))
	ctx := testContext(t)
	api := newAPI(srv, srv.BotToken())
	post := func(channel string) error {
		_, _, err := api.PostMessageContext(ctx, channel, slack.MsgOptionText("hi", false))
		return err
	}
	// want is the outcome of each post in turn: "" for posted, else
	// Retry-After.
	expect := func(t *testing.T, channel string, want ...time.Duration) {
		t.Helper()
		for i, w := range want {
			err := post(channel)
			var rl *slack.RateLimitedError
			switch {
			case w == 0 && err != nil:
				t.Fatalf("post %d to %s: %v, want it posted", i+1, channel, err)
			case w != 0 && (!errors.As(err, &rl) || rl.RetryAfter != w):
				t.Fatalf("post %d to %s: err = %v, want 429 with Retry-After %s", i+1, channel, err, w)
			}
		}
	}

	// A burst of 4, then one a second; each channel has its own pace.
	expect(t, "C1", 0, 0, 0, 0, time.Second, time.Second)
	expect(t, "C2", 0, 0, 0, 0, time.Second)
	advance(1500 * time.Millisecond)
	expect(t, "C1", 0, time.Second)
	advance(time.Hour) // an idle channel gets its burst back, no more
	expect(t, "C1", 0, 0, 0, 0, time.Second)

	if n := len(srv.Messages("C1")); n != 9 {
		t.Errorf("C1 holds %d messages, want 9: a 429 posts nothing", n)
	}
	for _, c := range srv.Calls("chat.postMessage") {
		if c.Status == 429 && c.Error != "ratelimited" {
			t.Errorf("a 429 said %q, want ratelimited", c.Error)
		}
	}
	if limited := srv.RateLimited("chat.postMessage"); limited != 5 {
		t.Errorf("%d calls answered 429, want 5", limited)
	}
	if r := srv.Refused(); len(r) != 0 {
		t.Errorf("Refused = %v: being paced is not a wrong request", r)
	}

	// A stricter pace, for a test that wants to see it.
	srv.SetChannelRate(1, 3*time.Second)
	expect(t, "C3", 0, 3*time.Second)
	advance(time.Second)
	expect(t, "C3", 2*time.Second)
	srv.SetChannelRate(0, 0) // back to one a second: 2 s hold 2 more
	advance(2 * time.Second)
	expect(t, "C3", 0, 0, time.Second)
}
