// Package approval runs buying requests through a second person's decision
// and calls DialogTech exactly once for each approved request.
//
// Exactly once rests on the store: every state change is one conditional
// write, and only the caller that moves a request from pending to executing
// calls DialogTech. Double clicks, two approvers at once, an envelope
// delivered twice, several replicas: all but one lose that write.
//
// Money is written ahead: the claim and its audit row are committed in one
// transaction, then the call's mark and its audit row in another, and only
// then is the buying call sent. The outcome and its audit row are written
// with retries until they are stored. A request left in executing (its
// process died) is never executed again: without the call's mark it is
// known never to have called and ends failed; with it, it is marked unknown
// for a person to check, and that person records what they found
// (Resolve).
package approval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
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
	CreateRequest(ctx context.Context, r *store.Request, audit ...store.AuditEntry) error
	GetRequest(ctx context.Context, id string) (*store.Request, error)
	SetMessage(ctx context.Context, id, channelID, ts string) error
	Transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error)
	ListRequests(ctx context.Context, state store.State, limit int) ([]*store.Request, error)
	PendingExpiredBefore(ctx context.Context, now time.Time) ([]*store.Request, error)
	MarkCallSent(ctx context.Context, id, claim string, at time.Time, audit []store.AuditEntry) (*store.Request, error)
	SetDrawn(ctx context.Context, id string, version int64) error
	Undrawn(ctx context.Context, state store.State, limit int) ([]*store.Request, error)
	AppendAudit(ctx context.Context, e store.AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]store.AuditEntry, error)
	PutRule(ctx context.Context, id string, needed int) error
	GetRule(ctx context.Context, id string) (*store.Rule, error)
	AddApproval(ctx context.Context, id, approver string, at time.Time, audit ...store.AuditEntry) error
	Approvals(ctx context.Context, id string) ([]store.Approval, error)
	ClaimReminder(ctx context.Context, id string, at time.Time) error
	ReleaseReminder(ctx context.Context, id string, at time.Time) error
}

// Buyer makes the buying calls.
type Buyer interface {
	PurchaseAddOn(ctx context.Context, r dialog.PurchaseRequest) (*dialog.PurchaseResult, error)
	OrderNumbers(ctx context.Context, r dialog.OrderRequest) (*dialog.OrderResult, error)
}

// Policy says who may decide and for how long a request waits.
type Policy struct {
	Approvers []string
	// ApproverGroups are Slack user groups whose members also approve;
	// their members come from the Service's Groups.
	ApproverGroups    []string
	AllowSelfApproval bool
	TTL               time.Duration // how long a request stays pending
	// SecondAbove is the size above which two different approvers,
	// neither the requester, must approve.
	SecondAbove Threshold
	// RemindAfter is how long a request waits before one reminder is
	// posted in its thread; zero: no reminders.
	RemindAfter time.Duration
	// StaleExecuting is how long a request may sit in executing before it is
	// taken to have been interrupted (its call outlived any timeout) and is
	// marked unknown (or failed, when the call was never sent). It must be
	// longer than OutcomeRetry.
	StaleExecuting time.Duration
	// OutcomeRetry bounds how long a write that must not be lost (a claim
	// read back, the call's mark, an outcome) is retried while the store is
	// failing.
	OutcomeRetry time.Duration
}

