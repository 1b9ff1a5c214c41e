package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// Targets on two cores. They are printed beside the figures; the test
// fails only on lost acks, lost replies and leaked goroutines, never on
// time.
const (
	targetAckP99  = 5 * time.Millisecond
	targetPeakRSS = 30 << 20
	targetStartup = 200 * time.Millisecond
)

// burstSize is how many slash commands, and then how many button presses,
// the load test sends in a burst: loadSize (10,000 without the race
// detector, fewer with it, which slows everything several times over), or
// DIALOGBOT_LOADTEST_SIZE.
func burstSize(t *testing.T) int {
	t.Helper()
	if v := os.Getenv("DIALOGBOT_LOADTEST_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DIALOGBOT_LOADTEST_SIZE=%q: want a whole number of at least 1", v)
		}
		return n
	}
	return loadSize
}

// maxListCalls is how many addons.list calls a burst of /addons may make.
const maxListCalls = 5

// TestLoad runs serve (app.RunServe, in a process of its own) against the
// Slack emulator and the DialogTech simulator in this one. It sends a burst
// of slash commands (/addons), then a burst of as many button presses, then
// commands at a steady 50 a second for 20 s. Every envelope must be acked
// and answered with its result (a busy notice counts as a loss), the burst
// must make at most a handful of addons.list calls, and the bot's
// goroutines must go back to their idle count. It prints the ack latency
// Slack sees, the throughput, the bot's peak RSS, its CPU time and the
// time from start to connected:
//
//	go test -run '^TestLoad$' -v ./internal/app/
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	n := burstSize(t)
	resetPeakRSS()
	w := newProcessWorld(t, options{pings: 5 * time.Second})
	startup := w.startup
	rss := sampleRSS(t, w.pid, 5*time.Millisecond)

	// A request to press buttons on: approved, so every later press is
	// answered "already approved" from the store.
	m := w.ask(requester, "/numbers order 312 1")
	w.click(approver, m, "Approve")
	w.updated(m.TS, "ordered:")
	approve := button(t, m, "Approve")

	// Warm up the connection pools, then take the idle goroutine count.
	w.sendAndWait(16, 0)
	idle := w.settledGoroutines()
	idleRSS := w.metricValue("process_resident_memory_bytes")
	idleHeap := w.metricValue("go_memstats_heap_inuse_bytes")

	// The burst of slash commands.
	lists0 := w.sim.CallCount(dialog.ActionAddOnsList)
	cpu0 := cpuSeconds(w.pid)
	burst := w.sendAndWait(n, 0)
	commandsElapsed := w.answeredAt(burst).Sub(burst[0].SentAt)
	cpuCommands := cpuSeconds(w.pid) - cpu0
	lists := w.sim.CallCount(dialog.ActionAddOnsList) - lists0
	peakGoroutines := int(w.metricValue("go_goroutines"))
	for _, d := range burst {
		if got := responseText(w.slack.ResponsesFor(d)[0]); !strings.Contains(got, "fullest first") {
			t.Errorf("/addons in the burst answered %q; want the add-ons", got)
			break
		}
	}
	// The reading is reused for ADDONS_CACHE_TTL: however long the burst,
	// at most one call per TTL (and one more for the last reading).
	if bound := max(maxListCalls, 1+int(commandsElapsed/w.cfg.AddOnsCacheTTL)); lists > bound {
		t.Errorf("the burst of %d /addons made %d addons.list calls in %s; want at most %d", n, lists, commandsElapsed, bound)
	}

	// The burst of button presses.
	clicks := make([]*slacktest.Delivery, 0, n)
	cpu0 = cpuSeconds(w.pid)
	for range n {
		d, err := w.slack.SendBlockAction(w.ctx(), slacktest.BlockAction{UserID: approver2, ChannelID: channel, MessageTS: m.TS,
			ActionID: approve.ActionID, BlockID: approve.BlockID, Value: approve.Value})
		if err != nil {
			t.Fatal(err)
		}
		clicks = append(clicks, d)
	}
	clicksElapsed := waitEphemerals(t, w, approver2, n).Sub(clicks[0].SentAt)
	cpuClicks := cpuSeconds(w.pid) - cpu0
	for _, e := range w.slack.Ephemerals(channel) {
		if e.EphemeralTo == approver2 && strings.Contains(slacktest.TextOf(e), "busy") {
			t.Errorf("a button press was answered %q; want its result", slacktest.TextOf(e))
			break
		}
	}

	// A steady rate, as a busy workspace sends.
	steady := w.sendAndWait(steadySize, steadyGap)

	acks := w.ackLatencies()
	burstLat := latencies(t, acks, append(slices.Clone(burst), clicks...))
	steadyLat := latencies(t, acks, steady)
	if un := w.slack.Unacked(); len(un) > 0 {
		t.Errorf("%d envelopes never acked", len(un))
	}
	if busy := w.busyCount(); busy > 0 {
		t.Errorf("%v envelopes were answered \"dialogbot is busy\" (dialogbot_busy_total); want none", busy)
	}

	after, leaked := w.goroutinesBackTo(idle+goroutineTolerance, 15*time.Second)
	if leaked {
		t.Errorf("goroutines: %d idle, still %d after the load; leaked?", idle, after)
	}
	within1ms := w.ackShareWithin(`le="0.001"`)
	goSys := w.metricValue("go_memstats_sys_bytes")
	peakAnon, peakFile := rss.stop()
	botPeak, botAnon, botFile := w.stopProcess()
	testPeak := procStatus(os.Getpid())["VmHWM"]

	mark := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "load on %d CPUs (GOMAXPROCS %d), %s, WORKERS=%d, ADDONS_CACHE_TTL=%s, logs: JSON at info\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), w.cfg.Workers, w.cfg.AddOnsCacheTTL)
	if raceEnabled {
		b.WriteString("  RACE DETECTOR ON: these figures are not the product's; run without -race\n")
	}
	fmt.Fprintf(&b, "  burst: %d slash commands (/addons: addons.list + response_url), then %d button presses (Approve on a decided request)\n", n, n)
	fmt.Fprintf(&b, "    ack latency (Slack's view, %d envelopes): %s\n", len(burstLat), quantiles(burstLat))
	fmt.Fprintf(&b, "    slash commands: %.0f/s (%d answered in %s, %.2f CPU s)\n", float64(n)/commandsElapsed.Seconds(), n, commandsElapsed.Round(time.Millisecond), cpuCommands)
	fmt.Fprintf(&b, "    addons.list calls for the %d commands: %d   target <= %d: %s\n", n, lists, maxListCalls, mark(lists <= maxListCalls))
	fmt.Fprintf(&b, "    button presses: %.0f/s (%d answered in %s, %.2f CPU s)\n", float64(n)/clicksElapsed.Seconds(), n, clicksElapsed.Round(time.Millisecond), cpuClicks)
	fmt.Fprintf(&b, "    lost: 0 unacked, 0 unanswered, 0 answered busy (any loss fails the test)\n")
	fmt.Fprintf(&b, "    the bot's own view (its loop reads the envelope → ack written): %.1f%% of all acks within 1 ms\n", 100*within1ms)
	fmt.Fprintf(&b, "  steady: %d slash commands, one every %s (%.0f/s for %s)\n", steadySize, steadyGap, float64(time.Second)/float64(steadyGap), time.Duration(steadySize)*steadyGap)
	fmt.Fprintf(&b, "    ack latency: %s   target p99 < %s: %s (p99 is %.2f× the target)\n", quantiles(steadyLat), ms(targetAckP99), mark(quantile(steadyLat, 0.99) < targetAckP99),
		float64(quantile(steadyLat, 0.99))/float64(targetAckP99))
	fmt.Fprintf(&b, "  start to connected (exec to socket open): %s   target < %s: %s\n", ms(startup), ms(targetStartup), mark(startup < targetStartup))
	fmt.Fprintf(&b, "  bot: %s\n", w.binary)
	if botPeak > 0 {
		fmt.Fprintf(&b, "  peak RSS of the bot process (VmHWM): %.1f MB   target < %d MB: %s\n", mb(botPeak), targetPeakRSS>>20, mark(botPeak < targetPeakRSS))
		fmt.Fprintf(&b, "    idle after start: %.1f MB; at the end: %.1f MB anonymous (heap, stacks) + %.1f MB file-backed (the binary's pages)\n",
			idleRSS/(1<<20), mb(botAnon), mb(botFile))
		if peakAnon > 0 {
			fmt.Fprintf(&b, "    highest seen (every 5 ms, after connected): %.1f MB anonymous, %.1f MB file-backed\n", mb(peakAnon), mb(peakFile))
		}
		fmt.Fprintf(&b, "    Go runtime: heap in use %.1f MB when idle; %.1f MB obtained from the OS at the end (go_memstats_sys_bytes)\n",
			idleHeap/(1<<20), goSys/(1<<20))
	}
	if testPeak > 0 {
		fmt.Fprintf(&b, "  peak RSS of the test process (Slack emulator, which keeps every message, + DialogTech simulator): %.1f MB\n", mb(testPeak))
	}
	fmt.Fprintf(&b, "  bot goroutines: %d idle, %d after the command burst, %d after the load (tolerance +%d)\n", idle, peakGoroutines, after, goroutineTolerance)
	t.Log("\n" + b.String())
}

