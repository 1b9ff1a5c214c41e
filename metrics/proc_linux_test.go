package metrics_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
)

// scrapeValues writes m's exposition and parses it.
func scrapeValues(t *testing.T, m *metrics.Metrics) func(name string) float64 {
	t.Helper()
	var b bytes.Buffer
	if err := m.WriteText(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, b.String())
	return func(name string) float64 {
		t.Helper()
		v, ok := sampleValue(fams[name], nil)
		if !ok {
			t.Fatalf("no %s", name)
		}
		return v
	}
}

// TestProcessValues: the process_* series say what the kernel says,
// checked against other sources than the ones they are read from.
func TestProcessValues(t *testing.T) {
	m := metrics.New(known)
	before := scrapeValues(t, m)

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got := before("process_max_fds"); got != float64(lim.Cur) {
		t.Errorf("process_max_fds = %v, getrlimit says %d", got, lim.Cur)
	}

	// Ten more files open: ten more descriptors.
	dir := t.TempDir()
	for i := range 10 {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
	}
	// Memory touched, and a fifth of a second of CPU time spent.
	buf := make([]byte, 64<<20)
	for start := cpuTime(t); cpuTime(t)-start < 0.2; {
		for i := 0; i < len(buf); i += 4096 {
			buf[i]++
		}
	}
	after := scrapeValues(t, m)
	rusage := cpuTime(t)
	// Other descriptors may close meanwhile (an idle HTTP connection of an
	// earlier test): a margin of two.
	if got := after("process_open_fds") - before("process_open_fds"); got < 8 || got > 12 {
		t.Errorf("process_open_fds rose by %v with ten files opened", got)
	}
	if spent, cpu := after("process_cpu_seconds_total")-before("process_cpu_seconds_total"), after("process_cpu_seconds_total"); spent < 0.15 || cpu > rusage+0.02 || cpu < rusage-0.1 {
		t.Errorf("process_cpu_seconds_total = %v s, %v s more than before; getrusage says %v s", cpu, spent, rusage)
	}

	// RSS and virtual size against /proc/self/statm (sizes in pages).
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(statm)
	page := float64(os.Getpagesize())
	vsize, _ := strconv.ParseFloat(string(f[0]), 64)
	rss, _ := strconv.ParseFloat(string(f[1]), 64)
	if got := after("process_resident_memory_bytes"); got < 64<<20 || got < rss*page/2 || got > rss*page*2 {
		t.Errorf("process_resident_memory_bytes = %v with 64 MiB touched; statm says %v", got, rss*page)
	}
	if got := after("process_virtual_memory_bytes"); got < vsize*page/2 || got > vsize*page*2 {
		t.Errorf("process_virtual_memory_bytes = %v; statm says %v", got, vsize*page)
	}
	buf[0]++ // keep buf alive until RSS was read

	start := time.Unix(0, int64(after("process_start_time_seconds")*1e9))
	if since := time.Since(start); since < 0 || since > time.Hour {
		t.Errorf("process_start_time_seconds says the test started %v ago", since)
	}
	if got := after("process_network_receive_bytes_total"); got < 0 {
		t.Errorf("process_network_receive_bytes_total = %v", got)
	}
}

// cpuTime is the user and system CPU time of the process, from getrusage.
func cpuTime(t *testing.T) float64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
