package bot_test

import (
	"cmp"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/internal/testlog"
	"github.com/dialogbot/dialogbot/store"
)

const (
	dtAccess  = "AK-dialogbot-test"
	dtSecret  = "s3cr3t-DT-KEY-9981"
	botToken  = "xoxb-1111-2222-SECRETBOT"
	appToken  = "xapp-1-A111-3333-SECRETAPP"
	channel   = "C0ORDERS"
	requester = "U0REQUEST"
	approver  = "U0APPROVE"
	approver2 = "U0APPROV2"
	outsider  = "U0OUTSIDE"
)

// clock is a settable time source shared by the bot's parts.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time            { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration)   { c.offset.Add(int64(d)) }
func (c *clock) NowFunc() func() time.Time { return c.Now }

type options struct {
	approvers       []string
	allowSelf       bool
	workers         int
	account         func(command.Account) command.Account
	sweepInterval   time.Duration // 50ms when zero
	shutdownTimeout time.Duration // 5s when zero
	// apiURL, when set, turns the emulator's Web API URL into the one the
	// bot uses (a proxy in between).
	apiURL      func(string) string
	queueMemory int64 // the work queue's budget; the default when zero
	observer    bot.Observer
}

// world is everything one end-to-end test runs against: a Slack emulator,
// the DialogTech simulator over real HTTP, and a SQLite store on disk.
type world struct {
	t      *testing.T
	slack  *slacktest.Server
	sim    *dialogsim.Sim
	simURL string
	dbPath string
	store  store.Store
	logs   *testlog.Buffer
	clock  *clock
	opts   options
	bot    *runningBot
}

type runningBot struct {
	bot    *bot.Bot
	cancel context.CancelFunc
	done   chan error
}

func newWorld(t *testing.T, opts options) *world {
	t.Helper()
	if opts.approvers == nil {
		opts.approvers = []string{approver, approver2}
	}
	w := &world{t: t, logs: &testlog.Buffer{}, clock: &clock{}, opts: opts}
	w.slack = slacktest.NewServer(t, slacktest.WithTokens(botToken, appToken), slacktest.WithPingInterval(time.Second))
	w.sim = dialogsim.New(dialogsim.WithCredentials(dtAccess, dtSecret), dialogsim.WithSeed(7))
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.simURL = srv.URL + "/ibp_api.php"
	w.dbPath = filepath.Join(t.TempDir(), "dialogbot.db")
	w.store = w.openStore()
	// Whatever the test did, once the bot has stopped every buying call
	// DialogTech saw has its audit rows.
	t.Cleanup(func() { assertAudited(t, w) })
	// And Slack took everything the bot sent.
	t.Cleanup(func() { w.slack.CheckNoRefusals(t) })
	w.start()
	return w
}

func (w *world) openStore() store.Store {
	w.t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+w.dbPath)
	if err != nil {
		w.t.Fatalf("open store: %v", err)
	}
	w.t.Cleanup(func() { st.Close() })
	return st
}

