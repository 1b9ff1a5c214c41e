package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dialogbot/dialogbot/store"
)

// BenchmarkClaim measures the approval's claim: the conditional write that
// moves a pending request to executing, exactly once. Every iteration
// claims a request that is still pending; the requests are created in
// batches while the timer is stopped.
func BenchmarkClaim(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchClaim(b, benchOpen(b, "sqlite:"+filepath.Join(b.TempDir(), "dialogbot.db")))
	})
	b.Run("postgres", func(b *testing.B) {
		base := os.Getenv(postgresEnv)
		if base == "" {
			b.Skipf("set %s to run it on Postgres", postgresEnv)
		}
		benchClaim(b, benchOpen(b, benchSchema(b, base)))
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

func benchOpen(b *testing.B, databaseURL string) store.Store {
	b.Helper()
	s, err := store.Open(b.Context(), databaseURL)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	return s
}

// benchSchema creates an empty Postgres schema, dropped when the benchmark
// ends, and returns a URL whose sessions work in it.
func benchSchema(b *testing.B, base string) string {
	b.Helper()
	ctx := b.Context()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	buf := make([]byte, 6)
	rand.Read(buf)
	schema := "dbb_" + hex.EncodeToString(buf)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatalf("create schema: %v", err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			b.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
