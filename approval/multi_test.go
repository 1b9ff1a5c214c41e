package approval_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
	"github.com/shopspring/decimal"
)

func (b *blinkStore) PutRule(ctx context.Context, id string, needed int) error {
	before, after := b.decide("putRule", "", "")
	if before {
		return errBlink
	}
	err := b.Store.PutRule(ctx, id, needed)
	if after && err == nil {
		return errBlink
	}
	return err
}

func (b *blinkStore) GetRule(ctx context.Context, id string) (*store.Rule, error) {
	if before, _ := b.decide("getRule", "", ""); before {
		return nil, errBlink
	}
	return b.Store.GetRule(ctx, id)
}

func (b *blinkStore) AddApproval(ctx context.Context, id, approver string, at time.Time, audit ...store.AuditEntry) error {
	before, after := b.decide("addApproval", "", "")
	if before {
		return errBlink
	}
	err := b.Store.AddApproval(ctx, id, approver, at, audit...)
	if after && err == nil {
		return errBlink
	}
	return err
}

var twoAbove10 = approval.Policy{Approvers: []string{"UA", "UB", "UC", "UR"}, AllowSelfApproval: true, TTL: time.Hour,
	SecondAbove: approval.Threshold{Qty: 10}}

// openTwo opens a request that needs two approvals.
func (f *fixture) openTwo(t *testing.T, requester string) *store.Request {
	t.Helper()
	f.opened++
	r, err := f.svc.Open(context.Background(), store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 10 + f.opened}, "buy some", requester, "C1",
		approval.NeedingApprovals(2))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNeeds(t *testing.T) {
	amount := func(s string) approval.Size {
		return approval.Size{Qty: 1, Amount: decimal.RequireFromString(s), AmountKnown: true}
	}
	tests := []struct {
		name string
		th   approval.Threshold
		size approval.Size
		want int
	}{
		{"never", approval.Threshold{}, approval.Size{Qty: 1000}, 1},
		{"qty above", approval.Threshold{Qty: 10}, approval.Size{Qty: 11}, 2},
		{"qty at", approval.Threshold{Qty: 10}, approval.Size{Qty: 10}, 1},
		{"amount above", approval.Threshold{Amount: decimal.NewFromInt(500)}, amount("500.01"), 2},
		{"amount at", approval.Threshold{Amount: decimal.NewFromInt(500)}, amount("500"), 1},
		{"amount unknown", approval.Threshold{Amount: decimal.NewFromInt(500)}, approval.Size{Qty: 1000}, 1},
		{"qty threshold ignores amount", approval.Threshold{Qty: 10}, amount("1000000"), 1},
	}
	for _, tt := range tests {
		if got := (approval.Policy{SecondAbove: tt.th}).Needs(tt.size); got != tt.want {
			t.Errorf("%s: Needs = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestTwoApprovals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, twoAbove10, nil)
	r := f.openTwo(t, "UR")
	got, err := f.svc.Approve(ctx, r.ID, "UA")
	if err != nil || got.State != store.StatePending || f.buyer.calls.Load() != 0 {
		t.Fatalf("first approval: %v, %v, %d calls", got, err, f.buyer.calls.Load())
	}
	if _, err := f.svc.Approve(ctx, r.ID, "UA"); !errors.Is(err, approval.ErrAlreadyApproved) {
		t.Errorf("same approver again: %v, want ErrAlreadyApproved", err)
	}
	_, err = f.svc.Approve(ctx, r.ID, "UR")
	const why = "you cannot approve your own request: it needs two approvers other than the requester"
	if !errors.Is(err, approval.ErrSelfApproval) || err.Error() != why {
		t.Errorf("requester (self-approval allowed): %v, want ErrSelfApproval saying %q", err, why)
	}
	if needed, by, _ := f.svc.Progress(ctx, r); needed != 2 || !slices.Equal(by, []string{"UA"}) {
		t.Errorf("progress = %d, %v", needed, by)
	}
	done, err := f.svc.Approve(ctx, r.ID, "UB")
	if err != nil || done.State != store.StateSucceeded || done.DecidedBy != "UB" || f.buyer.calls.Load() != 1 {
		t.Fatalf("second approval: %v, %v, %d calls", done, err, f.buyer.calls.Load())
	}
	want := []string{"request.created", "request.approval", "request.approval", "request.approved", "dialogtech.call", "dialogtech.result"}
	if got := events(t, f.st, r.ID); !slices.Equal(got, want) {
		t.Errorf("audit = %v, want %v", got, want)
	}

	// One Deny after an approval ends it.
	r = f.openTwo(t, "UR")
	if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Deny(ctx, r.ID, "UB", "no"); err != nil {
		t.Fatal(err)
	}
	var de *approval.DecidedError
	if _, err := f.svc.Approve(ctx, r.ID, "UC"); !errors.As(err, &de) || de.Request.State != store.StateDenied {
		t.Errorf("approval after deny: %v", err)
	}
	if f.buyer.calls.Load() != 1 {
		t.Errorf("buying calls = %d, want 1", f.buyer.calls.Load())
	}
}

// A removed approver's approval no longer counts.
func TestTwoApprovalsCountOnlyApprovers(t *testing.T) {
	ctx := context.Background()
	g := &groups{members: map[string][]string{"S1": {"UG"}}}
	p := approval.Policy{Approvers: []string{"UA"}, ApproverGroups: []string{"S1"}, TTL: time.Hour, SecondAbove: approval.Threshold{Qty: 10}}
	f := newFixture(t, p, nil)
	f.svc = approval.New(f.st, f.buyer, p, approval.WithGroups(g), approval.WithClock(func() time.Time { return f.now }))
	r := f.openTwo(t, "UR")
	if _, err := f.svc.Approve(ctx, r.ID, "UG"); err != nil {
		t.Fatal(err)
	}
	g.set("S1")
	if _, err := f.svc.Approve(ctx, r.ID, "UG"); !errors.Is(err, approval.ErrNotApprover) {
		t.Errorf("removed member: %v, want ErrNotApprover", err)
	}
	got, err := f.svc.Approve(ctx, r.ID, "UA")
	if err != nil || got.State != store.StatePending || f.buyer.calls.Load() != 0 {
		t.Fatalf("approval beside a revoked one: %v, %v, %d calls", got.State, err, f.buyer.calls.Load())
	}
}

// Every fault the single approval survives, on the last of two: nothing
// is bought on one approval, and the buying call is made once.
func TestTwoApprovalsUnderFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("rule unreadable", func(t *testing.T) {
		f, bs, _ := newBlinkFixture(t, twoAbove10)
		r := f.openTwo(t, "UR")
		bs.fail = func(op string, _, _ store.State) (bool, bool) { return op == "getRule", false }
		for _, u := range []string{"UA", "UB"} {
			if _, err := f.svc.Approve(ctx, r.ID, u); err == nil {
				t.Fatalf("approval by %s with the rule unreadable succeeded", u)
			}
		}
		if f.buyer.calls.Load() != 0 {
			t.Fatalf("bought with the rule unreadable: %d calls", f.buyer.calls.Load())
		}
	})
	t.Run("rule not stored", func(t *testing.T) {
		f, bs, _ := newBlinkFixture(t, twoAbove10)
		bs.fail = func(op string, _, _ store.State) (bool, bool) { return op == "putRule", false }
		if _, err := f.svc.Open(ctx, store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 20}, "buy", "UR", "C1", approval.NeedingApprovals(2)); err == nil {
			t.Fatal("Open succeeded without its rule")
		}
		if reqs, _ := f.st.ListRequests(ctx, "", 0); len(reqs) != 0 {
			t.Fatalf("%d requests opened without their rule", len(reqs))
		}
	})
	for _, tc := range []struct {
		name          string
		before, after bool
	}{{"approval not stored", true, false}, {"approval stored, answer lost", false, true}} {
		t.Run("final "+tc.name, func(t *testing.T) {
			f, bs, _ := newBlinkFixture(t, twoAbove10)
			r := f.openTwo(t, "UR")
			if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
				t.Fatal(err)
			}
			var once atomic.Bool
			bs.fail = func(op string, _, _ store.State) (bool, bool) {
				if op == "addApproval" && once.CompareAndSwap(false, true) {
					return tc.before, tc.after
				}
				return false, false
			}
			if _, err := f.svc.Approve(ctx, r.ID, "UB"); err == nil {
				t.Fatal("final approval with the store failing succeeded")
			}
			if f.buyer.calls.Load() != 0 {
				t.Fatalf("bought although the approval was not confirmed: %d calls", f.buyer.calls.Load())
			}
			// Slack delivers the click again (or the approver clicks again).
			done, err := f.svc.Approve(ctx, r.ID, "UB")
			if err != nil || done.State != store.StateSucceeded || f.buyer.calls.Load() != 1 {
				t.Fatalf("click again: %v, %v, %d calls", done, err, f.buyer.calls.Load())
			}
		})
	}
	t.Run("stopped between the last approval and the claim", func(t *testing.T) {
		f := newFixture(t, twoAbove10, nil)
		r := f.openTwo(t, "UR")
		if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
			t.Fatal(err)
		}
		// The process stored UB's approval and died before the claim.
		if err := f.st.AddApproval(ctx, r.ID, "UB", f.now); err != nil {
			t.Fatal(err)
		}
		restarted := approval.New(f.st, f.buyer, twoAbove10, approval.WithClock(func() time.Time { return f.now }))
		if _, err := restarted.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if f.buyer.calls.Load() != 0 {
			t.Fatal("the sweep bought a request nobody clicked through")
		}
		done, err := restarted.Approve(ctx, r.ID, "UB")
		if err != nil || done.State != store.StateSucceeded || f.buyer.calls.Load() != 1 {
			t.Fatalf("UB's click again after the restart: %v, %v, %d calls", done, err, f.buyer.calls.Load())
		}
	})
	t.Run("claim's answer lost", func(t *testing.T) {
		f, bs, _ := newBlinkFixture(t, twoAbove10)
		r := f.openTwo(t, "UR")
		if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
			t.Fatal(err)
		}
		var once atomic.Bool
		bs.fail = func(op string, from, to store.State) (bool, bool) {
			return false, op == "transition" && from == store.StatePending && to == store.StateExecuting && once.CompareAndSwap(false, true)
		}
		done, err := f.svc.Approve(ctx, r.ID, "UB")
		if err != nil || done.State != store.StateSucceeded || f.buyer.calls.Load() != 1 {
			t.Fatalf("lost claim answer: %v, %v, %d calls", done, err, f.buyer.calls.Load())
		}
	})
}

