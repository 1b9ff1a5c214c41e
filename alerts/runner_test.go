package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/testlog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

type harness struct {
	clock    *clock
	store    Store
	poster   *recorder
	reader   *reader
	logs     *testlog.Buffer
	settings Settings
}

func newHarness(st Store) *harness {
	return &harness{
		clock:    &clock{now: t0},
		store:    st,
		poster:   &recorder{},
		reader:   &reader{},
		logs:     &testlog.Buffer{},
		settings: Settings{Channel: "C1"},
	}
}

func noPace(ctx context.Context, _ string) error { return ctx.Err() }

func (h *harness) runner(opts ...Option) *Runner {
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(h.reader, h.store, h.poster, h.settings,
		append([]Option{WithClock(h.clock.Now), WithLogger(logger), WithPacer(noPace)}, opts...)...)
}

// tick runs every runner once at the same time, concurrently, as replicas
// on the same schedule would.
func (h *harness) tick(t *testing.T, runners ...*Runner) error {
	t.Helper()
	errs := make([]error, len(runners))
	var wg sync.WaitGroup
	for i, r := range runners {
		wg.Go(func() { errs[i] = r.RunOnce(t.Context()) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (h *harness) mustTick(t *testing.T, runners ...*Runner) {
	t.Helper()
	if err := h.tick(t, runners...); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
}

func numbers(inUse, total int) dialog.AddOn {
	return dialog.AddOn{ItemID: 6, Name: "Local Numbers", InUse: inUse, TotalQty: total, MaxQtyPurchase: 500}
}

func tollFree(inUse, total int) dialog.AddOn {
	return dialog.AddOn{ItemID: 7, Name: "Toll-Free Numbers", InUse: inUse, TotalQty: total, MaxQtyPurchase: 100}
}

// text is everything a person could read in a message.
func text(m reply.Message) string { return fmt.Sprintf("%#v", m) }

func header(m reply.Message) string {
	for _, b := range m.Blocks {
		if h, ok := b.(reply.Header); ok {
			return h.Text
		}
	}
	return ""
}

func contextText(m reply.Message) string {
	for _, b := range m.Blocks {
		if c, ok := b.(reply.Context); ok {
			return c.Text
		}
	}
	return ""
}

// assertNoSecret fails if secret shows anywhere a person or a log reader
// could see it (after Alertmanager's AssertNotifyLeaksNoSecret).
func assertNoSecret(t *testing.T, secret string, calls []call, logs string, errs ...error) {
	t.Helper()
	for i, c := range calls {
		if strings.Contains(text(c.Msg), secret) {
			t.Errorf("call %d (%s) leaks the secret: %s", i, c.Op, text(c.Msg))
		}
	}
	if strings.Contains(logs, secret) {
		t.Errorf("logs leak the secret:\n%s", logs)
	}
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}

func TestRunnerPostsOnce(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100), tollFree(50, 100))
	r := h.runner()

	h.mustTick(t, r)
	calls := h.poster.all()
	if len(calls) != 1 || calls[0].Op != "post" || calls[0].Channel != "C1" {
		t.Fatalf("calls = %+v, want one post to C1", calls)
	}
	m := calls[0].Msg
	if !strings.Contains(m.Text, "Local Numbers") || !strings.Contains(m.Text, "95/100") || strings.Contains(text(m), "Toll-Free") {
		t.Errorf("post does not name the add-on and its use: %q", m.Text)
	}
	if m.Visibility != reply.InChannel {
		t.Errorf("visibility = %v, want in channel", m.Visibility)
	}
	var usage reply.Usage
	var buttons []reply.Button
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case reply.Usage:
			usage = b
		case reply.Actions:
			buttons = b.Buttons
		}
	}
	if usage.InUse != 95 || usage.Total != 100 {
		t.Errorf("usage block = %+v, want 95/100", usage)
	}
	if len(buttons) != 3 || buttons[0].ActionID != ActionRequestMore || buttons[0].Value != "6|e1" || buttons[1].Value != "addon:6|24h" {
		t.Errorf("buttons = %+v", buttons)
	}

	for range 10 {
		h.clock.Advance(15 * time.Minute)
		h.mustTick(t, r)
	}
	if got := len(h.poster.all()); got != 1 {
		t.Errorf("after 11 runs: %d calls, want still 1: %+v", got, h.poster.all())
	}
	if st := h.store.(*memStore).alert(AddOnKey(6)); st.MessageTS != calls[0].TS || st.ChannelID != "C1" {
		t.Errorf("stored message = %s/%s, want C1/%s", st.ChannelID, st.MessageTS, calls[0].TS)
	}
	if n := len(h.store.(*memStore).samples); n != 22 {
		t.Errorf("%d samples stored, want one per add-on per run (22)", n)
	}
}