// Errors a decision can end with. Each is safe to show to the person.
var (
	ErrNotApprover  = errors.New("only approvers can decide on purchases")
	ErrNoApprovers  = errors.New("no approvers are configured (APPROVERS and APPROVER_GROUPS are empty), so nobody can approve purchases")
	ErrSelfApproval = errors.New("you cannot approve your own request")
	// ErrSelfApprovalTwo: a request needing two approvers never counts
	// the requester, whatever ALLOW_SELF_APPROVAL says. It is
	// ErrSelfApproval.
	ErrSelfApprovalTwo = fmt.Errorf("%w: it needs two approvers other than the requester", ErrSelfApproval)
	ErrNotRequester    = errors.New("only the person who asked can cancel a request")
	ErrExpired         = errors.New("this request has expired")
	ErrNotFound        = errors.New("no such request")
	// ErrNotRecorded: the approval (or its audit row) could not be stored,
	// so nothing was bought.
	ErrNotRecorded = errors.New("the approval could not be recorded (the store or its audit log is not answering), so nothing was bought; try again in a moment")
	// ErrNotUnknown: only a request whose outcome is unknown can be
	// resolved.
	ErrNotUnknown = errors.New("only a request whose outcome is unknown can be resolved")
	// ErrNumbersNeeded: an order recorded as bought needs the numbers
	// DialogTech shows for it.
	ErrNumbersNeeded = errors.New("an order recorded as bought needs the numbers the DialogTech portal shows for it")
	errInvalidParams = errors.New("stored request has invalid parameters")
)

// ExistingError: the request was not opened because the same invocation
// already opened one (a redelivery), or the same person has an identical
// request pending. Request is that one.
type ExistingError struct {
	Request *store.Request
	Same    bool // an identical pending request, not this invocation's
}

func (e *ExistingError) Error() string {
	return fmt.Sprintf("request %s already asks for this", e.Request.ID)
}

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
	// NotSent: the request was approved but its process stopped before
	// the buying call went out; nothing was bought.
	NotSent bool `json:"not_sent,omitempty"`
	// Resolution is what a person found when they checked an unknown
	// outcome.
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Resolution records an approver's check of an unknown outcome.
type Resolution struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Bought  bool      `json:"bought"`
	Numbers []string  `json:"numbers,omitempty"`
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
	// step is told of each step of an approval as it is passed (tests
	// that kill the process at each one).
	step   func(name string)
	sleep  func(ctx context.Context, d time.Duration)
	groups Groups
}

// Steps of an approval, in order, as WithStepHook names them.
const (
	StepClaimed  = "claimed"  // the claim and its audit row are committed
	StepMarked   = "marked"   // the call's mark and its audit row are committed
	StepAnswered = "answered" // DialogTech answered; nothing of it is stored yet
	StepRecorded = "recorded" // the outcome and its audit row are committed
)

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

// WithStaleExecuting sets Policy.StaleExecuting (tests that restart a
// process mid-approval), with OutcomeRetry under it.
func WithStaleExecuting(d time.Duration) Option {
	return func(s *Service) {
		s.policy.StaleExecuting = d
		s.policy.OutcomeRetry = min(s.policy.OutcomeRetry, d/2)
	}
}

// WithStepHook is called as an approval passes each step (StepClaimed,
// ...), for tests that stop the process there.
func WithStepHook(f func(step string)) Option { return func(s *Service) { s.step = f } }

// WithGroups says who is in the policy's ApproverGroups.
func WithGroups(g Groups) Option { return func(s *Service) { s.groups = g } }

