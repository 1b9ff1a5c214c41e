// Package store keeps dialogbot's durable state: approval requests, the
// audit log, alert state and usage samples. Two implementations share one
// contract (tested by store/storetest): SQLite for a single process and
// Postgres for several replicas. Every state change is a single conditional
// write, so exactly one caller wins a race, whatever process it runs in.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the row was not in the state the caller expected; someone
	// else moved it first. The returned request (if any) shows where it is.
	ErrConflict = errors.New("store: state changed concurrently")
	// ErrDuplicate: a unique key (e.g. a notification claim) already exists.
	ErrDuplicate = errors.New("store: already exists")
)

// DuplicateError is CreateRequest's answer when the request it was given
// already exists in another form: the same invocation (IdemKey) opened one,
// or the same person has an identical request pending (SameKey). Existing
// is that request. It is ErrDuplicate.
type DuplicateError struct {
	Existing *Request
	// Same is true when Existing is an identical pending request rather
	// than the one this invocation opened before.
	Same bool
}

func (e *DuplicateError) Error() string {
	if e.Same {
		return fmt.Sprintf("store: an identical request is pending: %s", e.Existing.ID)
	}
	return fmt.Sprintf("store: this invocation already opened request %s", e.Existing.ID)
}

// Unwrap is ErrDuplicate.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// Kind is what a request buys.
type Kind string

const (
	KindPurchase Kind = "addons.purchase"
	KindOrder    Kind = "numbers.order"
)

// State of an approval request.
//
//	pending → executing → succeeded | failed | unknown
//	pending → denied | expired | cancelled
//	unknown → succeeded | failed (a person checked DialogTech)
type State string

const (
	StatePending   State = "pending"
	StateExecuting State = "executing"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateUnknown   State = "unknown"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
	StateCancelled State = "cancelled"
)

// Final reports whether s is an end state: no transition leaves it but a
// person's resolution of an unknown outcome.
func (s State) Final() bool {
	switch s {
	case StatePending, StateExecuting:
		return false
	}
	return true
}

// Request is an approval request for a buying call. Params holds the exact
// call (a JSON dialog.PurchaseRequest or dialog.OrderRequest): what is
// bought always comes from here, never from a button payload.
type Request struct {
	ID          string
	Kind        Kind
	Params      json.RawMessage
	Summary     string // what will be bought, in words
	RequesterID string
	ChannelID   string
	MessageTS   string // the request message, once posted
	State       State
	CreatedAt   time.Time
	ExpiresAt   time.Time
	DecidedBy   string // approver, denier or canceller
	DecidedAt   time.Time
	Reason      string          // deny reason
	Outcome     json.RawMessage // result of the call (numbers, description) or the error text
	UpdatedAt   time.Time
	// IdemKey names the invocation that opened the request (e.g. a slash
	// command's trigger id): unique, so a second delivery of it finds this
	// request. Empty: none.
	IdemKey string
	// SameKey is what identical requests share (requester, kind, call):
	// unique among pending requests. Empty: none.
	SameKey string
	// Claim is the token of the approval that moved the request to
	// executing; it lets that approver recognise its own claim when the
	// store's answer to it was lost.
	Claim string
	// CallSentAt is set, with the audit row of the call, just before the
	// buying call goes out. A request in executing without it never called.
	CallSentAt time.Time
	// Version counts the writes of the row, from 1.
	Version int64
	// DrawnVersion is the Version the request's message last showed.
	DrawnVersion int64
}

// Transition describes a state change: the fields it sets besides State.
// Zero fields leave the stored value alone.
type Transition struct {
	By      string
	At      time.Time // the decision's time: sets DecidedAt (and UpdatedAt unless Now is set)
	Reason  string
	Outcome json.RawMessage
	// Now is when the change is written (UpdatedAt) when it is not a
	// decision: an outcome arriving or a sweep keeps DecidedAt, the time
	// a person decided.
	Now time.Time
	// Claim, when set, is stored as the request's claim token.
	Claim string
	// IfVersion, when set, is a further condition: the request must still
	// be at this Version, so a decision drawn from a read (a sweep's) is
	// not written over a change made after it.
	IfVersion int64
	// Audit rows are appended in the same transaction as the change: both
	// are written or neither is.
	Audit []AuditEntry
}

