package alerts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialogbot/dialogbot/store"
)

func (r *reader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// leaseScenario runs two runners on st on the default schedule (every 15
// minutes) and counts the reads of addons.list: one per tick while a holds
// the schedule, none while a is silent but its lease runs, and b's once it
// has run out.
func leaseScenario(t *testing.T, st Store) {
	h := newHarness(st)
	h.reader.set(nil, numbers(10, 100))
	a, b := h.runner(), h.runner()
	steps := []struct {
		at      time.Duration
		runners []*Runner
		reads   int // total after the step
	}{
		{0, []*Runner{a}, 1},                      // a takes the schedule
		{0, []*Runner{b}, 1},                      // b is refused
		{15 * time.Minute, []*Runner{b}, 1},       // a's lease runs to its next tick and a minute past it
		{15 * time.Minute, []*Runner{a}, 2},       // a renews
		{30 * time.Minute, []*Runner{b}, 2},       // a has not ticked yet: b is still refused
		{45 * time.Minute, []*Runner{b}, 3},       // a missed its tick and the minute after: b takes over
		{45 * time.Minute, []*Runner{a}, 3},       // a comes back and is refused
		{60 * time.Minute, []*Runner{a, b}, 4},    // at once: b renews, a is refused
		{75 * time.Minute, []*Runner{b, a}, 5},    // the same either way round
		{90*time.Minute + 59*time.Second, nil, 5}, // nobody ticks; b's lease runs to 91m
		{91 * time.Minute, []*Runner{a}, 6},       // a takes it back
	}
	for i, s := range steps {
		h.clock.Advance(t0.Add(s.at).Sub(h.clock.Now()))
		for _, r := range s.runners {
			if err := r.RunOnce(t.Context()); err != nil {
				t.Fatalf("step %d: RunOnce: %v", i, err)
			}
		}
		if got := h.reader.count(); got != s.reads {
			t.Fatalf("step %d (at %s): %d reads of addons.list in all, want %d", i, s.at, got, s.reads)
		}
	}
	if !strings.Contains(h.logs.String(), "this replica runs the schedule") {
		t.Errorf("taking the schedule was not logged:\n%s", h.logs.String())
	}
}

func TestRunnerLease(t *testing.T) {
	leaseScenario(t, newMemStore())
}

func TestRunnerLeaseSQLite(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	leaseScenario(t, st)
}

// TestRunnerLeaseConcurrent: runners that tick at the same instant read
// once between them.
func TestRunnerLeaseConcurrent(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(10, 100))
	runners := []*Runner{h.runner(), h.runner(), h.runner(), h.runner()}
	for tick := range 10 {
		h.mustTick(t, runners...)
		if got := h.reader.count(); got != tick+1 {
			t.Fatalf("tick %d: %d reads in all, want %d", tick, got, tick+1)
		}
		h.clock.Advance(15 * time.Minute)
	}
}

// TestRunnerTwoReplicasClaimsOnly takes the lease away, so that both runners
// read on every tick: the notification claims alone must keep every notice
// to one post.
func TestRunnerTwoReplicasClaimsOnly(t *testing.T) {
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) { twoReplicas(t, newMemStore(), WithLease(0)) })
	}
}

func TestRunnerLeaseHolderNamesProcess(t *testing.T) {
	h := newHarness(newMemStore())
	a, b := h.runner(), h.runner()
	pid := fmt.Sprintf("/%d/", os.Getpid())
	if !strings.Contains(a.holder, pid) {
		t.Errorf("holder %q does not name the process %s", a.holder, pid)
	}
	if a.holder == b.holder {
		t.Errorf("two runners of one process share the holder %q", a.holder)
	}
}

// leaseFails is a store whose lease cannot be taken.
type leaseFails struct{ *memStore }

var errLeaseDown = errors.New("database is down")

func (leaseFails) AcquireLease(context.Context, string, string, time.Duration, time.Time) (bool, error) {
	return false, errLeaseDown
}

func TestRunnerLeaseError(t *testing.T) {
	h := newHarness(leaseFails{newMemStore()})
	h.reader.set(nil, numbers(95, 100))
	err := h.runner().RunOnce(t.Context())
	if !errors.Is(err, errLeaseDown) {
		t.Errorf("RunOnce = %v, want the lease error", err)
	}
	if n := h.reader.count(); n != 0 {
		t.Errorf("%d reads without the lease, want 0", n)
	}
	if calls := h.poster.all(); len(calls) != 0 {
		t.Errorf("posted without the lease: %+v", calls)
	}
}

// TestRunnerStopHandsLeaseOver: a runner that stops gives the schedule up,
// so another takes it on its next tick, long before the lease would have
// run out.
func TestRunnerStopHandsLeaseOver(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(10, 100))
	h.reader.called = make(chan struct{}, 1000)
	a, b := h.runner(), h.runner()
	a.schedule = cron.Schedule(everyInstant{})
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.reader.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the schedule did not run")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	// a's lease ran a minute past its next tick; a second later b gets it.
	h.clock.Advance(time.Second)
	reads := h.reader.count()
	if err := b.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.reader.count(); got != reads+1 {
		t.Errorf("b read %d times after a stopped, want once: a kept the schedule", got-reads)
	}
}

// TestRunnerTakeoverWithinTTL: the holder reads at 09:00 and dies. The
// other runner's 09:15 tick is refused (the lease runs to 09:16), and it
// tries again when the lease runs out, so it reads at 09:16: within the
// lease's ttl of the tick the holder missed, not at 09:30.
func TestRunnerTakeoverWithinTTL(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(10, 100))
	a := h.runner()
	b := h.runner(WithSleep(func(ctx context.Context, d time.Duration) error {
		h.clock.Advance(d)
		return ctx.Err()
	}))
	sched, err := ParseSchedule(DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	missed := t0.Add(15 * time.Minute)
	h.clock.Advance(missed.Sub(h.clock.Now()))
	b.tick(t.Context(), sched)
	if got := h.reader.count(); got != 2 {
		t.Fatalf("%d reads, want 2: the survivor did not take over before its next tick", got)
	}
	if took := h.clock.Now().Sub(missed); took > DefaultLeaseTTL {
		t.Errorf("took over %s after the missed tick, want within the lease's ttl %s", took, DefaultLeaseTTL)
	}
	// While the holder is alive, the survivor does not wait: the lease
	// runs past its next tick.
	h2 := newHarness(newMemStore())
	h2.reader.set(nil, numbers(10, 100))
	waited := false
	c, d := h2.runner(), h2.runner(WithSleep(func(context.Context, time.Duration) error { waited = true; return nil }))
	if err := c.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	h2.clock.Advance(15 * time.Minute)
	if err := c.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	d.tick(t.Context(), sched)
	if waited || h2.reader.count() != 2 {
		t.Errorf("with the holder alive: waited %v, %d reads; want no wait, 2 reads", waited, h2.reader.count())
	}
}
