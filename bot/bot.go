// Package bot is dialogbot's Slack transport. It connects over Socket Mode,
// acknowledges every envelope at once in the socket loop, hands the work to
// a bounded pool of workers that run the command layer, and renders the
// replies as Block Kit.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialogbot/dialogbot/command"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Config is what the transport needs to run.
type Config struct {
	BotToken        string
	AppToken        string
	APIURL          string        // Slack Web API base, ending in "/"
	Workers         int           // handler pool size
	QueueSize       int           // envelopes waiting for a worker
	ShutdownTimeout time.Duration // how long in-flight work may take at shutdown
	SweepInterval   time.Duration // how often expired requests are closed
}

// HomeView builds a user's App Home tab. It may be nil.
type HomeView func(ctx context.Context, userID string) (slack.HomeTabViewRequest, error)

// Observer is told what the transport sees, for metrics. Every method must
// be cheap and safe for concurrent use.
type Observer interface {
	Envelope(kind string)
	Acked(kind string, latency time.Duration)
	Connection(state string) // "connecting", "connected" (hello), "error"
}

// Bot is a running Slack transport.
type Bot struct {
	cfg      Config
	http     *http.Client
	api      *slack.Client
	sm       *socketmode.Client
	h        *command.Handler
	log      *slog.Logger
	home     HomeView
	observer Observer
	seen     *envelopeSet
	jobs     chan job

	groupsChanged GroupsChanged

	connected atomic.Bool
	lastSeen  atomic.Int64 // unix nanos of the last byte read from Slack
	botUserID atomic.Value // string
}

type job struct {
	kind string
	run  func(ctx context.Context)
	// failed, when set, tells the person whose envelope this was that the
	// work broke, so a panic is not silence.
	failed func(ctx context.Context)
}

// Option configures a Bot.
type Option func(*Bot)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(b *Bot) { b.log = l } }

// WithHome publishes an App Home tab when a user opens it.
func WithHome(v HomeView) Option { return func(b *Bot) { b.home = v } }

// WithObserver reports what the transport sees.
func WithObserver(o Observer) Option { return func(b *Bot) { b.observer = o } }

// ErrAuth means Slack refused a token. The error names which token, never
// its value.
var ErrAuth = errors.New("slack refused the token")

// New builds the transport; Run connects it.
func New(cfg Config, h *command.Handler, opts ...Option) (*Bot, error) {
	if cfg.BotToken == "" || cfg.AppToken == "" {
		return nil, errors.New("bot: SLACK_BOT_TOKEN and SLACK_APP_TOKEN are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	b := &Bot{cfg: cfg, h: h, log: slog.Default(), seen: newEnvelopeSet(4096, 15*time.Minute), observer: nopObserver{}}
	for _, o := range opts {
		o(b)
	}
	// One client, with a bound on every call, for the Web API and for
	// response_url posts.
	b.http = &http.Client{Timeout: 30 * time.Second}
	apiOpts := []slack.Option{
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionHTTPClient(b.http),
		// After the HTTP client: OptionRetry wraps the client set so far.
		// Only 429s are retried, after Slack's Retry-After: a post that
		// failed any other way may have been made, and must not be made
		// twice.
		slack.OptionRetry(3),
	}
	if cfg.APIURL != "" {
		apiOpts = append(apiOpts, slack.OptionAPIURL(cfg.APIURL))
	}
	b.api = slack.New(cfg.BotToken, apiOpts...)
	dialer := &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext:   b.dialWatched,
	}
	b.sm = socketmode.New(b.api, socketmode.OptionDialer(dialer), socketmode.OptionLog(slogAdapter{b.log}))
	b.jobs = make(chan job, cfg.QueueSize)
	b.botUserID.Store("")
	return b, nil
}

// API is the Web API client (for the alerts' poster and App Home).
func (b *Bot) API() *slack.Client { return b.api }

// Connected reports whether the Socket Mode connection is up.
func (b *Bot) Connected() bool { return b.connected.Load() }

// LastSeen is when Slack last sent anything (an envelope, a ping).
func (b *Bot) LastSeen() time.Time {
	n := b.lastSeen.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// BotUserID is the bot's own user id, known after Run's auth.test.
func (b *Bot) BotUserID() string { return b.botUserID.Load().(string) }

// Run checks the tokens, connects, and serves until ctx ends; then it stops
// reading, lets in-flight work finish (bounded by ShutdownTimeout) and
// returns nil. It returns an error wrapping ErrAuth when Slack refuses a
// token.
func (b *Bot) Run(ctx context.Context) error {
	authCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	who, err := b.api.AuthTestContext(authCtx)
	cancel()
	if err != nil {
		return authError("SLACK_BOT_TOKEN", err)
	}
	b.botUserID.Store(who.UserID)
	b.log.InfoContext(ctx, "slack auth ok", "team", who.Team, "bot_user_id", who.UserID)

	runCtx, stopSocket := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSocket()
	socketErr := make(chan error, 1)
	go func() { socketErr <- b.sm.RunContext(runCtx) }()

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Go(func() {
			for j := range b.jobs {
				b.runJob(workCtx, j)
			}
		})
	}
	sweep := time.NewTicker(b.cfg.SweepInterval)
	defer sweep.Stop()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-socketErr:
			if errors.Is(err, context.Canceled) {
				break loop
			}
			runErr = socketError(err)
			break loop
		case <-sweep.C:
			b.enqueue(job{kind: "sweep", run: func(ctx context.Context) {
				b.apply(ctx, b.h.Sweep(ctx), target{})
				b.h.Remind(ctx, NewPoster(b.api))
			}})
		case evt, ok := <-b.sm.Events:
			if !ok {
				break loop
			}
			if err := b.dispatch(ctx, evt); err != nil {
				runErr = err
				break loop
			}
		}
	}
	// Stop taking work, then let what was taken finish.
	stopSocket()
	close(b.jobs)
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownTimeout):
		b.log.Warn("shutdown: in-flight work did not finish in time", "timeout", b.cfg.ShutdownTimeout)
		stopWork()
		<-done
	}
	b.connected.Store(false)
	return runErr
}

