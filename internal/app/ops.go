package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/dialogbot/dialogbot/alerts"
	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/metrics"
	"github.com/dialogbot/dialogbot/store"
)

// opsShutdownTimeout bounds how long a scrape in flight may delay the exit.
const opsShutdownTimeout = 5 * time.Second

// RunOption configures RunServe.
type RunOption func(*runOptions)

type runOptions struct {
	listener   net.Listener
	maxSilence time.Duration
	hooks      Hooks
	signals    []os.Signal
	onStarted  func()
}

// WithRunHooks adds approval and bot options to what RunServe builds
// (builds for tests that stop the process mid-approval).
func WithRunHooks(h Hooks) RunOption {
	return func(o *runOptions) {
		o.hooks.Approval = append(o.hooks.Approval, h.Approval...)
		o.hooks.Bot = append(o.hooks.Bot, h.Bot...)
	}
}

// WithOpsListener serves /healthz, /readyz and /metrics on ln instead of
// listening on HTTP_ADDR (tests pass a listener on a free port).
func WithOpsListener(ln net.Listener) RunOption {
	return func(o *runOptions) { o.listener = ln }
}

// WithMaxSilence sets how long Slack may send nothing before /readyz fails
// (metrics.DefaultMaxSilence otherwise).
func WithMaxSilence(d time.Duration) RunOption {
	return func(o *runOptions) { o.maxSilence = d }
}

// OnStarted has RunServe call f once Slack has answered its start: it is
// connected, or a token was refused.
func OnStarted(f func()) RunOption {
	return func(o *runOptions) { o.onStarted = f }
}

// WithSignals makes RunServe stop as its context ending would on any of
// sigs, from the moment it is connected to Slack (before that, a signal
// has its default effect: it ends the program, which has nothing to
// finish yet).
func WithSignals(sigs ...os.Signal) RunOption {
	return func(o *runOptions) { o.signals = sigs }
}

// RunServe is `dialogbot serve`: it connects to Slack, logs the settings'
// warnings and "starting" with the settings, opens the store, builds the
// App with its metrics, serves /healthz, /readyz and /metrics on HTTP_ADDR
// (unless it is empty), and runs the Slack bot until ctx ends. Then the bot
// drains its work and the HTTP server stops; when ctx ends while the store
// opens, it returns nil having taken nothing. Errors name the setting at
// fault and may carry a secret from a driver: print them through Redact.
func RunServe(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...RunOption) error {
	var ro runOptions
	for _, o := range opts {
		o(&ro)
	}
	// What can be checked without touching anything comes first: the
	// address to serve on (nothing is served on it yet), then the tokens,
	// so that a port in use or a refused token stops the program before
	// it has created or migrated any database.
	ln := ro.listener
	if ln == nil && cfg.HTTPAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("HTTP_ADDR: %w", err)
		}
		defer ln.Close() // closed by the server's Shutdown when it got that far
	}
	// Both tokens are checked while the socket connects; the store is
	// opened (and, the first time, created and migrated) once Slack took
	// both and the socket is up. Envelopes wait for the handler.
	b, err := bot.New(botConfig(cfg), nil, bot.WithLogger(log))
	if err != nil {
		return err
	}
	defer b.Disconnect()
	_, err = b.Start(ctx)
	if ro.onStarted != nil {
		ro.onStarted()
	}
	// Until now a signal ended the program at once: nothing was taken
	// that would need finishing, and arming the handler (it starts
	// threads) would have held up the connection.
	if err == nil && len(ro.signals) > 0 {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, ro.signals...)
		defer stop()
	}
	// The settings are logged once the socket is up, or Slack said no:
	// written before, they would hold up the first call to Slack.
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	log.Info("starting", "config", cfg)
	if err != nil {
		return err
	}
	m := metrics.New(metrics.Known{Commands: commandNames(), Actions: actionIDs(), StoreOps: storeOps})
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		if stoppedStarting(ctx, log, err) {
			return nil
		}
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer st.Close()
	observed := observeStore(st, m.StoreError)

	a, err := New(ctx, cfg, log, WithStore(observed), WithHooks(Hooks{DialogTech: m.DialogTechCall, AddOnsRead: m.AddOnsRead, Approval: ro.hooks.Approval, Bot: ro.hooks.Bot}))
	if err != nil {
		if stoppedStarting(ctx, log, err) {
			return nil
		}
		return err
	}
	defer a.Close()
	a.Instrument(m)
	if a.Sandbox != nil {
		log.Warn("sandbox: DialogTech is simulated; nothing is bought")
	}

	ready := &metrics.Readiness{Store: observed, MaxSilence: ro.maxSilence, Log: log}
	stopReady := context.AfterFunc(ctx, ready.Stopping)
	defer stopReady()
	if ln != nil {
		srv := metrics.Serve(ln, metrics.Handler(m, ready), log)
		log.Info("serving /healthz, /readyz and /metrics", "addr", ln.Addr().String())
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opsShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("ops http server: shutdown", "err", err)
			}
		}()
	}
	return a.Serve(ctx, append(OpsServeOptions(m, ready), WithConnectedBot(b))...)
}

// stoppedStarting reports whether err came of ctx ending while RunServe
// opened its store or built the App, and logs it if so: nothing was taken
// yet, and a migration under way was rolled back, so that is a clean stop.
func stoppedStarting(ctx context.Context, log *slog.Logger, err error) bool {
	if ctx.Err() == nil {
		return false
	}
	log.Info("stopped while starting", "err", err)
	return true
}