// steadySize commands steadyGap apart: 50 a second for 20 s.
const (
	steadySize         = 1000
	steadyGap          = 20 * time.Millisecond
	goroutineTolerance = 10
)

// busyCount is how many envelopes the bot answered "busy".
func (w *world) busyCount() float64 {
	body := w.metrics()
	var n float64
	for _, typ := range []string{"slash_commands", "interactive", "events_api"} {
		for _, told := range []string{"true", "false"} {
			if strings.Contains(body, `dialogbot_busy_total{told="`+told+`",type="`+typ+`"}`) {
				n += metricValue(w.t, body, `dialogbot_busy_total{told="`+told+`",type="`+typ+`"}`)
			}
		}
	}
	return n
}

// cpuSeconds is the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat; 0 when unknown.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// sendAndWait sends n /addons commands, gap apart, and waits until all are
// acked and answered.
func (w *world) sendAndWait(n int, gap time.Duration) []*slacktest.Delivery {
	w.t.Helper()
	ds := make([]*slacktest.Delivery, 0, n)
	for i := range n {
		if gap > 0 && i > 0 {
			time.Sleep(gap)
		}
		d, err := w.slack.SendSlashCommand(w.ctx(), slackCommand("/addons", ""))
		if err != nil {
			w.t.Fatal(err)
		}
		ds = append(ds, d)
	}
	w.answeredAt(ds)
	return ds
}