// Many approvers at once on a request that needs two: whether they are
// all first or all second, one buying call.
func TestTwoApprovalsConcurrent(t *testing.T) {
	ctx := context.Background()
	for _, prior := range []bool{false, true} {
		f := newFixture(t, twoAbove10, nil)
		f.buyer.delay = 30 * time.Millisecond
		r := f.openTwo(t, "UR")
		if prior {
			if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				_, err := f.svc.Approve(ctx, r.ID, []string{"UA", "UB", "UC"}[i%3])
				var de *approval.DecidedError
				if err != nil && !errors.As(err, &de) && !errors.Is(err, approval.ErrAlreadyApproved) {
					t.Errorf("concurrent approval: %v", err)
				}
			})
		}
		wg.Wait()
		got, _ := f.st.GetRequest(ctx, r.ID)
		if got.State != store.StateSucceeded || f.buyer.calls.Load() != 1 {
			t.Errorf("prior approval %v: %s with %d buying calls, want succeeded with 1", prior, got.State, f.buyer.calls.Load())
		}
	}
}

func TestCanBeApproved(t *testing.T) {
	g := &groups{members: map[string][]string{"S1": {"UG", "UR"}}}
	tests := []struct {
		name   string
		policy approval.Policy
		needed int
		ok     bool
		who    []string
	}{
		{"lone approver asks", approval.Policy{Approvers: []string{"UR"}}, 1, false, nil},
		{"lone approver, self-approval on", approval.Policy{Approvers: []string{"UR"}, AllowSelfApproval: true}, 1, true, nil},
		{"two needed, one other", approval.Policy{Approvers: []string{"UR", "UA"}, AllowSelfApproval: true}, 2, false, []string{"UA"}},
		{"two needed, group helps", approval.Policy{Approvers: []string{"UA"}, ApproverGroups: []string{"S1"}}, 2, true, nil},
		{"group unread", approval.Policy{ApproverGroups: []string{"S9"}}, 1, false, nil},
	}
	for _, tt := range tests {
		svc := approval.New(nil, nil, tt.policy, approval.WithGroups(g))
		err := svc.CanBeApproved("UR", tt.needed)
		var nobody *approval.NobodyCanApproveError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && !errors.As(err, &nobody):
			t.Errorf("%s: %v, want a *NobodyCanApproveError", tt.name, err)
		case !tt.ok && !slices.Equal(nobody.Eligible, tt.who):
			t.Errorf("%s: eligible %v, want %v", tt.name, nobody.Eligible, tt.who)
		}
	}
}