// AuditEntry is one append-only line of the audit log.
type AuditEntry struct {
	ID        int64
	At        time.Time
	RequestID string // may be empty (e.g. a refused command)
	Actor     string // Slack user id, or "system"
	Event     string // request.created, request.approved, dialogtech.call, dialogtech.result, ...
	Detail    string // short, never a secret
}

// AlertState is the remembered state of one add-on's capacity alert.
type AlertState struct {
	Key          string // "addon:6" or "read-error"
	State        string // ok | warning | critical | resolved | error
	Episode      int64  // increases with each new episode
	ChannelID    string
	MessageTS    string
	LastPostedAt time.Time
	SnoozedBy    string
	SnoozedUntil time.Time
	Failures     int // consecutive read errors (for the read-error key)
	Data         json.RawMessage
	UpdatedAt    time.Time
}

// DueNotice is an alert notice Slack did not take, waiting to be sent
// again. Key, Episode and Claim name its claim (ClaimNotification).
type DueNotice struct {
	Key      string
	Episode  int64
	Claim    string
	Notice   string          // which notice: update, escalate, resolved, ...
	State    json.RawMessage // the alert state it was drawn from
	Attempts int             // sends tried so far
	// Lost: the last try's answer was lost, so Slack may have posted it;
	// sending it again may make a second copy.
	Lost   bool
	NextAt time.Time
}

// Sample is one usage reading of one add-on.
type Sample struct {
	ItemID int
	At     time.Time
	InUse  int
	Total  int
}

