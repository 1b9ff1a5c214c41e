package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// memStore keeps the store contract's semantics in memory: PutAlertState is
// a compare-and-swap on UpdatedAt, ClaimNotification a unique insert.
type memStore struct {
	mu      sync.Mutex
	states  map[string]store.AlertState
	claims  map[string]bool
	samples []store.Sample
	leases  map[string]lease
	due     map[string]store.DueNotice
}

type lease struct {
	holder  string
	expires time.Time
}

func newMemStore() *memStore {
	return &memStore{states: make(map[string]store.AlertState), claims: make(map[string]bool)}
}

func cloneState(s store.AlertState) *store.AlertState {
	s.Data = slices.Clone(s.Data)
	return &s
}

func (m *memStore) GetAlertState(_ context.Context, key string) (*store.AlertState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return cloneState(s), nil
}

func (m *memStore) PutAlertState(_ context.Context, s *store.AlertState, prevUpdatedAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.states[s.Key]
	switch {
	case prevUpdatedAt.IsZero() && ok:
		return store.ErrConflict
	case !prevUpdatedAt.IsZero() && (!ok || !cur.UpdatedAt.Equal(prevUpdatedAt)):
		return store.ErrConflict
	}
	m.states[s.Key] = *cloneState(*s)
	return nil
}

func (m *memStore) ListAlertStates(context.Context) ([]*store.AlertState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.AlertState
	for _, s := range m.states {
		out = append(out, cloneState(s))
	}
	slices.SortFunc(out, func(a, b *store.AlertState) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (m *memStore) ClaimNotification(_ context.Context, key string, episode int64, state string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := fmt.Sprintf("%s/%d/%s", key, episode, state)
	if m.claims[k] {
		return store.ErrDuplicate
	}
	m.claims[k] = true
	return nil
}

func (m *memStore) AddSamples(_ context.Context, samples []store.Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, samples...)
	return nil
}

func (m *memStore) Samples(_ context.Context, itemID int, since time.Time) ([]store.Sample, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Sample
	for _, s := range m.samples {
		if s.ItemID == itemID && !s.At.Before(since) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Sample) int { return a.At.Compare(b.At) })
	return out, nil
}

func (m *memStore) PruneSamples(_ context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = slices.DeleteFunc(m.samples, func(s store.Sample) bool { return s.At.Before(before) })
	return nil
}

func (m *memStore) AcquireLease(_ context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder != holder && l.expires.After(now) {
		return false, nil
	}
	if m.leases == nil {
		m.leases = make(map[string]lease)
	}
	m.leases[name] = lease{holder, now.Add(ttl)}
	return true, nil
}

func (m *memStore) ClaimNotificationDue(_ context.Context, n store.DueNotice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := fmt.Sprintf("%s/%d/%s", n.Key, n.Episode, n.Claim)
	if m.claims[k] {
		return store.ErrDuplicate
	}
	m.claims[k] = true
	if m.due == nil {
		m.due = map[string]store.DueNotice{}
	}
	m.due[k] = n
	return nil
}

func (m *memStore) TakeDueNotice(_ context.Context, key string, episode int64, claim string, prev, next time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := fmt.Sprintf("%s/%d/%s", key, episode, claim)
	n, ok := m.due[k]
	if !ok || !n.NextAt.Equal(prev) {
		return false, nil
	}
	n.NextAt = next
	m.due[k] = n
	return true, nil
}

func (m *memStore) DeferNotification(_ context.Context, n store.DueNotice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.due == nil {
		m.due = map[string]store.DueNotice{}
	}
	m.due[fmt.Sprintf("%s/%d/%s", n.Key, n.Episode, n.Claim)] = n
	return nil
}

func (m *memStore) DueNotices(_ context.Context, now time.Time, limit int) ([]store.DueNotice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.DueNotice
	for _, n := range m.due {
		if !n.NextAt.After(now) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b store.DueNotice) int { return a.NextAt.Compare(b.NextAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) NotificationSent(_ context.Context, key string, episode int64, claim string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.due, fmt.Sprintf("%s/%d/%s", key, episode, claim))
	return nil
}

func (m *memStore) LeaseExpiry(_ context.Context, name string) (string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok {
		return "", time.Time{}, store.ErrNotFound
	}
	return l.holder, l.expires, nil
}

func (m *memStore) alert(key string) State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return FromStore(m.states[key])
}

// call is one thing the Poster was asked to do.
type call struct {
	Op      string // post, update, reply
	Channel string
	TS      string // update: the message edited; reply: the thread
	Msg     reply.Message
}

// recorder is a Poster that records every call; failPosts makes the next
// posts fail.
type recorder struct {
	mu        sync.Mutex
	calls     []call
	n         int
	failPosts int
	// failReplies and failUpdates make the next thread replies or edits
	// fail with failErr.
	failReplies, failUpdates int
	failErr                  error
}

func (p *recorder) Post(_ context.Context, channel string, m reply.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failPosts > 0 {
		p.failPosts--
		return "", fmt.Errorf("slack: ratelimited")
	}
	p.n++
	ts := fmt.Sprintf("%d.000100", p.n)
	p.calls = append(p.calls, call{Op: "post", Channel: channel, TS: ts, Msg: m})
	return ts, nil
}

func (p *recorder) Update(_ context.Context, channel, ts string, m reply.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failUpdates > 0 {
		p.failUpdates--
		return p.failErr
	}
	p.calls = append(p.calls, call{Op: "update", Channel: channel, TS: ts, Msg: m})
	return nil
}

func (p *recorder) Reply(_ context.Context, channel, threadTS string, m reply.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failReplies > 0 {
		p.failReplies--
		return "", p.failErr
	}
	p.n++
	p.calls = append(p.calls, call{Op: "reply", Channel: channel, TS: threadTS, Msg: m})
	return fmt.Sprintf("%d.000100", p.n), nil
}

func (p *recorder) all() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func (p *recorder) count(op string) int {
	n := 0
	for _, c := range p.all() {
		if c.Op == op {
			n++
		}
	}
	return n
}

// reader is a UsageReader whose answer the test sets.
type reader struct {
	mu     sync.Mutex
	addOns []dialog.AddOn
	err    error
	calls  int
	called chan struct{} // if set, signalled on every call
	panics int           // the next calls panic
}

func (r *reader) set(err error, addOns ...dialog.AddOn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err, r.addOns = err, addOns
}

func (r *reader) ListAddOns(context.Context) ([]dialog.AddOn, error) {
	r.mu.Lock()
	r.calls++
	called, panics := r.called, r.panics > 0
	if panics {
		r.panics--
	}
	addOns, err := slices.Clone(r.addOns), r.err
	r.mu.Unlock()
	if called != nil {
		called <- struct{}{}
	}
	if panics {
		panic("reader exploded")
	}
	return addOns, err
}

// clock is a fake clock shared by the runners of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
