package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/internal/testlog"
)

// The alert tests run `dialogbot serve` as app.New and (*App).Serve build
// it, with ALERT_SCHEDULE=@every 1s, against the Slack emulator and the
// DialogTech simulator over HTTP. They wait on what people see (messages,
// views) and on DialogTech reads, never on fixed sleeps, and leave every
// deadline several times what a run needs.
const (
	alertBotToken = "xoxb-7171-8282-ALERTSSECRETBOT"
	alertAppToken = "xapp-1-A717-9393-ALERTSSECRETAPP"
	alertDTAccess = "AK-dialogbot-alerts"
	alertDTSecret = "s3cr3t-DT-ALERTS-5521"

	alertChan       = "C0ALERTS"
	alertOrdersChan = "C0ALORDERS"
	alertApprover   = "U0ALAPPROVE"
	alertRequester  = "U0ALREQUEST"
	alertOutsider   = "U0ALOUTSIDE"

	alertWait = 30 * time.Second // for anything that takes a few runs
)

// alertWorld is one Slack workspace, one DialogTech account and one
// database, shared by the app instances a test starts on them.
type alertWorld struct {
	t      *testing.T
	slack  *slacktest.Server
	sim    *dialogsim.Sim
	simURL string
	dbPath string
	logs   *testlog.Buffer // the JSON log lines of the apps of a test
	apps   int
}

func newAlertWorld(t *testing.T) *alertWorld {
	t.Helper()
	w := &alertWorld{t: t, logs: &testlog.Buffer{}}
	w.slack = slacktest.NewServer(t, slacktest.WithTokens(alertBotToken, alertAppToken), slacktest.WithPingInterval(time.Second))
	t.Cleanup(func() { w.slack.CheckNoRefusals(t) })
	w.sim = dialogsim.New(dialogsim.WithCredentials(alertDTAccess, alertDTSecret), dialogsim.WithSeed(11))
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.simURL = srv.URL + "/ibp_api.php"
	w.dbPath = filepath.Join(t.TempDir(), "dialogbot.db")
	// Nothing near its limit to start with (the vendor's example account
	// has a full add-on); each test fills what it needs.
	for _, a := range w.sim.AddOns() {
		w.setUsage(a.ItemID, 0, max(a.TotalQty, 100))
	}
	return w
}

func (w *alertWorld) setUsage(itemID, inUse, total int) {
	w.t.Helper()
	if err := w.sim.SetUsage(itemID, inUse, total); err != nil {
		w.t.Fatal(err)
	}
}

// config reads and validates the world's settings, with env over them, the
// way `dialogbot serve` reads them.
func (w *alertWorld) config(env map[string]string) *config.Config {
	t := w.t
	t.Helper()
	settings := map[string]string{
		"SLACK_BOT_TOKEN":              alertBotToken,
		"SLACK_APP_TOKEN":              alertAppToken,
		"SLACK_API_URL":                w.slack.APIURL(),
		"DIALOGTECH_ACCESS_KEY":        alertDTAccess,
		"DIALOGTECH_SECRET_ACCESS_KEY": alertDTSecret,
		"DIALOGTECH_BASE_URL":          w.simURL,
		"DATABASE_URL":                 "sqlite:" + w.dbPath,
		"APPROVERS":                    alertApprover,
		"ALERT_CHANNEL":                alertChan,
		"ALERT_SCHEDULE":               "@every 1s",
		"HTTP_ADDR":                    "",
		"SHUTDOWN_TIMEOUT":             "5s",
	}
	for k, v := range env {
		settings[k] = v
	}
	cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := settings[k]; return v, ok })
	if err == nil {
		err = cfg.Validate(config.ModeServe)
	}
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	return cfg
}

// start runs one more app instance on the world until the test ends, on
// the world's settings with env over them.
func (w *alertWorld) start(env map[string]string) *app.App {
	t := w.t
	t.Helper()
	cfg := w.config(env)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, w.logs.Logger())
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	if a.Alerts == nil {
		cancel()
		a.Close()
		t.Fatal("ALERT_CHANNEL is set and the app built no alerts")
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	w.apps++
	if err := w.slack.WaitConnections(w.ctx(10*time.Second), w.apps); err != nil {
		t.Fatalf("app %d did not connect: %v", w.apps, err)
	}
	return a
}

func (w *alertWorld) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	w.t.Cleanup(cancel)
	return ctx
}

