package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
	"github.com/slack-go/slack"
)

// kindAccount is DialogTech for the render audit: hostile add-on names,
// and the errors its calls may end with.
type kindAccount struct {
	addOns  []dialog.AddOn
	listErr error
	callErr error
}

func (a kindAccount) ListAddOns(context.Context) ([]dialog.AddOn, error) {
	return a.addOns, a.listErr
}
func (a kindAccount) CallVR(context.Context, string, string) error { return a.callErr }

// lostAnswers is a buyer whose every answer is lost: each approved request
// ends with its outcome unknown.
type lostAnswers struct{}

func (lostAnswers) PurchaseAddOn(context.Context, dialog.PurchaseRequest) (*dialog.PurchaseResult, error) {
	return nil, &dialog.UnknownOutcomeError{Action: "addons.purchase", Err: errors.New("read: connection reset")}
}
func (lostAnswers) OrderNumbers(context.Context, dialog.OrderRequest) (*dialog.OrderResult, error) {
	return nil, &dialog.UnknownOutcomeError{Action: "numbers.order", Err: errors.New("read: connection reset")}
}

// claimFails is a store whose claim of one request is not taken: its
// approval cannot be recorded.
type claimFails struct {
	store.Store
	id string
}

func (s claimFails) Transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error) {
	if id == s.id && to == store.StateExecuting {
		return nil, errors.New("database is locked")
	}
	return s.Store.Transition(ctx, id, from, to, t)
}

// rendered is one payload dialogbot sends, as Slack gets it.
type rendered struct {
	name  string
	msg   *reply.Message // chat.postMessage, chat.update, chat.postEphemeral, response_url
	view  any            // views.open, views.publish
	ack   any            // a view_submission ack, with the view it answers
	after any
}

// kinds collects what each test case renders.
type kinds struct {
	t    *testing.T
	list []rendered
}

func (k *kinds) msg(name string, m reply.Message) {
	for n := 2; k.named(name); n++ {
		name = fmt.Sprintf("%s #%d", strings.TrimSuffix(name, fmt.Sprintf(" #%d", n-1)), n)
	}
	k.list = append(k.list, rendered{name: name, msg: &m})
}

func (k *kinds) named(name string) bool {
	for _, r := range k.list {
		if r.name == name {
			return true
		}
	}
	return false
}
func (k *kinds) view(name string, v any) { k.list = append(k.list, rendered{name: name, view: v}) }

// result adds every message a command or click makes: the reply, the
// channel post, the edits and the thread notices.
func (k *kinds) result(name string, res command.Result) {
	k.t.Helper()
	n := 0
	if res.Reply != nil {
		k.msg(name+" / reply", *res.Reply)
		n++
	}
	if res.Post != nil {
		k.msg(name+" / post", res.Post.Message)
		n++
	}
	for i, e := range res.Edits {
		k.msg(fmt.Sprintf("%s / edit %d", name, i), e.Message)
		n++
	}
	for i, e := range res.Threads {
		k.msg(fmt.Sprintf("%s / thread %d", name, i), e.Message)
		n++
	}
	if n == 0 && res.AskReason == "" {
		k.t.Errorf("%s: nothing rendered", name)
	}
}

