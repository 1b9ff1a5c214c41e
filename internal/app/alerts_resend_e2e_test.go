package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// waitRefused waits until Slack has refused a call of method with code
// since n refusals.
func (w *alertWorld) waitRefused(method, code string, n int) {
	w.t.Helper()
	deadline := time.Now().Add(alertWait)
	for {
		rs := w.slack.Refusals()
		for _, r := range rs[min(n, len(rs)):] {
			if r.Method == method && r.Code == code {
				return
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("Slack never refused %s with %s: %+v", method, code, rs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestAlertNoticesRefusedThenSent: Slack answers ok:false (not_in_channel)
// to the escalation and later to the resolved note; each appears, once,
// when Slack takes posts again, and the message ends resolved without
// buttons.
func TestAlertNoticesRefusedThenSent(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100)
	w.start(nil)
	first := w.waitPost("Local Number")

	w.slack.RemoveBot(alertChan)
	n := len(w.slack.Refusals())
	w.setUsage(6, 100, 100)
	w.waitRefused("chat.postMessage", "not_in_channel", n)
	w.slack.AddBot(alertChan)
	w.waitReplies(first.TS, "critical", 1)

	w.slack.RemoveBot(alertChan)
	n = len(w.slack.Refusals())
	w.setUsage(6, 10, 100)
	w.waitRefused("chat.postMessage", "not_in_channel", n)
	w.slack.AddBot(alertChan)
	w.waitReplies(first.TS, "Resolved", 1)
	w.waitShows(first.TS, "Resolved")
	w.waitReads(3)
	if got := w.replies(first.TS, "critical"); len(got) != 1 {
		t.Errorf("%d escalation notes, want 1:\n%s", len(got), w.channelDump())
	}
	if got := w.replies(first.TS, "Resolved"); len(got) != 1 {
		t.Errorf("%d resolved notes, want 1:\n%s", len(got), w.channelDump())
	}
	if m, _ := w.slack.Message(alertChan, first.TS); len(slacktest.ButtonsOf(m)) != 0 || !strings.Contains(slacktest.TextOf(m), "Resolved") {
		t.Errorf("the message does not end resolved without buttons:\n%s", slacktest.TextOf(m))
	}
}
