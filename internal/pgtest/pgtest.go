// Package pgtest gives tests one Postgres session of their own, for the
// statements they make beside the store's (schemas, locks, killing a
// backend): a single connection, not a pool, so that a session-level lock
// taken by one statement is held by the next.
package pgtest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/lib/pq"
)

// Session is one Postgres connection.
type Session struct{ conn *sql.Conn }

// Connect opens a session on rawURL, closed when the test ends.
func Connect(t testing.TB, rawURL string) *Session {
	t.Helper()
	connector, err := pq.NewConnector(rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	db := sql.OpenDB(connector)
	c, err := db.Conn(t.Context())
	if err != nil {
		db.Close()
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		db.Close()
	})
	return &Session{conn: c}
}

// Exec runs a statement.
func (s *Session) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.conn.ExecContext(ctx, query, args...)
}

// Query runs a query.
func (s *Session) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

// QueryRow runs a query expected to return at most one row.
func (s *Session) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

// Begin starts a transaction on the session.
func (s *Session) Begin(ctx context.Context) (*sql.Tx, error) {
	return s.conn.BeginTx(ctx, nil)
}
