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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Config is what the transport needs to run.
type Config struct {
	BotToken string
	AppToken string
	APIURL   string // Slack Web API base, ending in "/"
	Workers  int    // handler pool size
	// QueueMemory bounds the work acked and waiting for a worker, in bytes
	// (see queueMemory for the default). Past it, a person is told that
	// dialogbot is busy and nothing was done.
	QueueMemory     int64
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
	// Busy counts an envelope acked but not run because the work queue was
	// at its budget; told says whether the person was sent the busy notice.
	Busy(kind string, told bool)
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
	jobs     *workQueue
	// notices carries the busy notices to the one goroutine that sends
	// them, so the socket loop never waits on Slack.
	notices *workQueue

	groupsChanged GroupsChanged
	identity      *Identity // from Start; nil: Run asks auth.test
	// early are the socket's events Start read while it waited for hello;
	// Run handles them first.
	early        []socketmode.Event
	helloWait    time.Duration
	startTimeout time.Duration
	// opens watches the socket's apps.connections.open calls (Start).
	opens *openWatch

	// The Socket Mode connection, once Connect started it.
	connectOnce sync.Once
	stopSocket  context.CancelFunc
	socketErr   chan error

	connected atomic.Bool
	lastSeen  atomic.Int64 // unix nanos of the last byte read from Slack
	botUserID atomic.Value // string
}

// job is one piece of work, holding only the fields of the envelope the
// work needs (not the envelope), so that a queued job is small.
type job struct {
	kind  string // the envelope type, as the observer is told it
	bytes int64  // what the job holds, for the queue's budget
	// work is what to do: a *slashJob, *clickJob or *denyJob, a homeJob, a
	// *groupsJob or a busy notice's *target; nil for kinds that need
	// nothing (sweep, remind). One field, not one per kind, keeps a queue
	// slot small.
	work any
}

// homeJob is a user whose App Home tab to publish.
type homeJob string

func (j job) slash() *slashJob   { w, _ := j.work.(*slashJob); return w }
func (j job) click() *clickJob   { w, _ := j.work.(*clickJob); return w }
func (j job) deny() *denyJob     { w, _ := j.work.(*denyJob); return w }
func (j job) groups() *groupsJob { w, _ := j.work.(*groupsJob); return w }
func (j job) busy() *target      { w, _ := j.work.(*target); return w }
func (j job) home() string       { w, _ := j.work.(homeJob); return string(w) }

// slashJob is a slash command as its work needs it. Its fields share one
// string, so that a queued command is two small allocations, not eight.
type slashJob struct {
	fields string
	ends   [slashFields]int32 // where each field ends in fields
}

// The fields of a slashJob, in order.
const (
	slashCommand = iota
	slashText
	slashUser
	slashChannel
	slashResponseURL
	slashTrigger
	slashFields
)

func newSlashJob(d slack.SlashCommand) *slashJob {
	parts := [slashFields]string{d.Command, d.Text, d.UserID, d.ChannelID, d.ResponseURL, d.TriggerID}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	sj := &slashJob{}
	for i, p := range parts {
		b.WriteString(p)
		sj.ends[i] = int32(b.Len())
	}
	sj.fields = b.String()
	return sj
}

func (s *slashJob) field(i int) string {
	var start int32
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.fields[start:s.ends[i]]
}

// invocation is the command for the command layer.
func (s *slashJob) invocation() command.Invocation {
	inv := command.Invocation{Command: s.field(slashCommand), Text: s.field(slashText), UserID: s.field(slashUser), ChannelID: s.field(slashChannel)}
	if t := s.field(slashTrigger); t != "" {
		// The same delivery, to whichever replica, opens one request.
		inv.Key = "slash:" + t
	}
	return inv
}

// target is where the command's replies go.
func (s *slashJob) target() target {
	return target{userID: s.field(slashUser), channelID: s.field(slashChannel), responseURL: s.field(slashResponseURL), triggerID: s.field(slashTrigger)}
}

// clickJob is a block_actions payload: who pressed what, on which message.
type clickJob struct {
	to        target
	messageTS string // "" for an ephemeral message, which cannot be edited
	actions   []pressed
}

type pressed struct{ actionID, value string }

