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
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/store"
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

// Metrics holds dialogbot's metrics, each instance its own, so that tests
// and several instances in one process do not collide. Its methods are
// safe for concurrent use. Recording allocates nothing and takes no lock:
// a label value is found by its position in its fixed set and counted
// with an atomic add.
type Metrics struct {
	envelopes    *counterVec // type
	acks         *counterVec // type
	ackLatency   *histogramVec
	commands     *counterVec // command, outcome
	actions      *counterVec // action, outcome
	transitions  *counterVec // from, to
	calls        *counterVec // action, outcome
	callDuration *histogramVec
	alerts       *counterVec
	resent       *counterVec
	connEvents   *counterVec
	reconnects   *counter
	connected    *gauge
	storeErrors  *counterVec
	busy         *counterVec // type, told
	addOnsReads  *counterVec
	alertRuns    *counterVec

	families []family // sorted by name
	lastSize atomic.Int64

	lastSeen atomic.Pointer[func() time.Time]
	waiting  atomic.Pointer[WaitingFunc]

	everConnected atomic.Bool // set at the first "connected"
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

// New makes dialogbot's metrics, with the Go runtime's and the process's,
// and the series known beforehand at zero.
func New(k Known) *Metrics {
	envelopeType := newLabel("type", EnvelopeTypes)
	outcome := newLabel("outcome", Outcomes)
	dtAction := newLabel("action", DialogTechActions)
	m := &Metrics{
		envelopes: newCounterVec("dialogbot_envelopes_total", "Socket Mode envelopes received, by type.", envelopeType),
		acks:      newCounterVec("dialogbot_acks_total", "Socket Mode envelopes acknowledged, by type.", envelopeType),
		ackLatency: newHistogramVec("dialogbot_ack_latency_seconds", "Time from reading an envelope to writing its ack.",
			ackBuckets, envelopeType),
		commands: newCounterVec("dialogbot_commands_total", "Slash commands run, by registry name and outcome.",
			newLabel("command", k.Commands), outcome),
		actions: newCounterVec("dialogbot_actions_total", "Button presses and deny submissions, by action id and outcome.",
			newLabel("action", k.Actions), outcome),
		transitions: newCounterVec("dialogbot_approval_transitions_total", "Approval request state changes written to the store.",
			newLabel("from", States), newLabel("to", States)),
		calls: newCounterVec("dialogbot_dialogtech_calls_total", "DialogTech API calls, by action and outcome.",
			dtAction, newLabel("outcome", DialogTechOutcomes)),
		callDuration: newHistogramVec("dialogbot_dialogtech_call_duration_seconds", "DialogTech API call time, retries included.",
			callBuckets, dtAction),
		alerts: newCounterVec("dialogbot_alerts_posted_total", "Capacity alerts posted to Slack, by state.",
			newLabel("state", AlertStates)),
		resent: newCounterVec("dialogbot_alert_notices_resent_total",
			"Alert notices sent again after Slack did not take them, by why: refused (the resend is the only copy) or answer_lost (Slack may have posted the first: a possible second copy).",
			newLabel("reason", ResendReasons)),
		connEvents: newCounterVec("dialogbot_socket_connection_events_total", "Socket Mode connection state changes.",
			newLabel("state", ConnectionStates)),
		reconnects: newCounter("dialogbot_socket_reconnects_total", "Socket Mode connections made after the first."),
		connected:  newGauge("dialogbot_socket_connected", "1 while the Socket Mode connection is up."),
		storeErrors: newCounterVec("dialogbot_store_errors_total", "Store calls that failed (conflicts and misses are not errors), by call.",
			newLabel("op", k.StoreOps)),
		alertRuns: newCounterVec("dialogbot_alert_runs_total", "Scheduled capacity checks, by outcome (ok, error, skipped: another replica holds the schedule).",
			newLabel("outcome", AlertRunOutcomes)),
		busy: newCounterVec("dialogbot_busy_total", "Envelopes acked but not run because the work queue was at its memory budget, by type and whether the person was told dialogbot is busy.",
			envelopeType, newLabel("told", []string{"false", "true"})),
		addOnsReads: newCounterVec("dialogbot_addons_reads_total", "Reads of the account's add-ons, by where the answer came from: dialogtech (an addons.list call), shared (another read's call in flight), cache (a reading younger than ADDONS_CACHE_TTL).",
			newLabel("source", AddOnsSources)),
	}
	lastSeen := &valueFunc{desc{"dialogbot_socket_last_seen_timestamp_seconds",
		"When Slack last sent anything over Socket Mode (an envelope or a ping), as a Unix time; 0 before the first.", "gauge"},
		func(*snapshot) (float64, bool) {
			if f := m.lastSeen.Load(); f != nil {
				if t := (*f)(); !t.IsZero() {
					return float64(t.UnixNano()) / 1e9, true
				}
			}
			return 0, true
		}}
	m.families = append([]family{
		m.envelopes, m.acks, m.ackLatency, m.commands, m.actions, m.transitions,
		m.calls, m.callDuration, m.alerts, m.resent, m.connEvents, m.reconnects, m.connected, m.storeErrors,
		m.alertRuns, lastSeen, &waitingCount, &waitingOldest,
		m.busy, m.addOnsReads,
	}, runtimeFamilies...)
	slices.SortFunc(m.families, func(a, b family) int { return strings.Compare(a.describe().name, b.describe().name) })

	for _, o := range AlertRunOutcomes {
		m.alertRuns.create(o)
	}
	// Known series start at zero, so a rate() sees the first event and a
	// dashboard lists them before anything happened.
	for _, t := range EnvelopeTypes {
		m.envelopes.create(t)
		m.acks.create(t)
		m.ackLatency.create(t)
	}
	for _, a := range DialogTechActions {
		m.calls.create(a, dialog.OutcomeSuccess)
	}
	for _, t := range EnvelopeTypes {
		m.busy.create(t, "true")
	}
	for _, src := range AddOnsSources {
		m.addOnsReads.create(src)
	}
	for _, op := range k.StoreOps {
		m.storeErrors.create(op)
	}
	return m
}

// Envelope counts an envelope (bot.Observer).
func (m *Metrics) Envelope(kind string) { m.envelopes.inc1(kind) }

// Acked counts an ack and its latency (bot.Observer).
func (m *Metrics) Acked(kind string, latency time.Duration) {
	i := m.acks.labels[0].pos(kind) // the same type label as ackLatency's
	m.acks.inc(i)
	m.ackLatency.observe(i, latency.Seconds())
}

// Connection records a Socket Mode connection state change (bot.Observer).
func (m *Metrics) Connection(state string) {
	l := &m.connEvents.labels[0]
	i := l.pos(state)
	m.connEvents.inc(i)
	switch l.values[i] {
	case "connected":
		m.connected.set(1)
		// Every "connected" after the first is a reconnect, however
		// many come at once.
		if !m.everConnected.CompareAndSwap(false, true) {
			m.reconnects.inc()
		}
	case "connecting", "disconnected", "error":
		m.connected.set(0)
	}
}

// Handled counts a command or an action (command.WithObserver).
func (m *Metrics) Handled(kind, name, outcome string, _ time.Duration) {
	switch kind {
	case "command":
		m.commands.inc2(name, outcome)
	case "action":
		m.actions.inc2(name, outcome)
	}
}

// Transition counts an approval state change (approval.WithTransitionObserver).
func (m *Metrics) Transition(from, to store.State) { m.transitions.inc2(string(from), string(to)) }

// DialogTechCall counts a DialogTech call (dialog.WithObserver).
func (m *Metrics) DialogTechCall(action, outcome string, d time.Duration) {
	a := m.calls.labels[0].pos(action) // the same action label as callDuration's
	m.calls.inc(m.calls.at2(a, m.calls.labels[1].pos(outcome)))
	m.callDuration.observe(a, d.Seconds())
}

// AlertPosted counts a capacity alert posted in state.
func (m *Metrics) AlertPosted(state string) { m.alerts.inc1(state) }

// ResendReasons are why an alert notice was sent again.
var ResendReasons = []string{"refused", "answer_lost"}

// AlertResent counts an alert notice sent again, by reason.
func (m *Metrics) AlertResent(reason string) { m.resent.inc1(reason) }

// AlertRun counts one scheduled capacity check (alerts.WithRunObserver).
func (m *Metrics) AlertRun(outcome string) { m.alertRuns.inc1(outcome) }

// WatchSocket makes dialogbot_socket_last_seen_timestamp_seconds read
// lastSeen at each scrape.
func (m *Metrics) WatchSocket(lastSeen func() time.Time) { m.lastSeen.Store(&lastSeen) }

// WatchRequests makes the waiting-request gauges read f at each scrape.
func (m *Metrics) WatchRequests(f WaitingFunc) { m.waiting.Store(&f) }

// waitingScrapeTimeout bounds the store read a scrape makes.
const waitingScrapeTimeout = 2 * time.Second

// readWaiting reads the waiting requests from the store, once a scrape for
// both gauges; a failed read leaves them out of that scrape (and counts as
// a store error through the store's observer).
func (m *Metrics) readWaiting(ctx context.Context, s *snapshot) {
	f := m.waiting.Load()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, waitingScrapeTimeout)
	defer cancel()
	got, err := (*f)(ctx)
	if err != nil {
		return
	}
	s.waiting, s.waitingOK = got, true
}

