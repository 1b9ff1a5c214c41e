// Package storetest is the conformance suite of the store contract. Every
// implementation of store.Store runs it, so that SQLite and Postgres keep
// behaving alike.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dialogbot/dialogbot/store"
)

// Run runs the suite. open must return a new, empty store each time it is
// called, and close it when t ends (Close may already have been called).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"RequestRoundTrip", testRequestRoundTrip},
		{"RequestDefaults", testRequestDefaults},
		{"RequestTimesInUTC", testRequestTimesInUTC},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateNotPending", testCreateNotPending},
		{"GetNotFound", testGetNotFound},
		{"SetMessage", testSetMessage},
		{"Transitions", testTransitions},
		{"TransitionKeepsZeroFields", testTransitionKeepsZeroFields},
		{"TransitionNowKeepsDecidedAt", testTransitionNowKeepsDecidedAt},
		{"TransitionNotFound", testTransitionNotFound},
		{"TransitionIllegal", testTransitionIllegal},
		{"ConcurrentClaim", testConcurrentClaim},
		{"IdemKey", testIdemKey},
		{"SameKeyPending", testSameKeyPending},
		{"ConcurrentIdemKey", testConcurrentIdemKey},
		{"TransitionAudit", testTransitionAudit},
		{"MarkCallSent", testMarkCallSent},
		{"TransitionIfVersion", testTransitionIfVersion},
		{"ListRequests", testListRequests},
		{"PendingExpiredBefore", testPendingExpiredBefore},
		{"Audit", testAudit},
		{"AuditDefaults", testAuditDefaults},
		{"AlertState", testAlertState},
		{"AlertStateVersion", testAlertStateVersion},
		{"ConcurrentAlertState", testConcurrentAlertState},
		{"ClaimNotification", testClaimNotification},
		{"ConcurrentClaimNotification", testConcurrentClaimNotification},
		{"DeferNotification", testDeferNotification},
		{"Undrawn", testUndrawn},
		{"Samples", testSamples},
		{"KV", testKV},
		{"Lease", testLease},
		{"LeaseNow", testLeaseNow},
		{"LeaseExpiry", testLeaseExpiry},
		{"ConcurrentLease", testConcurrentLease},
		{"LeaseArguments", testLeaseArguments},
		{"Rules", testRules},
		{"Approvals", testApprovals},
		{"ConcurrentApprovals", testConcurrentApprovals},
		{"ConcurrentReminderClaim", testConcurrentReminderClaim},
		{"Ping", testPing},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, open(t))
		})
	}
}

// base is a fixed instant, in a zone that is not UTC, with microsecond
// precision: the store keeps microseconds, so values built from it come
// back equal.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+2", 2*60*60))

func at(d time.Duration) time.Time { return base.Add(d) }

// between reports whether got lies in [from, to], at the store's precision.
func between(got, from, to time.Time) bool {
	return !got.Before(from.Truncate(time.Microsecond)) && !got.After(to)
}

func newRequest(id string) *store.Request {
	return &store.Request{
		ID:          id,
		Kind:        store.KindPurchase,
		Params:      json.RawMessage(`{"item_id":6,"quantity":2}`),
		Summary:     "2 × Call Recording",
		RequesterID: "U123",
		ChannelID:   "C1",
		State:       store.StatePending,
		CreatedAt:   at(0),
		ExpiresAt:   at(time.Hour),
		UpdatedAt:   at(0),
	}
}

func create(t *testing.T, s store.Store, r *store.Request) {
	t.Helper()
	if err := s.CreateRequest(t.Context(), r); err != nil {
		t.Fatalf("CreateRequest(%s): %v", r.ID, err)
	}
}

func get(t *testing.T, s store.Store, id string) *store.Request {
	t.Helper()
	r, err := s.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRequest(%s): %v", id, err)
	}
	return r
}

func testRequestRoundTrip(t *testing.T, s store.Store) {
	want := &store.Request{
		ID:          "r1",
		Kind:        store.KindOrder,
		Params:      json.RawMessage(`{"area_code": "312", "quantity": 3}`),
		Summary:     "3 local numbers in 312",
		RequesterID: "U1",
		ChannelID:   "C9",
		MessageTS:   "1700000000.000100",
		State:       store.StatePending,
		CreatedAt:   at(0),
		ExpiresAt:   at(24 * time.Hour),
		DecidedBy:   "U2",
		DecidedAt:   at(time.Minute),
		Reason:      "why not",
		Outcome:     json.RawMessage(`{"numbers": ["3125550100"]}`),
		UpdatedAt:   at(2 * time.Minute),
	}
	create(t, s, want)
	got := get(t, s, "r1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetRequest mismatch (-want +got):\n%s", diff)
	}
}

func testRequestDefaults(t *testing.T, s store.Store) {
	before := time.Now()
	r := &store.Request{ID: "r1", Kind: store.KindPurchase, Params: json.RawMessage(`{}`)}
	create(t, s, r)
	after := time.Now()
	if r.State != store.StatePending {
		t.Errorf("State = %q, want %q", r.State, store.StatePending)
	}
	if !between(r.CreatedAt, before, after) {
		t.Errorf("CreatedAt = %v, want between %v and %v", r.CreatedAt, before, after)
	}
	if !r.UpdatedAt.Equal(r.CreatedAt) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v", r.UpdatedAt, r.CreatedAt)
	}
	if diff := cmp.Diff(r, get(t, s, "r1")); diff != "" {
		t.Errorf("GetRequest differs from the request CreateRequest filled in (-want +got):\n%s", diff)
	}
}

func testRequestTimesInUTC(t *testing.T, s store.Store) {
	r := newRequest("r1")
	r.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("UTC-5", -5*60*60))
	input := r.CreatedAt
	create(t, s, r)
	got := get(t, s, "r1")
	for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "ExpiresAt": got.ExpiresAt, "UpdatedAt": got.UpdatedAt} {
		if tm.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", name, tm.Location())
		}
	}
	if diff := cmp.Diff(input, got.CreatedAt, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("CreatedAt lost more than sub-microsecond precision (-want +got):\n%s", diff)
	}
	if !got.DecidedAt.IsZero() {
		t.Errorf("DecidedAt = %v, want zero (never set)", got.DecidedAt)
	}
}

