package alerts

import (
	"path/filepath"
	"testing"

	"github.com/dialogbot/dialogbot/store"
)

// TestRunnerTwoReplicasSQLite runs the two-replica scenario on the real
// SQLite store, so "post once" rests on its conditional writes and unique
// claims, not only on the in-memory fake's.
func TestRunnerTwoReplicasSQLite(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			twoReplicas(t, st)
		})
	}
}