// waitingGauge is dialogbot_requests_waiting (the count of each of
// WaitingStates) or, with oldest, dialogbot_request_oldest_waiting_seconds.
type waitingGauge struct {
	desc
	oldest bool
}

var (
	waitingCount = waitingGauge{desc: desc{"dialogbot_requests_waiting",
		"Requests waiting: for a decision (pending) or for a person to check an unknown outcome (unknown).", "gauge"}}
	waitingOldest = waitingGauge{desc: desc{"dialogbot_request_oldest_waiting_seconds",
		"How long the oldest request in the state has been waiting since it was opened; 0 when none.", "gauge"}, oldest: true}
)

func (g *waitingGauge) write(w *textWriter, s *snapshot) {
	if !s.waitingOK {
		return
	}
	for _, st := range WaitingStates {
		r := s.waiting[st]
		v := float64(r.Count)
		if g.oldest {
			v = 0
			if r.Count > 0 && !r.Oldest.IsZero() {
				v = max(s.now.Sub(r.Oldest).Seconds(), 0)
			}
		}
		w.series(g.name, "")
		w.label("state", st)
		w.value(v)
	}
}

// Busy counts an envelope not run because the work queue was full
// (bot.Observer).
func (m *Metrics) Busy(kind string, told bool) {
	m.busy.inc2(kind, strconv.FormatBool(told))
}

