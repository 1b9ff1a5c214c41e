// Package metrics is what an operator watches while dialogbot runs: the
// Prometheus metrics of its parts and an HTTP server with /healthz, /readyz
// and /metrics.
//
// Label values come only from fixed sets (envelope types, command names of
// the registry, action ids, outcomes, states); anything else is counted as
// "other". A label never holds what a person typed, a phone number or a
// secret, and a forged payload cannot grow the number of series.
package metrics

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Other is the label value of anything outside a metric's fixed set.
const Other = "other"

// Fixed label sets that do not depend on configuration.
var (
	// EnvelopeTypes are the Socket Mode envelope types the bot acks.
	EnvelopeTypes = []string{"slash_commands", "interactive", "events_api"}
	// ConnectionStates are what the Slack transport reports.
	ConnectionStates = []string{"connecting", "connected", "disconnected", "error"}
	// Outcomes are the command layer's outcomes.
	Outcomes = []string{"ok", "usage", "already_decided", "refused", "error"}
	// AlertStates are the capacity alerts' states.
	AlertStates = []string{"ok", "warning", "critical", "resolved", "error"}
	// DialogTechActions are the DialogTech API actions dialogbot calls.
	DialogTechActions = []string{dialog.ActionAddOnsList, dialog.ActionAddOnsPurchase, dialog.ActionNumbersOrder, dialog.ActionClickToVR}
	// DialogTechOutcomes are the DialogTech client's outcomes.
	DialogTechOutcomes = []string{dialog.OutcomeSuccess, dialog.OutcomeAPIError, dialog.OutcomeHTTPError,
		dialog.OutcomeMalformed, dialog.OutcomeTransportError, dialog.OutcomeUnknown, dialog.OutcomeInvalid}
	// AddOnsSources are where a read of the add-ons is answered from.
	AddOnsSources = []string{"dialogtech", "shared", "cache"}
	// States are the approval request states.
	States = []string{string(store.StatePending), string(store.StateExecuting), string(store.StateSucceeded),
		string(store.StateFailed), string(store.StateUnknown), string(store.StateDenied), string(store.StateExpired),
		string(store.StateCancelled)}
)

// Buckets of the ack latency: an ack is written in the socket loop before
// any work, so it is normally well under a millisecond; Slack gives up at 3 s.
var ackBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3}

// Buckets of a DialogTech call: tens of milliseconds to the client's timeout.
var callBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Known is the configuration-dependent part of the label sets.
type Known struct {
	Commands []string // registry names, e.g. "/addons buy"
	Actions  []string // button action ids, e.g. "request.approve"
	StoreOps []string // store calls whose errors are counted, e.g. "ping"
}

// Metrics holds dialogbot's collectors in a registry of its own, so tests
// and several instances in one process do not collide. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg   *prometheus.Registry
	known Known

	envelopes    *prometheus.CounterVec
	acks         *prometheus.CounterVec
	ackLatency   *prometheus.HistogramVec
	commands     *prometheus.CounterVec
	actions      *prometheus.CounterVec
	transitions  *prometheus.CounterVec
	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	alerts       *prometheus.CounterVec
	resent       *prometheus.CounterVec
	connEvents   *prometheus.CounterVec
	reconnects   prometheus.Counter
	connected    prometheus.Gauge
	storeErrors  *prometheus.CounterVec
	busy         *prometheus.CounterVec
	addOnsReads  *prometheus.CounterVec
	alertRuns    *prometheus.CounterVec

	lastSeen atomic.Pointer[func() time.Time]
	waiting  atomic.Pointer[WaitingFunc]

	everConnected chan struct{} // closed at the first "connected"
}

// AlertRunOutcomes are the outcomes of one scheduled capacity check: it
// ran, it failed (addons.list or the store), or another replica held the
// schedule.
var AlertRunOutcomes = []string{"ok", "error", "skipped"}

// WaitingStates are the request states people wait on: a decision, or a
// check of an unknown outcome.
var WaitingStates = []string{string(store.StatePending), string(store.StateUnknown)}

// WaitingFunc reports, for each of WaitingStates, how many requests are in
// it and when the oldest of them was opened (zero when none).
type WaitingFunc func(ctx context.Context) (map[string]Waiting, error)

// Waiting is how many requests are in one state, and since when the
// oldest.
type Waiting struct {
	Count  int
	Oldest time.Time
}