// ackLatencies maps every acked envelope to its ack latency, and fails on
// an envelope acked twice.
func (w *world) ackLatencies() map[string]time.Duration {
	acks := map[string]time.Duration{}
	for _, a := range w.slack.Acks() {
		if _, dup := acks[a.EnvelopeID]; dup {
			w.t.Errorf("envelope %s acked twice", a.EnvelopeID)
		}
		acks[a.EnvelopeID] = a.Latency
	}
	return acks
}

// latencies are the ack latencies of ds, sorted; a delivery never acked
// fails the test.
func latencies(t *testing.T, acks map[string]time.Duration, ds []*slacktest.Delivery) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for _, d := range ds {
		l, ok := acks[d.EnvelopeID]
		if !ok {
			t.Errorf("envelope %s never acked", d.EnvelopeID)
			continue
		}
		lat = append(lat, l)
	}
	if len(lat) == 0 {
		t.Fatal("no acks")
	}
	slices.Sort(lat)
	return lat
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func quantiles(sorted []time.Duration) string {
	return fmt.Sprintf("p50 %s  p99 %s  max %s", ms(quantile(sorted, 0.5)), ms(quantile(sorted, 0.99)), ms(sorted[len(sorted)-1]))
}

// botProcessEnv marks the test binary run as the bot by TestLoad.
const botProcessEnv = "DIALOGBOT_TEST_BOT_PROCESS"

