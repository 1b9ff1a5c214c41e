package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
	"github.com/dialogbot/dialogbot/store"
	"github.com/google/go-cmp/cmp"
)

var known = metrics.Known{
	Commands: []string{"/addons list", "/numbers order"},
	Actions:  []string{"request.approve"},
	StoreOps: []string{"ping"},
}

// scrape returns the lines of m's exposition that start with prefix.
func scrape(t *testing.T, m *metrics.Metrics, prefix string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(scrapeBody(t, m), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestLabelsOutsideTheirSetsAreOther(t *testing.T) {
	tests := []struct {
		name   string
		record func(m *metrics.Metrics)
		prefix string
		want   []string
	}{
		{"command", func(m *metrics.Metrics) {
			m.Handled("command", "/numbers order", "ok", time.Millisecond)
			m.Handled("command", "/numbers 3125550100", "usage", time.Millisecond)
			m.Handled("command", "/addons list", "made-up", time.Millisecond)
		}, "dialogbot_commands_total", []string{
			`dialogbot_commands_total{command="/addons list",outcome="other"} 1`,
			`dialogbot_commands_total{command="/numbers order",outcome="ok"} 1`,
			`dialogbot_commands_total{command="other",outcome="usage"} 1`,
		}},
		{"action", func(m *metrics.Metrics) {
			m.Handled("action", "request.approve", "already_decided", 0)
			m.Handled("action", "xoxb-forged", "usage", 0)
			m.Handled("elsewhere", "request.approve", "ok", 0) // an unknown kind is dropped
		}, "dialogbot_actions_total", []string{
			`dialogbot_actions_total{action="other",outcome="usage"} 1`,
			`dialogbot_actions_total{action="request.approve",outcome="already_decided"} 1`,
		}},
		{"transition", func(m *metrics.Metrics) {
			m.Transition(store.StatePending, store.StateExecuting)
			m.Transition(store.StatePending, store.State("weird"))
		}, "dialogbot_approval_transitions_total", []string{
			`dialogbot_approval_transitions_total{from="pending",to="executing"} 1`,
			`dialogbot_approval_transitions_total{from="pending",to="other"} 1`,
		}},
		{"dialogtech", func(m *metrics.Metrics) {
			m.DialogTechCall("numbers.order", "success", 40*time.Millisecond)
			m.DialogTechCall("secret_access_key=x", "success", time.Millisecond)
			m.DialogTechCall("addons.list", "boom", time.Millisecond)
		}, "dialogbot_dialogtech_calls_total", []string{
			`dialogbot_dialogtech_calls_total{action="addons.list",outcome="other"} 1`,
			`dialogbot_dialogtech_calls_total{action="addons.list",outcome="success"} 0`,
			`dialogbot_dialogtech_calls_total{action="addons.purchase",outcome="success"} 0`,
			`dialogbot_dialogtech_calls_total{action="clickto.vr",outcome="success"} 0`,
			`dialogbot_dialogtech_calls_total{action="numbers.order",outcome="success"} 1`,
			`dialogbot_dialogtech_calls_total{action="other",outcome="success"} 1`,
		}},
		{"envelope", func(m *metrics.Metrics) {
			m.Envelope("slash_commands")
			m.Envelope("hello")
			m.Acked("slash_commands", 300*time.Microsecond)
		}, "dialogbot_envelopes_total", []string{
			`dialogbot_envelopes_total{type="events_api"} 0`,
			`dialogbot_envelopes_total{type="interactive"} 0`,
			`dialogbot_envelopes_total{type="other"} 1`,
			`dialogbot_envelopes_total{type="slash_commands"} 1`,
		}},
		{"alert", func(m *metrics.Metrics) {
			m.AlertPosted("critical")
			m.AlertPosted("Local Number at 3125550100")
		}, "dialogbot_alerts_posted_total", []string{
			`dialogbot_alerts_posted_total{state="critical"} 1`,
			`dialogbot_alerts_posted_total{state="other"} 1`,
		}},
		{"store", func(m *metrics.Metrics) {
			m.StoreError("ping")
			m.StoreError("ping")
			m.StoreError("drop table")
		}, "dialogbot_store_errors_total", []string{
			`dialogbot_store_errors_total{op="other"} 1`,
			`dialogbot_store_errors_total{op="ping"} 2`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New(known)
			tt.record(m)
			if diff := cmp.Diff(tt.want, scrape(t, m, tt.prefix+"{")); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAckLatencyBuckets(t *testing.T) {
	m := metrics.New(known)
	m.Acked("interactive", 300*time.Microsecond)
	m.Acked("interactive", 4*time.Millisecond)
	got := scrape(t, m, `dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.0`)
	want := []string{
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.0001"} 0`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.00025"} 0`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.0005"} 1`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.001"} 1`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.0025"} 1`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.005"} 2`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.01"} 2`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.025"} 2`,
		`dialogbot_ack_latency_seconds_bucket{type="interactive",le="0.05"} 2`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
}

func TestConnectionStates(t *testing.T) {
	m := metrics.New(known)
	for _, s := range []string{"connecting", "connected", "error", "connecting", "connected", "disconnected", "connecting", "connected"} {
		m.Connection(s)
	}
	got := scrape(t, m, "dialogbot_socket_")
	want := []string{
		`dialogbot_socket_connected 1`,
		`dialogbot_socket_connection_events_total{state="connected"} 3`,
		`dialogbot_socket_connection_events_total{state="connecting"} 3`,
		`dialogbot_socket_connection_events_total{state="disconnected"} 1`,
		`dialogbot_socket_connection_events_total{state="error"} 1`,
		`dialogbot_socket_last_seen_timestamp_seconds 0`,
		`dialogbot_socket_reconnects_total 2`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("socket series (-want +got):\n%s", diff)
	}
	m.Connection("error")
	if got := scrape(t, m, "dialogbot_socket_connected "); !cmp.Equal(got, []string{"dialogbot_socket_connected 0"}) {
		t.Errorf("after an error: %v", got)
	}
}

// Two instances in one process do not collide (each has its registry).
func TestInstancesAreIndependent(t *testing.T) {
	a, b := metrics.New(known), metrics.New(known)
	a.AlertPosted("warning")
	if got := scrape(t, b, "dialogbot_alerts_posted_total{"); len(got) != 0 {
		t.Errorf("second instance sees %v", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	m := metrics.New(known)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.Acked("slash_commands", time.Millisecond)
				m.Connection("connected")
				m.Handled("command", "/addons list", "ok", time.Millisecond)
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff([]string{`dialogbot_commands_total{command="/addons list",outcome="ok"} 800`}, scrape(t, m, "dialogbot_commands_total{")); diff != "" {
		t.Error(diff)
	}
	// 800 "connected", all but the first a reconnect, even when several
	// come at once.
	if diff := cmp.Diff([]string{`dialogbot_socket_reconnects_total 799`}, scrape(t, m, "dialogbot_socket_reconnects_total")); diff != "" {
		t.Error(diff)
	}
}

type fakeSocket struct {
	connected bool
	lastSeen  time.Time
}

func (f fakeSocket) Connected() bool     { return f.connected }
func (f fakeSocket) LastSeen() time.Time { return f.lastSeen }

type fakeStore struct{ err error }

func (f fakeStore) Ping(context.Context) error { return f.err }

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fresh := fakeSocket{connected: true, lastSeen: now.Add(-time.Second)}
	tests := []struct {
		name     string
		store    metrics.Pinger
		socket   metrics.Socket // nil: not started
		stopping bool
		want     []string
	}{
		{"ready", fakeStore{}, fresh, false, nil},
		{"not started", fakeStore{}, nil, false, []string{"slack: not started"}},
		{"disconnected", fakeStore{}, fakeSocket{connected: false, lastSeen: now}, false, []string{"slack: socket mode not connected"}},
		{"silent", fakeStore{}, fakeSocket{connected: true, lastSeen: now.Add(-5 * time.Second)}, false,
			[]string{"slack: nothing received for 5s (limit 2s)"}},
		{"just within", fakeStore{}, fakeSocket{connected: true, lastSeen: now.Add(-2 * time.Second)}, false, nil},
		{"never heard", fakeStore{}, fakeSocket{connected: true}, false, []string{"slack: nothing received yet"}},
		{"store down", fakeStore{err: errors.New("dial tcp db.internal:5432: password=hunter2 refused")}, fresh, false, []string{"store: ping failed"}},
		{"store not open", nil, fresh, false, []string{"store: not open"}},
		{"everything wrong", fakeStore{err: errors.New("x")}, fakeSocket{}, true,
			[]string{"process: shutting down", "store: ping failed", "slack: socket mode not connected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &metrics.Readiness{Store: tt.store, MaxSilence: 2 * time.Second, Now: func() time.Time { return now }}
			if tt.socket != nil {
				r.SetSocket(tt.socket)
			}
			if tt.stopping {
				r.Stopping()
			}
			if diff := cmp.Diff(tt.want, r.Check(context.Background())); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadinessDefaultsToAMinute(t *testing.T) {
	now := time.Now()
	r := &metrics.Readiness{Store: fakeStore{}, Now: func() time.Time { return now }}
	r.SetSocket(fakeSocket{connected: true, lastSeen: now.Add(-59 * time.Second)})
	if got := r.Check(context.Background()); len(got) != 0 {
		t.Errorf("59 s of silence: %v", got)
	}
	r.SetSocket(fakeSocket{connected: true, lastSeen: now.Add(-61 * time.Second)})
	if got := r.Check(context.Background()); len(got) != 1 {
		t.Errorf("61 s of silence: %v", got)
	}
}

// A store that hangs does not hang /readyz.
func TestReadinessPingTimeout(t *testing.T) {
	r := &metrics.Readiness{Store: hangingStore{}, PingTimeout: 50 * time.Millisecond}
	r.SetSocket(fakeSocket{connected: true, lastSeen: time.Now()})
	done := make(chan []string, 1)
	go func() { done <- r.Check(context.Background()) }()
	select {
	case got := <-done:
		if diff := cmp.Diff([]string{"store: ping failed"}, got); diff != "" {
			t.Error(diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Check did not return while the store hung")
	}
}

type hangingStore struct{}

func (hangingStore) Ping(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func TestHandler(t *testing.T) {
	m := metrics.New(known)
	ready := &metrics.Readiness{Store: fakeStore{err: errors.New("password=hunter2")}}
	srv := httptest.NewServer(metrics.Handler(m, ready))
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
		body         string // "" = do not compare
	}{
		{"GET", "/healthz", 200, "ok\n"},
		{"HEAD", "/healthz", 200, ""},
		{"GET", "/readyz", 503, "store: ping failed\nslack: not started\n"},
		{"GET", "/metrics", 200, ""},
		{"POST", "/readyz", 405, ""},
		{"GET", "/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			if strings.Contains(string(body), "hunter2") {
				t.Errorf("body shows the store's error: %q", body)
			}
		})
	}
}