func TestRunnerHalfFullNeverAlerts(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(50, 100), tollFree(0, 0))
	r := h.runner()
	for range 200 {
		h.mustTick(t, r)
		h.clock.Advance(time.Hour)
	}
	if calls := h.poster.all(); len(calls) != 0 {
		t.Errorf("calls = %+v, want none", calls)
	}
}

func TestRunnerResolves(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100))
	r := h.runner()
	h.mustTick(t, r)
	posted := h.poster.all()[0].TS

	h.clock.Advance(15 * time.Minute)
	h.reader.set(nil, numbers(86, 100)) // within the margin: still open
	h.mustTick(t, r)
	if n := len(h.poster.all()); n != 1 {
		t.Fatalf("inside the margin: %d calls, want 1", n)
	}

	h.clock.Advance(15 * time.Minute)
	h.reader.set(nil, numbers(80, 100))
	h.mustTick(t, r)
	for range 3 {
		h.clock.Advance(15 * time.Minute)
		h.mustTick(t, r)
	}
	calls := h.poster.all()
	if len(calls) != 3 {
		t.Fatalf("calls = %+v, want post, update, reply", calls)
	}
	if c := calls[1]; c.Op != "update" || c.TS != posted || !strings.HasPrefix(header(c.Msg), "Resolved") {
		t.Errorf("second call = %s %s %q, want the alert updated to resolved", c.Op, c.TS, header(c.Msg))
	}
	if c := calls[2]; c.Op != "reply" || c.TS != posted || !strings.Contains(c.Msg.Text, "Resolved") || !strings.Contains(c.Msg.Text, "80/100") {
		t.Errorf("third call = %s %s %q, want a resolved note in the thread", c.Op, c.TS, c.Msg.Text)
	}
	for _, b := range calls[1].Msg.Blocks {
		if _, ok := b.(reply.Actions); ok {
			t.Errorf("resolved message still has buttons")
		}
	}
}

func TestRunnerRepeatsInThread(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100))
	r := h.runner()
	h.mustTick(t, r)
	posted := h.poster.all()[0].TS
	for range 4 * 30 { // 30 hours of 15-minute ticks
		h.clock.Advance(15 * time.Minute)
		h.mustTick(t, r)
	}
	calls := h.poster.all()
	if len(calls) != 2 || calls[1].Op != "reply" || calls[1].TS != posted || !strings.Contains(calls[1].Msg.Text, "Still open: Local Numbers is at 95/100, 5 left") {
		t.Fatalf("calls = %+v, want the post and one reminder in its thread", calls)
	}
}