func testCreateDuplicate(t *testing.T, s store.Store) {
	create(t, s, newRequest("r1"))
	second := newRequest("r1")
	second.Summary = "something else"
	if err := s.CreateRequest(t.Context(), second); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second CreateRequest: err = %v, want ErrDuplicate", err)
	}
	if got := get(t, s, "r1"); got.Summary != newRequest("r1").Summary {
		t.Errorf("Summary = %q after a duplicate create, want the first one's", got.Summary)
	}
}

func testCreateNotPending(t *testing.T, s store.Store) {
	r := newRequest("r1")
	r.State = store.StateSucceeded
	if err := s.CreateRequest(t.Context(), r); err == nil {
		t.Fatal("CreateRequest in state succeeded: err = nil, want an error")
	}
	if _, err := s.GetRequest(t.Context(), "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest after a refused create: err = %v, want ErrNotFound", err)
	}
}

func testGetNotFound(t *testing.T, s store.Store) {
	r, err := s.GetRequest(t.Context(), "nope")
	if !errors.Is(err, store.ErrNotFound) || r != nil {
		t.Errorf("GetRequest(nope) = %v, %v; want nil, ErrNotFound", r, err)
	}
}

func testSetMessage(t *testing.T, s store.Store) {
	want := newRequest("r1")
	create(t, s, want)
	before := time.Now()
	if err := s.SetMessage(t.Context(), "r1", "C2", "1700000000.000200"); err != nil {
		t.Fatalf("SetMessage: %v", err)
	}
	after := time.Now()
	got := get(t, s, "r1")
	want.ChannelID, want.MessageTS, want.Version, want.DrawnVersion = "C2", "1700000000.000200", 2, 2
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Request{}, "UpdatedAt")); diff != "" {
		t.Errorf("after SetMessage (-want +got):\n%s", diff)
	}
	if !between(got.UpdatedAt, before, after) {
		t.Errorf("UpdatedAt = %v, want between %v and %v", got.UpdatedAt, before, after)
	}
	if err := s.SetMessage(t.Context(), "nope", "C2", "1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetMessage(nope): err = %v, want ErrNotFound", err)
	}
}

// legalMoves is the state diagram of store.State.
var legalMoves = []struct{ from, to store.State }{
	{store.StatePending, store.StateExecuting},
	{store.StatePending, store.StateDenied},
	{store.StatePending, store.StateExpired},
	{store.StatePending, store.StateCancelled},
	{store.StateExecuting, store.StateSucceeded},
	{store.StateExecuting, store.StateFailed},
	{store.StateExecuting, store.StateUnknown},
	{store.StateUnknown, store.StateSucceeded},
	{store.StateUnknown, store.StateFailed},
}

var allStates = []store.State{
	store.StatePending, store.StateExecuting, store.StateSucceeded, store.StateFailed,
	store.StateUnknown, store.StateDenied, store.StateExpired, store.StateCancelled,
}

func testTransitions(t *testing.T, s store.Store) {
	for i, m := range legalMoves {
		t.Run(fmt.Sprintf("%s-%s", m.from, m.to), func(t *testing.T) {
			ctx := t.Context()
			id := fmt.Sprintf("r%d", i)
			want := newRequest(id)
			create(t, s, want)
			if m.from != store.StatePending {
				if _, err := s.Transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{}); err != nil {
					t.Fatalf("Transition pending → executing: %v", err)
				}
				want = get(t, s, id)
			}
			if m.from == store.StateUnknown {
				if _, err := s.Transition(ctx, id, store.StateExecuting, store.StateUnknown, store.Transition{}); err != nil {
					t.Fatalf("Transition executing → unknown: %v", err)
				}
				want = get(t, s, id)
			}

			tr := store.Transition{
				By:      "U42",
				At:      at(time.Duration(i+1) * time.Minute),
				Reason:  "reason " + string(m.to),
				Outcome: json.RawMessage(fmt.Sprintf(`{"to":%q}`, m.to)),
			}
			got, err := s.Transition(ctx, id, m.from, m.to, tr)
			if err != nil {
				t.Fatalf("Transition: %v", err)
			}
			want.State, want.DecidedBy, want.DecidedAt, want.Reason, want.Outcome, want.UpdatedAt =
				m.to, tr.By, tr.At, tr.Reason, tr.Outcome, tr.At
			want.Version++
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Transition returned (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, get(t, s, id)); diff != "" {
				t.Errorf("GetRequest after Transition (-want +got):\n%s", diff)
			}

			again, err := s.Transition(ctx, id, m.from, m.to, store.Transition{By: "U43", At: at(time.Hour)})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second Transition: err = %v, want ErrConflict", err)
			}
			if diff := cmp.Diff(want, again); diff != "" {
				t.Errorf("second Transition returned, with ErrConflict (-want current +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, get(t, s, id)); diff != "" {
				t.Errorf("GetRequest after the refused Transition (-want +got):\n%s", diff)
			}
		})
	}
}

func testTransitionKeepsZeroFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newRequest("r1")
	create(t, s, want)
	approve := store.Transition{By: "U2", At: at(time.Minute)}
	if _, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, approve); err != nil {
		t.Fatalf("Transition pending → executing: %v", err)
	}
	before := time.Now()
	outcome := json.RawMessage(`{"status":"success"}`)
	got, err := s.Transition(ctx, "r1", store.StateExecuting, store.StateSucceeded, store.Transition{Outcome: outcome})
	if err != nil {
		t.Fatalf("Transition executing → succeeded: %v", err)
	}
	after := time.Now()
	want.State, want.DecidedBy, want.DecidedAt, want.Outcome = store.StateSucceeded, "U2", approve.At, outcome
	want.Version = 3
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Request{}, "UpdatedAt")); diff != "" {
		t.Errorf("Transition without By/At/Reason changed them (-want +got):\n%s", diff)
	}
	if !between(got.UpdatedAt, before, after) {
		t.Errorf("UpdatedAt = %v, want now (between %v and %v) when At is zero", got.UpdatedAt, before, after)
	}
}

