package approval

import (
	"context"
	"fmt"

	"github.com/dialogbot/dialogbot/store"
)

// Record appends an audit entry that belongs to no request (a phone call,
// for instance) and reports whether it was stored: an action that must
// be in the audit log goes ahead only when it was.
func (s *Service) Record(ctx context.Context, actor, event, detail string) error {
	e := store.AuditEntry{At: s.now().UTC(), Actor: actor, Event: event, Detail: detail}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("approval: audit %s: %w", event, err)
	}
	return nil
}