// start runs a bot (a new process's worth of parts) on the world's store.
func (w *world) start() {
	w.t.Helper()
	log := w.logs.Logger()
	client, err := dialog.NewClient(dialog.WithCredentials(dtAccess, dtSecret), dialog.WithBaseURL(w.simURL),
		dialog.WithLogger(log), dialog.WithTimeout(5*time.Second), dialog.WithRetry(2, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		w.t.Fatal(err)
	}
	var account command.Account = client
	if w.opts.account != nil {
		account = w.opts.account(client)
	}
	approvals := approval.New(w.store, client, approval.Policy{Approvers: w.opts.approvers, AllowSelfApproval: w.opts.allowSelf, TTL: time.Hour},
		approval.WithClock(w.clock.Now), approval.WithLogger(log))
	h := command.New(account, approvals, command.WithLogger(log), command.WithClock(w.clock.Now))
	apiURL := w.slack.APIURL()
	if w.opts.apiURL != nil {
		apiURL = w.opts.apiURL(apiURL)
	}
	botOpts := []bot.Option{bot.WithLogger(log)}
	if w.opts.observer != nil {
		botOpts = append(botOpts, bot.WithObserver(w.opts.observer))
	}
	b, err := bot.New(bot.Config{BotToken: botToken, AppToken: appToken, APIURL: apiURL, Workers: w.opts.workers, SweepInterval: cmp.Or(w.opts.sweepInterval, 50*time.Millisecond), ShutdownTimeout: cmp.Or(w.opts.shutdownTimeout, 5*time.Second), QueueMemory: w.opts.queueMemory}, h, botOpts...)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rb := &runningBot{bot: b, cancel: cancel, done: make(chan error, 1)}
	go func() { rb.done <- b.Run(ctx) }()
	w.bot = rb
	w.t.Cleanup(w.stop)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := w.slack.WaitConnections(wctx, 1); err != nil {
		w.t.Fatalf("bot did not connect: %v", err)
	}
}

// stop shuts the running bot down as SIGTERM would.
func (w *world) stop() {
	if w.bot == nil {
		return
	}
	rb := w.bot
	w.bot = nil
	rb.cancel()
	select {
	case err := <-rb.done:
		if err != nil {
			w.t.Errorf("bot.Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		w.t.Error("bot did not stop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.slack.WaitConnections(ctx, 0); err != nil {
		w.t.Errorf("the stopped bot's connection stayed open: %v", err)
	}
}

func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	w.t.Cleanup(cancel)
	return ctx
}

// slash sends a slash command and waits for its ack and its first reply.
func (w *world) slash(user, text string) slacktest.Response {
	w.t.Helper()
	cmd, rest, _ := strings.Cut(text, " ")
	d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: cmd, Text: rest, UserID: user, ChannelID: channel})
	if err != nil {
		w.t.Fatalf("send %q: %v", text, err)
	}
	if _, err := w.slack.WaitAck(w.ctx(), d.EnvelopeID); err != nil {
		w.t.Fatalf("ack of %q: %v", text, err)
	}
	rs, err := w.slack.WaitForResponse(w.ctx(), d, 1)
	if err != nil {
		w.t.Fatalf("reply to %q: %v", text, err)
	}
	return rs[0]
}

var requestIDPattern = regexp.MustCompile(`Request (R[A-Z0-9]+)`)

// ask sends a buying command and returns the message of the request it
// opened.
func (w *world) ask(user, text string) slacktest.Message {
	w.t.Helper()
	r := w.slash(user, text)
	match := requestIDPattern.FindStringSubmatch(responseText(r))
	if match == nil {
		w.t.Fatalf("%q opened no request: %s", text, responseText(r))
	}
	return w.requestMessage(match[1])
}

func responseText(r slacktest.Response) string {
	return slacktest.TextOf(slacktest.Message{Text: r.Text, Blocks: r.Blocks})
}

// requestMessage waits for the approval message of a request whose text
// contains want.
func (w *world) requestMessage(want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.Channel == channel && m.ThreadTS == "" && m.EphemeralTo == "" && strings.Contains(slacktest.TextOf(m), want) && len(slacktest.ButtonsOf(m)) > 0
	})
	if err != nil {
		w.t.Fatalf("no request message containing %q: %v", want, err)
	}
	return m
}

func button(t *testing.T, m slacktest.Message, label string) slacktest.Button {
	t.Helper()
	b, ok := slacktest.FindButton(m, label)
	if !ok {
		t.Fatalf("message has no %q button: %+v", label, slacktest.ButtonsOf(m))
	}
	return b
}

// click presses a button and waits for the ack.
func (w *world) click(user string, m slacktest.Message, label string) *slacktest.Delivery {
	w.t.Helper()
	d, err := w.slack.Press(w.ctx(), user, m, label)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// ephemeral waits for an ephemeral message to user containing want.
func (w *world) ephemeral(user, want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.EphemeralTo == user && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		w.t.Fatalf("no ephemeral to %s containing %q: %v\nephemerals: %v", user, want, err, w.slack.Ephemerals(""))
	}
	return m
}

// updated waits for the message at ts to read want.
func (w *world) updated(ts, want string) slacktest.Message {
	w.t.Helper()
	_, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.TS == ts && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		cur, _ := w.slack.Message(channel, ts)
		w.t.Fatalf("message %s never read %q: %v\nnow: %s", ts, want, err, slacktest.TextOf(cur))
	}
	cur, _ := w.slack.Message(channel, ts)
	return cur
}

// requests lists every request in the store.
func (w *world) requests() []*store.Request {
	w.t.Helper()
	rs, err := w.store.ListRequests(context.Background(), "", 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func (w *world) waitState(id string, want store.State) *store.Request {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := w.store.GetRequest(context.Background(), id)
		if err == nil && r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %s: state %v (err %v), want %s", id, r, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func requestID(t *testing.T, m slacktest.Message) string {
	t.Helper()
	return button(t, m, "Approve").Value
}

func buyingCalls(sim *dialogsim.Sim) int {
	return sim.CallCount(dialog.ActionNumbersOrder) + sim.CallCount(dialog.ActionAddOnsPurchase)
}

var errPanic = errors.New("boom")
