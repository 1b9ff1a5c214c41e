// Package approval runs buying requests through a second person's decision
// and calls DialogTech exactly once for each approved request.
//
// Exactly once rests on the store: every state change is one conditional
// write, and only the caller that moves a request from pending to executing
// calls DialogTech. Double clicks, two approvers at once, an envelope
// delivered twice, several replicas: all but one lose that write. A request
// left in executing (the process died mid-call) is never executed again; it
// is marked unknown for a person to check.
package approval

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
)

// Store is what approvals need from the store.
type Store interface {
	CreateRequest(ctx context.Context, r *store.Request) error
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	SetMessage(ctx context.Context, id, channelID, ts string) error
	Transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error)
	ListRequests(ctx context.Context, state store.State, limit int) ([]*store.Request, error)
	PendingExpiredBefore(ctx context.Context, now time.Time) ([]*store.Request, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]store.AuditEntry, error)
}

// Buyer makes the buying calls.
type Buyer interface {
	PurchaseAddOn(ctx context.Context, r dialog.PurchaseRequest) (*dialog.PurchaseResult, error)
	OrderNumbers(ctx context.Context, r dialog.OrderRequest) (*dialog.OrderResult, error)
}

// Policy says who may decide and for how long a request waits.
type Policy struct {
	Approvers         []string
	AllowSelfApproval bool
	TTL               time.Duration // how long a request stays pending
	// StaleExecuting is how long a request may sit in executing before it is
	// taken to have been interrupted (its call outlived any timeout) and is
	// marked unknown.
	StaleExecuting time.Duration
}

// Errors a decision can end with. Each is safe to show to the person.
var (
	ErrNotApprover   = errors.New("only approvers can decide on purchases")
	ErrNoApprovers   = errors.New("no approvers are configured (APPROVERS is empty), so nobody can approve purchases")
	ErrSelfApproval  = errors.New("you cannot approve your own request")
	ErrNotRequester  = errors.New("only the person who asked can cancel a request")
	ErrExpired       = errors.New("this request has expired")
	ErrNotFound      = errors.New("no such request")
	errInvalidParams = errors.New("stored request has invalid parameters")
)

// DecidedError: the request was already decided (or is being carried out)
// when the caller tried to change it.
type DecidedError struct{ Request *store.Request }

func (e *DecidedError) Error() string {
	return fmt.Sprintf("request %s is already %s", e.Request.ID, e.Request.State)
}

// Unwrap is store.ErrConflict: somebody else changed the request first.
func (e *DecidedError) Unwrap() error { return store.ErrConflict }

// ExpiredError is ErrExpired with the request as it is now: a click found
// it past its time and expired it, so its message has to say so.
type ExpiredError struct{ Request *store.Request }

func (e *ExpiredError) Error() string { return ErrExpired.Error() }

