package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/internal/testlog"
	"github.com/dialogbot/dialogbot/store"
)

const (
	dtAccess  = "AK-dialogbot-ops"
	dtSecret  = "s3cr3t-DT-OPS-7731"
	botToken  = "xoxb-4444-5555-SECRETOPSBOT"
	appToken  = "xapp-1-A444-6666-SECRETOPSAPP"
	channel   = "C0ORDERS"
	requester = "U0REQUEST"
	approver  = "U0APPROVE"
	approver2 = "U0APPROV2"
	outsider  = "U0OUTSIDE"
)

type options struct {
	env        map[string]string // settings on top of the defaults below
	maxSilence time.Duration
	pings      time.Duration // the emulator's ping interval
	// workspace, when set, prepares the emulated workspace (user groups)
	// before the bot starts.
	workspace func(*slacktest.Server)
}

// world is `dialogbot serve` as the program runs it (app.RunServe), against
// a Slack emulator and the DialogTech simulator over real HTTP, with its
// settings read the way the program reads them.
type world struct {
	t      *testing.T
	slack  *slacktest.Server
	sim    *dialogsim.Sim
	cfg    *config.Config
	dbPath string
	logs   *testlog.Buffer
	opsURL string

	cancel  context.CancelFunc
	done    chan error
	started time.Time
	// startup is from starting serve to its socket being open at Slack.
	startup time.Duration
	// pid and binary are the bot's when it runs in a process of its own.
	pid    int
	binary string
}

// newSurroundings starts Slack and DialogTech and returns the settings of a
// bot that uses them.
func newSurroundings(t *testing.T, opts options) (*world, map[string]string) {
	t.Helper()
	w := &world{t: t, logs: &testlog.Buffer{}}
	w.slack = slacktest.NewServer(t, slacktest.WithTokens(botToken, appToken), slacktest.WithPingInterval(cmpOr(opts.pings, time.Second)))
	// Once the bot has stopped, Slack took everything it sent.
	t.Cleanup(func() { w.slack.CheckNoRefusals(t) })
	if opts.workspace != nil {
		opts.workspace(w.slack)
	}
	w.sim = dialogsim.New(dialogsim.WithCredentials(dtAccess, dtSecret), dialogsim.WithSeed(7))
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.dbPath = filepath.Join(t.TempDir(), "dialogbot.db")
	settings := map[string]string{
		"SLACK_BOT_TOKEN":              botToken,
		"SLACK_APP_TOKEN":              appToken,
		"SLACK_API_URL":                w.slack.APIURL(),
		"DIALOGTECH_ACCESS_KEY":        dtAccess,
		"DIALOGTECH_SECRET_ACCESS_KEY": dtSecret,
		"DIALOGTECH_BASE_URL":          srv.URL + "/ibp_api.php",
		"APPROVERS":                    approver + "," + approver2,
		"DATABASE_URL":                 "sqlite:" + w.dbPath,
		"HTTP_ADDR":                    "", // the test's listener instead
		"SHUTDOWN_TIMEOUT":             "5s",
	}
	for k, v := range opts.env {
		settings[k] = v
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := settings[k]; return v, ok })
	if err == nil {
		err = cfg.Validate(config.ModeServe)
	}
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	w.cfg = cfg
	return w, settings
}

// newWorld runs serve in this process, logging at debug level.
func newWorld(t *testing.T, opts options) *world {
	t.Helper()
	w, _ := newSurroundings(t, opts)
	// No redacting handler: the code itself must not log a secret.
	log := w.logs.Logger()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.opsURL = "http://" + ln.Addr().String()
	runOpts := []app.RunOption{app.WithOpsListener(ln)}
	if opts.maxSilence > 0 {
		runOpts = append(runOpts, app.WithMaxSilence(opts.maxSilence))
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	w.started = time.Now()
	go func() { w.done <- app.RunServe(ctx, w.cfg, log, runOpts...) }()
	t.Cleanup(w.stop)
	w.waitConnected()
	return w
}

// waitConnected waits for the bot's socket and records how long it took.
func (w *world) waitConnected() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.slack.WaitConnections(ctx, 1); err != nil {
		w.t.Fatalf("bot did not connect: %v", err)
	}
	w.startup = time.Since(w.started)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// stop ends RunServe as SIGTERM would and checks that it returned cleanly.
func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.cancel = nil
	select {
	case err := <-w.done:
		if err != nil {
			w.t.Errorf("RunServe returned %v", err)
		}
	case <-time.After(20 * time.Second):
		w.t.Error("RunServe did not return after its context ended")
	}
}

