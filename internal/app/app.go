// Package app builds dialogbot from its settings: the store, the DialogTech
// client (or the built-in simulator in sandbox mode), approvals, the command
// layer, the capacity alerts and the Slack transport. cmd/dialogbot only
// chooses what to run; the console and the Slack bot get the same parts.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/alerts"
	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/addoncache"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/membership"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// sandboxKey is where the simulator's state is kept in the store, so a
// sandbox session can be resumed.
const sandboxKey = "sandbox.dialogtech"

// App is dialogbot, built and ready to run.
type App struct {
	Config    *config.Config
	Log       *slog.Logger
	Store     store.Store
	Client    *dialog.Client
	AddOns    *addoncache.Cache // what commands and App Home read the add-ons through
	Sandbox   *dialogsim.Sim    // nil unless the simulator stands in for DialogTech
	Approvals *approval.Service
	// Groups is who is in APPROVER_GROUPS and the groups in CALLERS, read
	// from Slack in serve (SetLister) or simulated in the console.
	Groups  *membership.Directory
	Handler *command.Handler
	Alerts  *alerts.Runner // nil when ALERT_CHANNEL is empty
	Hooks   Hooks

	// Poster is where alerts go: the Slack transport's poster in serve,
	// the terminal in console. Set it before starting the alerts.
	Poster *LatePoster

	closers []func() error
}

// Hooks lets the program observe the parts (metrics).
type Hooks struct {
	DialogTech func(action, outcome string, d time.Duration)
	// AddOnsRead is told where each read of the add-ons by a command
	// was answered from (addoncache's sources).
	AddOnsRead func(source string)
	// Approval options, e.g. a step hook for tests that stop the process
	// at each step of an approval.
	Approval []approval.Option
	// Bot options for serve.
	Bot []bot.Option
}

// Option configures New.
type Option func(*App)

// WithHooks sets observers.
func WithHooks(h Hooks) Option { return func(a *App) { a.Hooks = h } }

// WithStore uses an already open store instead of opening DATABASE_URL.
func WithStore(st store.Store) Option { return func(a *App) { a.Store = st } }

// New builds the parts. The caller closes the App.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{Config: cfg, Log: log, Poster: &LatePoster{}}
	for _, o := range opts {
		o(a)
	}
	if err := a.build(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg := a.Config
	if a.Store == nil {
		st, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		a.Store = st
		a.closers = append(a.closers, st.Close)
	}
	access, secret, baseURL := cfg.DialogTechAccessKey, cfg.DialogTechSecretAccessKey.Value(), cfg.DialogTechBaseURL
	if cfg.UseSandbox() {
		url, err := a.startSandbox(ctx)
		if err != nil {
			return err
		}
		access, secret, baseURL = dialogsim.DefaultAccessKey, dialogsim.DefaultSecretKey, url
	}
	copts := []dialog.Option{dialog.WithCredentials(access, secret), dialog.WithBaseURL(baseURL), dialog.WithLogger(a.Log)}
	if a.Hooks.DialogTech != nil {
		copts = append(copts, dialog.WithObserver(a.Hooks.DialogTech))
	}
	client, err := dialog.NewClient(copts...)
	if err != nil {
		return fmt.Errorf("DialogTech client: %w", err)
	}
	a.Client = client
	a.Groups = membership.New(nil, cfg.Groups(), membership.WithLogger(a.Log))
	var cacheOpts []addoncache.Option
	if a.Hooks.AddOnsRead != nil {
		cacheOpts = append(cacheOpts, addoncache.WithObserver(a.Hooks.AddOnsRead))
	}
	a.AddOns = addoncache.New(client, cfg.AddOnsCacheTTL, cacheOpts...)
	// Alerts read DialogTech fresh (the client); commands read through the
	// cache, which every buying call invalidates.
	a.Approvals = approval.New(a.Store, invalidatingBuyer{Buyer: client, cache: a.AddOns}, approval.Policy{
		Approvers:         cfg.Approvers,
		ApproverGroups:    cfg.ApproverGroups,
		AllowSelfApproval: cfg.AllowSelfApproval,
		TTL:               cfg.ApprovalTTL,
		SecondAbove:       approval.Threshold{Amount: cfg.SecondApprovalAbove.Amount, Qty: cfg.SecondApprovalAbove.Qty},
		RemindAfter:       cfg.ApprovalRemindAfter,
	}, append([]approval.Option{approval.WithLogger(a.Log), approval.WithGroups(a.Groups)}, a.Hooks.Approval...)...)
	hopts := []command.Option{command.WithLogger(a.Log), command.WithCallers(cfg.Callers, a.Groups)}
	if cfg.AlertChannel != "" {
		a.Alerts = alerts.New(client, a.Store, a.Poster, a.alertSettings(), alerts.WithLogger(a.Log), alerts.WithLease(cfg.AlertLeaseTTL))
		hopts = append(hopts, command.WithAlerts(alertsAdapter{r: a.Alerts}))
	}
	a.Handler = command.New(cachedAccount{cache: a.AddOns, client: client}, a.Approvals, hopts...)
	return nil
}

