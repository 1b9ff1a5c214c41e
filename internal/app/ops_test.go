package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

func TestHealthz(t *testing.T) {
	w := newWorld(t, options{})
	code, body := w.get("/healthz")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 \"ok\\n\"", code, body)
	}
	resp, err := http.Post(w.opsURL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
}

// /readyz fails when Slack goes silent for longer than the bound, and
// recovers once the bot has reconnected.
func TestReadyzFollowsTheSocket(t *testing.T) {
	w := newWorld(t, options{maxSilence: 2 * time.Second})
	if body := w.waitFor("/readyz", http.StatusOK, 5*time.Second); body != "ready\n" {
		t.Errorf("ready body = %q", body)
	}

	w.slack.Stall(0)
	body := w.waitFor("/readyz", http.StatusServiceUnavailable, 10*time.Second)
	if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "slack: nothing received for ") {
		t.Errorf("not-ready body = %q; want one line about Slack's silence", body)
	}
	if code, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while not ready; the process is still up", code)
	}

	// The link comes back dead: slack-go must reconnect. The old
	// connection may still count for a moment after the drop, so wait for
	// the bot to say it connected again, then for readiness.
	w.slack.Resume()
	w.slack.DropConnections()
	if err := w.slack.WaitConnections(w.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, w.metrics(), "dialogbot_socket_reconnects_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("dialogbot_socket_reconnects_total still 0 10s after the connections were dropped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.waitFor("/readyz", http.StatusOK, 10*time.Second)
	if got := metricValue(t, w.metrics(), "dialogbot_socket_connected"); got != 1 {
		t.Errorf("dialogbot_socket_connected = %v", got)
	}
	// And it still works.
	if got := responseText(w.slash(requester, "/addons")); !strings.Contains(got, "Local Number") {
		t.Errorf("/addons after the reconnect: %q", got)
	}
}

