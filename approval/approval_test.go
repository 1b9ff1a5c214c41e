package approval_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
)

// buyer counts calls and answers with err (or success).
type buyer struct {
	calls atomic.Int32
	err   error
	delay time.Duration
}

func (b *buyer) PurchaseAddOn(ctx context.Context, r dialog.PurchaseRequest) (*dialog.PurchaseResult, error) {
	b.calls.Add(1)
	time.Sleep(b.delay)
	if b.err != nil {
		return nil, b.err
	}
	return &dialog.PurchaseResult{Description: fmt.Sprintf("bought %d", r.Qty)}, nil
}

func (b *buyer) OrderNumbers(ctx context.Context, r dialog.OrderRequest) (*dialog.OrderResult, error) {
	b.calls.Add(1)
	time.Sleep(b.delay)
	if b.err != nil {
		return nil, b.err
	}
	nums := make([]string, r.Quantity)
	for i := range nums {
		nums[i] = fmt.Sprintf("312555%04d", i)
	}
	return &dialog.OrderResult{Quantity: r.Quantity, Numbers: nums}, nil
}

type fixture struct {
	st     store.Store
	buyer  *buyer
	now    time.Time
	svc    *approval.Service
	opened int
}

func newFixture(t *testing.T, p approval.Policy, buyErr error) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, buyer: &buyer{err: buyErr}, now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	f.svc = approval.New(st, f.buyer, p, approval.WithClock(func() time.Time { return f.now }))
	return f
}

