package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// querier is what database/sql offers for both drivers, modernc.org/sqlite
// and github.com/lib/pq. The SQL text is shared; SQLite binds $N to the Nth
// argument just as Postgres does.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, query string, args ...any) (rowIter, error)
}

type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// errNoRows is queryOne's "nothing matched"; each method turns it into
// ErrNotFound, ErrConflict or ErrDuplicate as its contract says.
var errNoRows = errors.New("no rows")

// sqlStore implements Store over either database.
type sqlStore struct {
	// read serves plain reads; write serves every statement that changes
	// something. They are the same for Postgres; SQLite keeps writes on a
	// single connection so that writers queue in Go rather than spin on
	// SQLITE_BUSY, while readers run concurrently beside them (WAL).
	read, write querier
	inTx        func(ctx context.Context, fn func(q querier) error) error
	// timeValue turns a normalized, non-zero time into the driver's value:
	// Unix microseconds for SQLite, time.Time for Postgres.
	timeValue func(time.Time) any
	ping      func(ctx context.Context) error
	close     func() error

	closeOnce sync.Once
	closeErr  error
}

// now is the store's clock for defaults (created_at, updated_at, ...).
func now() time.Time { return normTime(time.Now()) }

// normTime is the form every time takes in the store: UTC, microseconds
// (Postgres's precision, so both databases return what they were given),
// no monotonic reading. The zero time stays zero: it means "not set".
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// at is a time argument that must not be NULL (a bound in a comparison).
func (s *sqlStore) at(t time.Time) any { return s.timeValue(normTime(t)) }

// optTime is a time column value: NULL for the zero time.
func (s *sqlStore) optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.at(t)
}

