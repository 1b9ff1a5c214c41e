package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteParams set on every connection. busy_timeout comes first so that
// the pragmas after it wait for a lock instead of failing with
// SQLITE_BUSY. synchronous stays FULL (the default): a claim that
// survives a crash must not vanish in a power cut, or a purchase could
// run twice.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"

// openSQLite opens the database at name, a file path or a "file:" URI.
//
// Writes go through one connection that begins transactions with BEGIN
// IMMEDIATE: writers of this process queue in database/sql, and writers of
// other processes wait in SQLite's busy handler for the write lock. A
// deferred transaction that read first and then wrote could instead fail
// with SQLITE_BUSY at once, whatever the timeout. Reads use a pool of
// query-only connections that, thanks to WAL, do not block the writer or
// each other. An in-memory database exists only on its one connection, so
// there reads share the writer's.
func openSQLite(ctx context.Context, name string) (_ Store, err error) {
	if name == "" || name == "file:" {
		return nil, fmt.Errorf("store: sqlite: empty path")
	}
	memory := name == ":memory:" || strings.HasPrefix(name, "file::memory:") || strings.Contains(name, "mode=memory")
	sep := "?"
	if strings.Contains(name, "?") {
		sep = "&"
	}

	w, err := sql.Open("sqlite", name+sep+sqliteParams+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := whileBusy(ctx, func() error { return w.PingContext(ctx) }); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", name, err)
	}

	r := w
	if !memory {
		r, err = sql.Open("sqlite", name+sep+sqliteParams+"&_pragma=query_only(1)")
		if err != nil {
			return nil, fmt.Errorf("store: sqlite %s: %w", name, err)
		}
		defer func() {
			if err != nil {
				r.Close()
			}
		}()
		r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	}

	s := &sqlStore{
		read:      sqlQuerier{r},
		write:     sqlQuerier{w},
		timeValue: func(t time.Time) any { return t.UnixMicro() },
		ping: func(ctx context.Context) error {
			if err := w.PingContext(ctx); err != nil {
				return err
			}
			return r.PingContext(ctx)
		},
		close: func() error {
			err := w.Close()
			if r != w {
				if rerr := r.Close(); err == nil {
					err = rerr
				}
			}
			return err
		},
	}
	s.inTx = func(ctx context.Context, fn func(q querier) error) error {
		tx, err := w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
		if err != nil {
			return err
		}
		if err := fn(sqlQuerier{tx}); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	if err := s.inTx(ctx, func(q querier) error { return s.migrate(ctx, q, "sqlite") }); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: migrate: %w", name, err)
	}
	if err := whileBusy(ctx, func() error { return r.PingContext(ctx) }); err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", name, err)
	}
	return s, nil
}

// openBusyWait bounds how long opening waits out another process that is
// opening or creating the same file.
const openBusyWait = 10 * time.Second

// whileBusy runs open again while it fails with SQLITE_BUSY, for up to
// openBusyWait. A connection's first statements (journal_mode=WAL above
// all, which needs the file to itself for a moment) can fail with
// SQLITE_BUSY at once, without waiting in the busy handler, while another
// process opens or creates the database: two programs started together
// must both start. Nothing has been written when open fails.
func whileBusy(ctx context.Context, open func() error) error {
	deadline := time.Now().Add(openBusyWait)
	wait := 5 * time.Millisecond
	for {
		err := open()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// sqlQuerier adapts a *sql.DB or *sql.Tx.
type sqlQuerier struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

func (q sqlQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQuerier) query(ctx context.Context, query string, args ...any) (rowIter, error) {
	return q.q.QueryContext(ctx, query, args...)
}
