package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/lib/pq"
)

// migrationLock is the first key of the advisory lock migrators take; the
// second is the schema's, so that databases in other schemas migrate in
// parallel.
const migrationLock int32 = 0x64626f74 // "dbot"

// openPostgres opens a pool on a postgres:// URL. Query parameters the
// driver does not know become session settings, e.g. search_path=dialogbot.
// Sessions are named "dialogbot" in pg_stat_activity unless the URL sets
// application_name.
func openPostgres(ctx context.Context, rawURL string) (_ Store, err error) {
	dsn, err := postgresDSN(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db := sql.OpenDB(checkedConnector{connector})
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	db.SetMaxOpenConns(max(4, runtime.NumCPU()))
	db.SetMaxIdleConns(max(4, runtime.NumCPU()))
	db.SetConnMaxIdleTime(30 * time.Minute)
	// As pgxpool did: a session is renewed after an hour, so that after a
	// failover behind a name the pool moves to the new server.
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	s := &sqlStore{
		read:      onceQuerier{db},
		write:     onceQuerier{db},
		timeValue: func(t time.Time) any { return t },
		ping:      db.PingContext,
		close:     db.Close,
	}
	s.inTx = func(ctx context.Context, fn func(q querier) error) error {
		// Only BEGIN may be retried on another session (database/sql does
		// so when a session is found dead before anything was sent); the
		// statements of a transaction never are.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(sqlQuerier{tx}); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
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

// pingAfterIdle is how long a session may sit idle in the pool before it
// is checked with a ping when it is taken again (pgxpool's rule). A
// session the server closed meanwhile (a restart, a failover, a killed
// backend) is then dropped and another taken, before any statement is sent
// on it: statements run once (onceQuerier), so one sent on a dead session
// would fail, and its caller could not tell that it never ran.
const pingAfterIdle = time.Second

// checkedConnector makes lib/pq's sessions check themselves when they come
// out of the pool after pingAfterIdle (see checkedConn).
type checkedConnector struct{ driver.Connector }

func (c checkedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := dc.(pqConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("the driver's session (%T) lacks methods the store needs", dc)
	}
	return &checkedConn{pqConn: pc}, nil
}

// pqConn is what lib/pq's session implements and database/sql uses; the
// wrapper passes all of it on, so that arguments, statements and
// transactions are handled as lib/pq alone would.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.NamedValueChecker
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// checkedConn is a lib/pq session that pings itself before it is reused
// after pingAfterIdle. database/sql calls IsValid as it puts a session
// back in the pool and ResetSession as it takes it out again; a failed
// ping reports the session bad, and database/sql closes it and takes
// another (nothing was sent but the ping).
type checkedConn struct {
	pqConn
	idleSince time.Time // set by IsValid, under database/sql's lock of the session
}

func (c *checkedConn) IsValid() bool {
	c.idleSince = time.Now()
	return c.pqConn.IsValid()
}

func (c *checkedConn) ResetSession(ctx context.Context) error {
	if err := c.pqConn.ResetSession(ctx); err != nil {
		return err
	}
	if !c.idleSince.IsZero() && time.Since(c.idleSince) > pingAfterIdle {
		if err := c.pqConn.Ping(ctx); err != nil {
			return driver.ErrBadConn
		}
	}
	return nil
}

// postgresDSN is rawURL with application_name=dialogbot unless it sets
// one; with sslmode=prefer unless it or PGSSLMODE sets one: TLS when the
// server offers it, as libpq does (lib/pq's own default is require); and
// with binary_parameters=yes unless it sets it: a statement and its
// arguments go in one round trip instead of two (BenchmarkClaim/postgres
// 0.8x), and []byte arguments (bytea columns) as they are.
func postgresDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("the database URL does not parse")
	}
	q := u.Query()
	if !q.Has("application_name") {
		q.Set("application_name", "dialogbot")
	}
	if !q.Has("sslmode") && os.Getenv("PGSSLMODE") == "" {
		q.Set("sslmode", "prefer")
	}
	if !q.Has("binary_parameters") {
		q.Set("binary_parameters", "yes")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// onceQuerier runs each statement once, on a session of its own from the
// pool. database/sql would run a statement again on another session when
// the driver calls the first one bad, and lib/pq does so for a session
// that died while the statement ran (the server was restarted, the
// backend killed): the statement may then have taken effect, or be
// waiting on a lock, and must not be made twice. Taking the session is
// retried (nothing has been sent yet); the statement is not: its error is
// returned.
type onceQuerier struct{ db *sql.DB }

func (q onceQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	c, err := q.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	res, err := c.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q onceQuerier) query(ctx context.Context, query string, args ...any) (rowIter, error) {
	c, err := q.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		c.Close()
		return nil, err
	}
	return connRows{rows, c}, nil
}

// connRows gives its session back to the pool once the rows are closed.
type connRows struct {
	*sql.Rows
	conn *sql.Conn
}

func (r connRows) Close() error {
	err := r.Rows.Close()
	if cerr := r.conn.Close(); err == nil {
		err = cerr
	}
	return err
}
