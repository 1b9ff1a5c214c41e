package approval_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
)

// BenchmarkApprove is one approval that buys, against BenchmarkApproveTwo,
// two approvals of a request above SECOND_APPROVAL_ABOVE: what the second
// approver costs in store work (SQLite on disk; the buyer answers at once).
func BenchmarkApprove(b *testing.B)    { benchApprove(b, 1) }
func BenchmarkApproveTwo(b *testing.B) { benchApprove(b, 2) }

func benchApprove(b *testing.B, needed int) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	p := approval.Policy{Approvers: []string{"UA", "UB"}, TTL: time.Hour, SecondAbove: approval.Threshold{Qty: 10}}
	svc := approval.New(st, &buyer{}, p, approval.WithLogger(slog.New(slog.DiscardHandler)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r, err := svc.Open(ctx, store.KindPurchase, dialog.PurchaseRequest{ItemID: 6, Qty: 11 + i}, "buy", "UR", "C1", approval.NeedingApprovals(needed))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if needed > 1 {
			if _, err := svc.Approve(ctx, r.ID, "UA"); err != nil {
				b.Fatal(err)
			}
		}
		done, err := svc.Approve(ctx, r.ID, "UB")
		if err != nil || done.State != store.StateSucceeded {
			b.Fatalf("%v, %v", done, err)
		}
	}
}