type groupsJob struct {
	group   string
	removed []string
}

// denyJob is the submission of the deny-reason dialog.
type denyJob struct {
	requestID, channelID, userID, reason string
	// ack answers the submission (once); received is when it was read.
	ack      func(payload any)
	received time.Time
}

// jobOverhead is what a queued job costs beyond its strings: the job, the
// pointed-to struct and the string headers, rounded up.
const jobOverhead = 256

func (j job) size() int64 { return j.bytes }

// sized sets j's size from the strings it holds.
func sized(j job, strs ...string) job {
	n := int64(jobOverhead)
	for _, s := range strs {
		n += int64(len(s))
	}
	j.bytes = n
	return j
}

// target is where a busy notice for j goes; ok is false when there is
// nobody to tell.
func (j job) target() (t target, ok bool) {
	switch {
	case j.slash() != nil:
		t := j.slash().target()
		t.triggerID = ""
		return t, true
	case j.click() != nil:
		return target{userID: j.click().to.userID, channelID: j.click().to.channelID}, true
	case j.deny() != nil:
		return target{userID: j.deny().userID, channelID: j.deny().channelID}, true
	}
	return target{}, false
}

// Option configures a Bot.
type Option func(*Bot)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(b *Bot) { b.log = l } }

// WithHome publishes an App Home tab when a user opens it.
func WithHome(v HomeView) Option { return func(b *Bot) { b.home = v } }

// WithSweepInterval sets how often expired and stale requests are closed,
// instead of Config.SweepInterval (tests).
func WithSweepInterval(d time.Duration) Option { return func(b *Bot) { b.cfg.SweepInterval = d } }

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
	cfg.QueueMemory = queueMemory(cfg.QueueMemory)
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	b := &Bot{cfg: cfg, h: h, log: slog.Default(), seen: newEnvelopeSet(4096, 15*time.Minute), observer: nopObserver{}, helloWait: helloWait, startTimeout: startTimeout}
	for _, o := range opts {
		o(b)
	}
	// One client, with a bound on every call, for the Web API and for
	// response_url posts.
	// Every worker may post to Slack at once; the default transport keeps
	// two idle connections a host and closes the rest, so a burst opened
	// (and, over TLS, shook hands on) a connection for most replies.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Workers + 2
	b.http = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	// Only 429s are made again, after Slack's Retry-After: a call that
	// failed any other way may have been carried out, and a post must not
	// be made twice.
	apiOpts := func(c doer) []slack.Option {
		o := []slack.Option{slack.OptionAppLevelToken(cfg.AppToken), slack.OptionHTTPClient(c)}
		if cfg.APIURL != "" {
			o = append(o, slack.OptionAPIURL(cfg.APIURL))
		}
		return o
	}
	// The bot's calls go through the pacer, which also waits out each
	// channel's pace for chat.postMessage.
	b.api = slack.New(cfg.BotToken, apiOpts(newPacer(b.http))...)
	// The socket's apps.connections.open goes through a client of its own,
	// whose first answer Start reads as Slack's word on the app token.
	b.opens = newOpenWatch(b.http)
	dialer := &websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext:   b.dialWatched,
	}
	// After the HTTP client: OptionRetry wraps the client set so far.
	b.sm = socketmode.New(slack.New(cfg.BotToken, append(apiOpts(b.opens), slack.OptionRetry(3))...), socketmode.OptionDialer(dialer), socketmode.OptionLog(slogAdapter{b.log}))
	b.jobs = newWorkQueue(cfg.QueueMemory)
	// A notice is a small job; its queue may hold a quarter as many bytes
	// again.
	b.notices = newWorkQueue(max(cfg.QueueMemory/4, 1<<16))
	b.botUserID.Store("")
	return b, nil
}

// Connect opens the Socket Mode connection now, before Run, so that it
// opens while the rest of the program starts.
// Envelopes that arrive before Run wait in the client; Run acks them. Run
// calls it itself when nobody did; Disconnect ends a connection Run never
// took over.
func (b *Bot) Connect(ctx context.Context) {
	b.connectOnce.Do(func() {
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		b.stopSocket, b.socketErr = stop, make(chan error, 1)
		go func() { b.socketErr <- b.sm.RunContext(runCtx) }()
	})
}