// TestEveryKindSlackTakes renders every kind of payload dialogbot sends
// (request messages in every state, approvals in part, resolutions,
// reminders, every error reply, the lists, App Home with and without
// alerts, the deny dialog and its error ack) from hostile data, and checks
// each against the emulator's rules, for escaping (no mention or
// <!channel> from data; no cut through an entity, a mention or a
// character) and that the counts a list shows are true.
func TestEveryKindSlackTakes(t *testing.T) {
	ctx := context.Background()
	sq := hostileStore(t)
	addOns := hostileAddOns(100)
	var approvers []string
	for i := range 30 {
		approvers = append(approvers, fmt.Sprintf("U0APPR%03d", i))
	}
	const alice, bob, requester, outsider = "U0APPR000", "U0APPR001", "U0REQUEST", "U0OUTSIDE"
	policy := approval.Policy{Approvers: approvers, TTL: time.Hour, SecondAbove: approval.Threshold{Qty: 3}}
	account := kindAccount{addOns: addOns}
	approvals := approval.New(sq, lostAnswers{}, policy)
	lines := make([]string, 40)
	for i := range lines {
		// As the alerts make them (internal/app tests the real ones):
		// DialogTech's name cleaned, a real mention of who snoozed.
		lines[i] = reply.Clean(hostile(400)) + " (snoozed by " + reply.Mention("U0SNOOZER") + ")"
	}
	h := command.New(account, approvals, command.WithAlerts(hostileAlerts{lines}), command.WithCallers([]string{requester}, nil))

	var k kinds
	k.t = t
	summary := func(i int) string { return fmt.Sprintf("buy %d × %s (item %d)", 5, reply.Clean(hostile(300)), i) }
	item := 0
	open := func(needed int, s, key string) *store.Request {
		t.Helper()
		item++
		r, err := approvals.Open(ctx, store.KindPurchase, dialog.PurchaseRequest{ItemID: item, Qty: 5}, s, requester, "C0ORDERS",
			approval.NeedingApprovals(needed), approval.WithKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if err := approvals.Posted(ctx, r.ID, "C0ORDERS", "1700000000."+strconv.Itoa(len(key))+key[len(key)-3:]); err != nil {
			t.Fatal(err)
		}
		r, err = approvals.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// 60 pending: every other one needs two approvals, every fourth has
	// one of them already.
	var pending []*store.Request
	for i := range 60 {
		needed := 1 + i%2
		r := open(needed, summary(i), fmt.Sprintf("p%03d", i))
		if i%4 == 1 {
			if _, err := approvals.Approve(ctx, r.ID, bob); err != nil {
				t.Fatal(err)
			}
		}
		pending = append(pending, r)
	}
	// 20 whose outcome is unknown (the buyer's answers are lost), one an
	// order.
	var unknown []*store.Request
	for i := range 20 {
		r := open(1, summary(100+i), fmt.Sprintf("u%03d", i))
		done, err := approvals.Approve(ctx, r.ID, alice)
		if err != nil || done.State != store.StateUnknown {
			t.Fatalf("approve %s: %v %v", r.ID, done, err)
		}
		unknown = append(unknown, done)
	}
	order, err := approvals.Open(ctx, store.KindOrder, dialog.OrderRequest{Search: "312", Quantity: 25, Type: dialog.Local}, "order 25 local numbers in 312 (all or nothing)", requester, "C0ORDERS", approval.WithKey("order"))
	if err != nil {
		t.Fatal(err)
	}
	if err := approvals.Posted(ctx, order.ID, "C0ORDERS", "1700000001.000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := approvals.Approve(ctx, order.ID, alice); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := sq.AppendAudit(ctx, store.AuditEntry{RequestID: pending[i].ID, Actor: alice, Event: "request.denied", Detail: hostile(500)}); err != nil {
			t.Fatal(err)
		}
	}

	// A request message and its decided message in every state.
	numbers := make([]string, 25)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("31255501%02d", i)
	}
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	base := store.Request{ID: "RHOSTILE0001", Kind: store.KindPurchase, Summary: "buy 5 × " + reply.Clean(hostile(1000)), RequesterID: requester,
		ChannelID: "C0ORDERS", MessageTS: "1.2", CreatedAt: at, ExpiresAt: at.Add(time.Hour), DecidedBy: alice, DecidedAt: at.Add(time.Minute),
		Reason: reply.Clean(hostile(command.MaxReason))}
	outcome := func(o approval.Outcome) json.RawMessage { b, _ := json.Marshal(o); return b }
	resolution := func(bought bool, n []string) *approval.Resolution {
		return &approval.Resolution{By: bob, At: at.Add(time.Hour), Bought: bought, Numbers: n}
	}
	states := []struct {
		name string
		mod  func(*store.Request)
	}{
		{"pending", func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StatePending, "", "" }},
		{"executing", func(r *store.Request) { r.State, r.Reason = store.StateExecuting, "" }},
		{"bought", func(r *store.Request) {
			r.State, r.Reason, r.Outcome = store.StateSucceeded, "", outcome(approval.Outcome{Description: hostile(2000)})
		}},
		{"ordered 25", func(r *store.Request) {
			r.Kind, r.State, r.Reason, r.Outcome = store.KindOrder, store.StateSucceeded, "", outcome(approval.Outcome{Numbers: numbers, Quantity: 25})
		}},
		{"ordered none", func(r *store.Request) {
			r.Kind, r.State, r.Reason, r.Outcome = store.KindOrder, store.StateSucceeded, "", outcome(approval.Outcome{})
		}},
		{"failed", func(r *store.Request) {
			r.State, r.Reason, r.Outcome = store.StateFailed, "", outcome(approval.Outcome{Error: hostile(3000)})
		}},
		{"not sent", func(r *store.Request) {
			r.State, r.Reason, r.Outcome = store.StateFailed, "", outcome(approval.Outcome{NotSent: true})
		}},
		{"unknown purchase", func(r *store.Request) { r.State, r.Reason = store.StateUnknown, "" }},
		{"unknown order", func(r *store.Request) { r.Kind, r.State, r.Reason = store.KindOrder, store.StateUnknown, "" }},
		{"resolved bought", func(r *store.Request) {
			r.State, r.Reason, r.Outcome = store.StateSucceeded, "", outcome(approval.Outcome{Resolution: resolution(true, nil)})
		}},
		{"resolved not bought", func(r *store.Request) {
			r.State, r.Reason, r.Outcome = store.StateFailed, "", outcome(approval.Outcome{Resolution: resolution(false, nil)})
		}},
		{"resolved ordered 25", func(r *store.Request) {
			r.Kind, r.State, r.Reason, r.Outcome = store.KindOrder, store.StateSucceeded, "", outcome(approval.Outcome{Numbers: numbers, Resolution: resolution(true, numbers)})
		}},
		{"denied", func(r *store.Request) { r.State = store.StateDenied }},
		{"denied, no reason", func(r *store.Request) { r.State, r.Reason = store.StateDenied, "" }},
		{"cancelled", func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StateCancelled, requester, "" }},
		{"expired", func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StateExpired, "", "" }},
	}
	usage := addOns[5]
	price := "$62.50 (5 × $12.50, pro-rated by DialogTech)"
	for _, s := range states {
		r := base
		s.mod(&r)
		k.msg("request message ("+s.name+")", command.RequestMessage(&r, &usage, price, approvers))
		k.msg("request message ("+s.name+"), 0 of 2", command.RequestMessage(&r, &usage, price, approvers, command.Progress{Needed: 2}))
		k.msg("request message ("+s.name+"), 1 of 2", command.RequestMessage(&r, &usage, price, approvers[1:], command.Progress{Needed: 2, ApprovedBy: []string{alice}}))
		k.msg("decided message ("+s.name+")", command.DecidedMessage(&r))
		k.msg("decided message ("+s.name+"), two approvals", command.DecidedMessage(&r, bob, alice))
		k.result("redraw ("+s.name+")", h.Expired([]*store.Request{&r}))
		k.msg("reminder ("+s.name+")", command.Reminder(&r, approvers))
		k.msg("reminder ("+s.name+"), nobody named", command.Reminder(&r, nil))
	}

	// The lists.
	k.msg("/addons list (100 add-ons)", command.AddOnsMessage(addOns, hostileAlerts{}.Forecasts(ctx, addOns)))
	k.msg("/addons list (none)", command.AddOnsMessage(nil, nil))
	k.msg("help", h.Help())
	for _, c := range h.Commands() {
		k.msg("help "+c.Name(), command.HelpMessage([]*command.Command{c}))
	}

	// Commands, as people type them, from each person.
	type typed struct{ cmd, text, user, key string }
	run := func(h *command.Handler, name string, in typed) command.Result {
		res := h.Handle(ctx, command.Invocation{Command: in.cmd, Text: in.text, UserID: in.user, ChannelID: "C0ORDERS", Key: in.key})
		k.result(name, res)
		return res
	}
	for _, in := range []typed{
		{"/addons", "", requester, ""},
		{"/addons", "list " + hostile(50), requester, ""},
		{"/addons", "pending", alice, ""},
		{"/addons", "pending", bob, ""},
		{"/addons", "pending", requester, ""},
		{"/addons", "pending", outsider, ""},
		{"/addons", "audit", alice, ""},
		{"/addons", "audit", requester, ""},
		{"/addons", "help", requester, ""},
		{"/addons", "buy help", requester, ""},
		{"/addons", hostile(400), requester, ""},
		{"/addons", hostile(600), requester, ""},
		{"/addons", "biy 6 2", requester, ""},
		{"/addons", "buy " + hostile(100), requester, ""},
		{"/addons", "buy 6", requester, ""},
		{"/addons", "buy 999 2", requester, ""},
		{"/addons", "buy 6 5000", requester, ""},
		{"/addons", "buy 6 2", requester, "b1"},
		{"/addons", "buy 6 2", requester, "b1"}, // the same delivery again: the request it opened
		{"/addons", "buy 6 5 receipt", requester, "b2"},
		{"/addons", "cancel " + hostile(60), requester, ""},
		{"/addons", "cancel", requester, ""},
		{"/addons", "cancel " + pending[2].ID, outsider, ""},
		{"/addons", "cancel " + pending[3].ID, requester, ""},
		{"/addons", "cancel " + pending[3].ID, requester, ""}, // already cancelled
		{"/addons", "resolve", alice, ""},
		{"/addons", "resolve " + unknown[0].ID + " " + hostile(20), alice, ""},
		{"/addons", "resolve " + unknown[0].ID + " bought", requester, ""},
		{"/addons", "resolve " + unknown[0].ID + " bought", alice, ""},
		{"/addons", "resolve " + unknown[0].ID + " not-bought", alice, ""}, // resolved already
		{"/addons", "resolve " + pending[4].ID + " bought", alice, ""},
		{"/addons", "resolve " + order.ID + " bought", alice, ""},
		{"/addons", "resolve " + order.ID + " bought " + strings.Join(numbers, " "), alice, ""},
		{"/numbers", "order 312 25 --partial --sms --slots --overlay --cleansed --distance 50", requester, "o1"},
		{"/numbers", "order 312 5", requester, "o2"},
		{"/numbers", "order " + hostile(200), requester, ""},
		{"/numbers", "buy 6 2", requester, ""},
		{"/numbers", "", requester, ""},
		{"/call", "vr " + hostile(100), requester, ""},
		{"/call", "vr 55443322 3125550100", requester, ""},
		{"/call", "vr 55443322 3125550100", outsider, ""},
		{"/addon", "", requester, ""},
		{"/" + hostile(30), "", requester, ""},
	} {
		run(h, fmt.Sprintf("%s %.40q by %s", in.cmd, in.text, in.user), in)
	}

	// Errors from DialogTech, in its own hostile words.
	for name, err := range map[string]error{
		"refused":    &dialog.APIError{Action: "addons.list", Result: "failed", Description: hostile(400)},
		"http":       &dialog.HTTPError{Action: "addons.list", StatusCode: 502, Body: hostile(200)},
		"malformed":  &dialog.MalformedResponseError{Action: "addons.list", Reason: hostile(200)},
		"unreached":  &dialog.TransportError{Action: "addons.list", Op: "dial", Err: errors.New(hostile(50))},
		"deadline":   fmt.Errorf("list: %w", context.DeadlineExceeded),
		"store":      errors.New(hostile(100)),
		"validation": &dialog.ValidationError{Param: "qty", Rule: hostile(100)},
	} {
		failing := command.New(kindAccount{listErr: err, callErr: err}, approvals)
		run(failing, "/addons when DialogTech fails: "+name, typed{"/addons", "", requester, ""})
		run(failing, "/call vr when DialogTech fails: "+name, typed{"/call", "vr 55443322 3125550100", requester, ""})
	}
	lost := command.New(kindAccount{addOns: addOns, callErr: &dialog.UnknownOutcomeError{Action: "clickto.vr"}}, approvals)
	run(lost, "/call vr, answer lost", typed{"/call", "vr 55443322 3125550100", requester, ""})
	// No room for the numbers: the slot add-on, named by DialogTech, is full.
	full := append([]dialog.AddOn(nil), addOns...)
	full[5].InUse = full[5].TotalQty
	noRoom := command.New(kindAccount{addOns: full}, approvals)
	run(noRoom, "/numbers order, no free slots", typed{"/numbers", "order 312 5", requester, ""})
	// Nobody could approve: one approver, a request needing two.
	few := command.New(account, approval.New(sq, lostAnswers{}, approval.Policy{Approvers: []string{alice}, SecondAbove: approval.Threshold{Qty: 1}}))
	run(few, "/addons buy, nobody could approve", typed{"/addons", "buy 6 5", requester, ""})
	none := command.New(account, approval.New(sq, lostAnswers{}, approval.Policy{}))
	run(none, "/addons buy, no approvers", typed{"/addons", "buy 6 5", requester, ""})
	k.result("deny, no approvers", none.Act(ctx, command.Action{ActionID: command.ActionDeny, Value: pending[5].ID, UserID: alice, ChannelID: "C0ORDERS"}))

	// Clicks.
	click := func(name, action, value, user string) command.Result {
		res := h.Act(ctx, command.Action{ActionID: action, Value: value, UserID: user, ChannelID: "C0ORDERS", MessageTS: "1700000000.1"})
		k.result(name, res)
		return res
	}
	click("approve, first of two", command.ActionApprove, pending[7].ID, alice)
	click("approve again by the same approver", command.ActionApprove, pending[7].ID, alice)
	click("approve, last of two (answer lost)", command.ActionApprove, pending[9].ID, alice)
	click("approve, one needed (answer lost)", command.ActionApprove, pending[10].ID, alice)
	click("approve, already unknown", command.ActionApprove, pending[10].ID, bob)
	click("approve own request", command.ActionApprove, pending[12].ID, requester)
	click("approve by an outsider", command.ActionApprove, pending[12].ID, outsider)
	click("approve a hostile value", command.ActionApprove, hostile(30), alice)
	click("approve a long value", command.ActionApprove, hostile(100), alice)
	click("approve a cancelled request", command.ActionApprove, pending[3].ID, alice)
	click("deny by an outsider", command.ActionDeny, pending[0].ID, outsider)
	click("deny a decided request", command.ActionDeny, pending[10].ID, alice)
	if res := h.Act(ctx, command.Action{ActionID: command.ActionDeny, Value: pending[0].ID, UserID: alice}); res.AskReason != pending[0].ID {
		t.Errorf("deny by an approver: %+v", res)
	}
	click("cancel from the reply", command.ActionCancel, pending[14].ID, requester)
	click("cancel by someone else", command.ActionCancel, pending[15].ID, alice)
	click("resolve bought (button)", command.ActionResolveBought, unknown[1].ID, alice)
	click("resolve not bought (button)", command.ActionResolveNotBought, unknown[2].ID, alice)
	click("resolve by a non-approver", command.ActionResolveNotBought, unknown[3].ID, requester)
	click("resolve a pending request", command.ActionResolveBought, pending[16].ID, alice)
	click("snooze, a bad value", command.ActionSnoozeDay, hostile(40), alice)
	click("request more, a bad value", command.ActionRequestMore, hostile(40), alice)
	click("request more", command.ActionRequestMore, "6|e3", alice)
	click("request more, no longer listed", command.ActionRequestMore, "4242|e3", alice)
	click("an unknown button", hostile(40), "x", alice)
	noAlerts := command.New(account, approvals)
	k.result("snooze with alerts off", noAlerts.Act(ctx, command.Action{ActionID: command.ActionSnoozeDay, Value: "addon:6|24h", UserID: alice}))
	notRecorded := command.New(account, approval.New(claimFails{sq, pending[18].ID}, lostAnswers{}, policy))
	k.result("approve, not recorded", notRecorded.Act(ctx, command.Action{ActionID: command.ActionApprove, Value: pending[18].ID, UserID: alice, ChannelID: "C0ORDERS"}))

	// A click after the request expired: the answer, the redraw and the
	// requester's notice.
	later := command.New(account, approval.New(sq, lostAnswers{}, policy, approval.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) })))
	k.result("approve an expired request", later.Act(ctx, command.Action{ActionID: command.ActionApprove, Value: pending[24].ID, UserID: alice, ChannelID: "C0ORDERS"}))

	// Deny's dialog, its submission and the answers to it.
	k.view("deny modal", denyModal(pending[20].ID, "C0ORDERS"))
	k.result("denied with a reason", h.Deny(ctx, pending[20].ID, alice, hostile(5000)))
	k.result("denied after one of two approvals", h.Deny(ctx, pending[21].ID, alice, ""))
	again := h.Deny(ctx, pending[20].ID, bob, hostile(100))
	if !again.Failed || again.Reply == nil {
		t.Fatalf("deny a denied request: %+v", again)
	}
	for name, text := range map[string]string{
		"decided already": again.Reply.Text,
		"busy":            "dialogbot is busy, nothing was denied, try again in a moment.",
		"panic":           "Something went wrong inside dialogbot; nothing was denied. Try again in a moment.",
		"hostile":         reply.Clean(hostile(3000)),
	} {
		k.list = append(k.list, rendered{name: "deny submission refused (" + name + ")", ack: submitErrors(text), after: denyModal(pending[20].ID, "C0ORDERS")})
	}

	// App Home, for each person, with alerts on and off.
	for _, user := range []string{alice, bob, requester, outsider} {
		m, err := h.Home(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		k.view("App Home for "+user, HomeTab(m))
		m, err = noAlerts.Home(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		k.view("App Home, alerts off, for "+user, HomeTab(m))
	}
	if m, err := command.New(kindAccount{}, approval.New(sq, nil, approval.Policy{Approvers: approvers})).Home(ctx, alice); err != nil {
		t.Fatal(err)
	} else {
		k.view("App Home, empty account", HomeTab(m))
	}

	// What the transport says itself.
	k.msg("internal error", internalError("/addons"))
	k.msg("internal error (click)", internalError(""))
	k.msg("deny again", denyAgain(pending[22].ID))
	k.msg("failed post", failedPost(errors.New("post: connection reset")))
	k.msg("failed post, not in channel", failedPost(slack.SlackErrorResponse{Err: "not_in_channel"}))
	k.msg("busy", busyMessage())

	// Check them all.
	seen := map[string]bool{}
	for _, r := range k.list {
		if seen[r.name] {
			t.Errorf("two payloads named %q", r.name)
		}
		seen[r.name] = true
		switch {
		case r.msg != nil:
			checkMessage(t, r.name, *r.msg)
			checkCounts(t, r.name, renderedText(t, Blocks(*r.msg)))
		case r.view != nil:
			checkView(t, r.name, r.view)
			raw, _ := json.Marshal(r.view)
			checkCounts(t, r.name, string(raw))
		case r.ack != nil:
			checkAck(t, r.name, r.ack, r.after)
		}
	}
	t.Logf("%d payloads checked", len(k.list))

	// What some of them say is true.
	byName := map[string]rendered{}
	for _, r := range k.list {
		byName[r.name] = r
	}
	for _, c := range []struct {
		name      string
		says, not []string
	}{
		{name: "request message (pending), 0 of 2", says: []string{"Approval needed (0 of 2)", "First approval of 2?", "and 10 more"}},
		{name: "request message (pending), 1 of 2", says: []string{"Approval needed (1 of 2)", "1 of 2: approved by <@U0APPR000>", "Final approval?"}},
		{name: "decided message (ordered 25)", says: []string{"25 numbers ordered", "(312) 555-0100", "(312) 555-0124"}},
		{name: "decided message (resolved ordered 25)", says: []string{"Checked: ordered", "(312) 555-0100", "(312) 555-0124"}},
		{name: "decided message (resolved not bought)", says: []string{"Checked: not bought"}, not: []string{"refused"}},
		{name: "redraw (resolved not bought) / thread 0", says: []string{"<@U0APPR001> checked DialogTech", "nothing was bought"}, not: []string{"refused", "gave no reason"}},
		{name: "redraw (resolved bought) / thread 0", says: []string{"<@U0APPR001> checked DialogTech", "bought"}, not: []string{"refused"}},
		{name: "redraw (resolved ordered 25) / thread 0", says: []string{"<@U0APPR001> checked DialogTech", "(312) 555-0124"}, not: []string{"no numbers"}},
		{name: "reminder (pending)", says: []string{"Reminder: request RHOSTILE0001", "and 10 more"}},
		{name: "approve, first of two / reply", says: []string{"counted (1 of 2)"}},
		{name: "approve an expired request / reply", says: []string{"expired"}},
		{name: "approve an expired request / edit 0", says: []string{"Expired"}},
		{name: "approve, first of two / edit 0", says: []string{"Approval needed (1 of 2)"}},
		{name: "/addons \"pending\" by U0APPR000 / reply", says: []string{"Pending requests (60)", "Needs checking (21)"}},
		{name: "/addon \"\" by U0REQUEST / reply", says: []string{"did you mean /addons?"}},
		{name: "/addons \"biy 6 2\" by U0REQUEST / reply", says: []string{"did you mean /addons buy?"}},
		{name: "/numbers \"buy 6 2\" by U0REQUEST / reply", says: []string{"/numbers order or /addons buy"}},
	} {
		r, ok := byName[c.name]
		if !ok {
			t.Errorf("no payload %q", c.name)
			continue
		}
		var raw []byte
		if r.msg != nil {
			raw, _ = json.Marshal(struct {
				Text   string
				Blocks []slack.Block
			}{Text(*r.msg), Blocks(*r.msg)})
		} else {
			raw, _ = json.Marshal(r.view)
		}
		var decoded any
		_ = json.Unmarshal(raw, &decoded)
		text := strings.Join(allTexts(decoded, nil), "\n")
		for _, w := range c.says {
			if !strings.Contains(text, w) {
				t.Errorf("%s: does not say %q:\n%s", c.name, w, text)
			}
		}
		for _, w := range c.not {
			if strings.Contains(text, w) {
				t.Errorf("%s: says %q, which is not so:\n%s", c.name, w, text)
			}
		}
	}

	// Lists say how many there are, and show or count every one.
	nowPending, err := approvals.Pending(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	nowUnknown, err := approvals.NeedsChecking(ctx, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range k.list {
		var text string
		wantPending, wantUnknown := len(nowPending), len(nowUnknown)
		switch {
		case strings.HasPrefix(r.name, "/addons \"pending\""):
			// Run before any other request was opened or resolved.
			text, wantPending, wantUnknown = renderedText(t, Blocks(*r.msg)), len(pending), len(unknown)+1
		case strings.HasPrefix(r.name, "App Home for"), strings.HasPrefix(r.name, "App Home, alerts off"):
			raw, _ := json.Marshal(r.view)
			text = string(raw)
		default:
			continue
		}
		checkListed(t, r.name, text, "Pending requests", wantPending, `…and (\d+) more requests? not shown`)
		checkListed(t, r.name, text, "Needs checking", wantUnknown, `…and (\d+) more (?:requests? )?that needs? checking`)
	}
	for _, r := range k.list {
		var text string
		switch {
		case r.name == "/addons list (100 add-ons)":
			text = renderedText(t, Blocks(*r.msg))
		case strings.HasPrefix(r.name, "App Home for"), strings.HasPrefix(r.name, "App Home, alerts off"):
			raw, _ := json.Marshal(r.view)
			text = string(raw)
		default:
			continue
		}
		for _, a := range addOns {
			if !strings.Contains(text, fmt.Sprintf("item_id %d ", a.ItemID)) {
				t.Errorf("%s: add-on %d not shown", r.name, a.ItemID)
			}
		}
	}
}

// renderedText is the JSON of blocks, where every text is.
func renderedText(t *testing.T, blocks []slack.Block) string {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

var (
	headingCount = regexp.MustCompile(`(Pending requests|Needs checking) \((\d+)\)`)
	moreCount    = regexp.MustCompile(`…and (\d+) more`)
)

// checkCounts fails when a payload says "…and N more" with N not positive.
func checkCounts(t *testing.T, name, text string) {
	t.Helper()
	for _, m := range moreCount.FindAllStringSubmatch(text, -1) {
		if n, _ := strconv.Atoi(m[1]); n <= 0 {
			t.Errorf("%s: says %q", name, m[0])
		}
	}
}

var requestID = regexp.MustCompile(`\bR[A-Z2-7]{11}\b`)

// checkListed checks a list of requests headed "<heading> (N)": the
// requests shown plus the "…and M more" line add up to N.
func checkListed(t *testing.T, name, text, heading string, want int, more string) {
	t.Helper()
	var n = -1
	for _, m := range headingCount.FindAllStringSubmatch(text, -1) {
		if m[1] == heading {
			n, _ = strconv.Atoi(m[2])
		}
	}
	if n < 0 {
		if want > 0 {
			t.Errorf("%s: no %q heading (%d to list)", name, heading, want)
		}
		return
	}
	if n != want {
		t.Errorf("%s: %q says %d, there are %d", name, heading, n, want)
	}
	// The part of the text after the heading, up to the next heading.
	i := strings.Index(text, heading+" (")
	part := text[i:]
	if j := headingCount.FindStringIndex(part[len(heading)+2:]); j != nil {
		part = part[:len(heading)+2+j[0]]
	}
	distinct := map[string]bool{}
	for _, id := range requestID.FindAllString(part, -1) {
		distinct[id] = true
	}
	shown := len(distinct)
	rest := 0
	if m := regexp.MustCompile(more).FindStringSubmatch(part); m != nil {
		rest, _ = strconv.Atoi(m[1])
	}
	if shown+rest != n {
		t.Errorf("%s: %q says %d, shows %d and counts %d more", name, heading, n, shown, rest)
	}
}

// checkAck validates a view_submission ack against the view it answers.
func checkAck(t *testing.T, name string, ack, view any) {
	t.Helper()
	a, err := json.Marshal(ack)
	if err != nil {
		t.Fatal(err)
	}
	v, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range slacktest.CheckSubmissionAck(a, v) {
		t.Errorf("%s: Slack would refuse it: %s (%s)", name, x, x.Rule)
	}
	checkRendered(t, name, a)
}
