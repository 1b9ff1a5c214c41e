package metrics_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeBody serves m's /metrics and returns the body, checking the status
// and the content type.
func scrapeBody(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(m, &metrics.Readiness{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	return string(body)
}

// parse reads an exposition with the Prometheus text parser.
func parse(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses /metrics: %v\n%s", err, body)
	}
	return fams
}

// TestExpositionParses: the Prometheus text parser reads every family of
// /metrics with its type, and what was recorded reads back.
func TestExpositionParses(t *testing.T) {
	m := metrics.New(goldenKnown)
	recordAll(m)
	m.WatchSocket(func() time.Time { return time.Unix(1700000000, 500_000_000) })
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) {
		return map[string]metrics.Waiting{"pending": {Count: 3, Oldest: time.Now().Add(-time.Hour)}}, nil
	})
	fams := parse(t, scrapeBody(t, m))

	types := map[string]dto.MetricType{
		"dialogbot_ack_latency_seconds":                dto.MetricType_HISTOGRAM,
		"dialogbot_acks_total":                         dto.MetricType_COUNTER,
		"dialogbot_actions_total":                      dto.MetricType_COUNTER,
		"dialogbot_addons_reads_total":                 dto.MetricType_COUNTER,
		"dialogbot_alert_notices_resent_total":         dto.MetricType_COUNTER,
		"dialogbot_alert_runs_total":                   dto.MetricType_COUNTER,
		"dialogbot_alerts_posted_total":                dto.MetricType_COUNTER,
		"dialogbot_approval_transitions_total":         dto.MetricType_COUNTER,
		"dialogbot_busy_total":                         dto.MetricType_COUNTER,
		"dialogbot_commands_total":                     dto.MetricType_COUNTER,
		"dialogbot_dialogtech_call_duration_seconds":   dto.MetricType_HISTOGRAM,
		"dialogbot_dialogtech_calls_total":             dto.MetricType_COUNTER,
		"dialogbot_envelopes_total":                    dto.MetricType_COUNTER,
		"dialogbot_request_oldest_waiting_seconds":     dto.MetricType_GAUGE,
		"dialogbot_requests_waiting":                   dto.MetricType_GAUGE,
		"dialogbot_socket_connected":                   dto.MetricType_GAUGE,
		"dialogbot_socket_connection_events_total":     dto.MetricType_COUNTER,
		"dialogbot_socket_last_seen_timestamp_seconds": dto.MetricType_GAUGE,
		"dialogbot_socket_reconnects_total":            dto.MetricType_COUNTER,
		"dialogbot_store_errors_total":                 dto.MetricType_COUNTER,
		"go_gc_duration_seconds":                       dto.MetricType_SUMMARY,
		"go_gc_gomemlimit_bytes":                       dto.MetricType_GAUGE,
		"go_goroutines":                                dto.MetricType_GAUGE,
		"go_info":                                      dto.MetricType_GAUGE,
		"go_memstats_alloc_bytes":                      dto.MetricType_GAUGE,
		"go_memstats_alloc_bytes_total":                dto.MetricType_COUNTER,
		"go_memstats_buck_hash_sys_bytes":              dto.MetricType_GAUGE,
		"go_memstats_frees_total":                      dto.MetricType_COUNTER,
		"go_memstats_gc_sys_bytes":                     dto.MetricType_GAUGE,
		"go_memstats_heap_alloc_bytes":                 dto.MetricType_GAUGE,
		"go_memstats_heap_idle_bytes":                  dto.MetricType_GAUGE,
		"go_memstats_heap_inuse_bytes":                 dto.MetricType_GAUGE,
		"go_memstats_heap_objects":                     dto.MetricType_GAUGE,
		"go_memstats_heap_released_bytes":              dto.MetricType_GAUGE,
		"go_memstats_heap_sys_bytes":                   dto.MetricType_GAUGE,
		"go_memstats_last_gc_time_seconds":             dto.MetricType_GAUGE,
		"go_memstats_mallocs_total":                    dto.MetricType_COUNTER,
		"go_memstats_mcache_inuse_bytes":               dto.MetricType_GAUGE,
		"go_memstats_mcache_sys_bytes":                 dto.MetricType_GAUGE,
		"go_memstats_mspan_inuse_bytes":                dto.MetricType_GAUGE,
		"go_memstats_mspan_sys_bytes":                  dto.MetricType_GAUGE,
		"go_memstats_next_gc_bytes":                    dto.MetricType_GAUGE,
		"go_memstats_other_sys_bytes":                  dto.MetricType_GAUGE,
		"go_memstats_stack_inuse_bytes":                dto.MetricType_GAUGE,
		"go_memstats_stack_sys_bytes":                  dto.MetricType_GAUGE,
		"go_memstats_sys_bytes":                        dto.MetricType_GAUGE,
		"go_sched_gomaxprocs_threads":                  dto.MetricType_GAUGE,
		"go_threads":                                   dto.MetricType_GAUGE,
	}
	if runtime.GOOS == "linux" {
		for _, name := range []string{"process_max_fds", "process_open_fds", "process_resident_memory_bytes",
			"process_start_time_seconds", "process_virtual_memory_bytes", "process_virtual_memory_max_bytes"} {
			types[name] = dto.MetricType_GAUGE
		}
		for _, name := range []string{"process_cpu_seconds_total", "process_network_receive_bytes_total", "process_network_transmit_bytes_total"} {
			types[name] = dto.MetricType_COUNTER
		}
	}
	for name, want := range types {
		f, ok := fams[name]
		switch {
		case !ok:
			t.Errorf("%s: not exported", name)
		case f.GetType() != want:
			t.Errorf("%s: type %v, want %v", name, f.GetType(), want)
		case f.GetHelp() == "":
			t.Errorf("%s: no HELP", name)
		}
	}
	for name := range fams {
		if _, ok := types[name]; !ok {
			t.Errorf("%s: exported, not expected", name)
		}
	}

	values := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"dialogbot_commands_total", map[string]string{"command": "/a \"b\" \\ c\nd", "outcome": "usage"}, 1},
		{"dialogbot_commands_total", map[string]string{"command": "other", "outcome": "other"}, 1},
		{"dialogbot_envelopes_total", map[string]string{"type": "other"}, 2},
		{"dialogbot_busy_total", map[string]string{"type": "interactive", "told": "false"}, 1},
		{"dialogbot_dialogtech_calls_total", map[string]string{"action": "addons.purchase", "outcome": "success"}, 0},
		{"dialogbot_socket_connected", nil, 1},
		{"dialogbot_socket_reconnects_total", nil, 1},
		{"dialogbot_socket_last_seen_timestamp_seconds", nil, 1700000000.5},
		{"dialogbot_requests_waiting", map[string]string{"state": "pending"}, 3},
		{"dialogbot_requests_waiting", map[string]string{"state": "unknown"}, 0},
		{"go_info", map[string]string{"version": runtime.Version()}, 1},
	}
	for _, v := range values {
		got, ok := sampleValue(fams[v.family], v.labels)
		if !ok || got != v.want {
			t.Errorf("%s%v = %v (found %v), want %v", v.family, v.labels, got, ok, v.want)
		}
	}
	if age, _ := sampleValue(fams["dialogbot_request_oldest_waiting_seconds"], map[string]string{"state": "pending"}); age < 3600 || age > 3660 {
		t.Errorf("oldest pending waits %v s, want about 3600", age)
	}

	h := findMetric(fams["dialogbot_ack_latency_seconds"], map[string]string{"type": "other"}).GetHistogram()
	var bounds []float64
	var counts []uint64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
		counts = append(counts, b.GetCumulativeCount())
	}
	wantBounds := []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3, math.Inf(1)}
	wantCounts := []uint64{0, 0, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6}
	if diff := cmp.Diff(wantBounds, bounds); diff != "" {
		t.Errorf("ack latency buckets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("ack latency cumulative counts (-want +got):\n%s", diff)
	}
	if h.GetSampleCount() != 6 || math.Abs(h.GetSampleSum()-2*(0.0003+0.001+5)) > 1e-9 {
		t.Errorf("ack latency count %d sum %v, want 6 and %v", h.GetSampleCount(), h.GetSampleSum(), 2*(0.0003+0.001+5))
	}

	gc := fams["go_gc_duration_seconds"].GetMetric()[0].GetSummary()
	var qs []float64
	for _, q := range gc.GetQuantile() {
		qs = append(qs, q.GetQuantile())
	}
	if diff := cmp.Diff([]float64{0, 0.25, 0.5, 0.75, 1}, qs); diff != "" {
		t.Errorf("GC pause quantiles (-want +got):\n%s", diff)
	}
}