// optString is NULL for "", so that COALESCE keeps the stored value.
func optString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// optBytes is NULL for an empty slice.
func optBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// timeDest scans a time column of either database into a UTC time.Time.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", src)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// each runs query and calls fn for every row. It reads the rows to the end
// and reports Close's error too: SQLite commits an UPDATE ... RETURNING
// when the statement finishes, so an error there is the write failing.
func each(ctx context.Context, q querier, fn func(scanner) error, query string, args ...any) error {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := fn(rows); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// one is each for a query that matches at most one row; errNoRows when it
// matches none.
func one(ctx context.Context, q querier, fn func(scanner) error, query string, args ...any) error {
	n := 0
	err := each(ctx, q, func(sc scanner) error {
		n++
		if n > 1 {
			return fmt.Errorf("query returned more than one row")
		}
		return fn(sc)
	}, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoRows
	}
	return nil
}

// requestInsert lists the columns CreateRequest writes; requestColumns the
// ones every read returns, in scanRequest's order.
const (
	requestInsert = `id, kind, params, summary, requester_id, channel_id, message_ts, state,
	created_at, expires_at, decided_by, decided_at, reason, outcome, updated_at, idem_key, same_key, claim, call_sent_at, version, drawn_version`
	requestColumns = `id, kind, params, summary, requester_id, channel_id, message_ts, state,
	created_at, expires_at, decided_by, decided_at, reason, outcome, updated_at,
	COALESCE(idem_key, ''), COALESCE(same_key, ''), claim, call_sent_at, version, drawn_version`
)

func scanRequest(sc scanner) (*Request, error) {
	var (
		r               Request
		kind, state     string
		params, outcome []byte
	)
	err := sc.Scan(&r.ID, &kind, &params, &r.Summary, &r.RequesterID, &r.ChannelID, &r.MessageTS, &state,
		timeDest{&r.CreatedAt}, timeDest{&r.ExpiresAt}, &r.DecidedBy, timeDest{&r.DecidedAt}, &r.Reason, &outcome,
		timeDest{&r.UpdatedAt}, &r.IdemKey, &r.SameKey, &r.Claim, timeDest{&r.CallSentAt}, &r.Version, &r.DrawnVersion)
	if err != nil {
		return nil, err
	}
	r.Kind, r.State = Kind(kind), State(state)
	r.Params, r.Outcome = rawJSON(params), rawJSON(outcome)
	return &r, nil
}

// CreateRequest fills in r's defaults before storing it, so that r then
// equals what GetRequest returns: State pending when empty, CreatedAt now
// when zero, UpdatedAt CreatedAt when zero, Version 1, every time in UTC
// truncated to microseconds. An ID already stored gives ErrDuplicate; an
// IdemKey already stored, or the SameKey of a pending request, a
// *DuplicateError naming that request. audit is appended in the same
// transaction as the insert, and only when the request is stored.
func (s *sqlStore) CreateRequest(ctx context.Context, r *Request, audit ...AuditEntry) error {
	if r.ID == "" {
		return fmt.Errorf("store: create request: empty id")
	}
	if r.State == "" {
		r.State = StatePending
	}
	if r.State != StatePending {
		return fmt.Errorf("store: create request %s: state %q, want %q", r.ID, r.State, StatePending)
	}
	r.CreatedAt, r.ExpiresAt, r.DecidedAt, r.UpdatedAt = normTime(r.CreatedAt), normTime(r.ExpiresAt), normTime(r.DecidedAt), normTime(r.UpdatedAt)
	r.CallSentAt = normTime(r.CallSentAt)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	r.Version = 1
	// A conflict with a pending identical request that is decided before
	// it can be read is tried again: it no longer stands in the way.
	for range 3 {
		var n int64
		insert := func(q querier) (err error) {
			n, err = q.exec(ctx, `INSERT INTO requests (`+requestInsert+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
				ON CONFLICT DO NOTHING`,
				r.ID, string(r.Kind), optBytes(r.Params), r.Summary, r.RequesterID, r.ChannelID, r.MessageTS, string(r.State),
				s.at(r.CreatedAt), s.optTime(r.ExpiresAt), r.DecidedBy, s.optTime(r.DecidedAt), r.Reason, optBytes(r.Outcome),
				s.at(r.UpdatedAt), optString(r.IdemKey), optString(r.SameKey), r.Claim, s.optTime(r.CallSentAt), r.Version, r.DrawnVersion)
			if err != nil || n == 0 {
				return err
			}
			return s.appendAudit(ctx, q, audit)
		}
		var err error
		if len(audit) == 0 {
			err = insert(s.write)
		} else {
			err = s.inTx(ctx, insert)
		}
		if err != nil {
			return fmt.Errorf("store: create request %s: %w", r.ID, err)
		}
		if n > 0 {
			return nil
		}
		if err := s.duplicateOf(ctx, r); err != nil {
			return err
		}
	}
	return fmt.Errorf("store: create request %s: %w", r.ID, ErrDuplicate)
}

// duplicateOf says which stored request stood in the way of creating r, or
// nil when none does any more.
func (s *sqlStore) duplicateOf(ctx context.Context, r *Request) error {
	if r.IdemKey != "" {
		var found *Request
		err := one(ctx, s.write, func(sc scanner) (err error) {
			found, err = scanRequest(sc)
			return err
		}, `SELECT `+requestColumns+` FROM requests WHERE idem_key = $1`, r.IdemKey)
		if err == nil {
			return fmt.Errorf("store: create request %s: %w", r.ID, &DuplicateError{Existing: found})
		}
		if !errors.Is(err, errNoRows) {
			return fmt.Errorf("store: create request %s: %w", r.ID, err)
		}
	}
	if r.SameKey != "" {
		var found *Request
		err := one(ctx, s.write, func(sc scanner) (err error) {
			found, err = scanRequest(sc)
			return err
		}, `SELECT `+requestColumns+` FROM requests WHERE same_key = $1 AND state = 'pending'`, r.SameKey)
		if err == nil {
			return fmt.Errorf("store: create request %s: %w", r.ID, &DuplicateError{Existing: found, Same: true})
		}
		if !errors.Is(err, errNoRows) {
			return fmt.Errorf("store: create request %s: %w", r.ID, err)
		}
	}
	n := 0
	err := each(ctx, s.write, func(sc scanner) error { n++; var id string; return sc.Scan(&id) },
		`SELECT id FROM requests WHERE id = $1`, r.ID)
	if err != nil {
		return fmt.Errorf("store: create request %s: %w", r.ID, err)
	}
	if n > 0 {
		return fmt.Errorf("store: create request %s: %w", r.ID, ErrDuplicate)
	}
	return nil
}

func (s *sqlStore) getRequest(ctx context.Context, q querier, id string) (*Request, error) {
	var r *Request
	err := one(ctx, q, func(sc scanner) (err error) {
		r, err = scanRequest(sc)
		return err
	}, `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id)
	if errors.Is(err, errNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

func (s *sqlStore) GetRequest(ctx context.Context, id string) (*Request, error) {
	r, err := s.getRequest(ctx, s.read, id)
	if err != nil {
		return nil, fmt.Errorf("store: get request %s: %w", id, err)
	}
	return r, nil
}

// SetMessage also sets UpdatedAt to now.
func (s *sqlStore) SetMessage(ctx context.Context, id, channelID, ts string) error {
	n, err := s.write.exec(ctx, `UPDATE requests SET channel_id = $2, message_ts = $3, updated_at = $4, version = version + 1, drawn_version = version + 1 WHERE id = $1`,
		id, channelID, ts, s.at(now()))
	if err != nil {
		return fmt.Errorf("store: set message of %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: set message of %s: %w", id, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) SetDrawn(ctx context.Context, id string, version int64) error {
	if _, err := s.write.exec(ctx, `UPDATE requests SET drawn_version = $2 WHERE id = $1 AND drawn_version < $2`, id, version); err != nil {
		return fmt.Errorf("store: set drawn %s: %w", id, err)
	}
	return nil
}

func (s *sqlStore) Undrawn(ctx context.Context, state State, limit int) ([]*Request, error) {
	query := `SELECT ` + requestColumns + ` FROM requests
		WHERE state = $1 AND message_ts <> '' AND drawn_version < version ORDER BY updated_at, id`
	args := []any{string(state)}
	if limit > 0 {
		query += ` LIMIT $2`
		args = append(args, limit)
	}
	list, err := s.requests(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: undrawn requests: %w", err)
	}
	return list, nil
}

// Transition refuses a move the state diagram does not allow (see
// State.CanMoveTo) with an error that is neither ErrConflict nor
// ErrNotFound. t.At sets DecidedAt, and UpdatedAt unless t.Now is set;
// without At, DecidedAt is kept and UpdatedAt is t.Now, or now. t.Audit is
// appended in the same transaction: when it cannot be, nothing changes.
func (s *sqlStore) Transition(ctx context.Context, id string, from, to State, t Transition) (*Request, error) {
	if !from.CanMoveTo(to) {
		return nil, fmt.Errorf("store: transition %s: %s → %s is not a move the state diagram allows", id, from, to)
	}
	updated := normTime(t.Now)
	if updated.IsZero() {
		updated = normTime(t.At)
	}
	if updated.IsZero() {
		updated = now()
	}
	args := []any{id, string(from), string(to), optString(t.By), s.optTime(t.At), optString(t.Reason), optBytes(t.Outcome), s.at(updated), optString(t.Claim)}
	where := `id = $1 AND state = $2`
	if t.IfVersion != 0 {
		args = append(args, t.IfVersion)
		where += ` AND version = $10`
	}
	var r *Request
	update := func(q querier) error {
		return one(ctx, q, func(sc scanner) (err error) {
			r, err = scanRequest(sc)
			return err
		}, `UPDATE requests SET state = $3,
				decided_by = COALESCE($4, decided_by),
				decided_at = COALESCE($5, decided_at),
				reason = COALESCE($6, reason),
				outcome = COALESCE($7, outcome),
				updated_at = $8,
				claim = COALESCE($9, claim),
				version = version + 1
			WHERE `+where+`
			RETURNING `+requestColumns, args...)
	}
	var err error
	if len(t.Audit) == 0 {
		err = update(s.write)
	} else {
		err = s.inTx(ctx, func(q querier) error {
			if err := update(q); err != nil {
				return err
			}
			return s.appendAudit(ctx, q, t.Audit)
		})
	}
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("store: transition %s %s → %s: %w", id, from, to, err)
	}
	// The write matched nothing: say why. The row read here is at least as
	// new as the one the write saw, so a request that exists is not in
	// `from` any more.
	cur, err := s.getRequest(ctx, s.read, id)
	if err != nil {
		return nil, fmt.Errorf("store: transition %s %s → %s: %w", id, from, to, err)
	}
	return cur, fmt.Errorf("store: transition %s %s → %s: request is %s: %w", id, from, to, cur.State, ErrConflict)
}

// MarkCallSent is one transaction: the request's CallSentAt and the audit
// rows, or neither.
func (s *sqlStore) MarkCallSent(ctx context.Context, id, claim string, at time.Time, audit []AuditEntry) (*Request, error) {
	if claim == "" {
		return nil, fmt.Errorf("store: mark call sent %s: empty claim", id)
	}
	if at.IsZero() {
		at = now()
	}
	var r *Request
	err := s.inTx(ctx, func(q querier) error {
		err := one(ctx, q, func(sc scanner) (err error) {
			r, err = scanRequest(sc)
			return err
		}, `UPDATE requests SET call_sent_at = $3, updated_at = $3, version = version + 1
			WHERE id = $1 AND state = 'executing' AND claim = $2 AND call_sent_at IS NULL
			RETURNING `+requestColumns, id, claim, s.at(at))
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, q, audit)
	})
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("store: mark call sent %s: %w", id, err)
	}
	cur, err := s.getRequest(ctx, s.read, id)
	if err != nil {
		return nil, fmt.Errorf("store: mark call sent %s: %w", id, err)
	}
	return cur, fmt.Errorf("store: mark call sent %s: request is %s, already marked or under another claim: %w", id, cur.State, ErrConflict)
}

// ListRequests orders requests created at the same instant by descending
// ID. A limit <= 0 means no limit.
func (s *sqlStore) ListRequests(ctx context.Context, state State, limit int) ([]*Request, error) {
	var (
		query strings.Builder
		args  []any
	)
	query.WriteString(`SELECT ` + requestColumns + ` FROM requests`)
	if state != "" {
		args = append(args, string(state))
		fmt.Fprintf(&query, ` WHERE state = $%d`, len(args))
	}
	query.WriteString(` ORDER BY created_at DESC, id DESC`)
	if limit > 0 {
		args = append(args, limit)
		fmt.Fprintf(&query, ` LIMIT $%d`, len(args))
	}
	list, err := s.requests(ctx, query.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list requests: %w", err)
	}
	return list, nil
}

// PendingExpiredBefore returns the oldest expiry first. A request without
// ExpiresAt never expires.
func (s *sqlStore) PendingExpiredBefore(ctx context.Context, at time.Time) ([]*Request, error) {
	list, err := s.requests(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE state = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1
		ORDER BY expires_at, id`, s.at(at))
	if err != nil {
		return nil, fmt.Errorf("store: pending requests expired at %s: %w", at, err)
	}
	return list, nil
}

func (s *sqlStore) requests(ctx context.Context, query string, args ...any) ([]*Request, error) {
	var list []*Request
	err := each(ctx, s.read, func(sc scanner) error {
		r, err := scanRequest(sc)
		if err == nil {
			list = append(list, r)
		}
		return err
	}, query, args...)
	return list, err
}

// AppendAudit ignores e.ID (the store assigns it) and stamps a zero e.At
// with now.
func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEntry) error {
	if err := s.appendAudit(ctx, s.write, []AuditEntry{e}); err != nil {
		return fmt.Errorf("store: append audit %s: %w", e.Event, err)
	}
	return nil
}

func (s *sqlStore) appendAudit(ctx context.Context, q querier, entries []AuditEntry) error {
	for _, e := range entries {
		if e.At.IsZero() {
			e.At = now()
		}
		_, err := q.exec(ctx, `INSERT INTO audit_log (at, request_id, actor, event, detail) VALUES ($1, $2, $3, $4, $5)`,
			s.at(e.At), e.RequestID, e.Actor, e.Event, e.Detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Event, err)
		}
	}
	return nil
}

// ListAudit orders by ID, that is by when entries were appended (At is the
// caller's and may come from another replica's clock). A limit <= 0 means
// no limit.
func (s *sqlStore) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	query := `SELECT id, at, request_id, actor, event, detail FROM audit_log ORDER BY id DESC`
	var args []any
	if limit > 0 {
		query += ` LIMIT $1`
		args = append(args, limit)
	}
	var list []AuditEntry
	err := each(ctx, s.read, func(sc scanner) error {
		var e AuditEntry
		err := sc.Scan(&e.ID, timeDest{&e.At}, &e.RequestID, &e.Actor, &e.Event, &e.Detail)
		list = append(list, e)
		return err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return list, nil
}

const alertColumns = `key, state, episode, channel_id, message_ts, last_posted_at, snoozed_by, snoozed_until, failures, data, updated_at`

func scanAlertState(sc scanner) (*AlertState, error) {
	var (
		a    AlertState
		data []byte
	)
	err := sc.Scan(&a.Key, &a.State, &a.Episode, &a.ChannelID, &a.MessageTS, timeDest{&a.LastPostedAt}, &a.SnoozedBy,
		timeDest{&a.SnoozedUntil}, &a.Failures, &data, timeDest{&a.UpdatedAt})
	if err != nil {
		return nil, err
	}
	a.Data = rawJSON(data)
	return &a, nil
}

func (s *sqlStore) GetAlertState(ctx context.Context, key string) (*AlertState, error) {
	var a *AlertState
	err := one(ctx, s.read, func(sc scanner) (err error) {
		a, err = scanAlertState(sc)
		return err
	}, `SELECT `+alertColumns+` FROM alert_states WHERE key = $1`, key)
	if errors.Is(err, errNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get alert state %s: %w", key, err)
	}
	return a, nil
}

// PutAlertState stores s as the row's next version, s.UpdatedAt. The caller
// sets it to the time of the change; the store takes now when it is zero,
// and moves it to just after prevUpdatedAt when it is not later, because
// two versions with one UpdatedAt would let two writers that read the same
// version both succeed. On success s.UpdatedAt holds the stored version (in
// UTC, microseconds): pass it as prevUpdatedAt to the next put.
func (s *sqlStore) PutAlertState(ctx context.Context, a *AlertState, prevUpdatedAt time.Time) error {
	if a.Key == "" {
		return fmt.Errorf("store: put alert state: empty key")
	}
	prev := normTime(prevUpdatedAt)
	next := normTime(a.UpdatedAt)
	if next.IsZero() {
		next = now()
	}
	if !prev.IsZero() && !next.After(prev) {
		next = prev.Add(time.Microsecond)
	}
	args := []any{a.Key, a.State, a.Episode, a.ChannelID, a.MessageTS, s.optTime(a.LastPostedAt), a.SnoozedBy,
		s.optTime(a.SnoozedUntil), a.Failures, optBytes(a.Data), s.at(next)}
	var (
		n   int64
		err error
	)
	if prev.IsZero() {
		n, err = s.write.exec(ctx, `INSERT INTO alert_states (`+alertColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (key) DO NOTHING`, args...)
	} else {
		n, err = s.write.exec(ctx, `UPDATE alert_states SET state = $2, episode = $3, channel_id = $4, message_ts = $5,
				last_posted_at = $6, snoozed_by = $7, snoozed_until = $8, failures = $9, data = $10, updated_at = $11
			WHERE key = $1 AND updated_at = $12`, append(args, s.at(prev))...)
	}
	if err != nil {
		return fmt.Errorf("store: put alert state %s: %w", a.Key, err)
	}
	if n == 0 {
		return fmt.Errorf("store: put alert state %s: stored version is not %s: %w", a.Key, prev.Format(time.RFC3339Nano), ErrConflict)
	}
	a.UpdatedAt = next
	return nil
}

// ListAlertStates orders by key.
func (s *sqlStore) ListAlertStates(ctx context.Context) ([]*AlertState, error) {
	var list []*AlertState
	err := each(ctx, s.read, func(sc scanner) error {
		a, err := scanAlertState(sc)
		if err == nil {
			list = append(list, a)
		}
		return err
	}, `SELECT `+alertColumns+` FROM alert_states ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("store: list alert states: %w", err)
	}
	return list, nil
}

// ClaimNotification stamps a zero at with now.
func (s *sqlStore) ClaimNotification(ctx context.Context, key string, episode int64, state string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	n, err := s.write.exec(ctx, `INSERT INTO notification_claims (key, episode, state, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key, episode, state) DO NOTHING`, key, episode, state, s.at(at))
	if err != nil {
		return fmt.Errorf("store: claim notification %s/%d/%s: %w", key, episode, state, err)
	}
	if n == 0 {
		return fmt.Errorf("store: claim notification %s/%d/%s: %w", key, episode, state, ErrDuplicate)
	}
	return nil
}

const upsertDue = `INSERT INTO notices_due (key, episode, claim, notice, state, attempts, lost, next_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (key, episode, claim) DO UPDATE SET notice = excluded.notice, state = excluded.state,
		attempts = excluded.attempts, lost = excluded.lost, next_at = excluded.next_at`

func (s *sqlStore) dueArgs(n DueNotice) []any {
	if n.NextAt.IsZero() {
		n.NextAt = now()
	}
	lost := 0
	if n.Lost {
		lost = 1
	}
	return []any{n.Key, n.Episode, n.Claim, n.Notice, optBytes(n.State), n.Attempts, lost, s.at(n.NextAt)}
}

// ClaimNotificationDue: the claim and the due row in one transaction.
func (s *sqlStore) ClaimNotificationDue(ctx context.Context, n DueNotice) error {
	err := s.inTx(ctx, func(q querier) error {
		c, err := q.exec(ctx, `INSERT INTO notification_claims (key, episode, state, claimed_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key, episode, state) DO NOTHING`, n.Key, n.Episode, n.Claim, s.at(now()))
		if err != nil {
			return err
		}
		if c == 0 {
			return ErrDuplicate
		}
		_, err = q.exec(ctx, upsertDue, s.dueArgs(n)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: claim notification %s/%d/%s: %w", n.Key, n.Episode, n.Claim, err)
	}
	return nil
}

func (s *sqlStore) DeferNotification(ctx context.Context, n DueNotice) error {
	if _, err := s.write.exec(ctx, upsertDue, s.dueArgs(n)...); err != nil {
		return fmt.Errorf("store: defer notification %s/%d/%s: %w", n.Key, n.Episode, n.Claim, err)
	}
	return nil
}

func (s *sqlStore) TakeDueNotice(ctx context.Context, key string, episode int64, claim string, prev, next time.Time) (bool, error) {
	n, err := s.write.exec(ctx, `UPDATE notices_due SET next_at = $5 WHERE key = $1 AND episode = $2 AND claim = $3 AND next_at = $4`,
		key, episode, claim, s.at(prev), s.at(next))
	if err != nil {
		return false, fmt.Errorf("store: take due notice %s/%d/%s: %w", key, episode, claim, err)
	}
	return n > 0, nil
}

func (s *sqlStore) DueNotices(ctx context.Context, at time.Time, limit int) ([]DueNotice, error) {
	query := `SELECT key, episode, claim, notice, state, attempts, lost, next_at FROM notices_due
		WHERE next_at <= $1 ORDER BY next_at, key, episode, claim`
	args := []any{s.at(at)}
	if limit > 0 {
		query += ` LIMIT $2`
		args = append(args, limit)
	}
	var list []DueNotice
	err := each(ctx, s.read, func(sc scanner) error {
		var (
			n     DueNotice
			state []byte
			lost  int64
		)
		err := sc.Scan(&n.Key, &n.Episode, &n.Claim, &n.Notice, &state, &n.Attempts, &lost, timeDest{&n.NextAt})
		n.State, n.Lost = rawJSON(state), lost != 0
		list = append(list, n)
		return err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: due notices: %w", err)
	}
	return list, nil
}

func (s *sqlStore) NotificationSent(ctx context.Context, key string, episode int64, claim string) error {
	if _, err := s.write.exec(ctx, `DELETE FROM notices_due WHERE key = $1 AND episode = $2 AND claim = $3`, key, episode, claim); err != nil {
		return fmt.Errorf("store: notification sent %s/%d/%s: %w", key, episode, claim, err)
	}
	return nil
}

// AddSamples stores all samples or none. A sample for an (ItemID, At)
// already stored replaces it, so that a reading recorded twice (by two
// replicas, or after a retry) counts once.
func (s *sqlStore) AddSamples(ctx context.Context, samples []Sample) error {
	for _, sm := range samples {
		if sm.At.IsZero() {
			return fmt.Errorf("store: add samples: sample of item %d has no time", sm.ItemID)
		}
	}
	if len(samples) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(q querier) error {
		for _, sm := range samples {
			_, err := q.exec(ctx, `INSERT INTO usage_samples (item_id, at, in_use, total) VALUES ($1, $2, $3, $4)
				ON CONFLICT (item_id, at) DO UPDATE SET in_use = excluded.in_use, total = excluded.total`,
				sm.ItemID, s.at(sm.At), sm.InUse, sm.Total)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add samples: %w", err)
	}
	return nil
}

func (s *sqlStore) Samples(ctx context.Context, itemID int, since time.Time) ([]Sample, error) {
	var list []Sample
	err := each(ctx, s.read, func(sc scanner) error {
		sm := Sample{ItemID: itemID}
		err := sc.Scan(timeDest{&sm.At}, &sm.InUse, &sm.Total)
		list = append(list, sm)
		return err
	}, `SELECT at, in_use, total FROM usage_samples WHERE item_id = $1 AND at >= $2 ORDER BY at`, itemID, s.at(since))
	if err != nil {
		return nil, fmt.Errorf("store: samples of item %d: %w", itemID, err)
	}
	return list, nil
}

// PruneSamples deletes samples with At < before, of every item.
func (s *sqlStore) PruneSamples(ctx context.Context, before time.Time) error {
	if _, err := s.write.exec(ctx, `DELETE FROM usage_samples WHERE at < $1`, s.at(before)); err != nil {
		return fmt.Errorf("store: prune samples: %w", err)
	}
	return nil
}

// GetKV returns a non-nil slice for a stored empty value, and ErrNotFound
// for a key never stored.
func (s *sqlStore) GetKV(ctx context.Context, key string) ([]byte, error) {
	var value []byte
	err := one(ctx, s.read, func(sc scanner) error { return sc.Scan(&value) }, `SELECT value FROM kv WHERE key = $1`, key)
	if errors.Is(err, errNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get kv %s: %w", key, err)
	}
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

func (s *sqlStore) PutKV(ctx context.Context, key string, value []byte) error {
	_, err := s.write.exec(ctx, `INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		key, optBytes(value), s.at(now()))
	if err != nil {
		return fmt.Errorf("store: put kv %s: %w", key, err)
	}
	return nil
}

// AcquireLease is one upsert: the insert takes a free lease, and the update
// after a conflict only happens when the lease has expired or is the
// holder's own. Under a race both databases make the loser re-check that
// condition against the winner's row (Postgres locks the row and re-reads
// it; SQLite has one writer at a time), so at most one holder wins.
func (s *sqlStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, at time.Time) (bool, error) {
	switch {
	case name == "":
		return false, fmt.Errorf("store: acquire lease: empty name")
	case holder == "":
		return false, fmt.Errorf("store: acquire lease %s: empty holder", name)
	case ttl <= 0:
		return false, fmt.Errorf("store: acquire lease %s: ttl %s, want a positive one", name, ttl)
	}
	if at.IsZero() {
		at = now()
	}
	n, err := s.write.exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $4`,
		name, holder, s.at(at.Add(ttl)), s.at(at))
	if err != nil {
		return false, fmt.Errorf("store: acquire lease %s: %w", name, err)
	}
	return n > 0, nil
}

func (s *sqlStore) LeaseExpiry(ctx context.Context, name string) (string, time.Time, error) {
	var (
		holder  string
		expires time.Time
	)
	err := one(ctx, s.read, func(sc scanner) error { return sc.Scan(&holder, timeDest{&expires}) },
		`SELECT holder, expires_at FROM leases WHERE name = $1`, name)
	if errors.Is(err, errNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return holder, expires, nil
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close may be called more than once; later calls return the first's
// result.
func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}