// One reminder per request, across two services on one store; a reminder
// Slack refused is sent on a later sweep.
func TestRemind(t *testing.T) {
	ctx := context.Background()
	p := approval.Policy{Approvers: []string{"UA", "UB"}, TTL: 24 * time.Hour, RemindAfter: time.Hour}
	f := newFixture(t, p, nil)
	f.svc = approval.New(f.st, f.buyer, p, approval.WithClock(func() time.Time { return f.now }))
	r := f.open(t, "UR")
	if err := f.svc.Posted(ctx, r.ID, "C1", "1.0001"); err != nil {
		t.Fatal(err)
	}
	other := approval.New(f.st, f.buyer, p, approval.WithClock(func() time.Time { return f.now }))
	var mu sync.Mutex
	var posted [][]string
	post := func(_ context.Context, _ *store.Request, waiting []string) error {
		mu.Lock()
		defer mu.Unlock()
		posted = append(posted, waiting)
		return nil
	}
	if n, _ := f.svc.Remind(ctx, post); n != 0 {
		t.Fatalf("reminded %d before RemindAfter", n)
	}
	f.now = f.now.Add(time.Hour)
	refuse := func(context.Context, *store.Request, []string) error { return errors.New("slack: ratelimited") }
	if n, err := f.svc.Remind(ctx, refuse); n != 0 || err == nil {
		t.Fatalf("refused reminder: %d, %v", n, err)
	}
	var wg sync.WaitGroup
	for _, s := range []*approval.Service{f.svc, other, f.svc, other} {
		wg.Go(func() {
			if _, err := s.Remind(ctx, post); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(posted) != 1 || !slices.Equal(posted[0], []string{"UA", "UB"}) {
		t.Fatalf("reminders = %v, want one naming UA and UB", posted)
	}
	f.now = f.now.Add(5 * time.Hour)
	if n, _ := other.Remind(ctx, post); n != 0 {
		t.Errorf("a second reminder %d", n)
	}
}

// groups is a fixed approval.Groups.
type groups struct {
	mu      sync.Mutex
	members map[string][]string
}

func (g *groups) set(group string, users ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[group] = users
}

func (g *groups) Member(group, user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Contains(g.members[group], user)
}

func (g *groups) Members(group string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.members[group])
}

// The audit row committed with the claim, before the call, names every
// approver the purchase is made on, so that one row says who authorised
// the spending.
func TestTwoApprovalsAuditNamesEveryApprover(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, twoAbove10, nil)
	r := f.openTwo(t, "UR")
	if got, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil || got.State != store.StatePending {
		t.Fatalf("first approval: %v, %v", got, err)
	}
	if done, err := f.svc.Approve(ctx, r.ID, "UB"); err != nil || done.State != store.StateSucceeded {
		t.Fatalf("second approval: %v, %v", done, err)
	}
	all, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.RequestID == r.ID && e.Event == "request.approved" {
			if !strings.Contains(e.Detail, "UA") || !strings.Contains(e.Detail, "UB") {
				t.Errorf("claim's audit row %q does not name both approvers", e.Detail)
			}
			return
		}
	}
	t.Error("no request.approved row")
}

