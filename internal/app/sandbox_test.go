package app_test

import (
	"testing"
)

// TestServeSandbox is the README's first run in Slack:
// DIALOGTECH_SANDBOX=true with no DialogTech keys. The bot serves against
// the built-in simulator: an order is approved and its numbers shown, and
// nothing goes to the DialogTech URL.
func TestServeSandbox(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{
		"DIALOGTECH_SANDBOX":           "true",
		"DIALOGTECH_ACCESS_KEY":        "",
		"DIALOGTECH_SECRET_ACCESS_KEY": "",
	}})
	m := w.ask(requester, "/numbers order 312 2")
	w.click(approver, m, "Approve")
	w.updated(m.TS, "2 numbers ordered:")
	if n := len(w.sim.Calls()); n != 0 {
		t.Errorf("the DialogTech URL got %d calls; the sandbox should have taken them", n)
	}
	if w.logs.Count("sandbox: DialogTech is simulated; nothing is bought") != 1 {
		t.Errorf("serve did not say it runs against the sandbox:\n%s", w.logs.String())
	}
}