// Disconnect closes a connection Connect opened, when Run will not run.
func (b *Bot) Disconnect() {
	if b.stopSocket != nil {
		b.stopSocket()
	}
}

// Use sets the command handler and further options of a Bot made with a
// nil handler (to Connect early). Call it before Run.
func (b *Bot) Use(h *command.Handler, opts ...Option) {
	b.h = h
	for _, o := range opts {
		o(b)
	}
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
	who := b.identity
	if who == nil {
		authCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		res, err := b.api.AuthTestContext(authCtx)
		cancel()
		if err != nil {
			return authError("SLACK_BOT_TOKEN", err)
		}
		who = &Identity{UserID: res.UserID, Team: res.Team}
	}
	b.botUserID.Store(who.UserID)
	b.log.InfoContext(ctx, "slack auth ok", "team", who.Team, "bot_user_id", who.UserID)

	b.Connect(ctx)
	stopSocket, socketErr := b.stopSocket, b.socketErr
	defer stopSocket()

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Go(func() {
			for {
				j, ok := b.jobs.pop()
				if !ok {
					return
				}
				b.runJob(workCtx, j)
			}
		})
	}
	workers.Go(func() {
		for {
			j, ok := b.notices.pop()
			if !ok {
				return
			}
			b.replyTo(workCtx, busyMessage(), *j.busy())
		}
	})
	// The sweep has a goroutine of its own: it never waits in the queue,
	// so a full queue cannot drop it.
	stopSweep := make(chan struct{})
	workers.Go(func() {
		tick := time.NewTicker(b.cfg.SweepInterval)
		defer tick.Stop()
		for {
			select {
			case <-stopSweep:
				return
			case <-tick.C:
				b.runJob(workCtx, job{kind: "sweep"})
				b.runJob(workCtx, job{kind: "remind"})
			}
		}
	})

	// What the socket said while Start waited for hello comes first.
	var runErr error
	early := b.early
	b.early = nil
	for _, evt := range early {
		if runErr = b.dispatch(ctx, evt); runErr != nil {
			break
		}
	}