// New registers every collector, with the Go runtime and process
// collectors, in a new registry.
func New(k Known) *Metrics {
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		known: k,
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_envelopes_total", Help: "Socket Mode envelopes received, by type.",
		}, []string{"type"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_acks_total", Help: "Socket Mode envelopes acknowledged, by type.",
		}, []string{"type"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dialogbot_ack_latency_seconds", Help: "Time from reading an envelope to writing its ack.", Buckets: ackBuckets,
		}, []string{"type"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_commands_total", Help: "Slash commands run, by registry name and outcome.",
		}, []string{"command", "outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_actions_total", Help: "Button presses and deny submissions, by action id and outcome.",
		}, []string{"action", "outcome"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_approval_transitions_total", Help: "Approval request state changes written to the store.",
		}, []string{"from", "to"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_dialogtech_calls_total", Help: "DialogTech API calls, by action and outcome.",
		}, []string{"action", "outcome"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dialogbot_dialogtech_call_duration_seconds", Help: "DialogTech API call time, retries included.", Buckets: callBuckets,
		}, []string{"action"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_alerts_posted_total", Help: "Capacity alerts posted to Slack, by state.",
		}, []string{"state"}),
		resent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_alert_notices_resent_total",
			Help: "Alert notices sent again after Slack did not take them, by why: refused (the resend is the only copy) or answer_lost (Slack may have posted the first: a possible second copy).",
		}, []string{"reason"}),
		connEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_socket_connection_events_total", Help: "Socket Mode connection state changes.",
		}, []string{"state"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dialogbot_socket_reconnects_total", Help: "Socket Mode connections made after the first.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dialogbot_socket_connected", Help: "1 while the Socket Mode connection is up.",
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_store_errors_total", Help: "Store calls that failed (conflicts and misses are not errors), by call.",
		}, []string{"op"}),
		alertRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_alert_runs_total", Help: "Scheduled capacity checks, by outcome (ok, error, skipped: another replica holds the schedule).",
		}, []string{"outcome"}),
		busy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_busy_total", Help: "Envelopes acked but not run because the work queue was at its memory budget, by type and whether the person was told dialogbot is busy.",
		}, []string{"type", "told"}),
		addOnsReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialogbot_addons_reads_total", Help: "Reads of the account's add-ons, by where the answer came from: dialogtech (an addons.list call), shared (another read's call in flight), cache (a reading younger than ADDONS_CACHE_TTL).",
		}, []string{"source"}),
		everConnected: make(chan struct{}),
	}
	lastSeen := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dialogbot_socket_last_seen_timestamp_seconds",
		Help: "When Slack last sent anything over Socket Mode (an envelope or a ping), as a Unix time; 0 before the first.",
	}, func() float64 {
		if f := m.lastSeen.Load(); f != nil {
			if t := (*f)(); !t.IsZero() {
				return float64(t.UnixNano()) / 1e9
			}
		}
		return 0
	})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.envelopes, m.acks, m.ackLatency, m.commands, m.actions, m.transitions,
		m.calls, m.callDuration, m.alerts, m.resent, m.connEvents, m.reconnects, m.connected, m.storeErrors,
		m.alertRuns, lastSeen, waitingCollector{m},
		m.busy, m.addOnsReads,
	)
	for _, o := range AlertRunOutcomes {
		m.alertRuns.WithLabelValues(o)
	}
	// Known series start at zero, so a rate() sees the first event and a
	// dashboard lists them before anything happened.
	for _, t := range EnvelopeTypes {
		m.envelopes.WithLabelValues(t)
		m.acks.WithLabelValues(t)
		m.ackLatency.WithLabelValues(t)
	}
	for _, a := range DialogTechActions {
		m.calls.WithLabelValues(a, dialog.OutcomeSuccess)
	}
	for _, t := range EnvelopeTypes {
		m.busy.WithLabelValues(t, "true")
	}
	for _, src := range AddOnsSources {
		m.addOnsReads.WithLabelValues(src)
	}
	for _, op := range k.StoreOps {
		m.storeErrors.WithLabelValues(op)
	}
	return m
}

// Registry is where the collectors are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// label is v when it is one of known, else Other.
func label(v string, known []string) string {
	if slices.Contains(known, v) {
		return v
	}
	return Other
}

// Envelope counts an envelope (bot.Observer).
func (m *Metrics) Envelope(kind string) {
	m.envelopes.WithLabelValues(label(kind, EnvelopeTypes)).Inc()
}

// Acked counts an ack and its latency (bot.Observer).
func (m *Metrics) Acked(kind string, latency time.Duration) {
	kind = label(kind, EnvelopeTypes)
	m.acks.WithLabelValues(kind).Inc()
	m.ackLatency.WithLabelValues(kind).Observe(latency.Seconds())
}