// OpsServeOptions connects the Slack transport to the metrics and to
// readiness.
func OpsServeOptions(m *metrics.Metrics, ready *metrics.Readiness) []ServeOption {
	return []ServeOption{
		WithBotOptions(bot.WithObserver(m)),
		OnBot(func(b *bot.Bot) { ready.SetSocket(b); m.WatchSocket(b.LastSeen) }),
	}
}

// Instrument connects the parts New built to m: approval transitions,
// commands and actions, alert notices. (DialogTech calls are connected
// through Hooks, as the client is built with its observer.) Call it before
// Serve, while nothing uses the parts.
func (a *App) Instrument(m *metrics.Metrics) {
	approval.WithTransitionObserver(m.Transition)(a.Approvals)
	command.WithObserver(m.Handled)(a.Handler)
	if a.Alerts != nil {
		alerts.WithPostObserver(m.AlertPosted)(a.Alerts)
		alerts.WithResendObserver(m.AlertResent)(a.Alerts)
		alerts.WithRunObserver(m.AlertRun)(a.Alerts)
	}
	m.WatchRequests(a.waiting)
}

// waitingListed bounds the requests read per state for the waiting
// gauges: far more than ever wait at once.
const waitingListed = 1000

// waiting is what the waiting-request gauges show: how many requests wait
// for a decision or for a check of an unknown outcome, and the oldest.
func (a *App) waiting(ctx context.Context) (map[string]metrics.Waiting, error) {
	out := map[string]metrics.Waiting{}
	for _, st := range []store.State{store.StatePending, store.StateUnknown} {
		reqs, err := a.Store.ListRequests(ctx, st, waitingListed)
		if err != nil {
			return nil, err
		}
		w := metrics.Waiting{Count: len(reqs)}
		for _, r := range reqs {
			if w.Oldest.IsZero() || r.CreatedAt.Before(w.Oldest) {
				w.Oldest = r.CreatedAt
			}
		}
		out[string(st)] = w
	}
	return out, nil
}

// commandNames is every name the command layer reports for a command of
// its own: the registry's, "help" under each slash command, and the bare
// slash command when no verb of it matched.
func commandNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range command.New(nil, nil).Commands() {
		names = append(names, c.Name())
		if !seen[c.Slash] {
			seen[c.Slash] = true
			names = append(names, c.Slash, c.Slash+" help")
		}
	}
	return names
}

func actionIDs() []string {
	return []string{command.ActionApprove, command.ActionDeny, command.ActionCancel,
		command.ActionRequestMore, command.ActionSnooze, command.ActionSnoozeDay, command.ActionSnoozeWeek, command.ActionDenySubmit}
}

// storeOps are the store calls whose errors are counted.
var storeOps = []string{"ping", "create_request", "get_request", "set_message", "transition",
	"list_requests", "pending_expired", "append_audit", "claim_notification", "put_alert_state"}

// observedStore counts failed store calls. Conflicts, misses and
// duplicates are answers, not failures: they are how exactly-once works.
type observedStore struct {
	store.Store
	failed func(op string)
}

func observeStore(st store.Store, failed func(op string)) store.Store {
	return &observedStore{Store: st, failed: failed}
}

func (s *observedStore) check(op string, err error) error {
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDuplicate) {
		s.failed(op)
	}
	return err
}

func (s *observedStore) Ping(ctx context.Context) error {
	return s.check("ping", s.Store.Ping(ctx))
}

func (s *observedStore) CreateRequest(ctx context.Context, r *store.Request, audit ...store.AuditEntry) error {
	return s.check("create_request", s.Store.CreateRequest(ctx, r, audit...))
}

func (s *observedStore) GetRequest(ctx context.Context, id string) (*store.Request, error) {
	r, err := s.Store.GetRequest(ctx, id)
	return r, s.check("get_request", err)
}

func (s *observedStore) SetMessage(ctx context.Context, id, channelID, ts string) error {
	return s.check("set_message", s.Store.SetMessage(ctx, id, channelID, ts))
}

func (s *observedStore) Transition(ctx context.Context, id string, from, to store.State, t store.Transition) (*store.Request, error) {
	r, err := s.Store.Transition(ctx, id, from, to, t)
	return r, s.check("transition", err)
}

func (s *observedStore) ListRequests(ctx context.Context, state store.State, limit int) ([]*store.Request, error) {
	rs, err := s.Store.ListRequests(ctx, state, limit)
	return rs, s.check("list_requests", err)
}

func (s *observedStore) PendingExpiredBefore(ctx context.Context, now time.Time) ([]*store.Request, error) {
	rs, err := s.Store.PendingExpiredBefore(ctx, now)
	return rs, s.check("pending_expired", err)
}

func (s *observedStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	return s.check("append_audit", s.Store.AppendAudit(ctx, e))
}

func (s *observedStore) ClaimNotification(ctx context.Context, key string, episode int64, state string, at time.Time) error {
	return s.check("claim_notification", s.Store.ClaimNotification(ctx, key, episode, state, at))
}

func (s *observedStore) PutAlertState(ctx context.Context, st *store.AlertState, prev time.Time) error {
	return s.check("put_alert_state", s.Store.PutAlertState(ctx, st, prev))
}
