package approval_test

import (
	"context"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/store"
)

// racingStore lets another actor (a second replica's sweep, an approver)
// decide the first due request between Sweep's list and its write.
type racingStore struct {
	store.Store
	race func(ctx context.Context, due []*store.Request)
}

func (s *racingStore) PendingExpiredBefore(ctx context.Context, now time.Time) ([]*store.Request, error) {
	due, err := s.Store.PendingExpiredBefore(ctx, now)
	if err == nil && s.race != nil {
		s.race(ctx, due)
	}
	return due, err
}

// TestSweepContinuesAfterLostRace: one lost race (another replica expired,
// or an approver claimed, the first due request) must not stop the sweep from expiring the others and marking
// stuck ones unknown.
func TestSweepContinuesAfterLostRace(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, StaleExecuting: 5 * time.Minute}, nil)
	a := f.open(t, "UR")
	b := f.open(t, "UR")
	stuck := f.open(t, "UR")
	ctx := context.Background()
	midCall(t, f.st, stuck.ID, f.now)
	f.now = f.now.Add(2 * time.Hour)
	var lost string
	rs := &racingStore{Store: f.st, race: func(ctx context.Context, due []*store.Request) {
		// Another replica's sweep wins the first one.
		lost = due[0].ID
		if _, err := f.st.Transition(ctx, due[0].ID, store.StatePending, store.StateExpired, store.Transition{At: f.now}); err != nil {
			t.Fatal(err)
		}
	}}
	svc := approval.New(rs, f.buyer, f.svc.Policy(), approval.WithClock(func() time.Time { return f.now }))
	changed, err := svc.Sweep(ctx)
	if err != nil {
		t.Errorf("Sweep: %v", err)
	}
	got := map[string]store.State{}
	for _, r := range changed {
		got[r.ID] = r.State
	}
	other := a.ID
	if lost == a.ID {
		other = b.ID
	}
	if got[other] != store.StateExpired || got[stuck.ID] != store.StateUnknown {
		t.Errorf("sweep changed %v; want %s expired and %s unknown (%s was lost to another sweeper)", got, other, stuck.ID, lost)
	}
}

// TestSweepKeepsApprovalTime: the approval time shown on the message
// ("Approved by @x at T") is DecidedAt; marking an interrupted request
// unknown hours later must not move it.
func TestSweepKeepsApprovalTime(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}, TTL: 24 * time.Hour, StaleExecuting: 5 * time.Minute}, nil)
	ctx := context.Background()
	approvedAt := f.now

	// Interrupted mid-call, found by the sweep after a restart 3 h later.
	r := f.open(t, "UR")
	midCall(t, f.st, r.ID, approvedAt)
	f.now = f.now.Add(3 * time.Hour)
	if _, err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateUnknown || !got.DecidedAt.Equal(approvedAt) {
		t.Errorf("swept request: state %s, DecidedAt %s; want unknown, approved at %s", got.State, got.DecidedAt, approvedAt)
	}
}

// markRaceStore lets a slow approver's mark of the call land between a
// sweep's list of executing requests and its write.
type markRaceStore struct {
	store.Store
	afterList func()
}

func (s *markRaceStore) ListRequests(ctx context.Context, state store.State, limit int) ([]*store.Request, error) {
	list, err := s.Store.ListRequests(ctx, state, limit)
	if err == nil && state == store.StateExecuting && s.afterList != nil {
		s.afterList()
	}
	return list, err
}

// gatedStore holds the approver's MarkCallSent until it is let go.
type gatedStore struct {
	store.Store
	atMark, goMark, marked chan struct{}
}

func (s *gatedStore) MarkCallSent(ctx context.Context, id, claim string, at time.Time, audit []store.AuditEntry) (*store.Request, error) {
	close(s.atMark)
	<-s.goMark
	r, err := s.Store.MarkCallSent(ctx, id, claim, at, audit)
	close(s.marked)
	return r, err
}

// TestSweepDoesNotFailAMarkedCall: a sweep that saw a stale claim without
// the call's mark must not write "never called, nothing was bought" over a
// mark that landed after it looked: that call goes out, and what DialogTech
// answers is the outcome.
func TestSweepDoesNotFailAMarkedCall(t *testing.T) {
	p := approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, StaleExecuting: 5 * time.Minute}
	f := newFixture(t, p, nil)
	ctx := context.Background()
	r := f.open(t, "UR")
	t0 := f.now

	gs := &gatedStore{Store: f.st, atMark: make(chan struct{}), goMark: make(chan struct{}), marked: make(chan struct{})}
	slow := approval.New(gs, f.buyer, p, approval.WithClock(func() time.Time { return t0 }))
	type result struct {
		r   *store.Request
		err error
	}
	approved := make(chan result, 1)
	go func() {
		got, err := slow.Approve(ctx, r.ID, "UA")
		approved <- result{got, err}
	}()
	<-gs.atMark // claimed at t0; its mark is late

	rs := &markRaceStore{Store: f.st, afterList: func() {
		close(gs.goMark)
		<-gs.marked
	}}
	sweeper := approval.New(rs, f.buyer, p, approval.WithClock(func() time.Time { return t0.Add(10 * time.Minute) }))
	if _, err := sweeper.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	res := <-approved
	if f.buyer.calls.Load() != 1 {
		t.Fatalf("buying calls = %d, want 1", f.buyer.calls.Load())
	}
	got, err := f.st.GetRequest(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o := approval.DecodeOutcome(got); got.State != store.StateSucceeded || o.NotSent {
		t.Errorf("request %s with outcome %+v after its call was sent (Approve: %v, %v); want succeeded", got.State, o, res.r, res.err)
	}
}