func TestRunnerReadErrors(t *testing.T) {
	h := newHarness(newMemStore())
	keyPattern := regexp.MustCompile(`&?secret_access_key=[^&\s"]*`)
	h.settings.Redact = func(s string) string { return keyPattern.ReplaceAllString(s, " (key removed)") }
	r := h.runner()
	h.reader.set(nil, numbers(95, 100))
	h.mustTick(t, r)

	leak := errors.New(`Get "https://secure.dialogtech.com/ibp_api.php?action=addons.list&access_key=AK1&secret_access_key=s3cr3t": dial tcp 10.0.0.1:443: connect: connection refused`)
	h.reader.set(leak)
	var runErrs []error
	for i := 1; i <= 5; i++ {
		h.clock.Advance(15 * time.Minute)
		err := h.tick(t, r)
		var rerr *ReadError
		if !errors.As(err, &rerr) || !errors.Is(err, leak) {
			t.Fatalf("run %d: error = %v, want a ReadError wrapping the reader's", i, err)
		}
		runErrs = append(runErrs, err)
		want := 1
		if i >= 3 {
			want = 2
		}
		if n := len(h.poster.all()); n != want {
			t.Fatalf("after %d failed runs: %d calls, want %d", i, n, want)
		}
	}
	calls := h.poster.all()
	alert := calls[1]
	if alert.Op != "post" || header(alert.Msg) != "Cannot read add-on usage" || !strings.Contains(text(alert.Msg), "connection refused") {
		t.Errorf("error alert = %s %q", alert.Op, text(alert.Msg))
	}
	if st := h.store.(*memStore).alert(AddOnKey(6)); st.Level != LevelWarning {
		t.Errorf("add-on alert while reads fail: %s, want still warning", st.Level)
	}

	h.clock.Advance(15 * time.Minute)
	h.reader.set(nil, numbers(95, 100))
	h.mustTick(t, r)
	calls = h.poster.all()
	if len(calls) != 4 {
		t.Fatalf("after recovery: calls = %+v, want 2 more", calls[2:])
	}
	if c := calls[2]; c.Op != "update" || c.TS != alert.TS || !strings.HasPrefix(header(c.Msg), "Resolved") {
		t.Errorf("recovery update = %s %s %q", c.Op, c.TS, header(c.Msg))
	}
	if c := calls[3]; c.Op != "reply" || c.TS != alert.TS || c.Msg.Text != "Add-on usage can be read again." {
		t.Errorf("recovery note = %s %s %q", c.Op, c.TS, c.Msg.Text)
	}
	assertNoSecret(t, "s3cr3t", calls, h.logs.String(), runErrs...)
	if !strings.Contains(h.logs.String(), "(key removed)") {
		t.Errorf("logs do not show the redacted read error:\n%s", h.logs.String())
	}
}

// twoReplicas runs one scenario through two runners sharing st, every
// tick at once, and checks that each notice reached Slack once.
func twoReplicas(t *testing.T, st Store, opts ...Option) {
	h := newHarness(st)
	a, b := h.runner(opts...), h.runner(opts...)
	steps := []struct {
		use                   int
		posts, updates, reply int // totals after the step
	}{
		{95, 1, 0, 0},
		{95, 1, 0, 0},
		{96, 1, 1, 0},
		{96, 1, 1, 0},
		{100, 1, 2, 1}, // escalation: edited, and said in the thread
		{100, 1, 2, 1},
		{70, 1, 3, 2}, // resolved
		{70, 1, 3, 2},
		{93, 2, 3, 2}, // a new episode
		{93, 2, 3, 2},
	}
	for i, s := range steps {
		h.reader.set(nil, numbers(s.use, 100))
		h.mustTick(t, a, b)
		h.clock.Advance(15 * time.Minute)
		if p, u, r := h.poster.count("post"), h.poster.count("update"), h.poster.count("reply"); p != s.posts || u != s.updates || r != s.reply {
			t.Fatalf("step %d (use %d): posts/updates/replies = %d/%d/%d, want %d/%d/%d\n%+v",
				i, s.use, p, u, r, s.posts, s.updates, s.reply, h.poster.all())
		}
	}
	calls := h.poster.all()
	for _, c := range calls[1:] {
		if c.Op != "post" && c.TS != calls[0].TS && c.TS != calls[len(calls)-1].TS {
			t.Errorf("%s of %s: not on an episode's message", c.Op, c.TS)
		}
	}
}

func TestRunnerTwoReplicas(t *testing.T) {
	for i := range 20 { // several interleavings
		t.Run(fmt.Sprint(i), func(t *testing.T) { twoReplicas(t, newMemStore()) })
	}
}

