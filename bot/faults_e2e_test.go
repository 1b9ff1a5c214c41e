package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// TestIdenticalRequestPointedTo: "06" is item 6, so the second ask is the
// first one again, and the person is pointed to it.
func TestIdenticalRequestPointedTo(t *testing.T) {
	w := newWorld(t, options{})
	m := w.ask(requester, "/addons buy 6 2")
	id := requestID(t, m)
	again := responseText(w.slash(requester, "/addons buy 06 2"))
	if !strings.Contains(again, "You already asked for this: request "+id) {
		t.Errorf("second identical ask answered:\n%s", again)
	}
	if n := len(w.requests()); n != 1 {
		t.Errorf("%d requests stored, want 1", n)
	}
	// Something else is a new request.
	w.ask(requester, "/addons buy 6 3")
}

// TestRedeliveredCommandOneRequest: Slack delivers the same slash command
// envelope twice (its ack was late); the request is opened once.
func TestRedeliveredCommandOneRequest(t *testing.T) {
	w := newWorld(t, options{})
	d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/numbers", Text: "order 312 2", UserID: requester, ChannelID: channel})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitForResponse(w.ctx(), d, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.Redeliver(w.ctx(), d); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(w.requests()); n != 1 {
		t.Errorf("%d requests after a redelivery, want 1", n)
	}
}

// TestUnknownOutcomeResolved: a lost answer leaves the request unknown; it
// is listed under "needs checking" until an approver records what they
// found, then the message shows it and the audit log has it.
func TestUnknownOutcomeResolved(t *testing.T) {
	w := newWorld(t, options{})
	w.sim.InjectFault(dialog.ActionNumbersOrder, dialogsim.Fault{DropAfterExecute: true})
	m := w.ask(requester, "/numbers order 312 2")
	id := requestID(t, m)
	w.click(approver, m, "Approve")
	unknown := w.updated(m.TS, "Outcome unknown")
	w.waitState(id, store.StateUnknown)
	if _, ok := slacktest.FindButton(unknown, "It was not bought"); !ok {
		t.Fatalf("unknown outcome message has no resolve button: %+v", slacktest.ButtonsOf(unknown))
	}
	pending := responseText(w.slash(requester, "/addons pending"))
	if !strings.Contains(pending, "Needs checking") || !strings.Contains(pending, id) {
		t.Errorf("/addons pending does not list %s under needs checking:\n%s", id, pending)
	}
	// The requester may not record it; an order "bought" needs its numbers.
	if got := responseText(w.slash(requester, "/addons resolve "+id+" not-bought")); !strings.Contains(got, "Only approvers") {
		t.Errorf("resolve by the requester answered:\n%s", got)
	}
	if got := responseText(w.slash(approver, "/addons resolve "+id+" bought")); !strings.Contains(got, "needs the numbers") {
		t.Errorf("resolve bought without numbers answered:\n%s", got)
	}
	nums := w.sim.Ordered()
	if len(nums) != 2 {
		t.Fatalf("the simulator ordered %v, want 2 numbers", nums)
	}
	got := responseText(w.slash(approver2, "/addons resolve "+strings.ToLower(id)+" bought "+nums[0].Number+" "+nums[1].Number))
	if !strings.Contains(got, "Recorded: request "+id+" was bought") {
		t.Fatalf("resolve answered:\n%s", got)
	}
	done := w.updated(m.TS, "Checked: ordered")
	if text := slacktest.TextOf(done); !strings.Contains(text, dialog.FormatPhone(nums[0].Number)) || len(slacktest.ButtonsOf(done)) != 0 {
		t.Errorf("resolved message lacks the numbers or still has buttons:\n%s", text)
	}
	r := w.waitState(id, store.StateSucceeded)
	if o := approval.DecodeOutcome(r); len(o.Numbers) != 2 || o.Resolution == nil || o.Resolution.By != approver2 {
		t.Errorf("stored outcome %+v", o)
	}
	if pending := responseText(w.slash(requester, "/addons pending")); strings.Contains(pending, "Needs checking") {
		t.Errorf("/addons pending still lists it:\n%s", pending)
	}
	audit := responseText(w.slash(approver, "/addons audit"))
	if !strings.Contains(audit, "request.resolved") {
		t.Errorf("audit log lacks the resolution:\n%s", audit)
	}
	if n := buyingCalls(w.sim); n != 1 {
		t.Errorf("%d buying calls, want 1", n)
	}
}

// TestUnknownPurchaseResolvedByButton: for a purchase the message's button
// records it.
func TestUnknownPurchaseResolvedByButton(t *testing.T) {
	w := newWorld(t, options{})
	w.sim.InjectFault(dialog.ActionAddOnsPurchase, dialogsim.Fault{DropAfterExecute: true})
	m := w.ask(requester, "/addons buy 6 2")
	id := requestID(t, m)
	w.click(approver, m, "Approve")
	unknown := w.updated(m.TS, "Outcome unknown")
	w.click(requester, unknown, "It was not bought")
	w.ephemeral(requester, "Only approvers")
	w.click(approver2, unknown, "It was not bought")
	w.updated(m.TS, "Checked: not bought")
	w.waitState(id, store.StateFailed)
	w.ephemeral(approver2, "Recorded: request "+id+" was not bought")
}
