package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rule is what a request needs besides its row: how many different
// approvers, and when its reminder was claimed (zero: not yet).
type Rule struct {
	RequestID       string
	ApprovalsNeeded int
	RemindedAt      time.Time
}

// Approval is one approver's approval of a request that needs several.
type Approval struct {
	RequestID  string
	ApproverID string
	At         time.Time
}

// PutRule stores how many approvals request id needs, replacing what was
// stored (a reminder claim is kept).
func (s *sqlStore) PutRule(ctx context.Context, id string, needed int) error {
	if needed < 1 {
		return fmt.Errorf("store: put rule %s: %d approvals needed, want at least 1", id, needed)
	}
	if _, err := s.write.exec(ctx, `INSERT INTO request_rules (request_id, approvals_needed) VALUES ($1, $2)
		ON CONFLICT (request_id) DO UPDATE SET approvals_needed = excluded.approvals_needed`, id, needed); err != nil {
		return fmt.Errorf("store: put rule %s: %w", id, err)
	}
	return nil
}

// GetRule returns ErrNotFound for a request without a rule (it needs one
// approval).
func (s *sqlStore) GetRule(ctx context.Context, id string) (*Rule, error) {
	r := Rule{RequestID: id}
	err := one(ctx, s.read, func(sc scanner) error {
		return sc.Scan(&r.ApprovalsNeeded, timeDest{&r.RemindedAt})
	}, `SELECT approvals_needed, reminded_at FROM request_rules WHERE request_id = $1`, id)
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("store: get rule %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get rule %s: %w", id, err)
	}
	return &r, nil
}

// AddApproval records approver's approval of request id and its audit
// rows in one transaction; the same approver again gives ErrDuplicate and
// changes nothing.
func (s *sqlStore) AddApproval(ctx context.Context, id, approver string, at time.Time, audit ...AuditEntry) error {
	if at.IsZero() {
		at = now()
	}
	err := s.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `INSERT INTO request_approvals (request_id, approver_id, approved_at) VALUES ($1, $2, $3)
			ON CONFLICT (request_id, approver_id) DO NOTHING`, id, approver, s.at(at))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrDuplicate
		}
		return s.appendAudit(ctx, q, audit)
	})
	if err != nil {
		return fmt.Errorf("store: add approval of %s by %s: %w", id, approver, err)
	}
	return nil
}

// Approvals lists the approvals of request id, oldest first.
func (s *sqlStore) Approvals(ctx context.Context, id string) ([]Approval, error) {
	var out []Approval
	err := each(ctx, s.read, func(sc scanner) error {
		a := Approval{RequestID: id}
		if err := sc.Scan(&a.ApproverID, timeDest{&a.At}); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}, `SELECT approver_id, approved_at FROM request_approvals WHERE request_id = $1 ORDER BY approved_at, approver_id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: approvals of %s: %w", id, err)
	}
	return out, nil
}

// ClaimReminder marks request id's reminder as being sent at `at`, in one
// conditional write: ErrConflict when it was claimed before (by this or
// another replica) or the request has no rule.
func (s *sqlStore) ClaimReminder(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	n, err := s.write.exec(ctx, `UPDATE request_rules SET reminded_at = $2 WHERE request_id = $1 AND reminded_at IS NULL`, id, s.at(at))
	if err != nil {
		return fmt.Errorf("store: claim reminder of %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: claim reminder of %s: %w", id, ErrConflict)
	}
	return nil
}

// ReleaseReminder undoes the claim made at `at` (the reminder could not be
// posted), so a later sweep sends it. A claim made at another time is
// left alone.
func (s *sqlStore) ReleaseReminder(ctx context.Context, id string, at time.Time) error {
	if _, err := s.write.exec(ctx, `UPDATE request_rules SET reminded_at = NULL WHERE request_id = $1 AND reminded_at = $2`, id, s.at(at)); err != nil {
		return fmt.Errorf("store: release reminder of %s: %w", id, err)
	}
	return nil
}