// socketError names the app token when Slack refused it at connect time.
func socketError(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && isAuthError(se.Err) {
		return fmt.Errorf("SLACK_APP_TOKEN: %w (%s)", ErrAuth, se.Err)
	}
	if err != nil && isAuthError(err.Error()) {
		return fmt.Errorf("SLACK_APP_TOKEN: %w (%s)", ErrAuth, err.Error())
	}
	return fmt.Errorf("bot: socket mode stopped: %w", redactURLError(err))
}

func isAuthError(code string) bool {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

// ErrUnreachable means Slack could not be reached at all: a network
// problem, which says nothing about the tokens.
var ErrUnreachable = errors.New("cannot reach Slack")

// authError names the token when Slack refused it, and only the network
// when Slack never answered: blaming a token for a missing network sends
// a person after the wrong thing.
func authError(setting string, err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %w (%s)", setting, ErrAuth, se.Err)
	}
	return fmt.Errorf("%w (%s); check the network, or SLACK_API_URL if it is set", ErrUnreachable, redactURLError(err))
}

// CheckTokens asks Slack whether it takes both tokens, the bot token with
// auth.test and the app-level token with apps.connections.open (whose
// ticket is simply not used), without connecting or touching anything
// else, so that the program can stop before it opens its store. Its
// errors wrap ErrAuth naming the setting, or ErrUnreachable.
func CheckTokens(ctx context.Context, cfg Config) error {
	b, err := New(cfg, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := b.api.AuthTestContext(ctx); err != nil {
		return authError("SLACK_BOT_TOKEN", err)
	}
	if _, _, err := b.sm.OpenContext(ctx); err != nil {
		return authError("SLACK_APP_TOKEN", err)
	}
	return nil
}

// dispatch handles one event of the socket loop. Envelopes are acked here,
// before any work: Slack wants an ack within 3 seconds, and the work may
// wait on DialogTech for longer.
func (b *Bot) dispatch(ctx context.Context, evt socketmode.Event) error {
	// slack-go v0.35.0 handles Slack's `disconnect` itself and never hands
	// it over: a reconnect shows as `connecting` (the old socket is done
	// with), then `connected` (a socket is open) and `hello` (Slack will
	// send envelopes on it). Only hello means up.
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		if b.connected.Swap(false) {
			b.log.Info("socket mode reconnecting")
		}
		b.observer.Connection("connecting")
	case socketmode.EventTypeConnected:
		b.log.Debug("socket mode socket open; waiting for hello")
	case socketmode.EventTypeHello:
		b.connected.Store(true)
		b.observer.Connection("connected")
		b.log.Info("socket mode connected")
	case socketmode.EventTypeConnectionError:
		b.connected.Store(false)
		b.observer.Connection("error")
		b.log.Warn("socket mode connection error")
	case socketmode.EventTypeInvalidAuth:
		return fmt.Errorf("SLACK_APP_TOKEN: %w (invalid_auth)", ErrAuth)
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return nil
		}
		kind := string(evt.Type)
		b.observer.Envelope(kind)
		received := time.Now()
		if cb, ok := denySubmission(evt); ok && b.seen.Add(evt.Request.EnvelopeID, received) {
			// Its ack says whether the denial was recorded, so it is sent
			// once the work is done, within Slack's 3 seconds.
			b.enqueueDenySubmission(*evt.Request, cb, received)
			return nil
		}
		b.ack(*evt.Request, kind, received, nil)
		if !b.seen.Add(evt.Request.EnvelopeID, received) {
			b.log.Info("duplicate envelope ignored", "envelope_type", kind, "retry_attempt", evt.Request.RetryAttempt)
			return nil
		}
		if id := eventID(evt); id != "" && !b.seen.Add("event:"+id, received) {
			// Slack retries an event until it is acked, and does not say
			// whether a retry keeps its envelope_id: the event_id does.
			b.log.Info("duplicate event ignored", "event_id", id, "retry_attempt", evt.Request.RetryAttempt)
			return nil
		}
		b.enqueueEvent(ctx, evt)
	}
	return nil
}

