package approval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dialogbot/dialogbot/store"
	"github.com/shopspring/decimal"
	"time"
)

// Groups says who is in a Slack user group, as far as Slack last said.
type Groups interface {
	Member(group, user string) bool
	Members(group string) []string
}

// Threshold is the size above which a request needs a second approver: a
// quantity when Qty is positive, else an estimated amount when Amount is.
// The zero Threshold never asks for a second approver.
type Threshold struct {
	Amount decimal.Decimal
	Qty    int
}

// String is the threshold as SECOND_APPROVAL_ABOVE writes it.
func (t Threshold) String() string {
	switch {
	case t.Qty > 0:
		return fmt.Sprintf("qty:%d", t.Qty)
	case t.Amount.IsPositive():
		return t.Amount.String()
	}
	return ""
}

// Size is how big a request is: its quantity and, when DialogTech lists a
// price, its estimated amount.
type Size struct {
	Qty         int
	Amount      decimal.Decimal
	AmountKnown bool
}

// Needs is how many different approvers a request of size sz needs: two
// above SecondAbove, else one. An amount threshold cannot be passed by a
// request whose price DialogTech does not list.
func (p Policy) Needs(sz Size) int {
	t := p.SecondAbove
	switch {
	case t.Qty > 0:
		if sz.Qty > t.Qty {
			return 2
		}
	case t.Amount.IsPositive():
		if sz.AmountKnown && sz.Amount.GreaterThan(t.Amount) {
			return 2
		}
	}
	return 1
}

// NeedingApprovals makes the request need n different approvers (n >= 1),
// none of them the requester when n > 1.
func NeedingApprovals(n int) OpenOption {
	return func(o *opening) { o.needed = max(n, 1) }
}

// ErrAlreadyApproved: this approver's approval is already counted; the
// request waits for another approver.
var ErrAlreadyApproved = errors.New("you already approved this request; it needs another approver")

// NobodyCanApproveError: too few people could approve a request, so it is
// not opened.
type NobodyCanApproveError struct {
	Needed int
	// Eligible are those who could approve it (never the requester when
	// SelfExcluded).
	Eligible []string
	// RequesterIsApprover: the requester is an approver, kept out by the
	// policy.
	RequesterIsApprover bool
	Threshold           string // SECOND_APPROVAL_ABOVE when Needed > 1
}

func (e *NobodyCanApproveError) Error() string {
	switch {
	case e.Needed > 1:
		return fmt.Sprintf("this needs %d different approvers other than you (it is above SECOND_APPROVAL_ABOVE=%s), but only %d can approve it", e.Needed, e.Threshold, len(e.Eligible))
	case e.RequesterIsApprover:
		return "nobody else can approve this: you are the only approver and ALLOW_SELF_APPROVAL is off"
	}
	return "nobody can approve this yet: no approver is known (the members of APPROVER_GROUPS could not be read from Slack)"
}

// Eligible lists who could approve a request by requester needing needed
// approvals: APPROVERS in order, then approver group members (as Slack
// last said), each once; never the requester when self-approval is off or
// more than one approval is needed.
func (s *Service) Eligible(requester string, needed int) []string {
	excludeSelf := needed > 1 || !s.policy.AllowSelfApproval
	var out []string
	add := func(u string) {
		if (excludeSelf && u == requester) || slices.Contains(out, u) {
			return
		}
		out = append(out, u)
	}
	for _, u := range s.policy.Approvers {
		add(u)
	}
	if s.groups != nil {
		for _, g := range s.policy.ApproverGroups {
			for _, u := range s.groups.Members(g) {
				add(u)
			}
		}
	}
	return out
}

// CanBeApproved says why a request by requester needing needed approvals
// could not be approved by anyone, or nil.
func (s *Service) CanBeApproved(requester string, needed int) error {
	if !s.HasApprovers() {
		return ErrNoApprovers
	}
	eligible := s.Eligible(requester, needed)
	if len(eligible) >= needed {
		return nil
	}
	return &NobodyCanApproveError{Needed: needed, Eligible: eligible, RequesterIsApprover: s.IsApprover(requester),
		Threshold: s.policy.SecondAbove.String()}
}

// needed is how many approvals request id needs. A failed read is an
// error, never "one": a request that needs two must not be bought on one.
func (s *Service) needed(ctx context.Context, id string) (int, error) {
	rule, err := s.store.GetRule(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 1, nil
	case err != nil:
		return 0, fmt.Errorf("approval: read rule of %s: %w", id, err)
	}
	return max(rule.ApprovalsNeeded, 1), nil
}

