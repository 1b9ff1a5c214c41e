package approval_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
)

var errBlink = errors.New("store: connection reset by peer")

// blinkStore is a real store that fails the way a database connection
// does. fail decides, per write, whether it fails before reaching the
// database (before) or after committing, with its answer lost (after).
type blinkStore struct {
	store.Store
	mu   sync.Mutex
	fail func(op string, from, to store.State) (before, after bool)
}

func (b *blinkStore) decide(op string, from, to store.State) (bool, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail == nil {
		return false, false
	}
	return b.fail(op, from, to)
}

func (b *blinkStore) Transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error) {
	before, after := b.decide("transition", from, to)
	if before {
		return nil, errBlink
	}
	r, err := b.Store.Transition(ctx, id, from, to, t)
	if after && err == nil {
		return nil, errBlink
	}
	return r, err
}

func (b *blinkStore) MarkCallSent(ctx context.Context, id, claim string, at time.Time, audit []store.AuditEntry) (*store.Request, error) {
	before, after := b.decide("mark", store.StateExecuting, store.StateExecuting)
	if before {
		return nil, errBlink
	}
	r, err := b.Store.MarkCallSent(ctx, id, claim, at, audit)
	if after && err == nil {
		return nil, errBlink
	}
	return r, err
}

func (b *blinkStore) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	if before, _ := b.decide("get", "", ""); before {
		return nil, errBlink
	}
	return b.Store.GetRequest(ctx, id)
}

func (b *blinkStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if before, _ := b.decide("audit", "", ""); before {
		return errBlink
	}
	return b.Store.AppendAudit(ctx, e)
}

func newBlinkFixture(t *testing.T, p approval.Policy) (*fixture, *blinkStore, *bytes.Buffer) {
	t.Helper()
	f := newFixture(t, p, nil)
	bs := &blinkStore{Store: f.st}
	var logs bytes.Buffer
	var mu sync.Mutex
	f.svc = approval.New(bs, f.buyer, p, approval.WithClock(func() time.Time { return f.now }),
		approval.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
	return f, bs, &logs
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func events(t *testing.T, st store.Store, id string) []string {
	t.Helper()
	all, err := st.ListAudit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].RequestID == id {
			out = append(out, all[i].Event)
		}
	}
	return out
}

// The store fails for a moment right after DialogTech answered: the
// outcome, its numbers and its audit row are stored once it is back.
func TestOutcomeStoredAfterStoreBlinks(t *testing.T) {
	policy := approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour}
	f, bs, logs := newBlinkFixture(t, policy)
	r := f.open(t, "UR")
	failures := 0
	bs.fail = func(op string, from, to store.State) (bool, bool) {
		if op == "transition" && from == store.StateExecuting && failures < 3 {
			failures++
			return true, false
		}
		if op == "audit" && failures < 3 {
			return true, false
		}
		return false, false
	}
	done, err := f.svc.Approve(context.Background(), r.ID, "UA")
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	got, _ := f.st.GetRequest(context.Background(), r.ID)
	o := approval.DecodeOutcome(got)
	if got.State != store.StateSucceeded || len(o.Numbers) != 1 || done.State != store.StateSucceeded {
		t.Errorf("stored request %s with numbers %v; want succeeded with the one number ordered", got.State, o.Numbers)
	}
	if n := f.buyer.calls.Load(); n != 1 {
		t.Errorf("%d buying calls, want 1", n)
	}
	if ev := events(t, f.st, r.ID); strings.Join(ev, ",") != "request.created,request.approved,dialogtech.call,dialogtech.result" {
		t.Errorf("audit events %v", ev)
	}
	// Each failed try logged the request and the numbers.
	if c := strings.Count(logs.String(), "outcome not stored yet"); c != 3 {
		t.Errorf("%d retry log lines, want 3:\n%s", c, logs)
	}
	if !strings.Contains(logs.String(), "3125550000") || !strings.Contains(logs.String(), r.ID) {
		t.Errorf("retry log lines lack the number or the request id:\n%s", logs)
	}
	// A sweep long after finds nothing to mark unknown.
	f.now = f.now.Add(time.Hour)
	if changed, err := f.svc.Sweep(context.Background()); err != nil || len(changed) != 0 {
		t.Errorf("sweep changed %d requests (%v), want none", len(changed), err)
	}
}

