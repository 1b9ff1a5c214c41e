package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dialogbot/dialogbot/store"
)

// TestSQLiteOpenTogether: programs that open one new SQLite file at the
// same moment (a restart overlapping the old process, a command run while
// the bot starts) all open it, and share one schema. Without waiting out
// SQLITE_BUSY on the first statements, about one open in two hundred
// failed at once.
func TestSQLiteOpenTogether(t *testing.T) {
	const rounds, together = 100, 4
	for i := range rounds {
		url := "sqlite:" + filepath.Join(t.TempDir(), "dialogbot.db")
		var wg sync.WaitGroup
		stores := make([]store.Store, together)
		errs := make([]error, together)
		for k := range together {
			wg.Go(func() { stores[k], errs[k] = store.Open(context.Background(), url) })
		}
		wg.Wait()
		for k, err := range errs {
			if err != nil {
				t.Fatalf("round %d: open %d of %d: %v", i, k+1, together, err)
			}
		}
		id := fmt.Sprintf("r%d", i)
		if err := stores[0].CreateRequest(t.Context(), &store.Request{ID: id, Kind: store.KindPurchase, Params: []byte(`{}`)}); err != nil {
			t.Fatalf("round %d: CreateRequest: %v", i, err)
		}
		for k, s := range stores {
			if _, err := s.GetRequest(t.Context(), id); err != nil {
				t.Fatalf("round %d: store %d does not see the request: %v", i, k+1, err)
			}
			s.Close()
		}
	}
}