// sampleValue is the value of f's series with exactly these labels.
func sampleValue(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	m := findMetric(f, labels)
	switch {
	case m == nil:
		return 0, false
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func findMetric(f *dto.MetricFamily, labels map[string]string) *dto.Metric {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, labels) || (len(got) == 0 && len(labels) == 0) {
			return m
		}
	}
	return nil
}

// TestExpositionOrder: families sorted by name, each once, with HELP
// before TYPE before its samples; the dialogbot series in the same order at
// every scrape.
func TestExpositionOrder(t *testing.T) {
	m := metrics.New(goldenKnown)
	recordAll(m)
	body := scrapeBody(t, m)
	var names []string
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, l := range lines {
		if name, ok := strings.CutPrefix(l, "# HELP "); ok {
			name, _, _ = strings.Cut(name, " ")
			names = append(names, name)
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "# TYPE "+name+" ") {
				t.Errorf("HELP of %s is not followed by its TYPE", name)
			}
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("families not sorted or repeated: %v", names)
	}
	dialogbot := func(body string) []string {
		var out []string
		for l := range strings.Lines(body) {
			if strings.HasPrefix(l, "dialogbot_") {
				out = append(out, l)
			}
		}
		return out
	}
	if diff := cmp.Diff(dialogbot(body), dialogbot(scrapeBody(t, m))); diff != "" {
		t.Errorf("a second scrape differs (-first +second):\n%s", diff)
	}
}

// TestPromtoolCheckMetrics runs promtool check metrics on /metrics when it
// is installed (.ci/run installs it).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus); .ci/run runs it")
	}
	m := metrics.New(goldenKnown)
	recordAll(m)
	m.WatchSocket(time.Now)
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) { return nil, nil })
	cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrapeBody(t, m))
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
