package bot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/secrettest"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// Across every way DialogTech can fail, no Slack message, reply, Web API
// argument or log line carries the DialogTech secret or a Slack token.
func TestNoSecretReachesSlackOrLogs(t *testing.T) {
	w := newWorld(t, options{})
	faults := []struct {
		name   string
		fault  dialogsim.Fault
		action string // "" = every action
	}{
		{"http 500", dialogsim.Fault{Status: 500}, ""},
		{"failure result echoing the key", dialogsim.Fault{FailResult: "bad request secret_access_key=" + dtSecret + "&access_key=" + dtAccess}, ""},
		{"dropped after read", dialogsim.Fault{DropAfterRead: true}, ""},
		{"dropped after execute", dialogsim.Fault{DropAfterExecute: true}, ""},
		{"too slow", dialogsim.Fault{Latency: 6 * time.Second}, dialog.ActionNumbersOrder}, // the client gives up after 5 s
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			w.sim.ClearFaults()
			m := w.ask(requester, "/numbers order 312 1")
			w.sim.InjectFault(f.action, f.fault)
			w.slash(requester, "/addons")
			w.slash(requester, "/call vr 1 3125550100")
			w.click(approver, m, "Approve")
			id := requestID(t, m)
			deadline := time.Now().Add(20 * time.Second)
			for {
				r, err := w.store.GetRequest(w.ctx(), id)
				if err == nil && r.State.Final() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("request %s never finished", id)
				}
				time.Sleep(20 * time.Millisecond)
			}
			w.updated(m.TS, "Approved")
		})
	}
	w.sim.ClearFaults()

	var texts []string
	for _, m := range append(w.slack.Messages(""), w.slack.Ephemerals("")...) {
		texts = append(texts, m.Text, string(m.Blocks))
	}
	for _, c := range w.slack.Calls("") {
		raw, _ := json.Marshal(c)
		texts = append(texts, string(raw))
	}
	texts = append(texts, w.logs.String())
	reqs := w.requests()
	for _, r := range reqs {
		raw, _ := json.Marshal(r)
		texts = append(texts, string(raw))
	}
	entries, _ := w.store.ListAudit(w.ctx(), 1000)
	for _, e := range entries {
		texts = append(texts, e.Detail)
	}
	secrettest.AssertNoSecret(t, []string{dtSecret, botToken, appToken}, texts...)

	// The failures were real: every request ended failed or unknown, and
	// people were told.
	states := map[store.State]int{}
	for _, r := range reqs {
		states[r.State]++
	}
	if states[store.StateSucceeded] != 0 || states[store.StateUnknown] == 0 || states[store.StateFailed] == 0 {
		t.Errorf("request states = %v; want failures and unknowns only", states)
	}
	if n := w.sim.CallCount(dialog.ActionNumbersOrder); n != len(faults) {
		t.Errorf("numbers.order calls = %d, want one per request (%d)", n, len(faults))
	}
	if _, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return strings.Contains(slacktest.TextOf(m), "DialogTech refused")
	}); err != nil {
		t.Errorf("nobody was told DialogTech refused: %v", err)
	}
}