// testTransitionNowKeepsDecidedAt: a change that is not a decision (an
// outcome, a sweep) sets UpdatedAt from Now and keeps when the person
// decided.
func testTransitionNowKeepsDecidedAt(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	approve := store.Transition{By: "U2", At: at(time.Minute)}
	if _, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, approve); err != nil {
		t.Fatalf("Transition pending → executing: %v", err)
	}
	later := at(3 * time.Hour)
	got, err := s.Transition(ctx, "r1", store.StateExecuting, store.StateUnknown, store.Transition{Now: later})
	if err != nil {
		t.Fatalf("Transition executing → unknown: %v", err)
	}
	if !got.DecidedAt.Equal(approve.At) || !got.UpdatedAt.Equal(later) {
		t.Errorf("DecidedAt %v, UpdatedAt %v; want %v (the approval) and %v", got.DecidedAt, got.UpdatedAt, approve.At, later)
	}
}

func testTransitionNotFound(t *testing.T, s store.Store) {
	r, err := s.Transition(t.Context(), "nope", store.StatePending, store.StateExecuting, store.Transition{})
	if !errors.Is(err, store.ErrNotFound) || r != nil {
		t.Errorf("Transition(nope) = %v, %v; want nil, ErrNotFound", r, err)
	}
}

func testTransitionIllegal(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newRequest("r1")
	create(t, s, want)
	legal := map[[2]store.State]bool{}
	for _, m := range legalMoves {
		legal[[2]store.State{m.from, m.to}] = true
	}
	for _, from := range allStates {
		for _, to := range allStates {
			if got := from.CanMoveTo(to); got != legal[[2]store.State{from, to}] {
				t.Errorf("%s.CanMoveTo(%s) = %v, want %v", from, to, got, !got)
			}
			if legal[[2]store.State{from, to}] {
				continue
			}
			r, err := s.Transition(ctx, "r1", from, to, store.Transition{By: "U9", At: at(time.Hour)})
			if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				t.Errorf("Transition %s → %s = %v, %v; want a refusal that is neither ErrConflict nor ErrNotFound", from, to, r, err)
			}
		}
	}
	if diff := cmp.Diff(want, get(t, s, "r1")); diff != "" {
		t.Errorf("illegal transitions changed the request (-want +got):\n%s", diff)
	}
}

// testConcurrentClaim is the approval race: many approvers press the button
// at once; exactly one may run the purchase.
func testConcurrentClaim(t *testing.T, s store.Store) {
	create(t, s, newRequest("r1"))
	const n = 50
	type result struct {
		r   *store.Request
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := s.Transition(t.Context(), "r1", store.StatePending, store.StateExecuting,
				store.Transition{By: fmt.Sprintf("U%d", i)})
			results <- result{r, err}
		})
	}
	close(start)
	wg.Wait()
	close(results)

	var winners []string
	for res := range results {
		switch {
		case res.err == nil:
			winners = append(winners, res.r.DecidedBy)
		case errors.Is(res.err, store.ErrConflict):
			if res.r == nil || res.r.State != store.StateExecuting {
				t.Errorf("loser got %+v with ErrConflict, want the request in state executing", res.r)
			}
		default:
			t.Errorf("Transition: unexpected error %v", res.err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d claims won (%v), want exactly 1", len(winners), winners)
	}
	if got := get(t, s, "r1"); got.State != store.StateExecuting || got.DecidedBy != winners[0] {
		t.Errorf("stored request: state %s by %s, want executing by the winner %s", got.State, got.DecidedBy, winners[0])
	}
}

func testListRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Created out of order, so that insertion order is not the answer.
	reqs := map[string]*store.Request{}
	for _, c := range []struct {
		id      string
		created time.Duration
		deny    bool
	}{
		{"b", 2 * time.Minute, false},
		{"d", 4 * time.Minute, true},
		{"a", 1 * time.Minute, true},
		{"e", 5 * time.Minute, false},
		{"c", 3 * time.Minute, false},
	} {
		r := newRequest(c.id)
		r.CreatedAt, r.UpdatedAt = at(c.created), at(c.created)
		create(t, s, r)
		if c.deny {
			dr, err := s.Transition(ctx, c.id, store.StatePending, store.StateDenied, store.Transition{By: "U2", At: at(time.Hour)})
			if err != nil {
				t.Fatalf("deny %s: %v", c.id, err)
			}
			r = dr
		}
		reqs[c.id] = r
	}
	pick := func(ids ...string) []*store.Request {
		var list []*store.Request
		for _, id := range ids {
			list = append(list, reqs[id])
		}
		return list
	}
	tests := []struct {
		state store.State
		limit int
		want  []*store.Request
	}{
		{"", 0, pick("e", "d", "c", "b", "a")},
		{"", 10, pick("e", "d", "c", "b", "a")},
		{"", 2, pick("e", "d")},
		{store.StatePending, 0, pick("e", "c", "b")},
		{store.StatePending, 1, pick("e")},
		{store.StateDenied, 5, pick("d", "a")},
		{store.StateExecuting, 5, nil},
	}
	for _, tt := range tests {
		got, err := s.ListRequests(ctx, tt.state, tt.limit)
		if err != nil {
			t.Fatalf("ListRequests(%q, %d): %v", tt.state, tt.limit, err)
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListRequests(%q, %d) (-want +got):\n%s", tt.state, tt.limit, diff)
		}
	}
}