// pendingRaceStore lets an approver decide a request between Remind's list
// of pending requests and its reminder.
type pendingRaceStore struct {
	store.Store
	afterList func()
}

func (s *pendingRaceStore) ListRequests(ctx context.Context, state store.State, limit int) ([]*store.Request, error) {
	list, err := s.Store.ListRequests(ctx, state, limit)
	if err == nil && state == store.StatePending && s.afterList != nil {
		s.afterList()
	}
	return list, err
}

// A request approved after Remind listed it gets no "still waiting for a
// decision" reminder mentioning the approvers.
func TestRemindSkipsDecided(t *testing.T) {
	ctx := context.Background()
	p := approval.Policy{Approvers: []string{"UA", "UB"}, TTL: 24 * time.Hour, RemindAfter: time.Hour}
	f := newFixture(t, p, nil)
	f.svc = approval.New(f.st, f.buyer, p, approval.WithClock(func() time.Time { return f.now }))
	r := f.open(t, "UR")
	if err := f.svc.Posted(ctx, r.ID, "C1", "1.0001"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(2 * time.Hour)
	rs := &pendingRaceStore{Store: f.st, afterList: func() {
		if _, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil {
			t.Error(err)
		}
	}}
	reminder := approval.New(rs, f.buyer, p, approval.WithClock(func() time.Time { return f.now }))
	var posted []string
	n, err := reminder.Remind(ctx, func(_ context.Context, r *store.Request, _ []string) error {
		posted = append(posted, r.ID)
		return nil
	})
	if err != nil || n != 0 || len(posted) != 0 {
		t.Errorf("Remind = %d, %v, posted for %v; want no reminder for a request approved before it was sent", n, err, posted)
	}
}