// ack acknowledges an envelope, with payload when it is not nil.
func (b *Bot) ack(req socketmode.Request, kind string, received time.Time, payload any) {
	var err error
	if payload != nil {
		err = b.sm.Ack(req, payload)
	} else {
		err = b.sm.Ack(req)
	}
	if err != nil {
		b.log.Warn("ack failed", "envelope_type", kind, "err", err)
		return
	}
	b.observer.Acked(kind, time.Since(received))
}

// eventID is an events_api envelope's event_id, "" for other envelopes.
func eventID(evt socketmode.Event) string {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return ""
	}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		return cb.EventID
	}
	return ""
}

func (b *Bot) enqueueEvent(ctx context.Context, evt socketmode.Event) {
	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		cmd := data
		b.enqueue(job{
			kind: "slash_command",
			run:  func(ctx context.Context) { b.slashCommand(ctx, cmd) },
			failed: func(ctx context.Context) {
				b.replyTo(ctx, internalError(cmd.Command), target{userID: cmd.UserID, channelID: cmd.ChannelID, responseURL: cmd.ResponseURL})
			},
		})
	case slack.InteractionCallback:
		cb := data
		b.enqueue(job{
			kind:   "interactive",
			run:    func(ctx context.Context) { b.interaction(ctx, cb) },
			failed: func(ctx context.Context) { b.replyTo(ctx, internalError(""), interactionTarget(cb)) },
		})
	case slackevents.EventsAPIEvent:
		ev := data
		b.enqueue(job{kind: "events_api", run: func(ctx context.Context) { b.eventsAPI(ctx, ev) }})
	}
}

// enqueue hands a job to the workers without blocking the socket loop: a
// loop that stops reading stops seeing pings, and Slack drops it.
func (b *Bot) enqueue(j job) {
	select {
	case b.jobs <- j:
	default:
		b.log.Error("work queue full; envelope dropped", "kind", j.kind, "queue", cap(b.jobs))
	}
}

func (b *Bot) runJob(ctx context.Context, j job) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("handler panicked; the bot keeps serving", "kind", j.kind, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if j.failed != nil {
				b.runFailed(ctx, j)
			}
		}
	}()
	j.run(ctx)
}

// runFailed tells the person that their work broke. A second panic here is
// only logged.
func (b *Bot) runFailed(ctx context.Context, j job) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("reporting a panic panicked", "kind", j.kind, "panic", fmt.Sprint(p))
		}
	}()
	j.failed(ctx)
}

// dialWatched dials Slack's WebSocket and records every read, so readiness
// can tell a live connection from one that went silent.
func (b *Bot) dialWatched(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	b.lastSeen.Store(time.Now().UnixNano())
	return &watchedConn{Conn: c, seen: &b.lastSeen}, nil
}

type watchedConn struct {
	net.Conn
	seen *atomic.Int64
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.seen.Store(time.Now().UnixNano())
	}
	return n, err
}

type nopObserver struct{}

func (nopObserver) Envelope(string)             {}
func (nopObserver) Acked(string, time.Duration) {}
func (nopObserver) Connection(string)           {}

// slogAdapter routes slack-go's internal log lines to slog at debug level.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Output(_ int, s string) error {
	a.l.Debug("slack-go", "msg", s)
	return nil
}