func (f *fixture) open(t *testing.T, requester string) *store.Request {
	t.Helper()
	// Each request differs: identical pending ones are not opened twice.
	f.opened++
	r, err := f.svc.Open(context.Background(), store.KindOrder, dialog.OrderRequest{Type: dialog.Local, Search: "312", Quantity: f.opened, AllOrNothing: true}, "order some", requester, "C1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApprove(t *testing.T) {
	policy := approval.Policy{Approvers: []string{"UA", "UB"}, TTL: time.Hour}
	lost := &dialog.UnknownOutcomeError{Action: dialog.ActionNumbersOrder, Err: errors.New("connection reset")}
	refused := &dialog.APIError{Action: dialog.ActionNumbersOrder, Result: "failed", Description: "no inventory"}
	tests := []struct {
		name      string
		policy    approval.Policy
		requester string
		approver  string
		before    func(f *fixture, r *store.Request)
		buyErr    error
		wantErr   error
		wantState store.State
		wantCalls int32
	}{
		{name: "approved", requester: "UR", approver: "UA", wantState: store.StateSucceeded, wantCalls: 1},
		{name: "not an approver", requester: "UR", approver: "UX", wantErr: approval.ErrNotApprover, wantState: store.StatePending},
		{name: "own request", requester: "UA", approver: "UA", wantErr: approval.ErrSelfApproval, wantState: store.StatePending},
		{name: "own request allowed", policy: approval.Policy{Approvers: []string{"UA"}, AllowSelfApproval: true, TTL: time.Hour}, requester: "UA", approver: "UA", wantState: store.StateSucceeded, wantCalls: 1},
		{name: "expired", requester: "UR", approver: "UA", before: func(f *fixture, _ *store.Request) { f.now = f.now.Add(2 * time.Hour) }, wantErr: approval.ErrExpired, wantState: store.StateExpired},
		{name: "already denied", requester: "UR", approver: "UA", before: func(f *fixture, r *store.Request) {
			if _, err := f.svc.Deny(context.Background(), r.ID, "UB", "no"); err != nil {
				panic(err)
			}
		}, wantErr: &approval.DecidedError{}, wantState: store.StateDenied},
		{name: "DialogTech refuses", requester: "UR", approver: "UA", buyErr: refused, wantState: store.StateFailed, wantCalls: 1},
		{name: "answer lost", requester: "UR", approver: "UA", buyErr: lost, wantState: store.StateUnknown, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if tt.policy.Approvers != nil {
				p = tt.policy
			}
			f := newFixture(t, p, tt.buyErr)
			r := f.open(t, tt.requester)
			if tt.before != nil {
				tt.before(f, r)
			}
			_, err := f.svc.Approve(context.Background(), r.ID, tt.approver)
			var de *approval.DecidedError
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Approve: %v", err)
			case errors.As(tt.wantErr, &de):
				if !errors.As(err, &de) {
					t.Fatalf("Approve error = %v, want a *DecidedError", err)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Approve error = %v, want %v", err, tt.wantErr)
			}
			got, _ := f.st.GetRequest(context.Background(), r.ID)
			if got.State != tt.wantState {
				t.Errorf("state = %s, want %s", got.State, tt.wantState)
			}
			if n := f.buyer.calls.Load(); n != tt.wantCalls {
				t.Errorf("buying calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantState == store.StateUnknown {
				if o := approval.DecodeOutcome(got); o.Error == "" {
					t.Error("unknown outcome not recorded")
				}
			}
		})
	}
}

func TestApproveConcurrentCallsOnce(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA", "UB"}}, nil)
	f.buyer.delay = 50 * time.Millisecond
	r := f.open(t, "UR")
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 50 {
		wg.Go(func() {
			user := []string{"UA", "UB"}[i%2]
			if _, err := f.svc.Approve(context.Background(), r.ID, user); err == nil {
				won.Add(1)
			} else if de := (*approval.DecidedError)(nil); !errors.As(err, &de) {
				t.Errorf("loser got %v, want a *DecidedError", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || f.buyer.calls.Load() != 1 {
		t.Fatalf("winners %d, buying calls %d; want 1 and 1", won.Load(), f.buyer.calls.Load())
	}
}

func TestCancelAndDeny(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}}, nil)
	r := f.open(t, "UR")
	if _, err := f.svc.Cancel(context.Background(), r.ID, "UA"); !errors.Is(err, approval.ErrNotRequester) {
		t.Errorf("cancel by another = %v", err)
	}
	if _, err := f.svc.Deny(context.Background(), r.ID, "UR", ""); !errors.Is(err, approval.ErrNotApprover) {
		t.Errorf("deny by a non-approver = %v", err)
	}
	got, err := f.svc.Cancel(context.Background(), r.ID, "UR")
	if err != nil || got.State != store.StateCancelled || got.DecidedBy != "UR" {
		t.Fatalf("cancel = %+v, %v", got, err)
	}
	if _, err := f.svc.Approve(context.Background(), r.ID, "UA"); err == nil {
		t.Error("approved a cancelled request")
	}
	if f.buyer.calls.Load() != 0 {
		t.Error("a cancelled request was bought")
	}
}

func TestOpenWithoutApprovers(t *testing.T) {
	f := newFixture(t, approval.Policy{}, nil)
	if _, err := f.svc.Open(context.Background(), store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 1}, "buy", "UR", "C1"); !errors.Is(err, approval.ErrNoApprovers) {
		t.Errorf("Open with no approvers = %v", err)
	}
}

// A request left executing by a process that died is marked unknown, never
// executed again.
func TestSweep(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, StaleExecuting: 5 * time.Minute}, nil)
	expiring := f.open(t, "UR")
	stuck := f.open(t, "UR")
	fresh := f.open(t, "UR")
	midCall(t, f.st, stuck.ID, f.now)
	f.now = f.now.Add(3 * time.Minute)
	if changed, err := f.svc.Sweep(context.Background()); err != nil || len(changed) != 0 {
		t.Fatalf("early sweep changed %d (%v)", len(changed), err)
	}
	f.now = f.now.Add(2 * time.Hour)
	if _, err := f.st.Transition(context.Background(), fresh.ID, store.StatePending, store.StateDenied, store.Transition{By: "UA", At: f.now}); err != nil {
		t.Fatal(err)
	}
	changed, err := f.svc.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]store.State{}
	for _, r := range changed {
		states[r.ID] = r.State
	}
	want := map[string]store.State{expiring.ID: store.StateExpired, stuck.ID: store.StateUnknown}
	if len(states) != 2 || states[expiring.ID] != want[expiring.ID] || states[stuck.ID] != want[stuck.ID] {
		t.Errorf("sweep changed %v, want %v", states, want)
	}
	if f.buyer.calls.Load() != 0 {
		t.Error("sweep made a buying call")
	}
}

// midCall puts request id where a process that died during the buying call
// leaves it: claimed, its call marked.
func midCall(t *testing.T, st store.Store, id string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{By: "UA", At: at, Claim: "tok-" + id}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkCallSent(ctx, id, "tok-"+id, at, nil); err != nil {
		t.Fatal(err)
	}
}