// Connection records a Socket Mode connection state change (bot.Observer).
func (m *Metrics) Connection(state string) {
	state = label(state, ConnectionStates)
	m.connEvents.WithLabelValues(state).Inc()
	switch state {
	case "connected":
		m.connected.Set(1)
		select {
		case <-m.everConnected:
			m.reconnects.Inc()
		default:
			close(m.everConnected)
		}
	case "connecting", "disconnected", "error":
		m.connected.Set(0)
	}
}

// Handled counts a command or an action (command.WithObserver).
func (m *Metrics) Handled(kind, name, outcome string, _ time.Duration) {
	outcome = label(outcome, Outcomes)
	switch kind {
	case "command":
		m.commands.WithLabelValues(label(name, m.known.Commands), outcome).Inc()
	case "action":
		m.actions.WithLabelValues(label(name, m.known.Actions), outcome).Inc()
	}
}

// Transition counts an approval state change (approval.WithTransitionObserver).
func (m *Metrics) Transition(from, to store.State) {
	m.transitions.WithLabelValues(label(string(from), States), label(string(to), States)).Inc()
}

// DialogTechCall counts a DialogTech call (dialog.WithObserver).
func (m *Metrics) DialogTechCall(action, outcome string, d time.Duration) {
	action = label(action, DialogTechActions)
	m.calls.WithLabelValues(action, label(outcome, DialogTechOutcomes)).Inc()
	m.callDuration.WithLabelValues(action).Observe(d.Seconds())
}

// AlertPosted counts a capacity alert posted in state.
func (m *Metrics) AlertPosted(state string) {
	m.alerts.WithLabelValues(label(state, AlertStates)).Inc()
}

// ResendReasons are why an alert notice was sent again.
var ResendReasons = []string{"refused", "answer_lost"}

// AlertResent counts an alert notice sent again, by reason.
func (m *Metrics) AlertResent(reason string) {
	m.resent.WithLabelValues(label(reason, ResendReasons)).Inc()
}

// AlertRun counts one scheduled capacity check (alerts.WithRunObserver).
func (m *Metrics) AlertRun(outcome string) {
	m.alertRuns.WithLabelValues(label(outcome, AlertRunOutcomes)).Inc()
}

// WatchSocket makes dialogbot_socket_last_seen_timestamp_seconds read
// lastSeen at each scrape.
func (m *Metrics) WatchSocket(lastSeen func() time.Time) { m.lastSeen.Store(&lastSeen) }

// WatchRequests makes the waiting-request gauges read f at each scrape.
func (m *Metrics) WatchRequests(f WaitingFunc) { m.waiting.Store(&f) }

var (
	waitingDesc = prometheus.NewDesc("dialogbot_requests_waiting",
		"Requests waiting: for a decision (pending) or for a person to check an unknown outcome (unknown).", []string{"state"}, nil)
	oldestDesc = prometheus.NewDesc("dialogbot_request_oldest_waiting_seconds",
		"How long the oldest request in the state has been waiting since it was opened; 0 when none.", []string{"state"}, nil)
)

// waitingScrapeTimeout bounds the store read a scrape makes.
const waitingScrapeTimeout = 2 * time.Second

// waitingCollector reads the waiting requests from the store at scrape
// time, once for both gauges; a failed read leaves them out of that scrape
// (and counts as a store error through the store's observer).
type waitingCollector struct{ m *Metrics }

func (c waitingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- waitingDesc
	ch <- oldestDesc
}

func (c waitingCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.waiting.Load()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitingScrapeTimeout)
	defer cancel()
	got, err := (*f)(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, st := range WaitingStates {
		w := got[st]
		age := 0.0
		if w.Count > 0 && !w.Oldest.IsZero() {
			age = max(now.Sub(w.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(w.Count), st)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, st)
	}
}

// Busy counts an envelope not run because the work queue was full
// (bot.Observer).
func (m *Metrics) Busy(kind string, told bool) {
	m.busy.WithLabelValues(label(kind, EnvelopeTypes), strconv.FormatBool(told)).Inc()
}

// AddOnsRead counts a read of the add-ons by where it was answered from.
func (m *Metrics) AddOnsRead(source string) {
	m.addOnsReads.WithLabelValues(label(source, AddOnsSources)).Inc()
}

// StoreError counts a failed store call.
func (m *Metrics) StoreError(op string) {
	m.storeErrors.WithLabelValues(label(op, m.known.StoreOps)).Inc()
}
