package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the first key of the advisory lock migrators take; the
// second is the schema's, so that databases in other schemas migrate in
// parallel.
const migrationLock int32 = 0x64626f74 // "dbot"

// openPostgres opens a pool on a postgres:// URL. Query parameters pgx does
// not know become session settings, e.g. search_path=dialogbot. Sessions
// are named "dialogbot" in pg_stat_activity unless the URL sets
// application_name.
func openPostgres(ctx context.Context, url string) (_ Store, err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "dialogbot"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()

	s := &sqlStore{
		read:      pgxQuerier{pool},
		write:     pgxQuerier{pool},
		timeValue: func(t time.Time) any { return t },
		ping:      pool.Ping,
		close:     func() error { pool.Close(); return nil },
	}
	s.inTx = func(ctx context.Context, fn func(q querier) error) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fn(pgxQuerier{tx}) })
	}
	err = s.inTx(ctx, func(q querier) error {
		// Held until commit: replicas that start together queue here, and
		// each finds the work of the one before it done.
		if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`, migrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return s.migrate(ctx, q, "postgres")
	})
	if err != nil {
		return nil, fmt.Errorf("store: postgres: migrate: %w", err)
	}
	return s, nil
}

// pgxQuerier adapts a *pgxpool.Pool or pgx.Tx.
type pgxQuerier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (q pgxQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgxQuerier) query(ctx context.Context, query string, args ...any) (rowIter, error) {
	rows, err := q.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgxRows{rows}, nil
}

type pgxRows struct{ pgx.Rows }

func (r pgxRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}