func TestRunnerSnooze(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100))
	r := h.runner()
	h.mustTick(t, r)
	posted := h.poster.all()[0].TS

	h.clock.Advance(time.Hour)
	m, err := r.Snooze(t.Context(), AddOnKey(6), "U123ABC", 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if m.Visibility != reply.Ephemeral || !strings.Contains(m.Text, "Local Numbers") || !strings.Contains(m.Text, "Mon 10 Mar 10:00 UTC") {
		t.Errorf("confirmation = %+v", m)
	}
	calls := h.poster.all()
	if len(calls) != 2 || calls[1].Op != "update" || calls[1].TS != posted {
		t.Fatalf("calls = %+v, want the alert updated", calls)
	}
	if got := contextText(calls[1].Msg); !strings.HasPrefix(got, "Snoozed by "+reply.Mention("U123ABC")+" until Mon 10 Mar 10:00 UTC.") {
		t.Errorf("snoozed message does not say who and until when: %q", got)
	}

	h.reader.set(nil, numbers(97, 100)) // worse, but snoozed
	for range 4 * 48 {
		h.clock.Advance(15 * time.Minute)
		h.mustTick(t, r)
	}
	if n := len(h.poster.all()); n != 2 {
		t.Fatalf("while snoozed: %+v, want no reminders or edits", h.poster.all()[2:])
	}

	h.reader.set(nil, numbers(100, 100)) // critical breaks the snooze
	h.mustTick(t, r)
	calls = h.poster.all()
	if len(calls) != 4 || calls[2].Op != "update" || calls[3].Op != "reply" || !strings.Contains(calls[3].Msg.Text, "critical") {
		t.Fatalf("on critical: %+v, want an update and a note in the thread", calls[2:])
	}
	if strings.Contains(contextText(calls[2].Msg), "Snoozed") {
		t.Errorf("critical message still says snoozed: %s", text(calls[2].Msg))
	}
}

func TestRunnerSnoozeRefusals(t *testing.T) {
	h := newHarness(newMemStore())
	r := h.runner()
	h.reader.set(nil, numbers(95, 100))
	h.mustTick(t, r)
	h.reader.set(nil, numbers(10, 100))
	h.mustTick(t, r)
	before := len(h.poster.all())

	tests := []struct {
		key  string
		d    time.Duration
		want string
	}{
		{"addon:99", 24 * time.Hour, "There is no such alert."},
		{AddOnKey(6), 24 * time.Hour, "This alert is no longer open; nothing to snooze."},
		{AddOnKey(6), 90 * 24 * time.Hour, "A snooze lasts from a minute to 30 days."},
		{AddOnKey(6), -time.Hour, "A snooze lasts from a minute to 30 days."},
	}
	for _, tt := range tests {
		m, err := r.Snooze(t.Context(), tt.key, "U123ABC", tt.d)
		if err != nil || m.Text != tt.want || m.Visibility != reply.Ephemeral {
			t.Errorf("Snooze(%s, %v) = %q, %v; want %q", tt.key, tt.d, m.Text, err, tt.want)
		}
	}
	if n := len(h.poster.all()); n != before {
		t.Errorf("a refused snooze posted something")
	}
}

func TestRunnerHonoursClaims(t *testing.T) {
	st := newMemStore()
	// Another runner has already sent this episode's post.
	if err := st.ClaimNotification(t.Context(), AddOnKey(6), 1, "post-1", t0); err != nil {
		t.Fatal(err)
	}
	h := newHarness(st)
	h.reader.set(nil, numbers(95, 100))
	h.mustTick(t, h.runner())
	if calls := h.poster.all(); len(calls) != 0 {
		t.Errorf("calls = %+v, want none: the notice was claimed", calls)
	}
}