// loadBinaryEnv names a dialogbot binary for TestLoad to run instead of
// this test binary, e.g. one built with `go build ./cmd/dialogbot`: the
// memory figures are then exactly the program's.
const loadBinaryEnv = "DIALOGBOT_LOADTEST_BIN"

// TestBotProcess is not a test: it is `dialogbot serve` for TestLoad, run
// from this test binary so that the bot's memory is measured apart from
// the emulator's. It reads its settings from the environment, logs JSON at
// info to stderr and stops on SIGTERM.
func TestBotProcess(t *testing.T) {
	if os.Getenv(botProcessEnv) != "1" {
		t.Skip("the bot process of TestLoad")
	}
	cfg, err := config.LoadFrom(os.LookupEnv)
	if err == nil {
		err = cfg.Validate(config.ModeServe)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(app.NewRedactingHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}), cfg.Secrets()))
	if err := app.RunServe(ctx, cfg, log); err != nil {
		t.Fatal(err)
	}
}

// newProcessWorld runs serve in a process of its own: the binary named by
// DIALOGBOT_LOADTEST_BIN, or else this test binary running TestBotProcess.
func newProcessWorld(t *testing.T, opts options) *world {
	t.Helper()
	w, settings := newSurroundings(t, opts)
	settings["HTTP_ADDR"] = "127.0.0.1:0"
	settings["ALERT_CHANNEL"] = ""
	settings["LOG_LEVEL"] = "info"
	settings["LOG_FORMAT"] = "json"
	var cmd *exec.Cmd
	if bin := os.Getenv(loadBinaryEnv); bin != "" {
		cmd = exec.Command(bin, "serve")
		w.binary = bin + " serve"
	} else {
		cmd = exec.Command(os.Args[0], "-test.run=^TestBotProcess$", "-test.count=1")
		settings[botProcessEnv] = "1"
		w.binary = "the test binary as the bot (set " + loadBinaryEnv + " to measure the program)"
	}
	cmd.Env = os.Environ()
	for k, v := range settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.pid = cmd.Process.Pid
	addr := make(chan string, 1)
	go func() {
		// Read every log line (a full pipe would stop the bot): find the
		// ops address in the line that announces it, keep the errors.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct{ Level, Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			if l.Addr != "" && strings.HasPrefix(l.Msg, "serving /healthz") {
				addr <- l.Addr
			}
			if l.Level == "ERROR" {
				_, _ = w.logs.Write(append(sc.Bytes(), '\n'))
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	w.done = make(chan error, 1)
	w.cancel = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-waited:
			w.done <- err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			w.done <- fmt.Errorf("bot process did not stop on SIGTERM: %w", <-waited)
		}
	}
	t.Cleanup(w.stop)
	w.waitConnected()
	select {
	case a := <-addr:
		w.opsURL = "http://" + a
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never logged \"serving /healthz...\" with its address: does it serve HTTP_ADDR (app.RunServe)?", w.binary)
	}
	return w
}

// stopProcess stops the bot process and returns its memory as it was
// just before: VmHWM, RssAnon and RssFile in bytes (0 when unknown).
func (w *world) stopProcess() (peak, anon, file int64) {
	st := procStatus(w.pid)
	w.stop()
	if errs := w.logs.String(); errs != "" {
		w.t.Errorf("the bot logged errors:\n%s", errs)
	}
	return st["VmHWM"], st["RssAnon"], st["RssFile"]
}

// ackShareWithin is the share of the bot's acks in the latency bucket le
// (e.g. `le="0.001"`), from its histogram.
func (w *world) ackShareWithin(le string) float64 {
	w.t.Helper()
	body := w.metrics()
	var in, all float64
	for _, typ := range []string{"slash_commands", "interactive", "events_api"} {
		in += metricValue(w.t, body, `dialogbot_ack_latency_seconds_bucket{type="`+typ+`",`+le+`}`)
		all += metricValue(w.t, body, `dialogbot_ack_latency_seconds_count{type="`+typ+`"}`)
	}
	if all == 0 {
		return 0
	}
	return in / all
}