func testPendingExpiredBefore(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	reqs := map[string]*store.Request{}
	for _, c := range []struct {
		id      string
		expires time.Time
		claim   bool
	}{
		{"late", now.Add(-time.Minute), false},
		{"exact", now, false},
		{"later", now.Add(-2 * time.Minute), false},
		{"future", now.Add(time.Microsecond), false},
		{"claimed", now.Add(-time.Hour), true},
		{"never", time.Time{}, false},
	} {
		r := newRequest(c.id)
		r.ExpiresAt = c.expires
		create(t, s, r)
		if c.claim {
			if _, err := s.Transition(ctx, c.id, store.StatePending, store.StateExecuting, store.Transition{}); err != nil {
				t.Fatalf("claim %s: %v", c.id, err)
			}
		}
		reqs[c.id] = r
	}
	got, err := s.PendingExpiredBefore(ctx, now)
	if err != nil {
		t.Fatalf("PendingExpiredBefore: %v", err)
	}
	want := []*store.Request{reqs["later"], reqs["late"], reqs["exact"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PendingExpiredBefore (-want +got):\n%s", diff)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	entries := []store.AuditEntry{
		{At: at(3 * time.Minute), RequestID: "r1", Actor: "U1", Event: "request.created", Detail: "2 × Call Recording"},
		{At: at(1 * time.Minute), RequestID: "r1", Actor: "U2", Event: "request.approved"},
		{At: at(2 * time.Minute), Actor: "system", Event: "dialogtech.call", Detail: "addons.purchase"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit(%s): %v", e.Event, err)
		}
	}
	all, err := s.ListAudit(ctx, 0)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	// Newest means last appended, whatever At says.
	want := []store.AuditEntry{entries[2], entries[1], entries[0]}
	if diff := cmp.Diff(want, all, cmpopts.IgnoreFields(store.AuditEntry{}, "ID")); diff != "" {
		t.Errorf("ListAudit(0) (-want +got):\n%s", diff)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Errorf("IDs %d then %d: want IDs assigned in append order, listed descending", all[i-1].ID, all[i].ID)
		}
	}
	two, err := s.ListAudit(ctx, 2)
	if err != nil {
		t.Fatalf("ListAudit(2): %v", err)
	}
	if diff := cmp.Diff(all[:2], two); diff != "" {
		t.Errorf("ListAudit(2) (-want +got):\n%s", diff)
	}
}

func testAuditDefaults(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now()
	if err := s.AppendAudit(ctx, store.AuditEntry{ID: 999, Actor: "system", Event: "startup"}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	after := time.Now()
	got, err := s.ListAudit(ctx, 10)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ListAudit returned %d entries, want 1", len(got))
	}
	if !between(got[0].At, before, after) {
		t.Errorf("At = %v, want now (between %v and %v) for a zero At", got[0].At, before, after)
	}
	if got[0].ID == 999 || got[0].ID == 0 {
		t.Errorf("ID = %d, want one the store assigned", got[0].ID)
	}
}

func newAlertState(key string, version time.Time) *store.AlertState {
	return &store.AlertState{
		Key:          key,
		State:        "warning",
		Episode:      3,
		ChannelID:    "C7",
		MessageTS:    "1700000000.000300",
		LastPostedAt: at(-time.Minute),
		SnoozedBy:    "U5",
		SnoozedUntil: at(time.Hour),
		Failures:     2,
		Data:         json.RawMessage(`{"in_use":45,"total":50}`),
		UpdatedAt:    version,
	}
}

func testAlertState(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetAlertState(ctx, "addon:6"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAlertState of a new key: err = %v, want ErrNotFound", err)
	}

	v1 := newAlertState("addon:6", at(0))
	if err := s.PutAlertState(ctx, v1, time.Time{}); err != nil {
		t.Fatalf("PutAlertState insert: %v", err)
	}
	got, err := s.GetAlertState(ctx, "addon:6")
	if err != nil {
		t.Fatalf("GetAlertState: %v", err)
	}
	if diff := cmp.Diff(v1, got); diff != "" {
		t.Errorf("GetAlertState (-want +got):\n%s", diff)
	}

	// Inserting again (prev zero) must not overwrite.
	if err := s.PutAlertState(ctx, newAlertState("addon:6", at(time.Second)), time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second insert: err = %v, want ErrConflict", err)
	}

	v2 := &store.AlertState{Key: "addon:6", State: "critical", Episode: 3, UpdatedAt: at(time.Minute)}
	if err := s.PutAlertState(ctx, v2, v1.UpdatedAt); err != nil {
		t.Fatalf("PutAlertState update: %v", err)
	}
	// A writer that read v1 lost the race against v2.
	stale := newAlertState("addon:6", at(2*time.Minute))
	stale.State = "ok"
	if err := s.PutAlertState(ctx, stale, v1.UpdatedAt); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update from a stale version: err = %v, want ErrConflict", err)
	}
	if err := s.PutAlertState(ctx, newAlertState("read-error", at(time.Minute)), at(0)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update of a key never stored: err = %v, want ErrConflict", err)
	}
	got, err = s.GetAlertState(ctx, "addon:6")
	if err != nil {
		t.Fatalf("GetAlertState: %v", err)
	}
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Errorf("GetAlertState after update (-want +got):\n%s", diff)
	}

	other := newAlertState("addon:1", at(0))
	if err := s.PutAlertState(ctx, other, time.Time{}); err != nil {
		t.Fatalf("PutAlertState addon:1: %v", err)
	}
	list, err := s.ListAlertStates(ctx)
	if err != nil {
		t.Fatalf("ListAlertStates: %v", err)
	}
	if diff := cmp.Diff([]*store.AlertState{other, v2}, list); diff != "" {
		t.Errorf("ListAlertStates (-want +got):\n%s", diff)
	}
}

// testAlertStateVersion: the new version must differ from the one it
// replaces, or two writers that read the same version could both win.
func testAlertStateVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := &store.AlertState{Key: "addon:6", State: "ok"}
	before := time.Now()
	if err := s.PutAlertState(ctx, a, time.Time{}); err != nil {
		t.Fatalf("PutAlertState with zero UpdatedAt: %v", err)
	}
	after := time.Now()
	if !between(a.UpdatedAt, before, after) {
		t.Errorf("UpdatedAt = %v, want now (between %v and %v) when zero", a.UpdatedAt, before, after)
	}
	v1 := a.UpdatedAt

	// A frozen clock: the caller proposes the version it replaces.
	b := &store.AlertState{Key: "addon:6", State: "warning", UpdatedAt: v1}
	if err := s.PutAlertState(ctx, b, v1); err != nil {
		t.Fatalf("PutAlertState with UpdatedAt == prev: %v", err)
	}
	if !b.UpdatedAt.After(v1) {
		t.Fatalf("UpdatedAt = %v after the put, want later than the replaced version %v", b.UpdatedAt, v1)
	}
	c := &store.AlertState{Key: "addon:6", State: "critical", UpdatedAt: v1}
	if err := s.PutAlertState(ctx, c, v1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second writer from the same version: err = %v, want ErrConflict", err)
	}
	got, err := s.GetAlertState(ctx, "addon:6")
	if err != nil {
		t.Fatalf("GetAlertState: %v", err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("GetAlertState (-want +got):\n%s", diff)
	}
}