// posts are the channel messages (not thread replies) in the alert
// channel that contain want.
func (w *alertWorld) posts(want string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range w.slack.Messages(alertChan) {
		if m.ThreadTS == "" && strings.Contains(slacktest.TextOf(m), want) {
			out = append(out, m)
		}
	}
	return out
}

// waitPost waits for a channel message in the alert channel containing
// want.
func (w *alertWorld) waitPost(want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(alertWait), func(m slacktest.Message) bool {
		return m.Channel == alertChan && m.ThreadTS == "" && m.EphemeralTo == "" && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		w.t.Fatalf("no post containing %q: %v\n%s", want, err, w.channelDump())
	}
	return m
}

// replies are the thread replies under ts that contain want.
func (w *alertWorld) replies(ts, want string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range w.slack.Thread(alertChan, ts) {
		if m.ThreadTS == ts && m.TS != ts && strings.Contains(slacktest.TextOf(m), want) {
			out = append(out, m)
		}
	}
	return out
}

// waitReplies waits until the thread of ts holds n replies containing
// want, and returns them.
func (w *alertWorld) waitReplies(ts, want string, n int) []slacktest.Message {
	w.t.Helper()
	deadline := time.Now().Add(alertWait)
	for {
		if got := w.replies(ts, want); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("thread %s: %d replies containing %q, want %d within %v\n%s", ts, len(w.replies(ts, want)), want, n, alertWait, w.channelDump())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitShows waits until the message at ts reads want, in some version.
func (w *alertWorld) waitShows(ts, want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(alertWait), func(m slacktest.Message) bool {
		return m.TS == ts && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		cur, _ := w.slack.Message(alertChan, ts)
		w.t.Fatalf("message %s never read %q: %v\nnow: %s", ts, want, err, slacktest.TextOf(cur))
	}
	return m
}

// waitReads waits until DialogTech's addons.list has answered n more
// times: n more runs of the schedule while nothing else reads it.
func (w *alertWorld) waitReads(n int) {
	w.t.Helper()
	want := w.sim.CallCount(dialog.ActionAddOnsList) + n
	deadline := time.Now().Add(alertWait)
	for w.sim.CallCount(dialog.ActionAddOnsList) < want {
		if time.Now().After(deadline) {
			w.t.Fatalf("addons.list read %d times, want %d within %v", w.sim.CallCount(dialog.ActionAddOnsList), want, alertWait)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitFailedRuns waits until n more runs failed to read addons.list. Runs,
// not calls: the client tries addons.list several times within one run.
func (w *alertWorld) waitFailedRuns(n int) {
	w.t.Helper()
	const msg = "alerts: cannot read add-on usage"
	want := w.logs.Count(msg) + n
	deadline := time.Now().Add(alertWait)
	for w.logs.Count(msg) < want {
		if time.Now().After(deadline) {
			w.t.Fatalf("%d failed runs, want %d within %v", w.logs.Count(msg), want, alertWait)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// click presses a button of the message at ts, as it is now, and waits for
// the ack.
func (w *alertWorld) click(user, channel, ts, label string) {
	w.t.Helper()
	m, ok := w.slack.Message(channel, ts)
	if !ok {
		w.t.Fatalf("no message %s in %s", ts, channel)
	}
	if _, err := w.slack.Press(w.ctx(10*time.Second), user, m, label); err != nil {
		w.t.Fatal(err)
	}
}

// waitEphemeral waits for an ephemeral message to user containing want.
func (w *alertWorld) waitEphemeral(user, want string) slacktest.Message {
	w.t.Helper()
	m, err := w.slack.WaitForMessage(w.ctx(alertWait), func(m slacktest.Message) bool {
		return m.EphemeralTo == user && strings.Contains(slacktest.TextOf(m), want)
	})
	if err != nil {
		w.t.Fatalf("no ephemeral to %s containing %q: %v\n%+v", user, want, err, w.slack.Ephemerals(""))
	}
	return m
}

func (w *alertWorld) channelDump() string {
	var b strings.Builder
	for _, m := range w.slack.Messages(alertChan) {
		fmt.Fprintf(&b, "--- ts=%s thread=%s updated=%d\n%s\n", m.TS, m.ThreadTS, m.Updated, slacktest.TextOf(m))
	}
	return b.String()
}

// assertNoSecret fails if a secret shows in anything Slack was sent
// (messages, ephemerals, views, in every version kept) or in the logs.
func (w *alertWorld) assertNoSecret() {
	w.t.Helper()
	secrets := []string{alertDTSecret, alertBotToken, alertAppToken}
	var seen []string
	for _, m := range append(w.slack.Messages(""), w.slack.Ephemerals("")...) {
		seen = append(seen, m.Text+"\n"+string(m.Blocks))
	}
	for _, v := range w.slack.Views() {
		seen = append(seen, string(v.JSON))
	}
	seen = append(seen, w.logs.String())
	for _, s := range secrets {
		for _, text := range seen {
			if strings.Contains(text, s) {
				w.t.Errorf("a secret (%d chars) shows in:\n%s", len(s), strings.ReplaceAll(text, s, "<SECRET>"))
			}
		}
	}
}

// TestAlertPostsOnceAndResolves: an add-on over its threshold gets one
// message that names it with its use, however many runs see it; one at
// 50 % never alerts; use just under the threshold (inside the margin)
// changes nothing; use under threshold minus margin edits the message and
// puts one resolved note in its thread.
func TestAlertPostsOnceAndResolves(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100) // Local Number
	w.setUsage(2, 5, 10)   // Voice Mailboxes, at 50 %
	w.start(nil)

	first := w.waitPost("Local Number")
	text := slacktest.TextOf(first)
	for _, want := range []string{"95/100", "5 left", "Request more", "Snooze 1 day"} {
		if !strings.Contains(text, want) {
			t.Errorf("alert does not show %q:\n%s", want, text)
		}
	}
	w.waitReads(4)
	if got := w.slack.Messages(alertChan); len(got) != 1 {
		t.Fatalf("after 4 more runs the alert channel has %d messages, want the one alert:\n%s", len(got), w.channelDump())
	}
	if got := w.posts("Voice Mailboxes"); len(got) != 0 {
		t.Errorf("an add-on at 50%% alerted:\n%s", w.channelDump())
	}

	// Inside the margin (threshold 0.9, margin 0.05): still open, nothing said.
	w.setUsage(6, 86, 100)
	w.waitReads(3)
	if got := w.slack.Thread(alertChan, first.TS); len(got) != 1 {
		t.Fatalf("use inside the margin said something:\n%s", w.channelDump())
	}

	w.setUsage(6, 84, 100)
	w.waitShows(first.TS, "Resolved: Local Number is back to 84%")
	w.waitReplies(first.TS, "Resolved", 1)
	w.waitReads(3)
	if got := w.replies(first.TS, ""); len(got) != 1 {
		t.Errorf("thread has %d replies, want the one resolved note:\n%s", len(got), w.channelDump())
	}
	if got := w.replies(first.TS, "Resolved: Local Number is back to 84/100, 16 left."); len(got) != 1 {
		t.Errorf("no resolved note with the use:\n%s", w.channelDump())
	}
	if got := w.posts(""); len(got) != 1 {
		t.Errorf("%d channel messages, want 1:\n%s", len(got), w.channelDump())
	}
	if m, _ := w.slack.Message(alertChan, first.TS); len(slacktest.ButtonsOf(m)) != 0 {
		t.Errorf("the resolved message still has buttons: %+v", slacktest.ButtonsOf(m))
	}
	w.assertNoSecret()
}

// TestAlertZeroMarginResolvesAtThreshold: ALERT_RESOLVE_MARGIN=0 means no
// hysteresis, not the default margin: use just under the threshold
// resolves.
func TestAlertZeroMarginResolvesAtThreshold(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100)
	w.start(map[string]string{"ALERT_RESOLVE_MARGIN": "0"})
	first := w.waitPost("Local Number")
	if !strings.Contains(slacktest.TextOf(first), "*Suggested purchase*\n6") {
		// 95/(100+6) < 0.9: with no margin, 6 is enough.
		t.Errorf("with no margin the suggestion should be 6:\n%s", slacktest.TextOf(first))
	}
	w.setUsage(6, 89, 100) // inside the default margin, under the threshold
	w.waitReplies(first.TS, "Resolved: Local Number is back to 89/100", 1)
}

// TestAlertReadErrors: addons.list failing on three runs in a row raises
// one error alert, without a secret in it however many more runs fail;
// when it works again the alert resolves with one note in its thread.
func TestAlertReadErrors(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.sim.InjectFault(dialog.ActionAddOnsList, dialogsim.Fault{Status: 500})
	w.start(nil)

	alert := w.waitPost("Cannot read add-on usage")
	if failed := w.logs.Count("alerts: cannot read add-on usage"); failed < 3 {
		t.Errorf("the error alert came after %d failed runs, want 3", failed)
	}
	// The client retries addons.list within a run: a count of calls would
	// reach 3 on the first run.
	if text := slacktest.TextOf(alert); !strings.Contains(text, "failed on 3 runs in a row") {
		t.Errorf("the error alert does not count 3 runs:\n%s", text)
	}
	w.waitFailedRuns(3)
	if got := w.posts(""); len(got) != 1 {
		t.Fatalf("%d channel messages after 3 more failed runs, want the one error alert:\n%s", len(got), w.channelDump())
	}

	w.sim.ClearFaults()
	w.waitShows(alert.TS, "Resolved: add-on usage can be read again")
	w.waitReplies(alert.TS, "Add-on usage can be read again.", 1)
	w.waitReads(3)
	if got := w.replies(alert.TS, ""); len(got) != 1 {
		t.Errorf("thread has %d replies, want the one recovery note:\n%s", len(got), w.channelDump())
	}
	if got := w.posts(""); len(got) != 1 {
		t.Errorf("%d channel messages, want 1:\n%s", len(got), w.channelDump())
	}
	w.assertNoSecret()
}

var alertSuggested = regexp.MustCompile(`\*Suggested purchase\*\n(\d+)`)

// TestAlertRequestMore: Request more on an alert asks for approval, in the
// alert channel, of the quantity the alert suggests; an approver's Approve
// buys exactly that, once, and the alert then resolves.
func TestAlertRequestMore(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100)
	w.start(nil)

	alert := w.waitPost("Local Number")
	match := alertSuggested.FindStringSubmatch(slacktest.TextOf(alert))
	if match == nil {
		t.Fatalf("the alert suggests no purchase:\n%s", slacktest.TextOf(alert))
	}
	// 95/(100+12) < 0.9 - 0.05 <= 95/(100+11).
	if match[1] != "12" {
		t.Errorf("suggested %s, want 12", match[1])
	}
	qty := match[1]

	w.click(alertRequester, alertChan, alert.TS, "Request more")
	req := w.waitPost("Approval needed")
	want := "buy " + qty + " × Local Number (item 6)"
	if text := slacktest.TextOf(req); !strings.Contains(text, want) || !strings.Contains(text, "<@"+alertRequester+">") {
		t.Errorf("request message does not read %q by the requester:\n%s", want, text)
	}
	w.waitEphemeral(alertRequester, "Asked for approval: "+want)
	if n := w.sim.CallCount(dialog.ActionAddOnsPurchase); n != 0 {
		t.Fatalf("%d purchases before approval", n)
	}

	w.click(alertApprover, alertChan, req.TS, "Approve")
	w.waitShows(req.TS, "Approved and bought")
	// The purchase raised total_qty to 112: 95/112 is under 85 %.
	w.waitReplies(alert.TS, "Resolved: Local Number is back to 95/112", 1)

	var purchases []dialogsim.Call
	for _, c := range w.sim.Calls() {
		if c.Action == dialog.ActionAddOnsPurchase {
			purchases = append(purchases, c)
		}
	}
	if len(purchases) != 1 {
		t.Fatalf("%d addons.purchase calls, want 1: %+v", len(purchases), purchases)
	}
	if got := purchases[0].Params.Get("item_id") + "/" + purchases[0].Params.Get("qty"); got != "6/"+qty {
		t.Errorf("bought item/qty %s, want 6/%s", got, qty)
	}
	w.assertNoSecret()
}

// TestAlertSnooze: with a short repeat interval an open alert is brought
// up again in its thread; Snooze 1 day stops that for the snoozed alert
// (while another open alert keeps repeating) and the message says who
// snoozed it.
func TestAlertSnooze(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100) // Local Number: snoozed
	w.setUsage(5, 95, 100) // Basic Voice Broadcast Ports: the control
	w.start(map[string]string{"ALERT_REPEAT_INTERVAL": "2s"})

	snoozed := w.waitPost("Local Number")
	control := w.waitPost("Basic Voice Broadcast Ports")
	w.waitReplies(snoozed.TS, "Still open: Local Number", 1)
	w.waitReplies(control.TS, "Still open: Basic Voice Broadcast Ports", 1)

	w.click(alertRequester, alertChan, snoozed.TS, "Snooze 1 day")
	w.waitEphemeral(alertRequester, "Snoozed Local Number until")
	w.waitShows(snoozed.TS, "Snoozed by <@"+alertRequester+"> until")

	// A run in flight when the snooze landed may still repeat once. Two
	// more control repeats come from two runs, each 2s apart: the second
	// run started after that one ended.
	n := len(w.replies(control.TS, "Still open"))
	w.waitReplies(control.TS, "Still open", n+2)
	before := len(w.replies(snoozed.TS, "Still open"))

	w.waitReplies(control.TS, "Still open", n+4)
	if after := len(w.replies(snoozed.TS, "Still open")); after != before {
		t.Errorf("the snoozed alert repeated %d times while the control repeated twice:\n%s", after-before, w.channelDump())
	}
	cur, _ := w.slack.Message(alertChan, snoozed.TS)
	if text := slacktest.TextOf(cur); !strings.Contains(text, "Snoozed by <@"+alertRequester+">") {
		t.Errorf("the snoozed message no longer says who snoozed it:\n%s", text)
	}
	if got := w.posts(""); len(got) != 2 {
		t.Errorf("%d channel messages, want the 2 alerts:\n%s", len(got), w.channelDump())
	}

	// The other Snooze button of the same block works too: Slack takes the
	// message only because the two have different action_ids.
	w.click(alertRequester, alertChan, control.TS, "Snooze 7 days")
	w.waitEphemeral(alertRequester, "Snoozed Basic Voice Broadcast Ports until")
	w.waitShows(control.TS, "Snoozed by <@"+alertRequester+"> until")
	cur, _ = w.slack.Message(alertChan, control.TS)
	week := time.Now().Add(7 * 24 * time.Hour).UTC().Format("Mon 2 Jan")
	if text := slacktest.TextOf(cur); !strings.Contains(text, week) {
		t.Errorf("Snooze 7 days does not snooze until %s:\n%s", week, text)
	}
}

// TestAlertTwoRunnersOneStore: two instances on one SQLite database, on the
// same schedule, post one message per episode and one resolved note.
func TestAlertTwoRunnersOneStore(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.start(nil)
	w.start(nil)

	w.setUsage(6, 95, 100)
	first := w.waitPost("Local Number")
	w.waitReads(4)
	if got := w.posts(""); len(got) != 1 {
		t.Fatalf("%d channel messages for one episode, want 1:\n%s", len(got), w.channelDump())
	}

	w.setUsage(6, 50, 100)
	w.waitReplies(first.TS, "Resolved", 1)
	w.waitReads(4)
	if got := w.replies(first.TS, ""); len(got) != 1 {
		t.Fatalf("thread has %d replies, want the one resolved note:\n%s", len(got), w.channelDump())
	}

	// A second episode: one more message.
	w.setUsage(6, 96, 100)
	deadline := time.Now().Add(alertWait)
	for len(w.posts("Local Number")) < 2 && time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond)
	}
	w.waitReads(4)
	if got := w.posts("Local Number"); len(got) != 2 {
		t.Fatalf("%d channel messages for two episodes, want 2:\n%s", len(got), w.channelDump())
	}
	if got := w.slack.Messages(alertChan); len(got) != 3 {
		t.Errorf("%d messages in all, want 2 alerts and 1 resolved note:\n%s", len(got), w.channelDump())
	}
}

// TestAlertsAllAtOnce: every add-on nears its limit in the same run, and
// Slack paces the alert channel at one post a second. Each add-on gets
// its one alert within seconds, not after a retry minutes later.
func TestAlertsAllAtOnce(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.slack.SetChannelRate(1, time.Second)
	addOns := w.sim.AddOns()
	for _, a := range addOns {
		w.setUsage(a.ItemID, 95, 100)
	}
	if len(addOns) < 4 {
		t.Fatalf("the simulator has %d add-ons; the test needs a burst", len(addOns))
	}
	w.start(nil)
	for _, a := range addOns {
		w.waitPost("*" + a.Name + "*") // its header: "Local Number" is also in "Canadian Local Number"
	}
	w.waitReads(2)
	for _, a := range addOns {
		if got := w.posts("*" + a.Name + "*"); len(got) != 1 {
			t.Errorf("%s: %d alerts, want 1:\n%s", a.Name, len(got), w.channelDump())
		}
	}
	limited := w.slack.RateLimited("chat.postMessage")
	if limited == 0 {
		t.Error("Slack paced no post: the test did not test the pace")
	}
	t.Logf("%d alerts through a channel paced at one a second; %d answers 429", len(addOns), limited)
}