// AddOnsRead counts a read of the add-ons by where it was answered from.
func (m *Metrics) AddOnsRead(source string) { m.addOnsReads.inc1(source) }

// StoreError counts a failed store call.
func (m *Metrics) StoreError(op string) { m.storeErrors.inc1(op) }

// WriteText writes the exposition of every metric in the Prometheus text
// format (ContentType): families sorted by name, each with its HELP and
// TYPE, series sorted by label values. What is read at scrape time (the Go
// runtime's and the process's figures, the waiting requests, under ctx)
// is read now.
func (m *Metrics) WriteText(ctx context.Context, w io.Writer) error {
	_, err := w.Write(m.AppendText(ctx, nil))
	return err
}

// AppendText appends the exposition that WriteText writes to b.
func (m *Metrics) AppendText(ctx context.Context, b []byte) []byte {
	s := &snapshot{}
	s.readRuntime()
	s.proc.read()
	m.readWaiting(ctx, s)
	s.now = time.Now() // after the read: the ages are of what it found
	tw := &textWriter{buf: slices.Grow(b, int(m.lastSize.Load()))}
	for _, f := range m.families {
		tw.begin(f.describe())
		f.write(tw, s)
	}
	m.lastSize.Store(int64(len(tw.buf) - len(b)))
	return tw.buf
}
