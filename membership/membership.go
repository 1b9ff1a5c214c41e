// Package membership knows who is in the Slack user groups dialogbot
// trusts (APPROVER_GROUPS, groups in CALLERS). It reads them from Slack on
// a schedule and when Slack says a group changed, and when Slack cannot be
// read it keeps what Slack last said: membership is never wider than
// Slack's last answer, and a removal Slack announced takes effect at once.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Lister reads the members of one user group.
type Lister interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// Directory is the last known membership of a fixed set of groups. It is
// safe for concurrent use.
type Directory struct {
	groups []string
	log    *slog.Logger
	now    func() time.Time

	mu      sync.RWMutex
	lister  Lister
	members map[string]map[string]bool // group → users; absent: never read
	readAt  map[string]time.Time
	// seq counts removals; removed[group][user] is the seq of a removal
	// Slack announced, so a read that began before it (and may answer
	// with the user still in) does not bring the user back.
	seq     int64
	removed map[string]map[string]int64
}

// Option configures a Directory.
type Option func(*Directory)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(d *Directory) { d.log = l } }

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(d *Directory) { d.now = now } }

// New returns a Directory of groups that knows no members until its first
// Refresh. lister may be nil and set later with SetLister (the Slack client
// is built after the parts that ask about members).
func New(lister Lister, groups []string, opts ...Option) *Directory {
	d := &Directory{groups: slices.Clone(groups), lister: lister, log: slog.Default(), now: time.Now,
		members: map[string]map[string]bool{}, readAt: map[string]time.Time{}, removed: map[string]map[string]int64{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// SetLister sets where members are read from.
func (d *Directory) SetLister(l Lister) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lister = l
}

// Groups lists the groups the directory follows.
func (d *Directory) Groups() []string { return slices.Clone(d.groups) }

// Follows reports whether group is one of the directory's.
func (d *Directory) Follows(group string) bool { return slices.Contains(d.groups, group) }

// ErrNoLister: nothing to read members from yet.
var ErrNoLister = errors.New("membership: no Slack client to read groups with")

// Refresh reads every group. A group that cannot be read keeps its last
// known members; the errors are returned joined.
func (d *Directory) Refresh(ctx context.Context) error {
	var errs []error
	for _, g := range d.groups {
		if err := d.RefreshGroup(ctx, g); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RefreshGroup reads one group's members and, when Slack answered,
// replaces what was known. A group the directory does not follow is
// ignored.
func (d *Directory) RefreshGroup(ctx context.Context, group string) error {
	if !d.Follows(group) {
		return nil
	}
	d.mu.RLock()
	l, began := d.lister, d.seq
	d.mu.RUnlock()
	if l == nil {
		return ErrNoLister
	}
	users, err := l.GroupMembers(ctx, group)
	if err != nil {
		d.log.WarnContext(ctx, "user group not read; keeping its last known members", "group_id", group, "err", err)
		return fmt.Errorf("membership: read %s: %w", group, err)
	}
	set := make(map[string]bool, len(users))
	for _, u := range users {
		set[u] = true
	}
	d.mu.Lock()
	for u, at := range d.removed[group] {
		if at > began {
			// Removed while this read was on its way: Slack's answer
			// may predate the removal.
			delete(set, u)
		} else {
			// Slack answered after the removal: its answer has it.
			delete(d.removed[group], u)
		}
	}
	// Counted before the set is shared: Removed may change it at once.
	n := len(set)
	d.members[group] = set
	d.readAt[group] = d.now()
	d.mu.Unlock()
	d.log.DebugContext(ctx, "user group read", "group_id", group, "members", n)
	return nil
}

// Removed takes users out of group at once, as Slack's
// subteam_members_changed announced; a refresh follows to learn the rest.
func (d *Directory) Removed(group string, users []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	for _, u := range users {
		delete(d.members[group], u)
		if d.removed[group] == nil {
			d.removed[group] = map[string]int64{}
		}
		d.removed[group][u] = d.seq
	}
}

// Member reports whether user is, as far as Slack last said, in group.
func (d *Directory) Member(group, user string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.members[group][user]
}

// Members lists group's last known members, sorted.
func (d *Directory) Members(group string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.members[group]))
	for u := range d.members[group] {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Known reports whether group has been read at least once.
func (d *Directory) Known(group string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.members[group]
	return ok
}

// Run refreshes every interval until ctx ends, starting with one refresh
// at once. It returns when ctx ends.
func (d *Directory) Run(ctx context.Context, every time.Duration) {
	if len(d.groups) == 0 {
		return
	}
	if every <= 0 {
		every = 10 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := d.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "user groups: refresh incomplete", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Static is a Lister over a fixed table, for the console, which has no
// Slack to ask: `group S0FINANCE U1 U2` sets a simulated group.
type Static struct {
	mu     sync.Mutex
	groups map[string][]string
}

// Set replaces group's members.
func (s *Static) Set(group string, users []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string][]string{}
	}
	s.groups[group] = slices.Clone(users)
}

// GroupMembers implements Lister. A group never set has no members.
func (s *Static) GroupMembers(_ context.Context, group string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.groups[group]), nil
}