// New returns a Service.
func New(st Store, buyer Buyer, p Policy, opts ...Option) *Service {
	if p.TTL <= 0 {
		p.TTL = 24 * time.Hour
	}
	if p.StaleExecuting <= 0 {
		p.StaleExecuting = 5 * time.Minute
	}
	if p.OutcomeRetry <= 0 {
		p.OutcomeRetry = min(2*time.Minute, p.StaleExecuting/2)
	}
	s := &Service{store: st, buyer: buyer, policy: p, now: time.Now, log: slog.Default(), newID: NewID, sleep: sleepCtx}
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

// IsApprover reports whether user may decide: listed in APPROVERS, or a
// member of an approver group as far as Slack last said.
func (s *Service) IsApprover(user string) bool {
	if slices.Contains(s.policy.Approvers, user) {
		return true
	}
	if s.groups != nil {
		for _, g := range s.policy.ApproverGroups {
			if s.groups.Member(g, user) {
				return true
			}
		}
	}
	return false
}

// HasApprovers reports whether anyone is configured to approve.
func (s *Service) HasApprovers() bool {
	return len(s.policy.Approvers) > 0 || len(s.policy.ApproverGroups) > 0
}

// OpenOption refines Open.
type OpenOption func(*opening)

// opening is a request being opened and what Open must know about it.
type opening struct {
	r      *store.Request
	needed int
}

// WithKey names the invocation that opens the request (a slash command's
// trigger id, an alert episode): any later Open with the same key, in any
// replica, gets an *ExistingError naming this request.
func WithKey(key string) OpenOption { return func(o *opening) { o.r.IdemKey = key } }

// Open stores a new pending request to buy params (a dialog.PurchaseRequest
// or dialog.OrderRequest) and audits it. The caller then posts the request
// message and records where with Posted. A request this invocation opened
// before (WithKey), or an identical one the requester has pending, is not
// opened again: the error is an *ExistingError naming it.
//
// A request that needs more than one approval (see Needs) says so with
// NeedingApprovals; Open then refuses one that too few people could approve.
func (s *Service) Open(ctx context.Context, kind store.Kind, params any, summary, requester, channel string, opts ...OpenOption) (*store.Request, error) {
	if !s.HasApprovers() {
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
		SameKey:     sameKey(requester, kind, raw),
	}
	o := opening{r: r, needed: 1}
	for _, f := range opts {
		f(&o)
	}
	if err := s.CanBeApproved(requester, o.needed); err != nil {
		return nil, err
	}
	// The rule goes first: a request is never seen without it, so a
	// request that needs two approvals can never be bought on one.
	if o.needed > 1 || s.policy.RemindAfter > 0 {
		if err := s.store.PutRule(ctx, r.ID, o.needed); err != nil {
			return nil, fmt.Errorf("approval: store rule: %w", err)
		}
	}
	created := store.AuditEntry{At: now, RequestID: r.ID, Actor: requester, Event: "request.created", Detail: fmt.Sprintf("%s: %s", kind, summary)}
	if err := s.store.CreateRequest(ctx, r, created); err != nil {
		var de *store.DuplicateError
		if errors.As(err, &de) {
			return nil, &ExistingError{Request: de.Existing, Same: de.Same}
		}
		return nil, fmt.Errorf("approval: create request: %w", err)
	}
	s.log.InfoContext(ctx, "request created", "request_id", r.ID, "user_id", requester, "kind", string(kind))
	return r, nil
}

// sameKey is what identical requests share: who asks, for what call. The
// call is the parsed request's JSON, so "06" and "6" are one item.
func sameKey(requester string, kind store.Kind, params []byte) string {
	h := sha256.Sum256(params)
	return requester + "|" + string(kind) + "|" + hex.EncodeToString(h[:16])
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
	needed, err := s.needed(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case r.RequesterID == user && needed > 1:
		return nil, ErrSelfApprovalTwo
	case r.RequesterID == user && !s.policy.AllowSelfApproval:
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
	detail := r.Summary
	if needed > 1 {
		by, err := s.addApproval(ctx, r, user, needed, now)
		if err != nil {
			return nil, err
		}
		if len(by) < needed {
			// Nothing is bought yet: the request stays pending, and its
			// message shows who approved.
			return r, nil
		}
		// The row committed with the claim names every approval it
		// rests on: one row says who authorised the spending.
		detail = fmt.Sprintf("final approval (%d of %d, by %s): %s", needed, needed, strings.Join(by, ", "), r.Summary)
	}
	claim := rand.Text()
	claimed, err := s.transition(ctx, id, store.StatePending, store.StateExecuting, store.Transition{
		By: user, At: now, Claim: claim,
		Audit: []store.AuditEntry{{At: now, RequestID: id, Actor: user, Event: "request.approved", Detail: detail}},
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return nil, s.lost(err, claimed)
		}
		// The claim may have been committed with its answer lost: read it
		// back rather than leave a request nobody carries out.
		s.log.WarnContext(ctx, "claim not confirmed; reading it back", "request_id", id, "user_id", user, "err", err)
		claimed, err = s.claimedBy(context.WithoutCancel(ctx), id, claim)
		if err != nil {
			return nil, err
		}
	}
	s.passed(StepClaimed)
	s.log.InfoContext(ctx, "request approved", "request_id", id, "user_id", user)
	return s.execute(ctx, claimed)
}

// claimedBy reads back request id after a claim whose answer was lost, for
// up to OutcomeRetry: the request under claim when the claim took, else
// the reason it did not.
func (s *Service) claimedBy(ctx context.Context, id, claim string) (*store.Request, error) {
	var cur *store.Request
	err := s.retry(ctx, "read back a claim", id, func() error {
		var err error
		cur, err = s.store.GetRequest(ctx, id)
		return err
	})
	switch {
	case err != nil:
		return nil, ErrNotRecorded
	case cur.State == store.StateExecuting && cur.Claim == claim:
		return cur, nil
	case cur.State == store.StatePending:
		return nil, ErrNotRecorded
	}
	return nil, &DecidedError{Request: cur}
}

// execute makes the one buying call of a claimed request and records how it
// ended. It runs only for the caller that won pending → executing.
func (s *Service) execute(ctx context.Context, r *store.Request) (*store.Request, error) {
	// The call and the recording of its outcome must not be cut short by the
	// caller going away (a shutdown, a closed socket): the money may be spent.
	ctx = context.WithoutCancel(ctx)
	marked, err := s.markCall(ctx, r)
	if err != nil {
		return nil, err
	}
	s.passed(StepMarked)
	outcome, callErr := s.call(ctx, marked)
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
	s.passed(StepAnswered)
	raw, err := json.Marshal(outcome)
	if err != nil {
		return nil, fmt.Errorf("approval: encode outcome: %w", err)
	}
	s.log.InfoContext(ctx, "request executed", "request_id", r.ID, "user_id", r.DecidedBy, "outcome", string(to))
	done, err := s.recordOutcome(ctx, marked, to, outcome, raw)
	if err != nil {
		return nil, err
	}
	s.passed(StepRecorded)
	return done, nil
}

// markCall writes the call's mark and its audit row, the last write before
// the money is spent. When the store's answer is lost the mark is read back;
// when the store stays down, no call is made.
func (s *Service) markCall(ctx context.Context, r *store.Request) (*store.Request, error) {
	audit := []store.AuditEntry{{At: s.now().UTC(), RequestID: r.ID, Actor: "system", Event: "dialogtech.call", Detail: string(r.Kind)}}
	var marked *store.Request
	err := s.retry(ctx, "mark the call", r.ID, func() error {
		m, err := s.store.MarkCallSent(ctx, r.ID, r.Claim, s.now().UTC(), audit)
		if err == nil {
			marked = m
			return nil
		}
		if errors.Is(err, store.ErrConflict) {
			if m != nil && m.Claim == r.Claim && m.State == store.StateExecuting && !m.CallSentAt.IsZero() {
				marked = m // an earlier try took; its answer was lost
				return nil
			}
			return &permanent{err: err, cur: m}
		}
		return err
	})
	var pe *permanent
	switch {
	case err == nil:
		return marked, nil
	case errors.As(err, &pe):
		// The request left executing under this claim (a sweep found it
		// stale): it is not this caller's to carry out any more.
		if pe.cur != nil {
			return nil, &DecidedError{Request: pe.cur}
		}
		return nil, fmt.Errorf("approval: mark the call of %s: %w", r.ID, pe.err)
	}
	s.log.ErrorContext(ctx, "call not made: its mark could not be stored", "request_id", r.ID, "err", err)
	return nil, ErrNotRecorded
}

// recordOutcome stores the outcome and its audit row, retrying for up to
// OutcomeRetry; every failure is logged with the request id and what
// DialogTech answered, so the numbers are never only in memory.
func (s *Service) recordOutcome(ctx context.Context, r *store.Request, to store.State, o Outcome, raw []byte) (*store.Request, error) {
	var done *store.Request
	err := s.retry(ctx, "record the outcome", r.ID, func() error {
		now := s.now().UTC()
		audit := []store.AuditEntry{{At: now, RequestID: r.ID, Actor: "system", Event: "dialogtech.result", Detail: fmt.Sprintf("%s: %s", to, outcomeText(o))}}
		// Now, not At: the message keeps saying when the approver decided.
		d, err := s.transition(ctx, r.ID, store.StateExecuting, to, store.Transition{Now: now, Outcome: raw, Audit: audit})
		if err == nil {
			done = d
			return nil
		}
		if errors.Is(err, store.ErrConflict) && d != nil {
			switch {
			case d.State == to && d.Claim == r.Claim && string(d.Outcome) == string(raw):
				done = d // an earlier try took; its answer was lost
				return nil
			case d.State == store.StateUnknown:
				// A sweep gave up on the request while the store was
				// down; what DialogTech answered is known now.
				audit[0].Detail = "late, " + audit[0].Detail
				d, err = s.transition(ctx, r.ID, store.StateUnknown, to, store.Transition{Now: now, Outcome: raw, Audit: audit})
				if err == nil {
					done = d
					return nil
				}
			}
			if errors.Is(err, store.ErrConflict) {
				return &permanent{err: err, cur: d}
			}
		}
		s.log.ErrorContext(ctx, "outcome not stored yet; retrying", "request_id", r.ID, "outcome", string(to),
			"numbers", o.Numbers, "quantity", o.Quantity, "description", o.Description, "call_error", o.Error, "err", err)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "outcome lost: the store did not take it; the request will show unknown", "request_id", r.ID,
			"outcome", string(to), "numbers", o.Numbers, "quantity", o.Quantity, "description", o.Description, "call_error", o.Error, "err", err)
		return nil, fmt.Errorf("approval: record outcome of %s: %w", r.ID, err)
	}
	return done, nil
}

// permanent stops retry: trying again cannot help.
type permanent struct {
	err error
	cur *store.Request
}

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// retry runs fn until it succeeds, returns a *permanent, or OutcomeRetry
// has passed, backing off between tries.
func (s *Service) retry(ctx context.Context, what, id string, fn func() error) error {
	deadline := time.Now().Add(s.policy.OutcomeRetry)
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		var pe *permanent
		if err == nil || errors.As(err, &pe) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		s.log.WarnContext(ctx, "store write failed; retrying", "what", what, "request_id", id, "attempt", attempt, "err", err)
		s.sleep(ctx, wait)
		wait = min(2*wait, 5*time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Service) passed(step string) {
	if s.step != nil {
		s.step(step)
	}
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
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	detail := cur.Summary
	if reason != "" {
		detail += "; reason: " + reason
	}
	now := s.now().UTC()
	r, err := s.transition(ctx, id, store.StatePending, to, store.Transition{By: user, At: now, Reason: reason,
		Audit: []store.AuditEntry{{At: now, RequestID: id, Actor: user, Event: event, Detail: detail}}})
	if err != nil {
		return nil, s.lost(err, r)
	}
	s.log.InfoContext(ctx, "request "+string(to), "request_id", id, "user_id", user)
	return r, nil
}

// Resolve records what an approver found when they checked a request whose
// outcome is unknown: bought (an order with the numbers it got) or not. The
// request ends succeeded or failed, with the resolution in its outcome, and
// the audit log says who recorded it.
func (s *Service) Resolve(ctx context.Context, id, user string, bought bool, numbers []string) (*store.Request, error) {
	if err := s.mayDecide(user); err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.State != store.StateUnknown {
		return nil, &ResolveError{Request: r}
	}
	if bought && r.Kind == store.KindOrder && len(numbers) == 0 {
		return nil, ErrNumbersNeeded
	}
	now := s.now().UTC()
	o := DecodeOutcome(r)
	o.Resolution = &Resolution{By: user, At: now, Bought: bought, Numbers: numbers}
	to, detail := store.StateFailed, "checked: not bought"
	if bought {
		to, detail = store.StateSucceeded, "checked: bought"
		if len(numbers) > 0 {
			o.Numbers = numbers
			detail += fmt.Sprintf(", %d numbers: %v", len(numbers), numbers)
		}
	}
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("approval: encode outcome: %w", err)
	}
	done, err := s.transition(ctx, id, store.StateUnknown, to, store.Transition{Now: now, Outcome: raw,
		Audit: []store.AuditEntry{{At: now, RequestID: id, Actor: user, Event: "request.resolved", Detail: detail}}})
	if err != nil {
		if errors.Is(err, store.ErrConflict) && done != nil {
			return nil, &ResolveError{Request: done}
		}
		return nil, s.lost(err, done)
	}
	s.log.InfoContext(ctx, "request resolved", "request_id", id, "user_id", user, "outcome", string(to))
	return done, nil
}

// ResolveError: the request's outcome is not unknown (any more), so there
// is nothing to resolve. It is ErrNotUnknown.
type ResolveError struct{ Request *store.Request }

func (e *ResolveError) Error() string {
	return fmt.Sprintf("request %s is %s, not unknown: there is nothing to resolve", e.Request.ID, e.Request.State)
}

// Unwrap is ErrNotUnknown.
func (e *ResolveError) Unwrap() error { return ErrNotUnknown }

// Drawn records that the request's message shows version.
func (s *Service) Drawn(ctx context.Context, id string, version int64) error {
	return s.store.SetDrawn(ctx, id, version)
}

// Undrawn lists decided requests whose message is behind them: its last
// update was lost, or the process stopped before it made it.
func (s *Service) Undrawn(ctx context.Context, limit int) ([]*store.Request, error) {
	var out []*store.Request
	for _, st := range []store.State{store.StateSucceeded, store.StateFailed, store.StateUnknown,
		store.StateDenied, store.StateCancelled, store.StateExpired} {
		list, err := s.store.Undrawn(ctx, st, limit)
		if err != nil {
			return out, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// NeedsChecking lists requests whose outcome is unknown, newest first.
func (s *Service) NeedsChecking(ctx context.Context, limit int) ([]*store.Request, error) {
	return s.store.ListRequests(ctx, store.StateUnknown, limit)
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
		// Without the call's mark the call was never sent: the process
		// stopped between the claim and the call.
		to, o, detail := store.StateUnknown, Outcome{Error: "the bot stopped while the call was in flight; it may or may not have gone through"}, "marked unknown: never resent"
		if r.CallSentAt.IsZero() {
			to, o, detail = store.StateFailed, Outcome{NotSent: true, Error: "the bot stopped after the approval, before calling DialogTech; nothing was bought"}, "never called: nothing was bought"
		}
		raw, _ := json.Marshal(o)
		// Only over the row as read: a mark (or outcome) written since
		// means its approver is still at work, and "nothing was bought"
		// would be false.
		done, err := s.transition(ctx, r.ID, store.StateExecuting, to, store.Transition{Now: now, Outcome: raw, IfVersion: r.Version,
			Audit: []store.AuditEntry{{At: now, RequestID: r.ID, Actor: "system", Event: "request.interrupted", Detail: detail}}})
		if err != nil {
			continue // finished meanwhile, or the store is down: the next sweep tries again
		}
		s.log.WarnContext(ctx, "request interrupted", "request_id", r.ID, "user_id", r.DecidedBy, "outcome", string(to))
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
	now := s.now().UTC()
	done, err := s.transition(ctx, r.ID, store.StatePending, store.StateExpired, store.Transition{At: now,
		Audit: []store.AuditEntry{{At: now, RequestID: r.ID, Actor: "system", Event: "request.expired", Detail: r.Summary}}})
	if err != nil {
		return nil, s.lost(err, done)
	}
	s.log.InfoContext(ctx, "request expired", "request_id", r.ID, "user_id", r.RequesterID)
	return done, nil
}

func (s *Service) mayDecide(user string) error {
	if !s.HasApprovers() {
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
	case o.Resolution != nil && !o.Resolution.Bought:
		return "checked: not bought"
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
