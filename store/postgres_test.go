package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/internal/pgtest"
	"github.com/dialogbot/dialogbot/store"
	"github.com/dialogbot/dialogbot/store/storetest"
)

const postgresEnv = "DIALOGBOT_TEST_POSTGRES_URL"

// postgresURL is the server the Postgres tests use; they skip without one.
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(postgresEnv)
	if u == "" {
		t.Skipf("set %s to run the Postgres tests, e.g. %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'",
			postgresEnv, postgresEnv)
	}
	return u
}

// withParam returns rawURL with query parameter key set to value; the
// driver sends parameters it does not know to the server as session
// settings.
func withParam(t testing.TB, rawURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// connect opens a plain connection for the test's own statements.
func connect(t testing.TB, rawURL string) *pgtest.Session {
	t.Helper()
	return pgtest.Connect(t, rawURL)
}

// newSchema creates an empty schema for one test, dropped when it ends, and
// returns a URL whose sessions work in it.
func newSchema(t testing.TB) (schemaURL, schema string) {
	t.Helper()
	base := postgresURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema = "dbt_" + hex.EncodeToString(b)
	admin := connect(t, base)
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withParam(t, base, "search_path", schema), schema
}

func TestPostgres(t *testing.T) {
	postgresURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		u, _ := newSchema(t)
		return open(t, u)
	})
}

func TestPostgresAuditUnwritable(t *testing.T) {
	u, _ := newSchema(t)
	s := open(t, u)
	storetest.AuditUnwritable(t, s, func() {
		c := connect(t, u)
		_, err := c.Exec(t.Context(), `CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'audit log unwritable'; END $$;
			CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down();`)
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestPostgresTwoInstances races claims through two pools on one schema, as
// two replicas would.
func TestPostgresTwoInstances(t *testing.T) {
	u, _ := newSchema(t)
	raceClaims(t, []store.Store{open(t, u), open(t, u)}, 20, 50)
}

const migrateChildEnv = "DIALOGBOT_TEST_MIGRATE_URL"

// TestHelperMigrate is the child process of TestPostgresConcurrentMigrations.
func TestHelperMigrate(t *testing.T) {
	u := os.Getenv(migrateChildEnv)
	if u == "" {
		t.Skip("runs only as a child process of TestPostgresConcurrentMigrations")
	}
	s, err := store.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestPostgresConcurrentMigrations starts three processes on one new schema
// at the same moment: each must succeed and every migration must be applied
// once. The test holds the migration lock until all three wait for it, so
// that they really do start together.
func TestPostgresConcurrentMigrations(t *testing.T) {
	u, schema := newSchema(t)
	ctx := t.Context()
	app := "dbt_migrate_" + schema
	admin := connect(t, u)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, store.MigrationLock, schema); err != nil {
		t.Fatalf("take the migration lock: %v", err)
	}
	locked := true
	unlock := func() {
		if locked {
			locked = false
			if _, err := admin.Exec(context.Background(), `SELECT pg_advisory_unlock($1, hashtext($2))`, store.MigrationLock, schema); err != nil {
				t.Errorf("release the migration lock: %v", err)
			}
		}
	}
	defer unlock()

	const children = 3
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, children)
	for range children {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperMigrate$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), migrateChildEnv+"="+withParam(t, u, "application_name", app))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}

	// Wait until all three children block on the lock, or one has exited.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var waiting int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1`, app).Scan(&waiting)
		if err != nil {
			t.Fatalf("read pg_locks: %v", err)
		}
		if waiting == children {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d children wait for the migration lock after 60s", waiting, children)
		}
		select {
		case r := <-results:
			t.Fatalf("a child exited before the lock was released: %v\n%s", r.err, r.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	unlock()

	for range children {
		r := <-results
		if r.err != nil {
			t.Errorf("child: %v\n%s", r.err, r.out)
		}
	}

	rows, err := admin.Query(ctx, `SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	type applied struct{ Version, Count int }
	var got []applied
	for rows.Next() {
		var a applied
		if err := rows.Scan(&a.Version, &a.Count); err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		got = append(got, a)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	versions, err := store.MigrationVersions("postgres")
	if err != nil {
		t.Fatalf("MigrationVersions: %v", err)
	}
	var want []applied
	for _, v := range versions {
		want = append(want, applied{v, 1})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
}

// TestPostgresClaimKilled kills the session of a claim that waits for the
// request's row: the claim fails and changes nothing, and of the claims
// that follow, exactly one wins.
func TestPostgresClaimKilled(t *testing.T) {
	u, schema := newSchema(t)
	ctx := t.Context()
	app := "dbt_claim_" + schema
	claimer := open(t, withParam(t, u, "application_name", app))
	other := open(t, u)
	if err := other.CreateRequest(ctx, &store.Request{ID: "r1", Kind: store.KindPurchase, Params: []byte(`{}`)}); err != nil {
		t.Fatalf("CreateRequest: %v", err)
	}

	// Hold the row so that the claim blocks inside its UPDATE.
	admin := connect(t, u)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM requests WHERE id = 'r1' FOR UPDATE`); err != nil {
		t.Fatalf("lock the row: %v", err)
	}
	killed := make(chan error, 1)
	go func() {
		_, err := claimer.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{By: "killed"})
		killed <- err
	}()

	killer := connect(t, u)
	var pid int32
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := killer.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&pid)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("find the claim's session: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim did not wait for the row lock within 30s")
		}
		select {
		case err := <-killed:
			t.Fatalf("the claim returned (%v) while the row was locked", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := killer.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatalf("terminate the claim's session: %v", err)
	}
	if err := <-killed; err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("claim on a killed session: err = %v, want a connection error", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("release the row: %v", err)
	}
	if r, err := other.GetRequest(ctx, "r1"); err != nil || r.State != store.StatePending {
		t.Fatalf("after the killed claim: %+v, %v; want the request still pending", r, err)
	}

	// Both stores keep claiming; each pool must recover from the lost
	// connection, and exactly one claim wins.
	var winners []string
	for i := range 5 {
		for n, s := range []store.Store{claimer, other} {
			by := fmt.Sprintf("store%d/try%d", n, i)
			r, err := s.Transition(ctx, "r1", store.StatePending, store.StateExecuting, store.Transition{By: by})
			switch {
			case err == nil:
				winners = append(winners, r.DecidedBy)
			case errors.Is(err, store.ErrConflict):
			default:
				t.Logf("claim %s: %v (a pool may hand out the killed connection once)", by, err)
			}
		}
	}
	if len(winners) != 1 {
		t.Fatalf("winners %v, want exactly 1", winners)
	}
	r, err := other.GetRequest(ctx, "r1")
	if err != nil {
		t.Fatalf("GetRequest: %v", err)
	}
	if r.State != store.StateExecuting || r.DecidedBy != winners[0] {
		t.Errorf("request is %s by %s, want executing by %s", r.State, r.DecidedBy, winners[0])
	}
	if slices.Contains(winners, "killed") {
		t.Errorf("the killed claim won")
	}
}