// Store is the full contract both implementations satisfy. Packages that use
// the store declare the smaller interface they need.
type Store interface {
	// CreateRequest inserts r (ID set by the caller, State pending). It
	// fills in r's defaults first (State pending, CreatedAt now, UpdatedAt
	// CreatedAt) and puts its times in the stored form (UTC, microseconds),
	// so r then equals what GetRequest returns. A known ID: ErrDuplicate.
	// A known IdemKey, or a SameKey of a pending request: a
	// *DuplicateError naming that request, and nothing is written.
	//
	// audit rows are written in the same transaction: both or neither.
	CreateRequest(ctx context.Context, r *Request, audit ...AuditEntry) error
	// GetRequest returns ErrNotFound when id is unknown.
	GetRequest(ctx context.Context, id string) (*Request, error)
	// SetMessage records where the request message was posted; the
	// message shows the version this write makes.
	SetMessage(ctx context.Context, id, channelID, ts string) error
	// SetDrawn records that the request's message shows version (it only
	// ever moves up).
	SetDrawn(ctx context.Context, id string, version int64) error
	// Undrawn lists requests whose message is behind them (DrawnVersion <
	// Version) in state, oldest change first, at most limit.
	Undrawn(ctx context.Context, state State, limit int) ([]*Request, error)
	// Transition moves id from `from` to `to` in one conditional write. It
	// returns the updated request, or ErrConflict (with the current request)
	// when the request was not in `from` (or not at t.IfVersion), or
	// ErrNotFound. A move that
	// State.CanMoveTo refuses fails without touching the row. t.Audit is
	// written in the same transaction.
	Transition(ctx context.Context, id string, from, to State, t Transition) (*Request, error)
	// MarkCallSent sets CallSentAt of a request in executing under claim,
	// and appends audit, in one transaction: the write-ahead record of a
	// buying call. A request not in executing under claim, or marked
	// already: ErrConflict (with the current request), and no audit row.
	MarkCallSent(ctx context.Context, id, claim string, at time.Time, audit []AuditEntry) (*Request, error)
	// ListRequests returns requests in state (all states when empty), newest
	// first, at most limit (no limit when limit <= 0).
	ListRequests(ctx context.Context, state State, limit int) ([]*Request, error)
	// PendingExpiredBefore lists pending requests whose ExpiresAt <= now.
	PendingExpiredBefore(ctx context.Context, now time.Time) ([]*Request, error)

	// AppendAudit assigns e.ID; a zero e.At becomes now.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns the newest (last appended) entries first, at most
	// limit (no limit when limit <= 0).
	ListAudit(ctx context.Context, limit int) ([]AuditEntry, error)

	// GetAlertState returns ErrNotFound for a key never stored.
	GetAlertState(ctx context.Context, key string) (*AlertState, error)
	// PutAlertState writes s if the stored row's UpdatedAt equals
	// prevUpdatedAt (zero: the row must not exist); else ErrConflict.
	// s.UpdatedAt is the new version: the caller's time of the change (now
	// when zero), moved to just after prevUpdatedAt when it is not later.
	// On success s.UpdatedAt holds the stored version, the prevUpdatedAt
	// of the next put.
	PutAlertState(ctx context.Context, s *AlertState, prevUpdatedAt time.Time) error
	ListAlertStates(ctx context.Context) ([]*AlertState, error)
	// ClaimNotification inserts a unique (key, episode, state) row; the
	// second claim gets ErrDuplicate. This is what makes "post once" hold
	// across replicas.
	ClaimNotification(ctx context.Context, key string, episode int64, state string, at time.Time) error
	// ClaimNotificationDue is ClaimNotification and, in the same
	// transaction, n recorded as due at n.NextAt: the write-ahead record of
	// a send, so that a send whose process dies before it is confirmed is
	// made again. ErrDuplicate (and nothing written) when claimed already.
	ClaimNotificationDue(ctx context.Context, n DueNotice) error
	// DeferNotification records n as due (replacing the row of the same
	// claim).
	DeferNotification(ctx context.Context, n DueNotice) error
	// DueNotices lists the notices due at now (NextAt <= now), oldest
	// first, at most limit.
	DueNotices(ctx context.Context, now time.Time, limit int) ([]DueNotice, error)
	// TakeDueNotice moves a due notice's NextAt from prev to next in one
	// conditional write: true for the one caller that wins it and sends it.
	TakeDueNotice(ctx context.Context, key string, episode int64, claim string, prev, next time.Time) (bool, error)
	// NotificationSent drops the due row of a claim that was sent.
	NotificationSent(ctx context.Context, key string, episode int64, claim string) error

	AddSamples(ctx context.Context, samples []Sample) error
	// Samples returns itemID's samples with At >= since, oldest first.
	Samples(ctx context.Context, itemID int, since time.Time) ([]Sample, error)
	PruneSamples(ctx context.Context, before time.Time) error

	// KV is small named state (e.g. the sandbox simulator's snapshot).
	GetKV(ctx context.Context, key string) ([]byte, error)
	PutKV(ctx context.Context, key string, value []byte) error

	// AcquireLease makes holder the holder of the lease name until now+ttl,
	// in one conditional write, and reports whether it did: true when the
	// lease was free, had expired (its expiry <= now) or was already
	// holder's (a renewal); false, with no error, when another holder's
	// lease runs past now. now is the caller's clock (the store's when
	// zero), so replicas must keep their clocks within a small part of ttl.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	// LeaseExpiry returns the lease's holder and when it runs out;
	// ErrNotFound for a lease never taken.
	LeaseExpiry(ctx context.Context, name string) (holder string, expires time.Time, err error)

	// PutRule stores how many different approvers request id needs
	// (written before the request, so a request never lacks its rule).
	PutRule(ctx context.Context, id string, needed int) error
	// GetRule returns ErrNotFound for a request without a rule: it needs
	// one approval and gets no reminder.
	GetRule(ctx context.Context, id string) (*Rule, error)
	// AddApproval records one approver's approval with its audit rows,
	// in one transaction; the same approver again gives ErrDuplicate and
	// writes nothing.
	AddApproval(ctx context.Context, id, approver string, at time.Time, audit ...AuditEntry) error
	// Approvals lists a request's approvals, oldest first.
	Approvals(ctx context.Context, id string) ([]Approval, error)
	// ClaimReminder takes the right to post request id's one reminder, in
	// one conditional write; ErrConflict when it was taken before.
	ClaimReminder(ctx context.Context, id string, at time.Time) error
	// ReleaseReminder gives back the claim made at `at`.
	ReleaseReminder(ctx context.Context, id string, at time.Time) error

	Ping(ctx context.Context) error
	Close() error
}