// Unwrap is ErrExpired.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// Outcome is what a successful or failed buying call produced, stored with
// the request and shown on its message.
type Outcome struct {
	Numbers     []string `json:"numbers,omitempty"`
	Quantity    int      `json:"quantity,omitempty"`
	Description string   `json:"description,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// Service opens requests, records decisions and executes approved ones.
type Service struct {
	store  Store
	buyer  Buyer
	policy Policy
	now    func() time.Time
	log    *slog.Logger
	newID  func() string
	// observe is told of every state change that was written (metrics).
	observe func(from, to store.State)
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithIDs sets the request id generator.
func WithIDs(f func() string) Option { return func(s *Service) { s.newID = f } }

// WithTransitionObserver is called after each state change the store
// accepted, with the states it moved between. It must be cheap and safe for
// concurrent use.
func WithTransitionObserver(f func(from, to store.State)) Option {
	return func(s *Service) { s.observe = f }
}

// New returns a Service.
func New(st Store, buyer Buyer, p Policy, opts ...Option) *Service {
	if p.TTL <= 0 {
		p.TTL = 24 * time.Hour
	}
	if p.StaleExecuting <= 0 {
		p.StaleExecuting = 5 * time.Minute
	}
	s := &Service{store: st, buyer: buyer, policy: p, now: time.Now, log: slog.Default(), newID: NewID}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewID returns a short random request id, e.g. "R7K2M9QX4A".
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "R" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:11]
}

// Policy returns the policy in force.
func (s *Service) Policy() Policy { return s.policy }

// IsApprover reports whether user may decide.
func (s *Service) IsApprover(user string) bool {
	return slices.Contains(s.policy.Approvers, user)
}

// Open stores a new pending request to buy params (a dialog.PurchaseRequest
// or dialog.OrderRequest) and audits it. The caller then posts the request
// message and records where with Posted.
func (s *Service) Open(ctx context.Context, kind store.Kind, params any, summary, requester, channel string) (*store.Request, error) {
	if len(s.policy.Approvers) == 0 {
		return nil, ErrNoApprovers
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("approval: encode params: %w", err)
	}
	now := s.now().UTC()
	r := &store.Request{
		ID:          s.newID(),
		Kind:        kind,
		Params:      raw,
		Summary:     summary,
		RequesterID: requester,
		ChannelID:   channel,
		State:       store.StatePending,
		CreatedAt:   now,
		ExpiresAt:   now.Add(s.policy.TTL),
		UpdatedAt:   now,
	}
	if err := s.store.CreateRequest(ctx, r); err != nil {
		return nil, fmt.Errorf("approval: create request: %w", err)
	}
	s.audit(ctx, r.ID, requester, "request.created", fmt.Sprintf("%s: %s", kind, summary))
	s.log.InfoContext(ctx, "request created", "request_id", r.ID, "user_id", requester, "kind", string(kind))
	return r, nil
}

// Posted records where the request message was posted.
func (s *Service) Posted(ctx context.Context, id, channel, ts string) error {
	if err := s.store.SetMessage(ctx, id, channel, ts); err != nil {
		return fmt.Errorf("approval: record message: %w", err)
	}
	return nil
}

// Get returns a request.
func (s *Service) Get(ctx context.Context, id string) (*store.Request, error) {
	r, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return r, err
}

// Pending lists pending requests, newest first.
func (s *Service) Pending(ctx context.Context, limit int) ([]*store.Request, error) {
	return s.store.ListRequests(ctx, store.StatePending, limit)
}

// Audit returns the newest audit entries.
func (s *Service) Audit(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	return s.store.ListAudit(ctx, limit)
}

// Approve decides for the request and, if this caller wins the claim, makes
// the buying call. The returned request is in its final state (succeeded,
// failed or unknown). A request that was already decided gives a
// *DecidedError carrying its current state.
func (s *Service) Approve(ctx context.Context, id, user string) (*store.Request, error) {
	if err := s.mayDecide(user); err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.State != store.StatePending {
		return nil, &DecidedError{Request: r}
	}
	if r.RequesterID == user && !s.policy.AllowSelfApproval {
		return nil, ErrSelfApproval
	}
	now := s.now().UTC()
	if !now.Before(r.ExpiresAt) {
		expired, err := s.expire(ctx, r)
		if err != nil {
			return nil, err
		}
		return nil, &ExpiredError{Request: expired}
	}
	claimed, err := s.transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{By: user, At: now})
	if err != nil {
		return nil, s.lost(err, claimed)
	}
	s.audit(ctx, id, user, "request.approved", r.Summary)
	s.log.InfoContext(ctx, "request approved", "request_id", id, "user_id", user)
	return s.execute(ctx, claimed)
}

// execute makes the one buying call of a claimed request and records how it
// ended. It runs only for the caller that won pending → executing.
func (s *Service) execute(ctx context.Context, r *store.Request) (*store.Request, error) {
	// The call and the recording of its outcome must not be cut short by the
	// caller going away (a shutdown, a closed socket): the money may be spent.
	ctx = context.WithoutCancel(ctx)
	s.audit(ctx, r.ID, "system", "dialogtech.call", string(r.Kind))
	outcome, callErr := s.call(ctx, r)
	to := store.StateSucceeded
	switch {
	case callErr == nil:
	case errors.Is(callErr, dialog.ErrUnknownOutcome):
		to = store.StateUnknown
		outcome.Error = callErr.Error()
	default:
		to = store.StateFailed
		outcome.Error = refusal(callErr)
	}
	raw, err := json.Marshal(outcome)
	if err != nil {
		return nil, fmt.Errorf("approval: encode outcome: %w", err)
	}
	s.audit(ctx, r.ID, "system", "dialogtech.result", fmt.Sprintf("%s: %s", to, outcomeText(outcome)))
	s.log.InfoContext(ctx, "request executed", "request_id", r.ID, "user_id", r.DecidedBy, "outcome", string(to))
	// Now, not At: the message keeps saying when the approver decided.
	done, err := s.transition(ctx, r.ID, store.StateExecuting, to, store.Transition{Now: s.now().UTC(), Outcome: raw})
	if err != nil {
		return nil, fmt.Errorf("approval: record outcome of %s: %w", r.ID, err)
	}
	return done, nil
}

func (s *Service) call(ctx context.Context, r *store.Request) (Outcome, error) {
	switch r.Kind {
	case store.KindPurchase:
		var p dialog.PurchaseRequest
		if err := json.Unmarshal(r.Params, &p); err != nil {
			return Outcome{}, fmt.Errorf("%w: %w", errInvalidParams, err)
		}
		res, err := s.buyer.PurchaseAddOn(ctx, p)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Description: res.Description, Quantity: p.Qty}, nil
	case store.KindOrder:
		var o dialog.OrderRequest
		if err := json.Unmarshal(r.Params, &o); err != nil {
			return Outcome{}, fmt.Errorf("%w: %w", errInvalidParams, err)
		}
		res, err := s.buyer.OrderNumbers(ctx, o)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Numbers: res.Numbers, Quantity: res.Quantity}, nil
	}
	return Outcome{}, fmt.Errorf("%w: unknown kind %q", errInvalidParams, r.Kind)
}

// Deny refuses a pending request, with an optional reason.
func (s *Service) Deny(ctx context.Context, id, user, reason string) (*store.Request, error) {
	if err := s.mayDecide(user); err != nil {
		return nil, err
	}
	return s.finish(ctx, id, user, store.StateDenied, reason, "request.denied")
}

// Cancel withdraws a pending request; only its requester may.
func (s *Service) Cancel(ctx context.Context, id, user string) (*store.Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.RequesterID != user {
		return nil, ErrNotRequester
	}
	return s.finish(ctx, id, user, store.StateCancelled, "", "request.cancelled")
}

func (s *Service) finish(ctx context.Context, id, user string, to store.State, reason, event string) (*store.Request, error) {
	r, err := s.transition(ctx, id, store.StatePending, to, store.Transition{By: user, At: s.now().UTC(), Reason: reason})
	if err != nil {
		return nil, s.lost(err, r)
	}
	detail := r.Summary
	if reason != "" {
		detail += "; reason: " + reason
	}
	s.audit(ctx, id, user, event, detail)
	s.log.InfoContext(ctx, "request "+string(to), "request_id", id, "user_id", user)
	return r, nil
}

// Sweep expires pending requests past their time and marks requests stuck
// in executing (their process died mid-call) as unknown. It returns every
// request it changed, so their messages can be updated.
func (s *Service) Sweep(ctx context.Context) ([]*store.Request, error) {
	now := s.now().UTC()
	due, err := s.store.PendingExpiredBefore(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("approval: list expired: %w", err)
	}
	var changed []*store.Request
	for _, r := range due {
		done, err := s.expire(ctx, r)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return changed, err
		}
		changed = append(changed, done)
	}
	stuck, err := s.store.ListRequests(ctx, store.StateExecuting, 100)
	if err != nil {
		return changed, fmt.Errorf("approval: list executing: %w", err)
	}
	for _, r := range stuck {
		if now.Sub(r.UpdatedAt) < s.policy.StaleExecuting {
			continue
		}
		raw, _ := json.Marshal(Outcome{Error: "the bot stopped while the call was in flight; it may or may not have gone through"})
		done, err := s.transition(ctx, r.ID, store.StateExecuting, store.StateUnknown, store.Transition{Now: now, Outcome: raw})
		if err != nil {
			continue // finished meanwhile
		}
		s.audit(ctx, r.ID, "system", "request.interrupted", "marked unknown: never resent")
		s.log.WarnContext(ctx, "request interrupted", "request_id", r.ID, "user_id", r.DecidedBy, "outcome", string(store.StateUnknown))
		changed = append(changed, done)
	}
	return changed, nil
}

// transition is store.Transition, reported to the observer when it took.
func (s *Service) transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error) {
	r, err := s.store.Transition(ctx, id, from, to, t)
	if err == nil && s.observe != nil {
		s.observe(from, to)
	}
	return r, err
}

func (s *Service) expire(ctx context.Context, r *store.Request) (*store.Request, error) {
	done, err := s.transition(ctx, r.ID, store.StatePending, store.StateExpired, store.Transition{At: s.now().UTC()})
	if err != nil {
		return nil, s.lost(err, done)
	}
	s.audit(ctx, r.ID, "system", "request.expired", r.Summary)
	s.log.InfoContext(ctx, "request expired", "request_id", r.ID, "user_id", r.RequesterID)
	return done, nil
}

func (s *Service) mayDecide(user string) error {
	if len(s.policy.Approvers) == 0 {
		return ErrNoApprovers
	}
	if !s.IsApprover(user) {
		return ErrNotApprover
	}
	return nil
}

// lost turns a failed conditional write into the error a person sees.
func (s *Service) lost(err error, current *store.Request) error {
	switch {
	case errors.Is(err, store.ErrConflict) && current != nil:
		return &DecidedError{Request: current}
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	}
	return fmt.Errorf("approval: %w", err)
}

func (s *Service) audit(ctx context.Context, id, actor, event, detail string) {
	e := store.AuditEntry{At: s.now().UTC(), RequestID: id, Actor: actor, Event: event, Detail: detail}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "request_id", id, "event", event, "err", err)
	}
}

func outcomeText(o Outcome) string {
	switch {
	case o.Error != "":
		return o.Error
	case len(o.Numbers) > 0:
		shown := make([]string, len(o.Numbers))
		for i, n := range o.Numbers {
			shown[i] = dialog.FormatPhone(n)
		}
		return fmt.Sprintf("%d numbers: %s", len(o.Numbers), strings.Join(shown, ", "))
	case o.Description != "":
		return o.Description
	}
	return fmt.Sprintf("quantity %d", o.Quantity)
}

// refusal is what DialogTech said when it refused a buying call, without
// the action and result the audit entry and the message already carry:
// "no numbers available", not "dialogtech numbers.order: failed: no
// numbers available".
func refusal(err error) string {
	var ae *dialog.APIError
	var he *dialog.HTTPError
	switch {
	case errors.As(err, &ae) && ae.Description != "":
		return ae.Description
	case errors.As(err, &ae):
		return "DialogTech answered " + ae.Result
	case errors.As(err, &he):
		return fmt.Sprintf("HTTP %d %s", he.StatusCode, http.StatusText(he.StatusCode))
	}
	return err.Error()
}

// DecodeOutcome reads a request's stored outcome.
func DecodeOutcome(r *store.Request) Outcome {
	var o Outcome
	if len(r.Outcome) > 0 {
		_ = json.Unmarshal(r.Outcome, &o)
	}
	return o
}