// The store stays down past the bound: the request is left for the sweep
// to mark unknown, and the last log line still carries the numbers.
func TestOutcomeLostLogsNumbers(t *testing.T) {
	policy := approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, OutcomeRetry: 300 * time.Millisecond}
	f, bs, logs := newBlinkFixture(t, policy)
	r := f.open(t, "UR")
	bs.fail = func(op string, from, to store.State) (bool, bool) {
		return op == "transition" && from == store.StateExecuting, false
	}
	if _, err := f.svc.Approve(context.Background(), r.ID, "UA"); err == nil {
		t.Fatal("Approve succeeded with the store down")
	}
	var last string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "outcome lost") {
			last = line
		}
	}
	if !strings.Contains(last, "3125550000") || !strings.Contains(last, r.ID) {
		t.Errorf("final log line %q lacks the request id or the number", last)
	}
	// Once the store is back, the sweep says unknown, never "not sent".
	bs.fail = nil
	f.now = f.now.Add(time.Hour)
	changed, err := f.svc.Sweep(context.Background())
	if err != nil || len(changed) != 1 || changed[0].State != store.StateUnknown {
		t.Fatalf("sweep = %v, %v; want the request unknown", changed, err)
	}
}

// The audit log cannot be written: the approval does not happen and no
// buying call is made.
func TestAuditUnwritableStopsTheCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db")
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &buyer{}
	svc := approval.New(st, b, approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, OutcomeRetry: 200 * time.Millisecond})
	r, err := svc.Open(context.Background(), store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 2}, "buy 2", "UR", "C1")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Approve(context.Background(), r.ID, "UA")
	if !errors.Is(err, approval.ErrNotRecorded) {
		t.Errorf("Approve with the audit log unwritable: err = %v, want ErrNotRecorded", err)
	}
	if n := b.calls.Load(); n != 0 {
		t.Errorf("%d buying calls with the audit log unwritable, want 0", n)
	}
	got, _ := st.GetRequest(context.Background(), r.ID)
	if got.State != store.StatePending {
		t.Errorf("request is %s, want still pending", got.State)
	}
	// Back: the same click works.
	if _, err := db.Exec(`DROP TRIGGER audit_down`); err != nil {
		t.Fatal(err)
	}
	if done, err := svc.Approve(context.Background(), r.ID, "UA"); err != nil || done.State != store.StateSucceeded || b.calls.Load() != 1 {
		t.Errorf("Approve after the audit log is back = %v, %v with %d calls; want succeeded, 1 call", done, err, b.calls.Load())
	}
}

// The claim is committed but its answer is lost: the approver reads it
// back and carries it out, so the request does not become a false unknown.
func TestLostClaimAnswerIsNoFalseUnknown(t *testing.T) {
	policy := approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour}
	f, bs, _ := newBlinkFixture(t, policy)
	r := f.open(t, "UR")
	lost := false
	bs.fail = func(op string, from, to store.State) (bool, bool) {
		if op == "transition" && from == store.StatePending && to == store.StateExecuting && !lost {
			lost = true
			return false, true
		}
		return false, false
	}
	done, err := f.svc.Approve(context.Background(), r.ID, "UA")
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	f.now = f.now.Add(time.Hour)
	if _, err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetRequest(context.Background(), r.ID)
	if got.State != store.StateSucceeded || done.State != store.StateSucceeded {
		t.Errorf("request is %s after a lost claim answer, want succeeded", got.State)
	}
	if n := f.buyer.calls.Load(); n != 1 {
		t.Errorf("%d buying calls, want 1", n)
	}
}

// The call's mark is committed but its answer is lost: it is read back and
// the call made once.
func TestLostMarkAnswerCallsOnce(t *testing.T) {
	policy := approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour}
	f, bs, _ := newBlinkFixture(t, policy)
	r := f.open(t, "UR")
	lost := false
	bs.fail = func(op string, from, to store.State) (bool, bool) {
		if op == "mark" && !lost {
			lost = true
			return false, true
		}
		return false, false
	}
	if _, err := f.svc.Approve(context.Background(), r.ID, "UA"); err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if n := f.buyer.calls.Load(); n != 1 {
		t.Errorf("%d buying calls, want 1", n)
	}
	if ev := events(t, f.st, r.ID); strings.Count(strings.Join(ev, ","), "dialogtech.call") != 1 {
		t.Errorf("audit events %v, want one dialogtech.call", ev)
	}
}