func TestRunnerRetriesFailedPost(t *testing.T) {
	h := newHarness(newMemStore())
	h.poster.failPosts = 1
	h.reader.set(nil, numbers(95, 100))
	r := h.runner()
	h.mustTick(t, r)
	h.clock.Advance(5 * time.Minute)
	h.mustTick(t, r)
	if n := len(h.poster.all()); n != 0 {
		t.Fatalf("%d posts right after a failure, want a pause", n)
	}
	h.clock.Advance(10 * time.Minute)
	h.mustTick(t, r)
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	calls := h.poster.all()
	if len(calls) != 1 || calls[0].Op != "post" {
		t.Fatalf("calls = %+v, want one post", calls)
	}
	if st := h.store.(*memStore).alert(AddOnKey(6)); st.MessageTS != calls[0].TS {
		t.Errorf("stored ts = %q, want %q", st.MessageTS, calls[0].TS)
	}
}

func TestRunnerAddOnGone(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100), tollFree(1, 100))
	r := h.runner()
	h.mustTick(t, r)
	h.reader.set(nil) // an empty answer resolves nothing
	h.mustTick(t, r)
	if n := len(h.poster.all()); n != 1 {
		t.Fatalf("an empty list changed the alert: %+v", h.poster.all())
	}
	h.reader.set(nil, tollFree(1, 100))
	h.mustTick(t, r)
	h.mustTick(t, r)
	calls := h.poster.all()
	if len(calls) != 3 || calls[2].Op != "reply" || !strings.Contains(calls[2].Msg.Text, "no longer listed") {
		t.Fatalf("calls = %+v, want the alert resolved as no longer listed", calls)
	}
}

func TestRunnerForecastWarning(t *testing.T) {
	h := newHarness(newMemStore())
	r := h.runner()
	// 8 a day on a total of 100, from 55: full within a week from the day
	// a forecast can be made, long before use reaches 90%.
	for i := range 7 { // 6-hour ticks, up to 67%
		h.reader.set(nil, numbers(55+2*i, 100))
		h.mustTick(t, r)
		h.clock.Advance(6 * time.Hour)
		if i < 4 && len(h.poster.all()) != 0 {
			t.Fatalf("a warning before a day of history: %+v", h.poster.all())
		}
	}
	calls := h.poster.all()
	if h.poster.count("post") != 1 || !strings.Contains(header(calls[0].Msg), "will be full in ~5 days") {
		t.Fatalf("calls = %+v, want one forecast warning", calls)
	}
	if got := r.Forecasts(t.Context(), []dialog.AddOn{numbers(67, 100)}); got[6].Trend != TrendFilling {
		t.Errorf("Forecasts = %+v, want filling", got)
	}
}

func TestRunnerPrunesSamples(t *testing.T) {
	st := newMemStore()
	h := newHarness(st)
	h.reader.set(nil, numbers(10, 100))
	r := h.runner()
	for range 4 * 10 { // ten days of 6-hour ticks
		h.mustTick(t, r)
		h.clock.Advance(6 * time.Hour)
	}
	last := h.clock.Now().Add(-6 * time.Hour)
	for _, s := range st.samples {
		if s.At.Before(last.Add(-SampleRetention)) {
			t.Fatalf("sample of %v kept at %v", s.At, last)
		}
	}
	if n := len(st.samples); n != 33 {
		t.Errorf("%d samples kept, want 8 days of them (33)", n)
	}
}

func TestRunnerOpen(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100), tollFree(100, 100), dialog.AddOn{ItemID: 8, Name: "Minutes", InUse: 1, TotalQty: 100})
	r := h.runner()
	h.mustTick(t, r)
	open, err := r.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range open {
		got = append(got, a.Key+" "+a.State+" "+FromStore(a).Reading.Name)
	}
	want := []string{"addon:7 critical Toll-Free Numbers", "addon:6 warning Local Numbers"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("Open = %q, want %q", got, want)
	}
}

// everyInstant is a schedule that is always due, so the scheduler can be
// tested without waiting for the clock.
type everyInstant struct{}

func (everyInstant) Next(t time.Time) time.Time { return t.Add(time.Millisecond) }

