package app_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// compareEnv names the bots TestComparePeers runs, as name=command pairs
// separated by commas; the first is dialogbot, the others its peers (see
// scripts/compare-peers).
const compareEnv = "DIALOGBOT_COMPARE"

// burstResult is what one /addons-only burst measured of one bot.
type burstResult struct {
	bot       string
	size      int
	startup   time.Duration // exec to the socket open at Slack
	p50, p99  time.Duration // ack latency, Slack's view
	ackMax    time.Duration
	lastReply time.Duration // first command sent to last reply
	perSecond float64
	peakRSS   int64   // VmHWM, bytes
	cpu       float64 // user + system seconds, start to the last reply
	// answered is how many of the burst were answered; a peer may lose
	// some (a figure of its own), dialogbot may not (the test fails).
	answered int
	problem  string // why a peer's burst stopped short
}

// TestLoadAddOns is TestLoad's /addons-only mode, for any bot that answers
// /addons with dialogbot's settings (DIALOGBOT_LOADTEST_BIN, run with no
// arguments): a burst of /addons, every one acked and answered, figures
// printed. It skips when DIALOGBOT_LOADTEST_BIN is unset.
//
//	DIALOGBOT_LOADTEST_BIN=path/to/bot go test -run '^TestLoadAddOns$' -v ./internal/app/
func TestLoadAddOns(t *testing.T) {
	bin := os.Getenv(loadBinaryEnv)
	if bin == "" {
		t.Skip("set " + loadBinaryEnv + " to a bot to measure")
	}
	r := addOnsBurst(t, bin, bin, burstSize(t), true)
	t.Logf("\n%s: burst of %d /addons\n  ack p50 %s  p99 %s  max %s\n  last reply %s, %.0f commands/s\n  peak RSS %.1f MB, CPU %.2f s, start to connected %s",
		r.bot, r.size, ms(r.p50), ms(r.p99), ms(r.ackMax), r.lastReply.Round(time.Millisecond), r.perSecond, mb(r.peakRSS), r.cpu, ms(r.startup))
}

// launched is a bot started by launch.
type launched struct {
	w       *world
	startup time.Duration // exec to the socket open at Slack
	stop    func()        // SIGTERM, then SIGKILL after 20 s; idempotent
	tail    <-chan string // the end of its log, once it has exited
}

// launch starts bin (no arguments) with dialogbot's settings against a
// Slack emulator and a DialogTech simulator of its own, and waits for its
// socket. The database is a new one, or dbPath when it is set.
func launch(t *testing.T, name, bin, dbPath string) launched {
	t.Helper()
	w, settings := newSurroundings(t, options{pings: 5 * time.Second})
	if dbPath != "" {
		settings["DATABASE_URL"] = "sqlite:" + dbPath
	}
	settings["HTTP_ADDR"] = "" // the peers serve no HTTP; dialogbot does not either here
	settings["ALERT_CHANNEL"] = ""
	settings["LOG_LEVEL"] = "info"
	settings["LOG_FORMAT"] = "json"
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	tail := make(chan string, 1)
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Drain the log (a full pipe would stop the bot); keep its end.
		var last []string
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			last = append(last, sc.Text())
			if len(last) > 20 {
				last = last[1:]
			}
		}
		tail <- strings.Join(last, "\n")
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
		}
	}
	t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		stop()
		t.Fatalf("%s did not connect: %v\n%s", name, err, <-tail)
	}
	l := launched{w: w, startup: time.Since(started), stop: stop, tail: tail}
	w.pid = cmd.Process.Pid
	w.started = started
	return l
}

// addOnsBurst launches bin, warms it up with 16 /addons, sends n in a
// burst and waits until every one is acked and answered, then stops it.
// With strict, any loss fails the test; without, losses are counted (for
// the peers, whose losses are a figure).
func addOnsBurst(t *testing.T, name, bin string, n int, strict bool) burstResult {
	t.Helper()
	l := launch(t, name, bin, "")
	w, startup, stop := l.w, l.startup, l.stop
	w.sendAndWait(16, 0)
	var burst []*slacktest.Delivery
	var problem string
	for range n {
		d, err := w.slack.SendSlashCommand(w.ctx(), slackCommand("/addons", ""))
		if err != nil {
			// Slack gives up on a socket the app stops reading.
			problem = err.Error()
			break
		}
		burst = append(burst, d)
	}
	last, answered := w.answeredWithin(burst, 90*time.Second)
	cpu := cpuSeconds(w.pid)
	peak := procStatus(w.pid)["VmHWM"]
	acks := w.ackLatencies()
	var lat []time.Duration
	for _, d := range burst {
		if l, ok := acks[d.EnvelopeID]; ok {
			lat = append(lat, l)
		}
	}
	slices.Sort(lat)
	if un := w.slack.Unacked(); len(un) > 0 && problem == "" {
		problem = fmt.Sprintf("%d envelopes never acked", len(un))
	}
	if answered < n && problem == "" {
		problem = fmt.Sprintf("%d of %d never answered", n-answered, n)
	}
	stop()
	if problem != "" && strict {
		t.Fatalf("%s lost commands: %s", name, problem)
	}
	if len(lat) == 0 || len(burst) == 0 {
		t.Fatalf("%s: nothing acked (%s)", name, problem)
	}
	elapsed := last.Sub(burst[0].SentAt)
	return burstResult{bot: name, size: n, startup: startup, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), ackMax: lat[len(lat)-1],
		lastReply: elapsed, perSecond: float64(answered) / elapsed.Seconds(), peakRSS: peak, cpu: cpu, answered: answered, problem: problem}
}