// The series the alerting rules in deploy/prometheus read for waiting
// requests and a silent socket come from the running program.
func TestMetricsForTheAlertingRules(t *testing.T) {
	w := newWorld(t, options{})
	w.ask(requester, "/numbers order 312 2")
	body := w.metrics()
	for _, want := range []string{
		`dialogbot_requests_waiting{state="pending"} 1`,
		`dialogbot_requests_waiting{state="unknown"} 0`,
	} {
		if !hasLine(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if age := metricValue(t, body, `dialogbot_request_oldest_waiting_seconds{state="pending"}`); age < 0 || age > 60 {
		t.Errorf("oldest pending request's age = %v s, want a few seconds", age)
	}
	if seen := metricValue(t, body, `dialogbot_socket_last_seen_timestamp_seconds`); time.Since(time.Unix(int64(seen), 0)) > time.Minute {
		t.Errorf("Slack last seen at %v, want within the last minute", seen)
	}
}

// After an approved order, the call is counted by action and outcome, and
// acks, commands, actions and transitions are observed.
func TestMetricsAfterApprove(t *testing.T) {
	w := newWorld(t, options{})
	m := w.ask(requester, "/numbers order 312 2")
	w.click(approver, m, "Approve")
	w.updated(m.TS, "ordered:")

	body := w.metrics()
	for _, want := range []string{
		`dialogbot_dialogtech_calls_total{action="numbers.order",outcome="success"} 1`,
		`dialogbot_dialogtech_call_duration_seconds_count{action="numbers.order"} 1`,
		`dialogbot_approval_transitions_total{from="pending",to="executing"} 1`,
		`dialogbot_approval_transitions_total{from="executing",to="succeeded"} 1`,
		`dialogbot_commands_total{command="/numbers order",outcome="ok"} 1`,
		`dialogbot_actions_total{action="request.approve",outcome="ok"} 1`,
		`dialogbot_envelopes_total{type="slash_commands"} 1`,
		`dialogbot_envelopes_total{type="interactive"} 1`,
		`dialogbot_acks_total{type="slash_commands"} 1`,
		`dialogbot_acks_total{type="interactive"} 1`,
		`dialogbot_ack_latency_seconds_count{type="slash_commands"} 1`,
		`dialogbot_ack_latency_seconds_count{type="interactive"} 1`,
		`dialogbot_socket_connection_events_total{state="connected"} 1`,
		`dialogbot_socket_connected 1`,
		`dialogbot_store_errors_total{op="transition"} 0`,
	} {
		if !hasLine(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := metricValue(t, body, `dialogbot_ack_latency_seconds_sum{type="slash_commands"}`); got <= 0 || got > 3 {
		t.Errorf("ack latency sum = %v s; want a real, sub-3s observation", got)
	}
	// Its own registry: the Go and process collectors are there, nothing of
	// the global one's defaults is missing or doubled.
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes "} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Whatever people type or a forged payload carries, labels stay within
// their fixed sets.
func TestMetricLabelsAreFixed(t *testing.T) {
	w := newWorld(t, options{})
	phone := "3125550100"
	w.slash(requester, "/bogus "+phone)
	w.slash(requester, "/call vr 1 "+phone)
	w.slash(requester, "/numbers frobnicate "+phone)
	payload, _ := json.Marshal(map[string]any{
		"type":      "block_actions",
		"user":      map[string]any{"id": outsider},
		"channel":   map[string]any{"id": channel},
		"container": map[string]any{"type": "message", "channel_id": channel, "message_ts": "1.000001"},
		"actions":   []any{map[string]any{"action_id": "steal-" + phone + "-" + dtSecret, "block_id": "b", "value": phone, "type": "button"}},
	})
	d, err := w.slack.SendEnvelope(w.ctx(), 0, slacktest.EnvelopeInteractive, payload, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(w.ctx(), d.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	w.ephemeral(outsider, "not one of dialogbot's")

	body := w.metrics()
	for _, want := range []string{
		`dialogbot_commands_total{command="other",outcome="usage"} 1`,
		`dialogbot_commands_total{command="/call vr",outcome="ok"} 1`,
		`dialogbot_commands_total{command="/numbers",outcome="usage"} 1`,
		`dialogbot_actions_total{action="other",outcome="usage"} 1`,
	} {
		if !hasLine(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{phone, "bogus", "frobnicate", "steal", dtSecret, requester, outsider} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics contains %q", leak)
		}
	}
}

func TestShutdownStopsTheOpsServer(t *testing.T) {
	w := newWorld(t, options{})
	w.waitFor("/readyz", http.StatusOK, 5*time.Second)
	w.stop()
	if _, err := http.Get(w.opsURL + "/healthz"); err == nil {
		t.Error("the ops server still answers after RunServe returned")
	}
}

func TestHTTPAddrInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv := slacktest.NewServer(t, slacktest.WithTokens(botToken, appToken))
	t.Cleanup(func() { srv.CheckNoRefusals(t) })
	settings := map[string]string{
		"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "SLACK_API_URL": srv.APIURL(),
		"DIALOGTECH_SANDBOX": "true", "DATABASE_URL": "sqlite:" + t.TempDir() + "/db",
		"HTTP_ADDR": busy.Addr().String(),
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := settings[k]; return v, ok })
	if err == nil {
		err = cfg.Validate(config.ModeServe)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = app.RunServe(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), "HTTP_ADDR: ") {
		t.Fatalf("RunServe with HTTP_ADDR in use = %v; want an error naming HTTP_ADDR", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("RunServe waited instead of failing at once")
	}
	if n := len(srv.Calls("")); n != 0 {
		t.Errorf("RunServe called Slack %d times before failing on HTTP_ADDR", n)
	}
}

func (w *world) metrics() string {
	w.t.Helper()
	code, body := w.get("/metrics")
	if code != http.StatusOK {
		w.t.Fatalf("/metrics = %d", code)
	}
	return body
}

// hasLine reports whether the exposition has line exactly.
func hasLine(body, line string) bool {
	return strings.Contains("\n"+body, "\n"+line+"\n")
}

// metricValue returns the value of the series named exactly (with its
// labels), or fails.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no series %s", series)
	return 0
}