func (a *App) alertSettings() alerts.Settings {
	cfg := a.Config
	secrets := cfg.Secrets()
	margin := cfg.AlertResolveMargin
	if margin == 0 {
		// ALERT_RESOLVE_MARGIN=0 asks for no hysteresis; a zero Margin
		// would take the package's default instead.
		margin = alerts.NoMargin
	}
	return alerts.Settings{
		Channel:           cfg.AlertChannel,
		Threshold:         cfg.AlertThreshold,
		CriticalThreshold: cfg.AlertCriticalThreshold,
		Margin:            margin,
		Overrides:         cfg.AlertThresholds,
		RepeatInterval:    cfg.AlertRepeatInterval,
		Horizon:           cfg.AlertForecastHorizon,
		ErrorAfter:        cfg.AlertErrorAfter,
		Schedule:          cfg.AlertSchedule,
		Redact:            func(s string) string { return Redact(s, secrets) },
	}
}

// startSandbox serves the simulator on a loopback port, with its state
// restored from and saved to the store.
func (a *App) startSandbox(ctx context.Context) (string, error) {
	sim := dialogsim.New()
	if snap, err := a.Store.GetKV(ctx, sandboxKey); err == nil && len(snap) > 0 {
		if err := sim.Restore(snap); err != nil {
			a.Log.Warn("sandbox: saved state unreadable; starting fresh", "err", err)
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("sandbox: read saved state: %w", err)
	}
	sim.OnChange(func() {
		snap, err := sim.Snapshot()
		if err == nil {
			err = a.Store.PutKV(context.Background(), sandboxKey, snap)
		}
		if err != nil {
			a.Log.Warn("sandbox: save state", "err", err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("sandbox: listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	a.closers = append(a.closers, srv.Close)
	a.Sandbox = sim
	return "http://" + ln.Addr().String() + "/ibp_api.php", nil
}

// Close releases everything New opened, newest first.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// cachedAccount is the command layer's DialogTech: add-ons through the
// cache, the rest straight to the client.
type cachedAccount struct {
	cache  *addoncache.Cache
	client *dialog.Client
}

func (x cachedAccount) ListAddOns(ctx context.Context) ([]dialog.AddOn, error) {
	return x.cache.ListAddOns(ctx)
}

func (x cachedAccount) CallVR(ctx context.Context, menuID, phone string) error {
	return x.client.CallVR(ctx, menuID, phone)
}

// invalidatingBuyer ends the cache's reuse once a buying call was sent,
// whatever its outcome: the next /addons shows what it bought.
type invalidatingBuyer struct {
	approval.Buyer
	cache *addoncache.Cache
}

func (b invalidatingBuyer) PurchaseAddOn(ctx context.Context, r dialog.PurchaseRequest) (*dialog.PurchaseResult, error) {
	defer b.cache.Invalidate()
	return b.Buyer.PurchaseAddOn(ctx, r)
}

func (b invalidatingBuyer) OrderNumbers(ctx context.Context, r dialog.OrderRequest) (*dialog.OrderResult, error) {
	defer b.cache.Invalidate()
	return b.Buyer.OrderNumbers(ctx, r)
}

// alertsAdapter gives the command layer what it needs of the alerts.
type alertsAdapter struct {
	r *alerts.Runner
}

func (x alertsAdapter) Forecasts(ctx context.Context, addOns []dialog.AddOn) map[int]string {
	out := map[int]string{}
	for id, p := range x.r.Forecasts(ctx, addOns) {
		out[id] = p.String()
		if p.Trend == alerts.TrendUnknown {
			// Say what is missing, not only that something is.
			out[id] = fmt.Sprintf("not enough data yet (needs %s of readings)", hours(alerts.ForecastMinSpan))
		}
	}
	return out
}

func (x alertsAdapter) Snooze(ctx context.Context, key, user string, d time.Duration) (reply.Message, error) {
	return x.r.Snooze(ctx, key, user, d)
}

func (x alertsAdapter) OpenAlerts(ctx context.Context) ([]string, error) {
	open, err := x.r.Open(ctx)
	if err != nil {
		return nil, err
	}
	var lines []string
	now := time.Now()
	for _, st := range open {
		lines = append(lines, openAlertLine(alerts.FromStore(st), now))
	}
	return lines, nil
}

// openAlertLine is one open alert as the App Home lists it. The add-on's
// name is DialogTech's text, not markup: it cannot carry a mention.
func openAlertLine(s alerts.State, now time.Time) string {
	if s.Key == alerts.ReadErrorKey {
		return fmt.Sprintf("%s: cannot read usage from DialogTech (%d failed reads)", s.Level, s.Failures)
	}
	r := s.Reading
	line := fmt.Sprintf("%s: %s at %d/%d, %d left", s.Level, reply.Clean(r.Name), r.InUse, r.Total, r.Left())
	if f := r.Forecast.String(); f != "" {
		line += ", " + f
	}
	if s.Snoozed(now) {
		line += fmt.Sprintf(" (snoozed by %s until %s)", reply.Mention(s.SnoozedBy), s.SnoozedUntil.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return line
}

// Suggest asks the runner, so Request more buys what the alert message
// suggests (same threshold, margin and defaults).
func (x alertsAdapter) Suggest(a dialog.AddOn) int { return x.r.Suggest(a) }

// hours writes d as "24 h".
func hours(d time.Duration) string { return fmt.Sprintf("%g h", d.Hours()) }

// LatePoster forwards to a poster chosen after the alerts were built.
type LatePoster struct {
	mu     sync.RWMutex
	target alerts.Poster
}

// Set chooses where alerts go.
func (p *LatePoster) Set(t alerts.Poster) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = t
}

func (p *LatePoster) get() (alerts.Poster, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.target == nil {
		return nil, errors.New("alerts: nowhere to post yet")
	}
	return p.target, nil
}

func (p *LatePoster) Post(ctx context.Context, channel string, m reply.Message) (string, error) {
	t, err := p.get()
	if err != nil {
		return "", err
	}
	return t.Post(ctx, channel, m)
}

func (p *LatePoster) Update(ctx context.Context, channel, ts string, m reply.Message) error {
	t, err := p.get()
	if err != nil {
		return err
	}
	return t.Update(ctx, channel, ts, m)
}

func (p *LatePoster) Reply(ctx context.Context, channel, threadTS string, m reply.Message) (string, error) {
	t, err := p.get()
	if err != nil {
		return "", err
	}
	return t.Reply(ctx, channel, threadTS, m)
}
