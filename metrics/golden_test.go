package metrics_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
	"github.com/dialogbot/dialogbot/store"
	"github.com/google/go-cmp/cmp"
)

// goldenKnown has a command name that needs escaping in a label value.
var goldenKnown = metrics.Known{
	Commands: []string{"/addons list", "/a \"b\" \\ c\nd"},
	Actions:  []string{"request.approve"},
	StoreOps: []string{"ping", "transition"},
}

// recordAll records something through every method, in and outside the
// label sets, on bucket bounds and beyond the last bucket.
func recordAll(m *metrics.Metrics) {
	for _, k := range []string{"slash_commands", "interactive", "events_api", "hello", ""} {
		m.Envelope(k)
		m.Acked(k, 300*time.Microsecond)
		m.Acked(k, time.Millisecond)
		m.Acked(k, 5*time.Second)
		m.Busy(k, true)
		m.Busy(k, false)
	}
	for _, s := range []string{"connecting", "connected", "error", "connected", "weird"} {
		m.Connection(s)
	}
	m.Handled("command", "/addons list", "ok", 0)
	m.Handled("command", "/a \"b\" \\ c\nd", "usage", 0)
	m.Handled("command", "nope", "bogus", 0)
	m.Handled("action", "request.approve", "refused", 0)
	m.Handled("action", "x", "error", 0)
	m.Handled("other-kind", "x", "error", 0)
	m.Transition(store.StatePending, store.StateExecuting)
	m.Transition(store.StateExecuting, store.State("zzz"))
	m.DialogTechCall("addons.list", "success", 20*time.Millisecond)
	m.DialogTechCall("addons.list", "success", 10*time.Millisecond)
	m.DialogTechCall("numbers.order", "api_error", 45*time.Second)
	m.DialogTechCall("bogus", "bogus", time.Second)
	m.AlertPosted("critical")
	m.AlertPosted("nope")
	m.AlertResent("refused")
	m.AlertResent("nope")
	m.AlertRun("ok")
	m.AlertRun("nope")
	m.AddOnsRead("cache")
	m.AddOnsRead("nope")
	m.StoreError("ping")
	m.StoreError("nope")
}

// TestGoldenExposition: the dialogbot_* families are line for line what
// github.com/prometheus/client_golang v1.25.0 served for the same records
// (testdata/*.golden were written by it): names, HELP, TYPE, label names
// and values, series pre-created at zero, buckets, order and number
// formatting.
func TestGoldenExposition(t *testing.T) {
	seen := func() time.Time { return time.Unix(1700000000, 123456789) }
	waiting := func(context.Context) (map[string]metrics.Waiting, error) {
		return map[string]metrics.Waiting{"pending": {Count: 3}, "other": {Count: 2}}, nil
	}
	failed := func(context.Context) (map[string]metrics.Waiting, error) { return nil, errors.New("store down") }
	tests := []struct {
		golden string
		setup  func(m *metrics.Metrics)
	}{
		{"fresh", func(*metrics.Metrics) {}},
		{"recorded", func(m *metrics.Metrics) { recordAll(m); m.WatchSocket(seen); m.WatchRequests(waiting) }},
		{"recorded-failed", func(m *metrics.Metrics) { recordAll(m); m.WatchSocket(seen); m.WatchRequests(failed) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			m := metrics.New(goldenKnown)
			tt.setup(m)
			var got []string
			for _, l := range scrape(t, m, "") {
				if strings.Contains(l, "dialogbot_") {
					got = append(got, l)
				}
			}
			if diff := cmp.Diff(strings.Split(strings.TrimSuffix(string(want), "\n"), "\n"), got); diff != "" {
				t.Errorf("dialogbot_* families (-client_golang +ours):\n%s", diff)
			}
		})
	}
}