func testConcurrentAlertState(t *testing.T, s store.Store) {
	ctx := t.Context()
	v1 := &store.AlertState{Key: "addon:6", State: "ok", UpdatedAt: at(0)}
	if err := s.PutAlertState(ctx, v1, time.Time{}); err != nil {
		t.Fatalf("PutAlertState: %v", err)
	}
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			next := &store.AlertState{Key: "addon:6", State: "warning", Episode: int64(i), UpdatedAt: at(time.Minute)}
			errs <- s.PutAlertState(ctx, next, v1.UpdatedAt)
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("PutAlertState: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent puts from one version won, want exactly 1", wins)
	}
}

func testClaimNotification(t *testing.T, s store.Store) {
	ctx := t.Context()
	claims := []struct {
		key     string
		episode int64
		state   string
		want    error
	}{
		{"addon:6", 1, "warning", nil},
		{"addon:6", 1, "warning", store.ErrDuplicate},
		{"addon:6", 1, "critical", nil},
		{"addon:6", 2, "warning", nil},
		{"addon:7", 1, "warning", nil},
		{"addon:6", 1, "critical", store.ErrDuplicate},
	}
	for _, c := range claims {
		err := s.ClaimNotification(ctx, c.key, c.episode, c.state, at(0))
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("ClaimNotification(%s, %d, %s) = %v, want %v", c.key, c.episode, c.state, err, c.want)
		}
	}
}

func testConcurrentClaimNotification(t *testing.T, s store.Store) {
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { errs <- s.ClaimNotification(t.Context(), "addon:6", 4, "critical", time.Now()) })
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrDuplicate):
			t.Errorf("ClaimNotification: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent claims won, want exactly 1", wins)
	}
}

func testSamples(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := []store.Sample{
		{ItemID: 6, At: at(2 * time.Hour), InUse: 42, Total: 50},
		{ItemID: 6, At: at(0), InUse: 40, Total: 50},
		{ItemID: 7, At: at(time.Hour), InUse: 1, Total: 10},
		{ItemID: 6, At: at(time.Hour), InUse: 41, Total: 50},
	}
	if err := s.AddSamples(ctx, in); err != nil {
		t.Fatalf("AddSamples: %v", err)
	}
	if err := s.AddSamples(ctx, nil); err != nil {
		t.Fatalf("AddSamples(nil): %v", err)
	}
	// The same reading again replaces, not adds.
	again := store.Sample{ItemID: 6, At: at(time.Hour), InUse: 43, Total: 55}
	if err := s.AddSamples(ctx, []store.Sample{again}); err != nil {
		t.Fatalf("AddSamples again: %v", err)
	}

	query := func(item int, since time.Time) []store.Sample {
		t.Helper()
		got, err := s.Samples(ctx, item, since)
		if err != nil {
			t.Fatalf("Samples(%d, %v): %v", item, since, err)
		}
		return got
	}
	tests := []struct {
		item  int
		since time.Time
		want  []store.Sample
	}{
		{6, time.Time{}, []store.Sample{in[1], again, in[0]}},
		{6, at(time.Hour), []store.Sample{again, in[0]}},
		{6, at(3 * time.Hour), nil},
		{7, at(0), []store.Sample{in[2]}},
		{8, time.Time{}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, query(tt.item, tt.since), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Samples(%d, %v) (-want +got):\n%s", tt.item, tt.since, diff)
		}
	}

	if err := s.PruneSamples(ctx, at(time.Hour)); err != nil {
		t.Fatalf("PruneSamples: %v", err)
	}
	if diff := cmp.Diff([]store.Sample{again, in[0]}, query(6, time.Time{})); diff != "" {
		t.Errorf("item 6 after PruneSamples (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.Sample{in[2]}, query(7, time.Time{})); diff != "" {
		t.Errorf("item 7 after PruneSamples (-want +got):\n%s", diff)
	}

	if err := s.AddSamples(ctx, []store.Sample{{ItemID: 6, At: at(5 * time.Hour)}, {ItemID: 6}}); err == nil {
		t.Error("AddSamples with a zero At: err = nil, want an error")
	}
	if diff := cmp.Diff([]store.Sample{again, in[0]}, query(6, time.Time{})); diff != "" {
		t.Errorf("a refused AddSamples stored some samples (-want +got):\n%s", diff)
	}
}

func testKV(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetKV(ctx, "sim"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKV of a new key: err = %v, want ErrNotFound", err)
	}
	for _, v := range [][]byte{[]byte(`{"v":1}`), []byte(`{"v":2}`), {0, 1, 2, 255}, {}} {
		if err := s.PutKV(ctx, "sim", v); err != nil {
			t.Fatalf("PutKV(%q): %v", v, err)
		}
		got, err := s.GetKV(ctx, "sim")
		if err != nil {
			t.Fatalf("GetKV: %v", err)
		}
		if diff := cmp.Diff(v, got); diff != "" {
			t.Errorf("GetKV after PutKV(%q) (-want +got):\n%s", v, diff)
		}
	}
	if err := s.PutKV(ctx, "other", []byte("x")); err != nil {
		t.Fatalf("PutKV(other): %v", err)
	}
	if got, err := s.GetKV(ctx, "sim"); err != nil || len(got) != 0 {
		t.Errorf("GetKV(sim) = %q, %v after writing another key; want it unchanged (empty)", got, err)
	}
}

func acquire(t *testing.T, s store.Store, name, holder string, ttl time.Duration, now time.Time) bool {
	t.Helper()
	ok, err := s.AcquireLease(t.Context(), name, holder, ttl, now)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s, %s, %s): %v", name, holder, ttl, now, err)
	}
	return ok
}