// TestPostgresIdleSessionsKilled kills the store's idle sessions, as a
// server restart or failover does: the statements that follow run on new
// sessions rather than fail on the dead ones. Each statement runs once, so
// a session must be found dead before a statement is sent on it.
func TestPostgresIdleSessionsKilled(t *testing.T) {
	u, schema := newSchema(t)
	ctx := t.Context()
	app := "dbt_idle_" + schema
	s := open(t, withParam(t, u, "application_name", app))
	// Fill the pool with idle sessions: several statements at once.
	errs := make(chan error, 8)
	for i := range cap(errs) {
		go func() {
			errs <- s.CreateRequest(ctx, &store.Request{ID: fmt.Sprintf("r%d", i), Kind: store.KindPurchase, Params: []byte(`{}`)})
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("CreateRequest: %v", err)
		}
	}

	killer := connect(t, u)
	var killed int
	err := killer.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity, pg_terminate_backend(pid, 10000) AS done
		WHERE application_name = $1 AND done`, app).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminate the store's sessions: %d killed, %v", killed, err)
	}
	// The sessions have been idle for longer than the time after which the
	// pool checks a session before it hands it out.
	time.Sleep(1100 * time.Millisecond)

	for i := range killed + 2 {
		id := fmt.Sprintf("r%d", i%cap(errs))
		if _, err := s.GetRequest(ctx, id); err != nil {
			t.Errorf("GetRequest %s after the sessions were killed: %v", id, err)
		}
		if err := s.SetMessage(ctx, id, "C1", fmt.Sprintf("1.%d", i)); err != nil {
			t.Errorf("SetMessage %s after the sessions were killed: %v", id, err)
		}
	}
	if _, err := s.Transition(ctx, "r0", store.StatePending, store.StateExecuting, store.Transition{
		By: "U1", Audit: []store.AuditEntry{{RequestID: "r0", Actor: "U1", Event: "request.approved"}},
	}); err != nil {
		t.Errorf("claim after the sessions were killed: %v", err)
	}
}
