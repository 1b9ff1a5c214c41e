package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dialogbot/dialogbot/store"
	"github.com/dialogbot/dialogbot/store/storetest"
)

func open(t testing.TB, url string) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// A file, not only memory: WAL and the separate reader pool only exist for
// a file.
func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, "sqlite:"+filepath.Join(t.TempDir(), "dialogbot.db"))
	})
}

func TestSQLiteAuditUnwritable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dialogbot.db")
	s := open(t, "sqlite:"+path)
	storetest.AuditUnwritable(t, s, func() {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unwritable'); END`); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, "sqlite::memory:")
	})
}

func TestOpenSQLiteURLs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		url  func(path string) string
	}{
		{"sqlite:path", func(p string) string { return "sqlite:" + p }},
		{"sqlite://path", func(p string) string { return "sqlite://" + p }},
		{"file:path", func(p string) string { return "file:" + p }},
		{"file:path?query", func(p string) string { return "file:" + p + "?cache=private" }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(filepath.Join(dir, fmt.Sprintf("db%d.sqlite", i)))
			s := open(t, url)
			if err := s.PutKV(t.Context(), "k", []byte("v")); err != nil {
				t.Fatalf("PutKV: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			// Reopening finds the data, and the schema needs no second migration.
			got, err := open(t, url).GetKV(t.Context(), "k")
			if err != nil || string(got) != "v" {
				t.Errorf("GetKV after reopening %s = %q, %v; want \"v\"", url, got, err)
			}
		})
	}
}

func TestOpenErrorsHidePasswords(t *testing.T) {
	tests := []struct {
		name, url, password string
	}{
		{"unknown scheme", "mysql://bot:hunter2@db/dialogbot", "hunter2"},
		{"no scheme", "bot:hunter2@db/dialogbot", "hunter2"},
		{"bad port", "postgres://bot:hunter2@127.0.0.1:notaport/dialogbot", "hunter2"},
		{"encoded", "postgres://bot:hun%40ter2@127.0.0.1:notaport/dialogbot", "hun@ter2"},
		{"refused", "postgres://bot:hunter2@127.0.0.1:1/dialogbot?connect_timeout=5&sslmode=disable", "hunter2"},
		{"query password", "postgres://127.0.0.1:1/dialogbot?user=bot&password=hunter2&sslmode=nonsense", "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s, err := store.Open(ctx, tt.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s): err = nil, want an error", tt.name)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Errorf("Open error shows the password: %v", err)
			}
		})
	}
}

// TestSQLiteTwoInstances races claims through two stores on one file, as two
// processes would: each request has exactly one winner and no SQLITE_BUSY
// reaches a caller.
func TestSQLiteTwoInstances(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "dialogbot.db")
	stores := []store.Store{open(t, url), open(t, url)}
	raceClaims(t, stores, 20, 50)
}

// raceClaims creates requests through the first store, then has claimers
// goroutines per request, spread over stores, move each from pending to
// executing at once.
func raceClaims(t *testing.T, stores []store.Store, requests, claimers int) {
	t.Helper()
	ctx := t.Context()
	for i := range requests {
		r := &store.Request{ID: fmt.Sprintf("r%02d", i), Kind: store.KindPurchase, Params: []byte(`{}`)}
		if err := stores[0].CreateRequest(ctx, r); err != nil {
			t.Fatalf("CreateRequest: %v", err)
		}
	}
	var (
		mu      sync.Mutex
		winners = map[string][]string{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i := range requests {
		id := fmt.Sprintf("r%02d", i)
		for c := range claimers {
			s := stores[c%len(stores)]
			claimer := fmt.Sprintf("store%d/U%d", c%len(stores), c)
			wg.Go(func() {
				<-start
				r, err := s.Transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{By: claimer})
				switch {
				case err == nil:
					mu.Lock()
					winners[id] = append(winners[id], r.DecidedBy)
					mu.Unlock()
				case errors.Is(err, store.ErrConflict):
					if r == nil || r.State != store.StateExecuting {
						t.Errorf("%s: loser got %+v, want the request in executing", id, r)
					}
				default:
					t.Errorf("%s: claim by %s: %v", id, claimer, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i := range requests {
		id := fmt.Sprintf("r%02d", i)
		if len(winners[id]) != 1 {
			t.Errorf("%s: %d winners %v, want exactly 1", id, len(winners[id]), winners[id])
			continue
		}
		for n, s := range stores {
			r, err := s.GetRequest(ctx, id)
			if err != nil {
				t.Fatalf("GetRequest: %v", err)
			}
			if r.State != store.StateExecuting || r.DecidedBy != winners[id][0] {
				t.Errorf("%s via store %d: %s by %s, want executing by %s", id, n, r.State, r.DecidedBy, winners[id][0])
			}
		}
	}
}