// testLease walks one lease through its life: taken, refused to another
// holder, renewed by its own, taken over once expired, and independent of
// a lease of another name.
func testLease(t *testing.T, s store.Store) {
	const ttl = time.Minute
	steps := []struct {
		what   string
		name   string
		holder string
		now    time.Duration
		want   bool
	}{
		{"a takes the free lease", "alerts", "a", 0, true},
		{"b is refused while a holds it", "alerts", "b", 30 * time.Second, false},
		{"a renews it before it expires", "alerts", "a", 50 * time.Second, true},
		{"b is refused after a's first term, within the renewed one", "alerts", "b", 90 * time.Second, false},
		{"b is refused a microsecond before the renewed term ends", "alerts", "b", 110*time.Second - time.Microsecond, false},
		{"b takes it when the renewed term ends", "alerts", "b", 110 * time.Second, true},
		{"a is refused now that b holds it", "alerts", "a", 111 * time.Second, false},
		{"b renews it", "alerts", "b", 150 * time.Second, true},
		{"a lease of another name is free", "other", "a", 150 * time.Second, true},
		{"and does not move the first", "alerts", "a", 200 * time.Second, false},
		{"a renews the other after it expired, nobody having taken it", "other", "a", time.Hour, true},
		{"a takes the first back long after b's term", "alerts", "a", time.Hour, true},
	}
	for _, st := range steps {
		if got := acquire(t, s, st.name, st.holder, ttl, at(st.now)); got != st.want {
			t.Errorf("%s: AcquireLease(%s, %s, at %s) = %v, want %v", st.what, st.name, st.holder, st.now, got, st.want)
		}
	}
}

// testLeaseNow: a zero now is the store's clock, so a lease taken "now"
// is still held a moment later and has expired once its ttl is past.
func testLeaseNow(t *testing.T, s store.Store) {
	start := time.Now()
	if !acquire(t, s, "alerts", "a", time.Hour, time.Time{}) {
		t.Fatal("AcquireLease of a free lease with a zero now = false, want true")
	}
	if acquire(t, s, "alerts", "b", time.Minute, time.Time{}) {
		t.Error("AcquireLease by b right after a took it for an hour = true, want false")
	}
	if acquire(t, s, "alerts", "b", time.Minute, start.Add(59*time.Minute)) {
		t.Error("AcquireLease by b within a's hour = true, want false")
	}
	if !acquire(t, s, "alerts", "b", time.Minute, time.Now().Add(time.Hour+time.Second)) {
		t.Error("AcquireLease by b after a's hour = false, want true")
	}
}

// testConcurrentLease: holders that all find the lease expired race for
// it; exactly one wins.
func testConcurrentLease(t *testing.T, s store.Store) {
	if !acquire(t, s, "alerts", "old", time.Minute, at(0)) {
		t.Fatal("first AcquireLease = false, want true")
	}
	for round, now := range []time.Time{at(0), at(time.Hour)} {
		const n = 20
		type result struct {
			holder string
			ok     bool
			err    error
		}
		results := make(chan result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			holder := fmt.Sprintf("h%d", i)
			wg.Go(func() {
				<-start
				ok, err := s.AcquireLease(t.Context(), "alerts", holder, time.Minute, now)
				results <- result{holder, ok, err}
			})
		}
		close(start)
		wg.Wait()
		close(results)
		var winners []string
		for r := range results {
			if r.err != nil {
				t.Errorf("round %d: AcquireLease by %s: %v", round, r.holder, r.err)
			}
			if r.ok {
				winners = append(winners, r.holder)
			}
		}
		want := 1
		if round == 0 {
			want = 0 // "old" still holds it
		}
		if len(winners) != want {
			t.Fatalf("round %d: winners %v, want %d", round, winners, want)
		}
		if want == 1 && !acquire(t, s, "alerts", winners[0], time.Minute, now.Add(time.Second)) {
			t.Errorf("the winner %s cannot renew its lease", winners[0])
		}
	}
}

func testLeaseArguments(t *testing.T, s store.Store) {
	tests := []struct {
		name, holder string
		ttl          time.Duration
	}{
		{"", "a", time.Minute},
		{"alerts", "", time.Minute},
		{"alerts", "a", 0},
		{"alerts", "a", -time.Second},
	}
	for _, tt := range tests {
		if ok, err := s.AcquireLease(t.Context(), tt.name, tt.holder, tt.ttl, at(0)); err == nil || ok {
			t.Errorf("AcquireLease(%q, %q, %s) = %v, %v; want false and an error", tt.name, tt.holder, tt.ttl, ok, err)
		}
	}
	// The refusals took nothing.
	if !acquire(t, s, "alerts", "b", time.Minute, at(0)) {
		t.Error("AcquireLease after refused calls = false, want true")
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testClose(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close: err = nil, want an error")
	}
	if _, err := s.GetRequest(ctx, "r1"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest after Close: err = %v, want a closed-store error", err)
	}
}

// testIdemKey: a second request with the same invocation key is not
// stored; the error names the first.
func testIdemKey(t *testing.T, s store.Store) {
	first := newRequest("r1")
	first.IdemKey = "slash:T1"
	create(t, s, first)
	second := newRequest("r2")
	second.IdemKey = "slash:T1"
	err := s.CreateRequest(t.Context(), second)
	var de *store.DuplicateError
	if !errors.As(err, &de) || !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second CreateRequest: err = %v, want a *DuplicateError", err)
	}
	if de.Same || de.Existing.ID != "r1" {
		t.Errorf("DuplicateError = %+v, want Existing r1, Same false", de)
	}
	if _, err := s.GetRequest(t.Context(), "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest(r2): err = %v, want ErrNotFound", err)
	}
	// The key stays taken once the request is decided.
	if _, err := s.Transition(t.Context(), "r1", store.StatePending, store.StateDenied, store.Transition{By: "U2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRequest(t.Context(), second); !errors.As(err, &de) || de.Existing.ID != "r1" {
		t.Errorf("CreateRequest after r1 was denied: err = %v, want a DuplicateError naming r1", err)
	}
	// No key: no check.
	create(t, s, newRequest("r3"))
	create(t, s, newRequest("r4"))
}