// A process that stopped after the claim and before the call's mark never
// called: the sweep ends the request failed, saying nothing was bought.
func TestSweepClaimWithoutCallIsNotSent(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour, StaleExecuting: 5 * time.Minute}, nil)
	r := f.open(t, "UR")
	if _, err := f.st.Transition(context.Background(), r.ID, store.StatePending, store.StateExecuting, store.Transition{By: "UA", At: f.now, Claim: "tok"}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(10 * time.Minute)
	changed, err := f.svc.Sweep(context.Background())
	if err != nil || len(changed) != 1 {
		t.Fatalf("sweep = %v, %v", changed, err)
	}
	if o := approval.DecodeOutcome(changed[0]); changed[0].State != store.StateFailed || !o.NotSent {
		t.Errorf("swept request %s, outcome %+v; want failed, not sent", changed[0].State, o)
	}
}

func TestOpenIdentical(t *testing.T) {
	f := newFixture(t, approval.Policy{Approvers: []string{"UA"}, TTL: time.Hour}, nil)
	ctx := context.Background()
	p := dialog.PurchaseRequest{ItemID: 6, Qty: 2}
	first, err := f.svc.Open(ctx, store.KindPurchase, p, "buy 2", "UR", "C1", approval.WithKey("slash:T1"))
	if err != nil {
		t.Fatal(err)
	}
	var ee *approval.ExistingError
	// The same invocation again (a redelivery): that request.
	if _, err := f.svc.Open(ctx, store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 3}, "buy 3", "UR", "C1", approval.WithKey("slash:T1")); !errors.As(err, &ee) || ee.Same || ee.Request.ID != first.ID {
		t.Errorf("redelivered Open: %v, want an ExistingError naming %s", err, first.ID)
	}
	// The same ask by the same person: pointed to.
	if _, err := f.svc.Open(ctx, store.KindPurchase, p, "buy 2", "UR", "C1", approval.WithKey("slash:T2")); !errors.As(err, &ee) || !ee.Same || ee.Request.ID != first.ID {
		t.Errorf("identical Open: %v, want an ExistingError naming %s", err, first.ID)
	}
	// Someone else may ask for the same.
	if _, err := f.svc.Open(ctx, store.KindPurchase, p, "buy 2", "UO", "C1", approval.WithKey("slash:T3")); err != nil {
		t.Errorf("Open by another person: %v", err)
	}
}

func TestResolve(t *testing.T) {
	lost := &dialog.UnknownOutcomeError{Action: dialog.ActionNumbersOrder, Err: errors.New("connection reset")}
	f := newFixture(t, approval.Policy{Approvers: []string{"UA", "UB"}, TTL: time.Hour}, lost)
	ctx := context.Background()
	r := f.open(t, "UR")
	if _, err := f.svc.Resolve(ctx, r.ID, "UA", true, []string{"3125550100"}); !errors.Is(err, approval.ErrNotUnknown) {
		t.Errorf("Resolve of a pending request: %v, want ErrNotUnknown", err)
	}
	if done, err := f.svc.Approve(ctx, r.ID, "UA"); err != nil || done.State != store.StateUnknown {
		t.Fatalf("Approve = %v, %v; want unknown", done, err)
	}
	list, err := f.svc.NeedsChecking(ctx, 10)
	if err != nil || len(list) != 1 || list[0].ID != r.ID {
		t.Errorf("NeedsChecking = %v, %v; want %s", list, err, r.ID)
	}
	if _, err := f.svc.Resolve(ctx, r.ID, "UR", true, []string{"3125550100"}); !errors.Is(err, approval.ErrNotApprover) {
		t.Errorf("Resolve by the requester: %v, want ErrNotApprover", err)
	}
	if _, err := f.svc.Resolve(ctx, r.ID, "UB", true, nil); !errors.Is(err, approval.ErrNumbersNeeded) {
		t.Errorf("Resolve of an order as bought without numbers: %v, want ErrNumbersNeeded", err)
	}
	done, err := f.svc.Resolve(ctx, r.ID, "UB", true, []string{"3125550100"})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	o := approval.DecodeOutcome(done)
	if done.State != store.StateSucceeded || o.Resolution == nil || o.Resolution.By != "UB" || len(o.Numbers) != 1 {
		t.Errorf("resolved %s with %+v; want succeeded, resolved by UB with the number", done.State, o)
	}
	if ev := events(t, f.st, r.ID); ev[len(ev)-1] != "request.resolved" {
		t.Errorf("audit events %v, want request.resolved last", ev)
	}
	if _, err := f.svc.Resolve(ctx, r.ID, "UA", false, nil); !errors.Is(err, approval.ErrNotUnknown) {
		t.Errorf("second Resolve: %v, want ErrNotUnknown", err)
	}
	if list, _ := f.svc.NeedsChecking(ctx, 10); len(list) != 0 {
		t.Errorf("NeedsChecking after the resolution = %v, want none", list)
	}
}
