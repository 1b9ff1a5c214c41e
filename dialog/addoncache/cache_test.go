package addoncache_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/addoncache"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
)

const (
	access = "AK-cache-test"
	secret = "s3cr3t-CACHE-4471"
)

// account is the real client against the simulator over HTTP.
func account(t testing.TB) (*dialog.Client, *dialogsim.Sim) {
	t.Helper()
	sim := dialogsim.New(dialogsim.WithCredentials(access, secret), dialogsim.WithSeed(7))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := dialog.NewClient(dialog.WithCredentials(access, secret), dialog.WithBaseURL(srv.URL+"/ibp_api.php"),
		dialog.WithTimeout(10*time.Second), dialog.WithRetry(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// clock is a settable time source.
type clock struct{ now atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func lists(sim *dialogsim.Sim) int { return sim.CallCount(dialog.ActionAddOnsList) }

func totalOf(t *testing.T, addOns []dialog.AddOn, item int) int {
	t.Helper()
	for _, a := range addOns {
		if a.ItemID == item {
			return a.TotalQty
		}
	}
	t.Fatalf("no add-on %d in %v", item, addOns)
	return 0
}

// sources counts what the observer was told.
type sources struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *sources) observe(src string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[src]++
}

func (s *sources) get(src string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[src]
}

// A burst of concurrent reads is one addons.list call, and every read gets
// the full list.
func TestBurstSharesOneCall(t *testing.T) {
	client, sim := account(t)
	clk := newClock()
	var src sources
	c := addoncache.New(client, 5*time.Second, addoncache.WithClock(clk.Now), addoncache.WithObserver(src.observe))
	want := len(sim.AddOns())
	const n = 10000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			got, err := c.ListAddOns(context.Background())
			if err == nil && len(got) != want {
				err = errors.New("short list")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := lists(sim); got != 1 {
		t.Errorf("%d concurrent reads made %d addons.list calls; want 1", n, got)
	}
	if got := src.get(addoncache.SourceDialogTech); got != 1 {
		t.Errorf("observer told of %d own calls; want 1", got)
	}
	if got := src.get(addoncache.SourceShared) + src.get(addoncache.SourceCache); got != n-1 {
		t.Errorf("observer told of %d shared or cached reads; want %d", got, n-1)
	}
}

// A reading answers for the TTL and not a moment longer.
func TestTTL(t *testing.T) {
	client, sim := account(t)
	clk := newClock()
	c := addoncache.New(client, 5*time.Second, addoncache.WithClock(clk.Now))
	ctx := context.Background()
	read := func() []dialog.AddOn {
		t.Helper()
		got, err := c.ListAddOns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	read()
	if err := sim.SetUsage(6, 1, 40); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Second)
	if got := totalOf(t, read(), 6); got == 40 || lists(sim) != 1 {
		t.Errorf("within the TTL: total %d after %d calls; want the first reading, 1 call", got, lists(sim))
	}
	clk.Advance(time.Second)
	if got := totalOf(t, read(), 6); got != 40 || lists(sim) != 2 {
		t.Errorf("at the TTL: total %d after %d calls; want 40 from a second call", got, lists(sim))
	}
}

// With TTL 0 nothing is reused.
func TestZeroTTL(t *testing.T) {
	client, sim := account(t)
	c := addoncache.New(client, 0)
	for range 3 {
		if _, err := c.ListAddOns(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := lists(sim); got != 3 {
		t.Errorf("3 reads one after another with TTL 0 made %d calls; want 3", got)
	}
}

// After Invalidate the next read calls DialogTech and shows what was bought.
func TestInvalidateAfterPurchase(t *testing.T) {
	client, sim := account(t)
	c := addoncache.New(client, time.Hour)
	ctx := context.Background()
	before, err := c.ListAddOns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PurchaseAddOn(ctx, dialog.PurchaseRequest{ItemID: 6, Qty: 2}); err != nil {
		t.Fatal(err)
	}
	c.Invalidate()
	after, err := c.ListAddOns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := totalOf(t, after, 6), totalOf(t, before, 6)+2; got != want {
		t.Errorf("total after the purchase = %d; want %d", got, want)
	}
	if got := lists(sim); got != 2 {
		t.Errorf("%d addons.list calls; want 2", got)
	}
}

// gated reads the real account, then waits for the test before answering:
// a call whose answer arrives after the purchase it predates. Call i waits
// for release[i].
type gated struct {
	r       addoncache.Reader
	arrived chan struct{}
	n       atomic.Int32
	release [2]chan struct{}
}

func (g *gated) ListAddOns(ctx context.Context) ([]dialog.AddOn, error) {
	i := g.n.Add(1) - 1
	if int(i) >= len(g.release) {
		return nil, errors.New("a call more than the test expected")
	}
	v, err := g.r.ListAddOns(ctx)
	g.arrived <- struct{}{}
	<-g.release[i]
	return v, err
}

// A call in flight when Invalidate comes answers the reads that shared it,
// but neither a read after Invalidate nor the cache gets its reading, even
// when it answers last.
func TestInvalidateDuringCall(t *testing.T) {
	client, sim := account(t)
	g := &gated{r: client, arrived: make(chan struct{}, 2), release: [2]chan struct{}{make(chan struct{}), make(chan struct{})}}
	c := addoncache.New(g, time.Hour)
	ctx := context.Background()
	old := make(chan []dialog.AddOn, 1)
	go func() {
		v, err := c.ListAddOns(ctx)
		if err != nil {
			t.Error(err)
		}
		old <- v
	}()
	<-g.arrived // the first call has read the account
	if _, err := client.PurchaseAddOn(ctx, dialog.PurchaseRequest{ItemID: 6, Qty: 3}); err != nil {
		t.Fatal(err)
	}
	c.Invalidate()
	fresh := make(chan []dialog.AddOn, 1)
	go func() {
		v, err := c.ListAddOns(ctx)
		if err != nil {
			t.Error(err)
		}
		fresh <- v
	}()
	select {
	case <-g.arrived: // the read after Invalidate made a call of its own
	case <-time.After(5 * time.Second):
		close(g.release[0])
		t.Fatal("the read after Invalidate made no call of its own (it joined the stale one)")
	}
	close(g.release[1]) // the fresh call answers first,
	freshTotal := totalOf(t, <-fresh, 6)
	close(g.release[0]) // the stale one last
	oldTotal := totalOf(t, <-old, 6)
	if freshTotal != oldTotal+3 {
		t.Errorf("read after Invalidate: total %d; want %d (the stale call's %d + 3)", freshTotal, oldTotal+3, oldTotal)
	}
	// The stale call kept (or not) its reading before it answered.
	again, err := c.ListAddOns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := totalOf(t, again, 6); got != freshTotal {
		t.Errorf("cached total %d; want %d (the stale call's reading was kept)", got, freshTotal)
	}
	if got := lists(sim); got != 2 {
		t.Errorf("%d addons.list calls; want 2", got)
	}
}

// A failed call is not cached, and every read that shared it gets the
// error.
func TestErrorNotCached(t *testing.T) {
	client, sim := account(t)
	c := addoncache.New(client, time.Hour)
	sim.InjectFault(dialog.ActionAddOnsList, dialogsim.Fault{FailResult: "Service unavailable", Times: 1})
	if _, err := c.ListAddOns(context.Background()); err == nil {
		t.Fatal("read during a failure: no error")
	}
	if _, err := c.ListAddOns(context.Background()); err != nil {
		t.Fatalf("read after the failure: %v", err)
	}
	if got := lists(sim); got != 2 {
		t.Errorf("%d calls; want 2 (the failure was not kept)", got)
	}
}

// The read that started a call giving up does not fail the reads sharing
// it.
func TestFirstReaderGivesUp(t *testing.T) {
	client, sim := account(t)
	sim.InjectFault(dialog.ActionAddOnsList, dialogsim.Fault{Latency: 200 * time.Millisecond, Times: 1})
	c := addoncache.New(client, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.ListAddOns(ctx); first <- err }()
	for lists(sim) == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { _, err := c.ListAddOns(context.Background()); second <- err }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first read: %v; want context.Canceled", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second read: %v; want the shared call's answer", err)
	}
	if got := lists(sim); got != 1 {
		t.Errorf("%d calls; want 1", got)
	}
}

// Each reader gets its own copy.
func TestCopies(t *testing.T) {
	client, _ := account(t)
	c := addoncache.New(client, time.Hour)
	a, err := c.ListAddOns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a[0].TotalQty = -1
	b, err := c.ListAddOns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b[0].TotalQty == -1 {
		t.Error("a reader's change reached the cache")
	}
}

// BenchmarkCacheHit is a read answered from the cache; the figure to set
// beside it is BenchmarkCacheMiss, a read that calls the simulator over
// HTTP.
func BenchmarkCacheHit(b *testing.B) {
	client, _ := account(b)
	c := addoncache.New(client, time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.ListAddOns(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCacheMiss(b *testing.B) {
	client, _ := account(b)
	c := addoncache.New(client, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ListAddOns(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