func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	w.t.Cleanup(cancel)
	return ctx
}

// get fetches a path of the ops server.
func (w *world) get(path string) (int, string) {
	w.t.Helper()
	resp, err := http.Get(w.opsURL + path)
	if err != nil {
		w.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// waitFor polls the ops server until path answers status; it returns the
// body of that answer.
func (w *world) waitFor(path string, status int, within time.Duration) string {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, body := w.get(path)
		if got == status {
			return body
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("GET %s = %d %q for %v; want %d", path, got, body, within, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slash sends a slash command and waits for its ack and its first reply.
func (w *world) slash(user, text string) slacktest.Response {
	w.t.Helper()
	cmd, rest, _ := strings.Cut(text, " ")
	sc := slackCommand(cmd, rest)
	sc.UserID = user
	d, err := w.slack.SendSlashCommand(w.ctx(), sc)
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

// slackCommand is a slash command by the requester in the orders channel.
func slackCommand(cmd, text string) slacktest.SlashCommand {
	return slacktest.SlashCommand{Command: cmd, Text: text, UserID: requester, ChannelID: channel}
}

func responseText(r slacktest.Response) string {
	return slacktest.TextOf(slacktest.Message{Text: r.Text, Blocks: r.Blocks})
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
	m, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.Channel == channel && m.ThreadTS == "" && m.EphemeralTo == "" &&
			strings.Contains(slacktest.TextOf(m), match[1]) && len(slacktest.ButtonsOf(m)) > 0
	})
	if err != nil {
		w.t.Fatalf("no request message for %s: %v", match[1], err)
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

// deny presses Deny and submits the reason dialog.
func (w *world) deny(user string, m slacktest.Message, reason string) {
	w.t.Helper()
	w.click(user, m, "Deny")
	view, err := w.slack.WaitForView(w.ctx(), func(v slacktest.View) bool {
		return v.CallbackID == "deny_reason" && strings.Contains(v.PrivateMetadata, requestID(w.t, m))
	})
	if err != nil {
		w.t.Fatalf("no deny dialog: %v", err)
	}
	d, err := w.slack.SendViewSubmission(w.ctx(), slacktest.ViewSubmission{UserID: user, ViewID: view.ID, CallbackID: view.CallbackID,
		PrivateMetadata: view.PrivateMetadata, Values: map[string]map[string]string{"reason": {"reason_input": reason}}})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(w.ctx(), d.EnvelopeID); err != nil {
		w.t.Fatal(err)
	}
}

// updated waits for the message at ts to read want.
func (w *world) updated(ts, want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.TS == ts && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		cur, _ := w.slack.Message(channel, ts)
		w.t.Fatalf("message %s never read %q: %v\nnow: %s", ts, want, err, slacktest.TextOf(cur))
	}
	return m
}

// ephemeral waits for an ephemeral message to user containing want.
func (w *world) ephemeral(user, want string) {
	w.t.Helper()
	if _, err := w.slack.WaitForMessage(w.ctx(), func(m slacktest.Message) bool {
		return m.EphemeralTo == user && strings.Contains(slacktest.TextOf(m), want)
	}); err != nil {
		w.t.Fatalf("no ephemeral to %s containing %q: %v", user, want, err)
	}
}

func requestID(t *testing.T, m slacktest.Message) string {
	t.Helper()
	return button(t, m, "Approve").Value
}

// openStore opens the bot's database beside it, for assertions.
func (w *world) openStore() store.Store {
	w.t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+w.dbPath)
	if err != nil {
		w.t.Fatalf("open store: %v", err)
	}
	w.t.Cleanup(func() { st.Close() })
	return st
}

// waitFinal waits until request id is in a final state.
func (w *world) waitFinal(st store.Store, id string) *store.Request {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := st.GetRequest(context.Background(), id)
		if err == nil && r.State.Final() {
			return r
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %s never finished (%v, %v)", id, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