// testSameKeyPending: an identical request is refused while the first is
// pending, and allowed once it is decided.
func testSameKeyPending(t *testing.T, s store.Store) {
	first := newRequest("r1")
	first.SameKey = "U123|addons.purchase|6|2"
	create(t, s, first)
	second := newRequest("r2")
	second.SameKey = first.SameKey
	err := s.CreateRequest(t.Context(), second)
	var de *store.DuplicateError
	if !errors.As(err, &de) || !de.Same || de.Existing.ID != "r1" {
		t.Fatalf("identical CreateRequest: err = %v, want a DuplicateError naming r1 with Same", err)
	}
	if _, err := s.Transition(t.Context(), "r1", store.StatePending, store.StateCancelled, store.Transition{By: "U123"}); err != nil {
		t.Fatal(err)
	}
	create(t, s, second)
	if got := get(t, s, "r2"); got.SameKey != first.SameKey {
		t.Errorf("SameKey = %q, want %q", got.SameKey, first.SameKey)
	}
}

// testConcurrentIdemKey: of many creates with one key at once, one stores
// a request and the others are told which.
func testConcurrentIdemKey(t *testing.T, s store.Store) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := newRequest(fmt.Sprintf("r%d", i))
			r.IdemKey = "more:addon:6:3"
			errs[i] = s.CreateRequest(t.Context(), r)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		var de *store.DuplicateError
		switch {
		case err == nil:
			won++
		case errors.As(err, &de):
		default:
			t.Errorf("create %d: %v", i, err)
		}
	}
	list, err := s.ListRequests(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if won != 1 || len(list) != 1 {
		t.Errorf("%d creates won and %d requests stored, want 1 and 1", won, len(list))
	}
}

// testTransitionAudit: a transition with audit rows writes both.
func testTransitionAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	got, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{
		By: "U2", At: at(time.Minute), Claim: "tok1",
		Audit: []store.AuditEntry{{At: at(time.Minute), RequestID: "r1", Actor: "U2", Event: "request.approved", Detail: "d"}},
	})
	if err != nil {
		t.Fatalf("Transition: %v", err)
	}
	if err := s.CreateRequest(ctx, newRequest("r2"), store.AuditEntry{RequestID: "r2", Actor: "U1", Event: "request.created"}); err != nil {
		t.Fatalf("CreateRequest with audit: %v", err)
	}
	if got.Claim != "tok1" || got.Version != 2 {
		t.Errorf("Claim, Version = %q, %d; want tok1, 2", got.Claim, got.Version)
	}
	entries, err := s.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].Event != "request.approved" || entries[1].RequestID != "r1" || entries[0].Event != "request.created" {
		t.Errorf("audit = %+v, want request.approved then request.created", entries)
	}
	// A refused transition writes no audit row.
	if _, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{
		Audit: []store.AuditEntry{{RequestID: "r1", Actor: "U3", Event: "request.approved"}},
	}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second claim: err = %v, want ErrConflict", err)
	}
	if entries, _ := s.ListAudit(ctx, 0); len(entries) != 2 {
		t.Errorf("audit after a lost claim has %d rows, want 2", len(entries))
	}
}

// testMarkCallSent: only the claim's holder marks the call, with its audit
// row in the same write.
func testMarkCallSent(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	if _, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{By: "U2", Claim: "tok1"}); err != nil {
		t.Fatal(err)
	}
	audit := []store.AuditEntry{{RequestID: "r1", Actor: "system", Event: "dialogtech.call", Detail: "addons.purchase"}}
	if _, err := s.MarkCallSent(ctx, "r1", "tok2", at(time.Minute), audit); !errors.Is(err, store.ErrConflict) {
		t.Errorf("MarkCallSent with another claim: err = %v, want ErrConflict", err)
	}
	got, err := s.MarkCallSent(ctx, "r1", "tok1", at(time.Minute), audit)
	if err != nil {
		t.Fatalf("MarkCallSent: %v", err)
	}
	if !got.CallSentAt.Equal(at(time.Minute)) || got.Version != 3 {
		t.Errorf("CallSentAt, Version = %v, %d; want %v, 3", got.CallSentAt, got.Version, at(time.Minute))
	}
	if again, err := s.MarkCallSent(ctx, "r1", "tok1", at(2*time.Minute), audit); !errors.Is(err, store.ErrConflict) || !again.CallSentAt.Equal(at(time.Minute)) {
		t.Errorf("second MarkCallSent = %v, %v; want ErrConflict with the first mark", again, err)
	}
	entries, _ := s.ListAudit(ctx, 0)
	if len(entries) != 1 || entries[0].Event != "dialogtech.call" {
		t.Errorf("audit = %+v, want one dialogtech.call row", entries)
	}
	if _, err := s.MarkCallSent(ctx, "nope", "tok1", time.Time{}, nil); err == nil {
		t.Error("MarkCallSent(nope) succeeded")
	}
}

// testTransitionIfVersion: a transition with IfVersion writes only over
// that version of the row; over another it is ErrConflict with the row as
// it is, and its audit rows are not written.
func testTransitionIfVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	claimed, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{By: "U2", Claim: "tok1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkCallSent(ctx, "r1", "tok1", at(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	audit := []store.AuditEntry{{RequestID: "r1", Actor: "system", Event: "request.interrupted"}}
	cur, err := s.Transition(ctx, "r1", store.StateExecuting, store.StateFailed, store.Transition{IfVersion: claimed.Version, Audit: audit})
	if !errors.Is(err, store.ErrConflict) || cur == nil || cur.State != store.StateExecuting || cur.Version != claimed.Version+1 {
		t.Fatalf("transition over an older version = %+v, %v; want ErrConflict with the request executing at version %d", cur, err, claimed.Version+1)
	}
	if entries, _ := s.ListAudit(ctx, 0); len(entries) != 0 {
		t.Errorf("audit = %+v after a refused transition, want none", entries)
	}
	done, err := s.Transition(ctx, "r1", store.StateExecuting, store.StateUnknown, store.Transition{IfVersion: cur.Version, Audit: audit})
	if err != nil || done.State != store.StateUnknown {
		t.Errorf("transition at the current version = %+v, %v; want unknown", done, err)
	}
}