loop:
	for runErr == nil {
		select {
		case <-ctx.Done():
			break loop
		case err := <-socketErr:
			if errors.Is(err, context.Canceled) {
				break loop
			}
			runErr = socketError(err)
			break loop
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
	close(stopSweep)
	b.jobs.close()
	b.notices.close()
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

// errInvalidAuthEvent is the error of slack-go's invalid_auth event: its
// apps.connections.open was answered 404.
func errInvalidAuthEvent() error {
	return fmt.Errorf("SLACK_APP_TOKEN: %w (invalid_auth)", ErrAuth)
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
		return errInvalidAuthEvent()
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
	j, ok := parseJob(string(evt.Type), evt.Data)
	if ok {
		b.enqueue(ctx, j)
	}
}

// parseJob keeps of an envelope what its work needs; ok is false when
// there is no work (an event or an interaction dialogbot does not handle).
func parseJob(kind string, data any) (job, bool) {
	switch d := data.(type) {
	case slack.SlashCommand:
		sj := newSlashJob(d)
		return sized(job{kind: kind, work: sj}, sj.fields), true
	case slack.InteractionCallback:
		switch d.Type {
		case slack.InteractionTypeBlockActions:
			cj := &clickJob{to: interactionTarget(d)}
			cj.messageTS = d.Container.MessageTs
			if cj.messageTS == "" {
				cj.messageTS = d.Message.Timestamp
			}
			if d.Container.IsEphemeral {
				// A button on a reply only its reader sees (the
				// requester's Cancel): that message is not the
				// request's and cannot be edited.
				cj.messageTS = ""
			}
			strs := []string{cj.to.userID, cj.to.channelID, cj.to.triggerID, cj.messageTS}
			for _, a := range d.ActionCallback.BlockActions {
				cj.actions = append(cj.actions, pressed{actionID: a.ActionID, value: a.Value})
				strs = append(strs, a.ActionID, a.Value)
			}
			j := sized(job{kind: kind, work: cj}, strs...)
			j.bytes += int64(len(cj.actions)) * 32
			return j, true
		case slack.InteractionTypeViewSubmission:
			if d.View.CallbackID != denyCallbackID {
				return job{}, false
			}
			id, channel, _ := strings.Cut(d.View.PrivateMetadata, "|")
			dj := &denyJob{requestID: id, channelID: channel, userID: d.User.ID}
			if d.View.State != nil {
				dj.reason = d.View.State.Values[denyBlockID][denyActionID].Value
			}
			return sized(job{kind: kind, work: dj}, dj.requestID, dj.channelID, dj.userID, dj.reason), true
		}
	case slackevents.EventsAPIEvent:
		if d.Type != slackevents.CallbackEvent {
			return job{}, false
		}
		switch e := d.InnerEvent.Data.(type) {
		case *slackevents.AppHomeOpenedEvent:
			if e.Tab == "home" {
				return sized(job{kind: kind, work: homeJob(e.User)}, e.User), true
			}
		case *slackevents.SubteamMembersChangedEvent:
			j := sized(job{kind: kind, work: &groupsJob{group: e.SubteamID, removed: e.RemovedUsers}}, append([]string{e.SubteamID}, e.RemovedUsers...)...)
			j.bytes += int64(len(e.RemovedUsers)) * 16
			return j, true
		}
	}
	return job{}, false
}

// enqueue hands a job to the workers without blocking the socket loop: a
// loop that stops reading stops seeing pings, and Slack drops it. When the
// queue is at its budget the job is not run, and the person is told so.
func (b *Bot) enqueue(ctx context.Context, j job) {
	if b.jobs.push(j) {
		return
	}
	t, ok := j.target()
	told := ok && b.notices.push(job{kind: j.kind, bytes: jobOverhead + int64(len(t.responseURL)+len(t.userID)+len(t.channelID)), work: &t})
	b.observer.Busy(j.kind, told)
	n, bytes := b.jobs.len()
	b.log.WarnContext(ctx, "work queue full; envelope not run", "envelope_type", j.kind, "user_id", t.userID, "told", told, "queued", n, "queued_bytes", bytes, "budget", b.cfg.QueueMemory)
}

// busyText is what a person hears when dialogbot cannot take their work.
const busyText = "dialogbot is busy, nothing was done, try again in a moment."

func busyMessage() reply.Message {
	return reply.Message{Text: busyText, Blocks: []reply.Block{reply.Section{Text: busyText}}}
}

// run does a job's work.
func (b *Bot) run(ctx context.Context, j job) {
	switch {
	case j.slash() != nil:
		b.slashCommand(ctx, j.slash())
	case j.click() != nil:
		b.blockActions(ctx, j.click())
	case j.deny() != nil:
		b.denySubmitted(ctx, j.deny())
	case j.home() != "":
		b.publishHome(ctx, j.home())
	case j.groups() != nil:
		if b.groupsChanged != nil {
			b.groupsChanged(ctx, j.groups().group, j.groups().removed)
		}
	case j.kind == "sweep":
		b.apply(ctx, b.h.Sweep(ctx), target{})
	case j.kind == "remind":
		b.h.Remind(ctx, NewPoster(b.api))
	}
}

func (b *Bot) runJob(ctx context.Context, j job) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("handler panicked; the bot keeps serving", "kind", j.kind, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if j.deny() != nil && j.deny().ack != nil {
				j.deny().ack(submitErrors("Something went wrong inside dialogbot; nothing was denied. Try again in a moment."))
			} else if t, ok := j.target(); ok {
				b.runFailed(ctx, j, t)
			}
		}
	}()
	b.run(ctx, j)
}

// runFailed tells the person that their work broke. A second panic here is
// only logged.
func (b *Bot) runFailed(ctx context.Context, j job, t target) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("reporting a panic panicked", "kind", j.kind, "panic", fmt.Sprint(p))
		}
	}()
	cmd := ""
	if j.slash() != nil {
		cmd = j.slash().field(slashCommand)
	}
	b.replyTo(ctx, internalError(cmd), t)
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
func (nopObserver) Busy(string, bool)           {}

// slogAdapter routes slack-go's internal log lines to slog at debug level.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Output(_ int, s string) error {
	a.l.Debug("slack-go", "msg", s)
	return nil
}