// answeredWithin waits up to within for every delivery to be answered; it
// returns when the last answer came and how many were answered.
func (w *world) answeredWithin(ds []*slacktest.Delivery, within time.Duration) (last time.Time, answered int) {
	deadline := time.Now().Add(within)
	pending := slices.Clone(ds)
	for {
		pending = slices.DeleteFunc(pending, func(d *slacktest.Delivery) bool {
			rs := w.slack.ResponsesFor(d)
			if len(rs) == 0 {
				return false
			}
			if rs[0].At.After(last) {
				last = rs[0].At
			}
			return true
		})
		if len(pending) == 0 || time.Now().After(deadline) {
			return last, len(ds) - len(pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestComparePeers runs dialogbot and its peers on the same emulator and
// simulator, interleaved, for several rounds at each burst size, and prints
// the medians with dialogbot's ratio to the best peer on each figure (below
// 1 is better for every figure but commands/s). scripts/compare-peers
// builds the bots and runs it; it is a benchmark, not part of the suite.
//
//	DIALOGBOT_COMPARE=dialogbot=/tmp/dialogbot,slacker=/tmp/slacker-peer go test -run '^TestComparePeers$' -v -timeout 60m ./internal/app/
func TestComparePeers(t *testing.T) {
	spec := os.Getenv(compareEnv)
	if spec == "" {
		t.Skip("set " + compareEnv + " (scripts/compare-peers does)")
	}
	var bots []comparedBot
	for _, pair := range strings.Split(spec, ",") {
		name, bin, ok := strings.Cut(pair, "=")
		if !ok {
			t.Fatalf("%s: %q is not name=command", compareEnv, pair)
		}
		bots = append(bots, comparedBot{name, bin})
	}
	sizes := []int{1000, 10000}
	if v := os.Getenv("DIALOGBOT_COMPARE_SIZES"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	rounds := 3
	if v := os.Getenv("DIALOGBOT_COMPARE_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	results := map[string][]burstResult{} // bot/size → rounds
	key := func(name string, n int) string { return name + "/" + strconv.Itoa(n) }
	for r := range rounds {
		for _, n := range sizes {
			// Each round starts with another bot, so none always runs
			// first on a machine that warms up.
			for i := range bots {
				b := bots[(i+r)%len(bots)]
				t.Run(fmt.Sprintf("round%d/%d/%s", r+1, n, b.name), func(t *testing.T) {
					res := addOnsBurst(t, b.name, b.bin, n, b.name == bots[0].name)
					results[key(b.name, n)] = append(results[key(b.name, n)], res)
					t.Logf("%s %d: answered %d, ack p50 %s p99 %s, last reply %s, peak RSS %.1f MB, CPU %.2f s, start %s %s",
						b.name, n, res.answered, ms(res.p50), ms(res.p99), res.lastReply.Round(time.Millisecond), mb(res.peakRSS), res.cpu, ms(res.startup), res.problem)
				})
			}
		}
	}
	var names []string
	for _, b := range bots {
		names = append(names, b.name)
	}
	if rounds > 0 {
		t.Log("\n" + compareTable(bots[0].name, names, sizes, rounds, func(name string, n int) []burstResult { return results[key(name, n)] }))
	}

	// Start-up on its own: many short runs, interleaved, none after a
	// burst, each a restart on the database of a first start (which is
	// not counted): as a deployed bot starts.
	starts := 15
	if v := os.Getenv("DIALOGBOT_COMPARE_STARTS"); v != "" {
		starts, _ = strconv.Atoi(v)
	}
	startups := map[string][]startResult{}
	dir := t.TempDir()
	if starts > 0 {
		for _, b := range bots {
			t.Run("first-start/"+b.name, func(t *testing.T) { startAndAnswer(t, b.name, b.bin, filepath.Join(dir, b.name+".db")) })
		}
	}
	for r := range starts {
		for i := range bots {
			b := bots[(i+r)%len(bots)]
			t.Run(fmt.Sprintf("start%d/%s", r+1, b.name), func(t *testing.T) {
				startups[b.name] = append(startups[b.name], startAndAnswer(t, b.name, b.bin, filepath.Join(dir, b.name+".db")))
			})
		}
	}
	if starts > 0 {
		t.Log("\n" + startTable(names, starts, startups))
		t.Log("\n" + initTable(bots))
	}
}

// comparedBot is one program TestComparePeers runs: its name in the
// tables, and its command.
type comparedBot struct{ name, bin string }

// initRuns is how many times initTable runs each program.
const initRuns = 31

// initClocks runs bin with no settings (it stops at once for the lack of
// them) under GODEBUG=inittrace=1, initRuns times, and returns the median
// clock of each package's initialisation, in ms. A program that is not Go
// prints no such lines: nil.
func initClocks(bin string) map[string]float64 {
	runs := map[string][]float64{}
	for range initRuns {
		cmd := exec.Command(bin)
		cmd.Env = []string{"GODEBUG=inittrace=1", "PATH=" + os.Getenv("PATH")}
		out, _ := cmd.CombinedOutput() // exit status 1: no settings
		for _, line := range strings.Split(string(out), "\n") {
			// init <package> @<since start> ms, <clock> ms clock, ...
			f := strings.Fields(line)
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			if v, err := strconv.ParseFloat(f[4], 64); err == nil {
				runs[f[1]] = append(runs[f[1]], v)
			}
		}
	}
	if len(runs) == 0 {
		return nil
	}
	med := map[string]float64{}
	for pkg, vs := range runs {
		slices.Sort(vs)
		med[pkg] = vs[len(vs)/2]
	}
	return med
}

// initTable is what the Go programs among bots spend initialising their
// packages before main, the part of a start no code of the program's own
// can change: the total for each, and the packages that take longest in
// the first, dialogbot.
func initTable(bots []comparedBot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package initialisation before main (GODEBUG=inittrace=1, medians of %d runs of each Go program):\n\n", initRuns)
	b.WriteString("| bot | packages | their initialisation |\n|---|---|---|\n")
	var mine map[string]float64
	for i, bot := range bots {
		clocks := initClocks(bot.bin)
		if clocks == nil {
			continue
		}
		if i == 0 {
			mine = clocks
		}
		total := 0.0
		for _, v := range clocks {
			total += v
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f ms |\n", bot.name, len(clocks), total)
	}
	if mine != nil {
		pkgs := slices.Collect(maps.Keys(mine))
		slices.SortFunc(pkgs, func(a, c string) int { return cmp.Compare(mine[c], mine[a]) })
		b.WriteString("\nLongest in dialogbot: ")
		for i, p := range pkgs[:min(8, len(pkgs))] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %.3f ms", p, mine[p])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// startResult is one start of a bot: exec to its socket open at Slack, and
// exec to the answer to an /addons sent as soon as the socket is open.
type startResult struct{ connected, answered time.Duration }

// startAndAnswer launches bin on the database at dbPath, sends one
// /addons the moment its socket is open, and stops it once the answer
// came.
func startAndAnswer(t *testing.T, name, bin, dbPath string) startResult {
	t.Helper()
	l := launch(t, name, bin, dbPath)
	defer l.stop()
	d, err := l.w.slack.SendSlashCommand(l.w.ctx(), slackCommand("/addons", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.w.slack.WaitForResponse(l.w.ctx(), d, 1); err != nil {
		t.Fatalf("%s did not answer its first /addons: %v", name, err)
	}
	return startResult{connected: l.startup, answered: time.Since(l.w.started)}
}

// startTable is a Markdown table of the start-up medians, with
// dialogbot's ratio to the best peer.
func startTable(names []string, starts int, res map[string][]startResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Start-up: medians (and quartiles) of %d interleaved restarts, on an existing database.\n\n", starts)
	b.WriteString("| bot | start to connected | start to the first answer |\n|---|---|---|\n")
	type q struct{ p25, p50, p75 float64 }
	quart := func(vs []float64) q {
		s := slices.Clone(vs)
		slices.Sort(s)
		at := func(f float64) float64 { return s[min(int(f*float64(len(s))), len(s)-1)] }
		return q{at(0.25), at(0.5), at(0.75)}
	}
	stats := map[string][2]q{}
	for _, name := range names {
		var c, a []float64
		for _, r := range res[name] {
			c, a = append(c, msOf(r.connected)), append(a, msOf(r.answered))
		}
		if len(c) == 0 {
			continue
		}
		stats[name] = [2]q{quart(c), quart(a)}
	}
	best := [2]float64{}
	for _, name := range names[1:] {
		for i := range 2 {
			if v := stats[name][i].p50; v > 0 && (best[i] == 0 || v < best[i]) {
				best[i] = v
			}
		}
	}
	b.WriteString("| **dialogbot ÷ best peer** |")
	for i := range 2 {
		ratio := "–"
		if best[i] > 0 {
			ratio = "**" + strconv.FormatFloat(stats[names[0]][i].p50/best[i], 'f', 2, 64) + "×**"
		}
		b.WriteString(" " + ratio + " |")
	}
	b.WriteString("\n")
	for _, name := range names {
		st := stats[name]
		fmt.Fprintf(&b, "| %s | %.1f ms (%.1f–%.1f) | %.1f ms (%.1f–%.1f) |\n", name, st[0].p50, st[0].p25, st[0].p75, st[1].p50, st[1].p25, st[1].p75)
	}
	return b.String()
}

// figure is one column of the comparison.
type figure struct {
	name   string
	value  func(burstResult) float64
	format func(float64) string
	higher bool // higher is better
}

var figures = []figure{
	{"answered", func(r burstResult) float64 { return float64(r.answered) }, func(v float64) string { return commas(int(v)) }, true},
	{"ack p50", func(r burstResult) float64 { return msOf(r.p50) }, fmtMS, false},
	{"ack p99", func(r burstResult) float64 { return msOf(r.p99) }, fmtMS, false},
	{"ack max", func(r burstResult) float64 { return msOf(r.ackMax) }, fmtMS, false},
	{"last reply", func(r burstResult) float64 { return r.lastReply.Seconds() }, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " s" }, false},
	{"commands/s", func(r burstResult) float64 { return r.perSecond }, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }, true},
	{"peak RSS", func(r burstResult) float64 { return mb(r.peakRSS) }, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " MB" }, false},
	{"CPU", func(r burstResult) float64 { return r.cpu }, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " s" }, false},
	{"start to connected", func(r burstResult) float64 { return msOf(r.startup) }, fmtMS, false},
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func fmtMS(v float64) string       { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" }

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// compareTable is a Markdown table of the medians: per size, one row of
// ratios (dialogbot / best peer), then a row per bot.
func compareTable(self string, names []string, sizes []int, rounds int, runs func(string, int) []burstResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Medians of %d interleaved rounds, /addons only, same Slack emulator and DialogTech simulator.\n", rounds)
	fmt.Fprintf(&b, "Ratio: dialogbot's figure / the best peer's among those that answered the most (below 1 is better; for answered and commands/s above 1 is better).\n\n")
	b.WriteString("| bot | burst |")
	for _, f := range figures {
		b.WriteString(" " + f.name + " |")
	}
	b.WriteString("\n|---|---|")
	for range figures {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, n := range sizes {
		med := map[string][]float64{}
		for _, name := range names {
			for _, f := range figures {
				var vs []float64
				for _, r := range runs(name, n) {
					vs = append(vs, f.value(r))
				}
				med[name] = append(med[name], median(vs))
			}
		}
		fmt.Fprintf(&b, "| **dialogbot ÷ best peer** | %s |", commas(n))
		// The best peer is taken among those that answered the most: a
		// peer that lost most of a burst finishes early, and its acks
		// cover only what it still read.
		most := 0.0
		for _, name := range names[1:] {
			most = max(most, med[name][0])
		}
		peers := slices.DeleteFunc(slices.Clone(names[1:]), func(name string) bool { return med[name][0] < most })
		for i, f := range figures {
			best := 0.0
			candidates := peers
			if i == 0 {
				candidates = names[1:]
			}
			for _, name := range candidates {
				v := med[name][i]
				if best == 0 || (f.higher && v > best) || (!f.higher && v < best) {
					best = v
				}
			}
			ratio := "–"
			if best > 0 {
				ratio = "**" + strconv.FormatFloat(med[self][i]/best, 'f', 2, 64) + "×**"
			}
			b.WriteString(" " + ratio + " |")
		}
		b.WriteString("\n")
		for _, name := range names {
			fmt.Fprintf(&b, "| %s | %s |", name, commas(n))
			for i, f := range figures {
				b.WriteString(" " + f.format(med[name][i]) + " |")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
