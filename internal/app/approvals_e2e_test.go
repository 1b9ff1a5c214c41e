package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

const (
	finance   = "S0FINANCE"
	member    = "U0MEMBER1"
	approver3 = "U0APPROV3"
)

// waitGroupReads waits until usergroups.users.list has been called n times.
func (w *world) waitGroupReads(n int) {
	w.t.Helper()
	if _, err := w.slack.WaitForCall(w.ctx(), "usergroups.users.list", n); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) groupReads() int { return len(w.slack.Calls("usergroups.users.list")) }

// told counts the ephemeral messages to user that contain want.
func (w *world) told(user, want string) int {
	n := 0
	for _, m := range w.slack.Ephemerals("") {
		if m.EphemeralTo == user && strings.Contains(slacktest.TextOf(m), want) {
			n++
		}
	}
	return n
}

// clickTold presses a button and waits for a new ephemeral reply to user
// containing want.
func (w *world) clickTold(user string, m slacktest.Message, label, want string) {
	w.t.Helper()
	before := w.told(user, want)
	w.click(user, m, label)
	deadline := time.Now().Add(10 * time.Second)
	for w.told(user, want) <= before {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s pressed %s and was not told %q", user, label, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// changeGroup announces new members of group and waits until the bot has
// handled the announcement.
func (w *world) changeGroup(group string, users ...string) {
	w.t.Helper()
	handled := w.logs.Count("user group changed")
	if _, err := w.slack.ChangeGroup(w.ctx(), group, users...); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.logs.Count("user group changed") <= handled {
		if time.Now().After(deadline) {
			w.t.Fatal("the bot never handled subteam_members_changed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) state(st store.Store, id string) store.State {
	w.t.Helper()
	r, err := st.GetRequest(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.State
}

// TestApproverGroup: a member of an approver group approves; a non-member
// is refused; taking them out of the group (Slack's event, or the next
// scheduled read) revokes it; Slack failing to answer keeps the last
// membership it gave.
func TestApproverGroup(t *testing.T) {
	w := newWorld(t, options{
		env: map[string]string{"APPROVERS": approver, "APPROVER_GROUPS": finance, "GROUP_REFRESH_INTERVAL": "150ms"},
		workspace: func(s *slacktest.Server) {
			s.SetGroup(finance, member, approver2)
		},
	})
	st := w.openStore()
	w.waitGroupReads(1)

	// A member approves; someone outside the group is refused.
	m := w.ask(requester, "/addons buy 6 1")
	w.clickTold(outsider, m, "Approve", "Only approvers")
	if got := w.state(st, requestID(t, m)); got != store.StatePending {
		t.Fatalf("after an outsider's click the request is %s", got)
	}
	w.click(member, m, "Approve")
	if r := w.waitFinal(st, requestID(t, m)); r.State != store.StateSucceeded || r.DecidedBy != member {
		t.Fatalf("member's approval: %s by %s", r.State, r.DecidedBy)
	}

	// Slack says the member left: refused at once.
	m2 := w.ask(requester, "/addons buy 6 1")
	w.changeGroup(finance, approver2)
	w.clickTold(member, m2, "Approve", "Only approvers")
	if got := w.state(st, requestID(t, m2)); got != store.StatePending {
		t.Fatalf("after a removed member's click the request is %s", got)
	}

	// Back in the group without an event: the scheduled read brings them
	// back; then Slack stops answering and what it last said stands.
	w.slack.SetGroup(finance, member, approver2)
	w.waitGroupReads(w.groupReads() + 2)
	w.slack.Fail("usergroups.users.list", "internal_error", -1)
	failedFrom := w.groupReads()
	w.waitGroupReads(failedFrom + 2)
	for _, c := range w.slack.Calls("usergroups.users.list")[failedFrom:] {
		if c.Error != "internal_error" {
			t.Fatalf("usergroups.users.list answered %+v while failing", c)
		}
	}
	w.click(member, m2, "Approve")
	if r := w.waitFinal(st, requestID(t, m2)); r.State != store.StateSucceeded || r.DecidedBy != member {
		t.Fatalf("approval while Slack fails: %s by %s", r.State, r.DecidedBy)
	}

	// Removed with Slack still failing: the scheduled read cannot see it,
	// but the event's removal applies at once.
	m3 := w.ask(requester, "/addons buy 6 1")
	w.changeGroup(finance, approver2)
	w.clickTold(member, m3, "Approve", "Only approvers")
	if got := w.state(st, requestID(t, m3)); got != store.StatePending {
		t.Fatalf("after a removal announced while Slack fails, the request is %s", got)
	}
	w.slack.Fail("usergroups.users.list", "", 0)
	if n := w.sim.CallCount(dialog.ActionAddOnsPurchase); n != 2 {
		t.Errorf("addons.purchase calls = %d, want 2", n)
	}
}

// TestSecondApprover: above SECOND_APPROVAL_ABOVE=qty:10 two different
// approvers must approve, neither the requester; below it one does.
func TestSecondApprover(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{
		"APPROVERS":             strings.Join([]string{approver, approver2, approver3, requester}, ","),
		"ALLOW_SELF_APPROVAL":   "true",
		"SECOND_APPROVAL_ABOVE": "qty:10",
		"WORKERS":               "8",
	}})
	st := w.openStore()
	purchases := func() int { return w.sim.CallCount(dialog.ActionAddOnsPurchase) }

	m := w.ask(requester, "/addons buy 6 20")
	id := requestID(t, m)
	if got := slacktest.TextOf(m); !strings.Contains(got, "0 of 2") {
		t.Errorf("request message does not say two approvals are needed:\n%s", got)
	}
	if b := button(t, m, "Approve"); !b.HasConfirm || !strings.Contains(string(m.Blocks), "First approval of 2?") {
		t.Errorf("first confirm dialog does not say it is the first approval: %s", m.Blocks)
	}

	// One approval: nothing at DialogTech, the message shows it.
	w.click(approver, m, "Approve")
	m = w.updated(m.TS, "1 of 2: approved by <@"+approver+">")
	if b := button(t, m, "Approve"); !b.HasConfirm || !strings.Contains(string(m.Blocks), "This is the final approval (2 of 2)") {
		t.Errorf("second confirm dialog does not say it is the final approval: %s", m.Blocks)
	}
	if n := purchases(); n != 0 {
		t.Fatalf("one approval of two made %d purchases", n)
	}
	// The same approver again counts once; the requester never counts.
	w.clickTold(approver, m, "Approve", "You already approved this request")
	w.clickTold(requester, m, "Approve", "two approvers other than the requester")
	time.Sleep(100 * time.Millisecond)
	if n, s := purchases(), w.state(st, id); n != 0 || s != store.StatePending {
		t.Fatalf("after a repeated and a self approval: %d purchases, request %s", n, s)
	}
	// The second approver buys, once.
	w.click(approver2, m, "Approve")
	if r := w.waitFinal(st, id); r.State != store.StateSucceeded || r.DecidedBy != approver2 {
		t.Fatalf("second approval: %s by %s", r.State, r.DecidedBy)
	}
	done := w.updated(m.TS, "Approvals")
	for _, who := range []string{approver, approver2} {
		if !strings.Contains(slacktest.TextOf(done), "<@"+who+">") {
			t.Errorf("bought message does not name %s:\n%s", who, slacktest.TextOf(done))
		}
	}
	if n := purchases(); n != 1 {
		t.Fatalf("purchases = %d, want 1", n)
	}

	// Deny after one approval ends it.
	m = w.ask(requester, "/addons buy 6 15")
	w.click(approver, m, "Approve")
	m = w.updated(m.TS, "1 of 2")
	w.deny(approver2, m, "one is enough")
	if r := w.waitFinal(st, requestID(t, m)); r.State != store.StateDenied {
		t.Fatalf("deny after one approval: %s", r.State)
	}
	w.clickTold(approver3, m, "Approve", "already denied")
	if n := purchases(); n != 1 {
		t.Fatalf("a denied request was bought: %d purchases", n)
	}

	// Two second approvers at once, each clicking ten times, and a
	// redelivered click: one buying call.
	w.sim.InjectFault(dialog.ActionAddOnsPurchase, dialogsim.Fault{Latency: 150 * time.Millisecond})
	m = w.ask(requester, "/addons buy 6 12")
	id = requestID(t, m)
	w.click(approver, m, "Approve")
	m = w.updated(m.TS, "1 of 2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first *slacktest.Delivery
	for _, user := range []string{approver2, approver3} {
		for range 10 {
			wg.Go(func() {
				d, err := w.slack.Press(context.Background(), user, m, "Approve")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if first == nil {
					first = d
				}
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if _, err := w.slack.Redeliver(w.ctx(), first); err != nil {
		t.Fatal(err)
	}
	w.waitFinal(st, id)
	time.Sleep(300 * time.Millisecond)
	if n := purchases(); n != 2 {
		t.Fatalf("concurrent second approvals made %d purchases in all, want 2 (one each)", n)
	}

	// Below the threshold one approval buys, as before.
	m = w.ask(requester, "/addons buy 6 10")
	w.click(approver, m, "Approve")
	if r := w.waitFinal(st, requestID(t, m)); r.State != store.StateSucceeded {
		t.Fatalf("below the threshold: %s", r.State)
	}
	if n := purchases(); n != 3 {
		t.Fatalf("purchases = %d, want 3", n)
	}
	// Each request DialogTech bought was bought once.
	var qtys []string
	for _, c := range w.sim.Calls() {
		if c.Action == dialog.ActionAddOnsPurchase {
			qtys = append(qtys, c.Params.Get("qty"))
		}
	}
	if got := strings.Join(qtys, ","); got != "20,12,10" {
		t.Errorf("purchases of quantities %s, want 20,12,10", got)
	}
}

// TestChecksBeforeAsking: an order the account has no slots for opens
// nothing and says how to fix it with the bot's commands; with --slots it
// opens. A request only its requester could approve is refused at once.
func TestChecksBeforeAsking(t *testing.T) {
	w := newWorld(t, options{})
	got := responseText(w.slash(requester, "/numbers order 2 --type true800"))
	for _, want := range []string{"/addons buy 18 2", "--slots", "Nothing was requested"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply lacks %q: %s", want, got)
		}
	}
	for _, api := range []string{"addons.purchase", "item_id=", "order_slot"} {
		if strings.Contains(got, api) {
			t.Errorf("reply names the API (%s): %s", api, got)
		}
	}
	st := w.openStore()
	if reqs, err := st.ListRequests(context.Background(), "", 0); err != nil || len(reqs) != 0 {
		t.Fatalf("requests after a refused order: %d, %v", len(reqs), err)
	}
	m := w.ask(requester, "/numbers order 2 --type true800 --slots")
	if !strings.Contains(slacktest.TextOf(m), "buy a slot per number") {
		t.Errorf("--slots request message: %s", slacktest.TextOf(m))
	}

	// DialogTech refusing after approval (the slots went meanwhile) is
	// shown in the bot's commands.
	m = w.ask(requester, "/numbers order 312 2")
	w.sim.SetAddOn(dialogsim.AddOn{ItemID: 6, Name: "Local Number", PurchasePrice: "0.00", MaxQtyPurchase: 500, IncludedQty: 3, TotalQty: 194, InUse: 194})
	w.click(approver, m, "Approve")
	if r := w.waitFinal(st, requestID(t, m)); r.State != store.StateFailed {
		t.Fatalf("order without slots: %s", r.State)
	}
	failed := slacktest.TextOf(w.updated(m.TS, "refused"))
	if !strings.Contains(failed, "/addons buy 6") || strings.Contains(failed, "addons.purchase") || strings.Contains(failed, "order_slot") {
		t.Errorf("refusal shown in API terms:\n%s", failed)
	}
}

func TestLoneApproverRefusedAtOnce(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{"APPROVERS": requester}})
	got := responseText(w.slash(requester, "/addons buy 6 1"))
	if !strings.Contains(got, "only approver") || !strings.Contains(got, "ALLOW_SELF_APPROVAL") || !strings.Contains(got, "Nothing was requested") {
		t.Errorf("reply = %q", got)
	}
	st := w.openStore()
	if reqs, _ := st.ListRequests(context.Background(), "", 0); len(reqs) != 0 {
		t.Fatalf("%d requests opened that nobody may approve", len(reqs))
	}
	// Someone else asking is fine: the lone approver can decide.
	w.ask(outsider, "/addons buy 6 1")
}

// TestReminderOnceAcrossReplicas: two bots on one store; a request left
// pending past APPROVAL_REMIND_AFTER gets exactly one reminder in its
// thread, naming the approvers.
func TestReminderOnceAcrossReplicas(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{"APPROVAL_REMIND_AFTER": "1s"}})
	w.startAnother()
	m := w.ask(requester, "/addons buy 6 1")
	if _, err := w.slack.WaitForMessage(w.ctx(), func(x slacktest.Message) bool {
		return x.ThreadTS == m.TS && strings.Contains(slacktest.TextOf(x), "Reminder")
	}); err != nil {
		t.Fatalf("no reminder: %v", err)
	}
	// Several more sweeps on both replicas.
	time.Sleep(2 * time.Second)
	var reminders []slacktest.Message
	for _, x := range w.slack.Thread(channel, m.TS) {
		if strings.Contains(slacktest.TextOf(x), "Reminder") {
			reminders = append(reminders, x)
		}
	}
	if len(reminders) != 1 {
		t.Fatalf("%d reminders, want 1", len(reminders))
	}
	text := slacktest.TextOf(reminders[0])
	for _, who := range []string{approver, approver2} {
		if !strings.Contains(text, "<@"+who+">") {
			t.Errorf("reminder does not mention %s: %s", who, text)
		}
	}
	if asked := text[strings.LastIndex(text, "waiting for a decision."):]; strings.Contains(asked, "<@"+requester+">") {
		t.Errorf("reminder asks the requester to decide: %s", text)
	}
}

// TestCallers: /call vr is for CALLERS, every placed call is audited with
// the phone masked, and numbers that are not North American are refused
// with the right form.
func TestCallers(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{"CALLERS": approver + "," + finance, "APPROVER_GROUPS": finance},
		workspace: func(s *slacktest.Server) { s.SetGroup(finance, member) }})
	w.waitGroupReads(1)
	calls := func() int { return w.sim.CallCount(dialog.ActionClickToVR) }
	got := responseText(w.slash(outsider, "/call vr 55443322 3125550100"))
	if !strings.Contains(got, "CALLERS") || calls() != 0 {
		t.Fatalf("outsider's call: %q, %d calls", got, calls())
	}
	for _, phone := range []string{"555-0100", "+44 20 7946 0958", "0005550100", "1234567890"} {
		got := responseText(w.slash(approver, "/call vr 55443322 "+phone))
		if !strings.Contains(got, "is not a North American phone number") || !strings.Contains(got, "(312) 555-0100") || !strings.Contains(got, "Usage: /call vr") {
			t.Errorf("%s: reply = %q", phone, got)
		}
	}
	if calls() != 0 {
		t.Fatalf("refused numbers made %d calls", calls())
	}
	if got := responseText(w.slash(approver, "/call vr 55443322 (312) 555-0100")); !strings.Contains(got, "connected") {
		t.Fatalf("caller's call: %q", got)
	}
	if got := responseText(w.slash(member, "/call vr 55443322 +1 646 555 0199")); !strings.Contains(got, "connected") {
		t.Fatalf("group member's call: %q", got)
	}
	if calls() != 2 {
		t.Fatalf("%d calls, want 2", calls())
	}
	audit := responseText(w.slash(approver, "/addons audit"))
	for _, want := range []string{
		fmt.Sprintf("<@%s>  call.result: menu 55443322, phone ******0100: connected", approver),
		fmt.Sprintf("<@%s>  call.requested: clickto.vr menu 55443322, phone ******0199", member),
	} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "3125550100") || strings.Contains(audit, "6465550199") {
		t.Errorf("audit shows a whole phone number:\n%s", audit)
	}
}

// startAnother runs a second replica of the bot: same settings, same
// store, its own Socket Mode connection.
func (w *world) startAnother() {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunServe(ctx, w.cfg, w.logs.Logger()) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				w.t.Errorf("second replica: %v", err)
			}
		case <-time.After(15 * time.Second):
			w.t.Error("second replica did not stop")
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := w.slack.WaitConnections(wctx, 2); err != nil {
		w.t.Fatalf("second replica did not connect: %v", err)
	}
}

// TestApproverGroupReadRevokes: without any event, the scheduled read of
// the group revokes a member Slack no longer lists.
func TestApproverGroupReadRevokes(t *testing.T) {
	w := newWorld(t, options{
		env:       map[string]string{"APPROVERS": approver, "APPROVER_GROUPS": finance, "GROUP_REFRESH_INTERVAL": "100ms"},
		workspace: func(s *slacktest.Server) { s.SetGroup(finance, member) },
	})
	st := w.openStore()
	w.waitGroupReads(1)
	m := w.ask(requester, "/addons buy 6 1")
	w.slack.SetGroup(finance)
	// Reads are made one after another, and a read the emulator records
	// after the change was answered after it: once two are recorded, the
	// first of them has been applied.
	w.waitGroupReads(w.groupReads() + 2)
	w.clickTold(member, m, "Approve", "Only approvers")
	if got := w.state(st, requestID(t, m)); got != store.StatePending {
		t.Fatalf("after the member left the group the request is %s", got)
	}
	if n := w.sim.CallCount(dialog.ActionAddOnsPurchase); n != 0 {
		t.Errorf("addons.purchase calls = %d, want 0", n)
	}
}
