package store_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/store"
)

// BenchmarkClaim measures the approval's claim: the conditional write that
// moves a pending request to executing, exactly once. Every iteration
// claims a request that is still pending; the requests are created in
// batches while the timer is stopped.
func BenchmarkClaim(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchClaim(b, open(b, "sqlite:"+filepath.Join(b.TempDir(), "dialogbot.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		u, _ := newSchema(b)
		benchClaim(b, open(b, u))
	})
}

// claimBatch is how many pending requests are made at a time.
const claimBatch = 500

func benchClaim(b *testing.B, s store.Store) {
	ctx := b.Context()
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	params := json.RawMessage(`{"item_id":6,"qty":10}`)
	var (
		pending []string
		made    int
	)
	refill := func() {
		pending = pending[:0]
		for range claimBatch {
			made++
			r := &store.Request{ID: fmt.Sprintf("RBENCH%08d", made), Kind: store.KindPurchase, Params: params,
				Summary: "buy 10 × Local Number (item_id 6)", RequesterID: "U0REQUEST", ChannelID: "C0ORDERS",
				CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
			if err := s.CreateRequest(ctx, r); err != nil {
				b.Fatal(err)
			}
			pending = append(pending, r.ID)
		}
	}
	claim := func(id string) {
		r, err := s.Transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{By: "U0APPROVE", At: at.Add(time.Minute)})
		if err != nil {
			b.Fatalf("claim %s: %v", id, err)
		}
		if r.State != store.StateExecuting || r.DecidedBy != "U0APPROVE" {
			b.Fatalf("claim %s: request is %s, decided by %q", id, r.State, r.DecidedBy)
		}
	}

	// The claim is a claim: a second one of the same request loses.
	refill()
	claim(pending[0])
	if _, err := s.Transition(ctx, pending[0], store.StatePending, store.StateExecuting, store.Transition{By: "U0APPROV2"}); err == nil {
		b.Fatalf("a second claim of %s succeeded", pending[0])
	}
	pending = pending[1:]

	b.ReportAllocs()
	for b.Loop() {
		if len(pending) == 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		claim(pending[0])
		pending = pending[1:]
	}
}
