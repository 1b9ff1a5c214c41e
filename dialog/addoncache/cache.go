// Package addoncache spares DialogTech the reads of a busy workspace: reads
// of the account's add-ons that arrive while one addons.list call is in
// flight share that call, and a reading is reused for a short time (the
// TTL). A buying call ends the reuse at once (Invalidate), so the next read
// shows what was bought.
package addoncache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
)

// Reader reads the add-ons (dialog.Client does).
type Reader interface {
	ListAddOns(ctx context.Context) ([]dialog.AddOn, error)
}

// Where a read was answered from, as the observer is told.
const (
	SourceDialogTech = "dialogtech" // this read's own addons.list call
	SourceShared     = "shared"     // a call in flight for another read
	SourceCache      = "cache"      // a reading younger than the TTL
)

// Cache is a Reader in front of a Reader. It is safe for concurrent use.
type Cache struct {
	r       Reader
	ttl     time.Duration
	now     func() time.Time
	observe func(source string)

	mu     sync.Mutex
	gen    uint64 // advanced by Invalidate
	val    []dialog.AddOn
	valGen uint64
	at     time.Time // when the call that read val was started
	flight *call
}

// call is one addons.list call that reads may share.
type call struct {
	gen  uint64
	done chan struct{}
	val  []dialog.AddOn
	err  error
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock sets the time source (tests).
func WithClock(now func() time.Time) Option { return func(c *Cache) { c.now = now } }

// WithObserver is told where each read was answered from.
func WithObserver(f func(source string)) Option { return func(c *Cache) { c.observe = f } }

// New returns a cache over r that reuses a reading for ttl. With ttl 0 a
// reading is never reused, but reads at the same moment still share a call.
func New(r Reader, ttl time.Duration, opts ...Option) *Cache {
	c := &Cache{r: r, ttl: ttl, now: time.Now, observe: func(string) {}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ListAddOns returns a reading no older than the TTL and taken after the
// last Invalidate: the cached one, the one in flight, or a new one. The
// caller gets its own copy. An error is not cached: the reads that shared
// the failed call get its error, the next read tries again.
func (c *Cache) ListAddOns(ctx context.Context) ([]dialog.AddOn, error) {
	c.mu.Lock()
	if c.val != nil && c.valGen == c.gen && c.now().Sub(c.at) < c.ttl {
		v := c.val
		c.mu.Unlock()
		c.observe(SourceCache)
		return slices.Clone(v), nil
	}
	f, source := c.flight, SourceShared
	if f == nil || f.gen != c.gen {
		f, source = c.start(ctx), SourceDialogTech
	}
	c.mu.Unlock()
	c.observe(source)
	select {
	case <-f.done:
		if f.err != nil {
			return nil, f.err
		}
		return slices.Clone(f.val), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start sends a call for the current generation. The call does not end
// with the context of the read that started it, which may give up while
// others wait (the client bounds every call in time). c.mu is held.
func (c *Cache) start(ctx context.Context) *call {
	f := &call{gen: c.gen, done: make(chan struct{})}
	c.flight = f
	started := c.now()
	go func() {
		f.val, f.err = c.r.ListAddOns(context.WithoutCancel(ctx))
		c.mu.Lock()
		if c.flight == f {
			c.flight = nil
		}
		// A reading started before an Invalidate may predate the
		// purchase: it answers the reads that shared it, and is not kept.
		if f.err == nil && f.gen == c.gen {
			c.val, c.valGen, c.at = f.val, f.gen, started
		}
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// Invalidate ends the reuse of every reading taken so far, including one in
// flight: the next read makes a new call. Call it when a buying call was
// sent, whatever its outcome.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.val = nil
}
