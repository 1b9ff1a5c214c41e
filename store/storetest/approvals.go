package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/store"
)

func testRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetRule(ctx, "R1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRule of a request without one: %v, want ErrNotFound", err)
	}
	if err := s.PutRule(ctx, "R1", 0); err == nil {
		t.Error("PutRule with 0 approvals needed succeeded")
	}
	if err := s.PutRule(ctx, "R1", 2); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRule(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if r.ApprovalsNeeded != 2 || !r.RemindedAt.IsZero() {
		t.Errorf("rule = %+v", r)
	}
	if err := s.ClaimReminder(ctx, "R1", at(0*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimReminder(ctx, "R1", at(1*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second ClaimReminder: %v, want ErrConflict", err)
	}
	if err := s.ClaimReminder(ctx, "R-none", at(1*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ClaimReminder without a rule: %v, want ErrConflict", err)
	}
	// Putting the rule again keeps the claim.
	if err := s.PutRule(ctx, "R1", 2); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRule(ctx, "R1"); r == nil || !r.RemindedAt.Equal(at(0*time.Second)) {
		t.Errorf("rule after re-put = %+v, want reminded at %v", r, at(0*time.Second))
	}
	// Releasing another claim's time does nothing; releasing its own frees it.
	if err := s.ReleaseReminder(ctx, "R1", at(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimReminder(ctx, "R1", at(2*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ClaimReminder after releasing another time: %v, want ErrConflict", err)
	}
	if err := s.ReleaseReminder(ctx, "R1", at(0*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimReminder(ctx, "R1", at(3*time.Second)); err != nil {
		t.Errorf("ClaimReminder after release: %v", err)
	}
}

func testApprovals(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got, err := s.Approvals(ctx, "R1"); err != nil || len(got) != 0 {
		t.Fatalf("Approvals of a request without any = %v, %v", got, err)
	}
	if err := s.AddApproval(ctx, "R1", "U2", at(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddApproval(ctx, "R1", "U1", at(1*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddApproval(ctx, "R1", "U2", at(3*time.Second)); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("same approver twice: %v, want ErrDuplicate", err)
	}
	if err := s.AddApproval(ctx, "R2", "U2", at(3*time.Second)); err != nil {
		t.Errorf("same approver on another request: %v", err)
	}
	// The audit rows go with the approval, and not with a repeated one.
	row := store.AuditEntry{At: at(4 * time.Second), RequestID: "R3", Actor: "U1", Event: "request.approval", Detail: "approved"}
	if err := s.AddApproval(ctx, "R3", "U1", at(4*time.Second), row); err != nil {
		t.Fatal(err)
	}
	if err := s.AddApproval(ctx, "R3", "U1", at(5*time.Second), row); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("repeated approval with audit: %v, want ErrDuplicate", err)
	}
	if log, err := s.ListAudit(ctx, 0); err != nil || len(log) != 1 || log[0].Event != "request.approval" || log[0].RequestID != "R3" {
		t.Errorf("audit after an approval and its repeat = %+v, %v; want the one row", log, err)
	}
	got, err := s.Approvals(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ApproverID != "U1" || got[1].ApproverID != "U2" || !got[0].At.Equal(at(1*time.Second)) || got[1].RequestID != "R1" {
		t.Errorf("approvals = %+v, want U1 then U2", got)
	}
}

// One approver clicking from many places at once is recorded once.
func testConcurrentApprovals(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			err := s.AddApproval(ctx, "R1", "U1", at(0*time.Second))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrDuplicate):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d AddApproval calls won, want 1", wins.Load())
	}
}

func testConcurrentReminderClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.PutRule(ctx, "R1", 1); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := s.ClaimReminder(ctx, "R1", at(0*time.Second).Add(1000*time.Duration(i)))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d ClaimReminder calls won, want 1", wins.Load())
	}
}