// AuditUnwritable is the part of the contract that needs the database
// itself: breakAudit makes every insert into the audit log fail (a
// trigger). A transition or call mark whose audit row fails changes
// nothing.
func AuditUnwritable(t *testing.T, s store.Store, breakAudit func()) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	create(t, s, newRequest("r2"))
	if _, err := s.Transition(ctx, "r2", store.StatePending, store.StateExecuting, store.Transition{By: "U2", Claim: "tok"}); err != nil {
		t.Fatal(err)
	}
	breakAudit()
	_, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{
		By: "U2", Claim: "tok1", Audit: []store.AuditEntry{{RequestID: "r1", Actor: "U2", Event: "request.approved"}},
	})
	if err == nil {
		t.Fatal("Transition with an unwritable audit log succeeded")
	}
	if got := get(t, s, "r1"); got.State != store.StatePending || got.Claim != "" {
		t.Errorf("request is %s, claim %q after its audit row failed; want pending, no claim", got.State, got.Claim)
	}
	if err := s.CreateRequest(ctx, newRequest("r3"), store.AuditEntry{RequestID: "r3", Actor: "U1", Event: "request.created"}); err == nil {
		t.Error("CreateRequest with an unwritable audit log succeeded")
	}
	if _, err := s.GetRequest(ctx, "r3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest(r3) after its audit row failed: err = %v, want ErrNotFound", err)
	}
	if _, err := s.MarkCallSent(ctx, "r2", "tok", time.Time{}, []store.AuditEntry{{RequestID: "r2", Actor: "system", Event: "dialogtech.call"}}); err == nil {
		t.Fatal("MarkCallSent with an unwritable audit log succeeded")
	}
	if got := get(t, s, "r2"); !got.CallSentAt.IsZero() {
		t.Errorf("CallSentAt = %v after its audit row failed, want unset", got.CallSentAt)
	}
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	if _, _, err := s.LeaseExpiry(t.Context(), "job"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LeaseExpiry of a lease never taken: err = %v, want ErrNotFound", err)
	}
	acquire(t, s, "job", "a", time.Minute, at(0))
	holder, expires, err := s.LeaseExpiry(t.Context(), "job")
	if err != nil || holder != "a" || !expires.Equal(at(time.Minute)) {
		t.Errorf("LeaseExpiry = %q, %v, %v; want a, %v", holder, expires, err, at(time.Minute))
	}
}

// testDeferNotification: a notice claimed with its due row is listed from
// its time; one taker wins it; deferred, it is listed again; once sent it
// is not.
func testDeferNotification(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := store.DueNotice{Key: "addon:6", Episode: 2, Claim: "resolve-3", Notice: "resolve", State: json.RawMessage(`{"a":1}`), Attempts: 0, Lost: true, NextAt: at(time.Minute)}
	if err := s.ClaimNotificationDue(ctx, n); err != nil {
		t.Fatalf("ClaimNotificationDue: %v", err)
	}
	if err := s.ClaimNotificationDue(ctx, n); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second ClaimNotificationDue: err = %v, want ErrDuplicate", err)
	}
	if err := s.ClaimNotification(ctx, n.Key, n.Episode, n.Claim, at(0)); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("ClaimNotification of a claimed notice: err = %v, want ErrDuplicate", err)
	}
	if due, err := s.DueNotices(ctx, at(30*time.Second), 0); err != nil || len(due) != 0 {
		t.Errorf("DueNotices before its time = %v, %v; want none", due, err)
	}
	due, err := s.DueNotices(ctx, at(time.Minute), 0)
	if err != nil || len(due) != 1 {
		t.Fatalf("DueNotices = %v, %v; want the one", due, err)
	}
	n.NextAt = normalize(n.NextAt)
	if diff := cmp.Diff(n, due[0]); diff != "" {
		t.Errorf("due notice (-want +got):\n%s", diff)
	}
	won := 0
	for range 3 {
		ok, err := s.TakeDueNotice(ctx, n.Key, n.Episode, n.Claim, due[0].NextAt, at(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d takers won the due notice, want 1", won)
	}
	n.Attempts, n.Lost, n.NextAt = 2, false, at(2*time.Minute)
	if err := s.DeferNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueNotices(ctx, at(time.Hour), 0); len(due) != 1 || due[0].Attempts != 2 || due[0].Lost {
		t.Errorf("after a deferral: %+v, want one row with 2 attempts", due)
	}
	if err := s.NotificationSent(ctx, n.Key, n.Episode, n.Claim); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueNotices(ctx, at(time.Hour), 0); len(due) != 0 {
		t.Errorf("after NotificationSent: %+v, want none", due)
	}
}

func normalize(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// testUndrawn: a request whose message is behind it is listed until its
// drawing catches up.
func testUndrawn(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, newRequest("r1"))
	if err := s.SetMessage(ctx, "r1", "C1", "1.2"); err != nil {
		t.Fatal(err)
	}
	done, err := s.Transition(ctx, "r1", store.StatePending, store.StateDenied, store.Transition{By: "U2"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Undrawn(ctx, store.StateDenied, 0)
	if err != nil || len(list) != 1 || list[0].ID != "r1" {
		t.Fatalf("Undrawn = %v, %v; want r1", list, err)
	}
	if err := s.SetDrawn(ctx, "r1", done.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDrawn(ctx, "r1", done.Version-1); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "r1"); got.DrawnVersion != done.Version {
		t.Errorf("DrawnVersion = %d, want %d (it never moves down)", got.DrawnVersion, done.Version)
	}
	if list, _ := s.Undrawn(ctx, store.StateDenied, 0); len(list) != 0 {
		t.Errorf("Undrawn after SetDrawn = %v, want none", list)
	}
}