func TestRunnerStartStop(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(nil, numbers(95, 100))
	h.reader.called = make(chan struct{}, 100)
	h.reader.panics = 1 // a run that panics must not end the schedule
	r := h.runner()
	r.schedule = cron.Schedule(everyInstant{})

	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err == nil {
		t.Error("second Start accepted")
	}
	deadline := time.After(10 * time.Second)
	for range 3 {
		select {
		case <-h.reader.called:
		case <-deadline:
			t.Fatal("the schedule did not run")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n := h.poster.count("post"); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
	if !strings.Contains(h.logs.String(), "reader exploded") {
		t.Errorf("the panic was not logged:\n%s", h.logs.String())
	}
}

func TestRunnerStartRejectsBadSettings(t *testing.T) {
	h := newHarness(newMemStore())
	h.settings.Schedule = "CRON_TZ=UTC"
	if err := h.runner().Start(t.Context()); err == nil || !strings.Contains(err.Error(), "Schedule") {
		t.Errorf("Start = %v, want an error naming Schedule", err)
	}
	h.settings = Settings{}
	if err := h.runner().Start(t.Context()); err == nil || !strings.Contains(err.Error(), "Channel") {
		t.Errorf("Start = %v, want an error naming Channel", err)
	}
}

func TestPacer(t *testing.T) {
	var slept []time.Duration
	now := t0
	p := newPacer(time.Second, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	})
	for _, ch := range []string{"C1", "C1", "C1", "C2"} {
		if err := p.wait(t.Context(), ch); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(5 * time.Second)
	if err := p.wait(t.Context(), "C1"); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second}
	if fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
}

func TestPacerHonoursContext(t *testing.T) {
	p := newPacer(time.Hour, time.Now, sleep)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_ = p.wait(t.Context(), "C1")
	if err := p.wait(ctx, "C1"); !errors.Is(err, context.Canceled) {
		t.Errorf("wait = %v, want canceled", err)
	}
}

var _ Store = store.Store(nil)

// flakySamples is a store whose samples become unreadable on demand.
type flakySamples struct {
	*memStore
	mu   sync.Mutex
	fail bool
}

func (f *flakySamples) Samples(ctx context.Context, itemID int, since time.Time) ([]store.Sample, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return nil, errors.New("database is locked")
	}
	return f.memStore.Samples(ctx, itemID, since)
}

func TestRunnerUnreadableSamplesKeepForecastWarning(t *testing.T) {
	st := &flakySamples{memStore: newMemStore()}
	h := newHarness(st)
	r := h.runner()
	for i := range 6 {
		h.reader.set(nil, numbers(55+2*i, 100))
		h.mustTick(t, r)
		h.clock.Advance(6 * time.Hour)
	}
	if h.poster.count("post") != 1 {
		t.Fatalf("calls = %+v, want a forecast warning", h.poster.all())
	}
	st.mu.Lock()
	st.fail = true
	st.mu.Unlock()
	for range 4 {
		h.mustTick(t, r)
		h.clock.Advance(time.Hour)
	}
	if got := st.alert(AddOnKey(6)); got.Level != LevelWarning {
		t.Errorf("level = %s after the samples became unreadable, want still warning", got.Level)
	}
	if n := h.poster.count("reply"); n != 0 {
		t.Errorf("%d replies, want none: %+v", n, h.poster.all())
	}
}

// TestRunnerReportsRuns: each scheduled check tells the run observer how
// it ended, so a failing schedule can be alerted on.
func TestRunnerReportsRuns(t *testing.T) {
	h := newHarness(newMemStore())
	h.reader.set(errors.New("dialogtech down"))
	h.reader.called = make(chan struct{}, 100)
	runs := make(chan string, 100)
	r := h.runner(WithRunObserver(func(outcome string) { runs <- outcome }))
	r.schedule = cron.Schedule(everyInstant{})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	select {
	case got := <-runs:
		if got != "error" {
			t.Errorf("a run whose read failed reported %q, want error", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no run was reported")
	}
	h.reader.set(nil, numbers(10, 100))
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-runs:
			if got == "ok" {
				return
			}
		case <-deadline:
			t.Fatal("a run that read the add-ons was never reported ok")
		}
	}
}