// metricValue scrapes the bot's /metrics for one series.
func (w *world) metricValue(series string) float64 {
	w.t.Helper()
	return metricValue(w.t, w.metrics(), series)
}

// settledGoroutines returns the bot's idle goroutine count: the lowest
// count seen, once no lower one has appeared for settleSamples readings in
// a row (or after settleWithin). The lowest, not a repeated reading: each
// reading is taken while /metrics is being served, which may briefly run
// one more goroutine, and under the race detector a run of equal readings
// can take minutes to come.
func (w *world) settledGoroutines() int {
	low := int(w.metricValue("go_goroutines"))
	deadline := time.Now().Add(settleWithin)
	for same := 0; same < settleSamples && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n := int(w.metricValue("go_goroutines")); n < low {
			low, same = n, 0
		} else {
			same++
		}
	}
	return low
}

const (
	settleSamples = 10
	settleWithin  = 5 * time.Second
)

// goroutinesBackTo polls the bot until it runs at most limit goroutines;
// leaked reports that the deadline came first.
func (w *world) goroutinesBackTo(limit int, within time.Duration) (n int, leaked bool) {
	deadline := time.Now().Add(within)
	for {
		n = int(w.metricValue("go_goroutines"))
		if n <= limit {
			return n, false
		}
		if time.Now().After(deadline) {
			return n, true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// answeredAt waits until every delivery is answered through its
// response_url; it returns when the last answer arrived.
func (w *world) answeredAt(ds []*slacktest.Delivery) time.Time {
	w.t.Helper()
	last, answered := w.answeredWithin(ds, 60*time.Second)
	if answered < len(ds) {
		w.t.Fatalf("%d of %d commands never answered", len(ds)-answered, len(ds))
	}
	return last
}

// waitEphemerals waits until user has n ephemeral messages; it returns
// when the nth was posted.
func waitEphemerals(t *testing.T, w *world, user string, n int) time.Time {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var times []time.Time
		for _, m := range w.slack.Ephemerals(channel) {
			if m.EphemeralTo == user {
				times = append(times, tsTime(m.TS))
			}
		}
		if len(times) >= n {
			return slices.MaxFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d button presses answered", len(times), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tsTime reads a message ts ("1700000000.000100"), which the emulator takes
// from its clock.
func tsTime(ts string) time.Time {
	sec, micro, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	us, _ := strconv.ParseInt(micro, 10, 64)
	return time.UnixMicro(s*1e6 + us)
}

// rssSampler follows a process's resident memory by kind, for the peaks
// that VmHWM does not split.
type rssSampler struct {
	done       chan struct{}
	finished   chan struct{}
	once       sync.Once
	anon, file int64
}

// sampleRSS reads /proc/<pid>/status every interval until stop, or until
// the test ends.
func sampleRSS(t *testing.T, pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{}), finished: make(chan struct{})}
	t.Cleanup(func() { s.stop() })
	go func() {
		defer close(s.finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			st := procStatus(pid)
			s.anon, s.file = max(s.anon, st["RssAnon"]), max(s.file, st["RssFile"])
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the highest anonymous and file-backed
// RSS seen, in bytes (0 when unknown).
func (s *rssSampler) stop() (anon, file int64) {
	s.once.Do(func() { close(s.done) })
	<-s.finished
	return s.anon, s.file
}

// resetPeakRSS starts VmHWM over from the current RSS, so that earlier
// tests in the same process do not count (Linux only; ignored elsewhere).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatus reads the kB fields of /proc/<pid>/status, in bytes; empty
// when there is no /proc.
func procStatus(pid int) map[string]int64 {
	out := map[string]int64{}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		v, isKB := strings.CutSuffix(strings.TrimSpace(v), " kB")
		if !ok || !isKB {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n << 10
		}
	}
	return out
}