// addApproval records user's approval of r and returns the approvers who
// count now. A click already counted (a double click, a redelivered
// envelope) counts once; when it is not the last one needed it ends with
// ErrAlreadyApproved, and when it is (the process stopped before the claim)
// it goes on to the claim.
func (s *Service) addApproval(ctx context.Context, r *store.Request, user string, needed int, now time.Time) ([]string, error) {
	// The approval and its audit row are one write: an approval nobody
	// can see in the audit log does not count.
	err := s.store.AddApproval(ctx, r.ID, user, now, store.AuditEntry{At: now, RequestID: r.ID, Actor: user, Event: "request.approval",
		Detail: fmt.Sprintf("approved (%d approvals needed): %s", needed, r.Summary)})
	dup := errors.Is(err, store.ErrDuplicate)
	if err != nil && !dup {
		s.log.ErrorContext(ctx, "approval not recorded", "request_id", r.ID, "user_id", user, "err", err)
		return nil, ErrNotRecorded
	}
	by, err := s.countedApprovals(ctx, r)
	if err != nil {
		return nil, err
	}
	if dup {
		if len(by) < needed {
			return by, ErrAlreadyApproved
		}
		return by, nil
	}
	s.log.InfoContext(ctx, "request approval counted", "request_id", r.ID, "user_id", user, "approvals", len(by), "needed", needed)
	return by, nil
}

// countedApprovals are the approvals of r that count: by approvers who
// still are approvers, never the requester, each once, oldest first.
func (s *Service) countedApprovals(ctx context.Context, r *store.Request) ([]string, error) {
	list, err := s.store.Approvals(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("approval: read approvals of %s: %w", r.ID, err)
	}
	var by []string
	for _, a := range list {
		if a.ApproverID == r.RequesterID || slices.Contains(by, a.ApproverID) || !s.IsApprover(a.ApproverID) {
			continue
		}
		by = append(by, a.ApproverID)
	}
	return by, nil
}

// Progress says how many approvals r needs and who has approved it so far
// (for a request needing one: nobody until it is decided).
func (s *Service) Progress(ctx context.Context, r *store.Request) (needed int, approvedBy []string, err error) {
	needed, err = s.needed(ctx, r.ID)
	if err != nil || needed == 1 {
		return needed, nil, err
	}
	list, err := s.store.Approvals(ctx, r.ID)
	if err != nil {
		return needed, nil, fmt.Errorf("approval: read approvals of %s: %w", r.ID, err)
	}
	for _, a := range list {
		if a.ApproverID != r.RequesterID && !slices.Contains(approvedBy, a.ApproverID) {
			approvedBy = append(approvedBy, a.ApproverID)
		}
	}
	return needed, approvedBy, nil
}

// Remind posts, with post, one reminder for each pending request that has
// waited RemindAfter, naming the approvers who can still decide. Each
// reminder is claimed in the store first, so across replicas it goes out
// once; one that could not be posted is released and tried on the next
// sweep. It returns how many were posted.
func (s *Service) Remind(ctx context.Context, post func(ctx context.Context, r *store.Request, waitingOn []string) error) (int, error) {
	if s.policy.RemindAfter <= 0 {
		return 0, nil
	}
	pending, err := s.store.ListRequests(ctx, store.StatePending, 0)
	if err != nil {
		return 0, fmt.Errorf("approval: list pending: %w", err)
	}
	now := s.now().UTC()
	sent := 0
	var errs []error
	for _, r := range pending {
		if r.MessageTS == "" || now.Sub(r.CreatedAt) < s.policy.RemindAfter || !now.Before(r.ExpiresAt) {
			continue
		}
		rule, err := s.store.GetRule(ctx, r.ID)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		if !rule.RemindedAt.IsZero() {
			continue
		}
		if err := s.store.ClaimReminder(ctx, r.ID, now); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				errs = append(errs, err)
			}
			continue
		}
		// Read again after the claim: a request decided since the list
		// (approved, denied, being bought) needs no reminder, ever, so
		// its claim is kept.
		cur, err := s.store.GetRequest(ctx, r.ID)
		if err != nil {
			errs = append(errs, err)
			s.release(ctx, r.ID, now)
			continue
		}
		if cur.State != store.StatePending {
			continue
		}
		_, by, err := s.Progress(ctx, r)
		if err != nil {
			errs = append(errs, err)
			s.release(ctx, r.ID, now)
			continue
		}
		var waiting []string
		for _, u := range s.Eligible(r.RequesterID, max(rule.ApprovalsNeeded, 1)) {
			if !slices.Contains(by, u) {
				waiting = append(waiting, u)
			}
		}
		if err := post(ctx, r, waiting); err != nil {
			s.log.WarnContext(ctx, "reminder not posted; trying again later", "request_id", r.ID, "err", err)
			s.release(ctx, r.ID, now)
			errs = append(errs, err)
			continue
		}
		sent++
		s.audit(ctx, r.ID, "system", "request.reminded", "waiting on "+strings.Join(waiting, ", "))
		s.log.InfoContext(ctx, "request reminder posted", "request_id", r.ID, "user_id", r.RequesterID)
	}
	return sent, errors.Join(errs...)
}

func (s *Service) release(ctx context.Context, id string, at time.Time) {
	if err := s.store.ReleaseReminder(context.WithoutCancel(ctx), id, at); err != nil {
		s.log.ErrorContext(ctx, "reminder claim not released; this request gets no reminder", "request_id", id, "err", err)
	}
}
