package app_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// alertHomeOf opens user's App Home and returns the view the bot published
// for it, as a message, so slacktest.TextOf and ButtonsOf read it.
func (w *alertWorld) alertHomeOf(user string) slacktest.Message {
	w.t.Helper()
	prev, had := w.slack.HomeView(user)
	if _, err := w.slack.SendEvent(w.ctx(alertWait), user, map[string]any{"type": "app_home_opened", "tab": "home"}); err != nil {
		w.t.Fatalf("app_home_opened: %v", err)
	}
	// A second publish for the same person updates the view in place.
	v, err := w.slack.WaitForView(w.ctx(alertWait), func(v slacktest.View) bool {
		return v.Type == "home" && v.UserID == user && (!had || v.Updated > prev.Updated)
	})
	if err != nil {
		w.t.Fatalf("no App Home published for %s: %v", user, err)
	}
	var body struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(v.JSON, &body); err != nil {
		w.t.Fatalf("view %s: %v", v.ID, err)
	}
	return slacktest.Message{Blocks: body.Blocks}
}

var alertRequestID = regexp.MustCompile(`Request (R[A-Z0-9]+)`)

// TestAlertHome: App Home shows every add-on with its use, the open alerts
// and the pending requests; an approver gets Approve and Deny on each
// request, anyone else no button at all.
func TestAlertHome(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.setUsage(6, 95, 100)
	w.setUsage(3, 40, 198)
	w.start(nil)
	w.waitPost("Local Number") // an open alert to show

	d, err := w.slack.SendSlashCommand(w.ctx(alertWait), slacktest.SlashCommand{Command: "/addons", Text: "buy 3 5", UserID: alertRequester, ChannelID: alertOrdersChan})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.slack.WaitForResponse(w.ctx(alertWait), d, 1)
	if err != nil {
		t.Fatalf("no reply to /addons buy: %v", err)
	}
	match := alertRequestID.FindStringSubmatch(slacktest.TextOf(slacktest.Message{Text: rs[0].Text, Blocks: rs[0].Blocks}))
	if match == nil {
		t.Fatalf("/addons buy opened no request: %+v", rs[0])
	}
	id := match[1]
	if _, err := w.slack.WaitForMessage(w.ctx(alertWait), func(m slacktest.Message) bool {
		return m.Channel == alertOrdersChan && strings.Contains(slacktest.TextOf(m), id)
	}); err != nil {
		t.Fatalf("no request message for %s: %v", id, err)
	}

	home := w.alertHomeOf(alertApprover)
	text := slacktest.TextOf(home)
	for _, a := range w.sim.AddOns() {
		want := fmt.Sprintf("*%s*  `%d/%d`", a.Name, a.InUse, a.TotalQty)
		if !strings.Contains(text, want) {
			t.Errorf("App Home does not show %s as %q", a.Name, want)
		}
	}
	for _, want := range []string{
		"Open alerts",
		"warning: Local Number at 95/100, 5 left",
		"Pending requests (1)",
		id,
		"buy 5 × Tollfree Numbers (item 3)",
		"<@" + alertRequester + ">",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("App Home does not show %q", want)
		}
	}
	if t.Failed() {
		t.Logf("App Home:\n%s", text)
	}
	type press struct{ ActionID, Text, Value string }
	var got []press
	for _, b := range slacktest.ButtonsOf(home) {
		got = append(got, press{b.ActionID, b.Text, b.Value})
	}
	want := []press{{"request.approve", "Approve", id}, {"request.deny", "Deny", id}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("approver's App Home buttons (-want +got):\n%s", diff)
	}

	for _, user := range []string{alertOutsider, alertRequester} {
		home := w.alertHomeOf(user)
		if b := slacktest.ButtonsOf(home); len(b) != 0 {
			t.Errorf("%s is no approver and sees buttons: %+v", user, b)
		}
		if !strings.Contains(slacktest.TextOf(home), id) {
			t.Errorf("%s does not see the pending request %s", user, id)
		}
	}
	w.assertNoSecret()
}

// TestHomeNeedsChecking: a request whose outcome is unknown is listed
// under "Needs checking" in the App Home until an approver records what
// DialogTech shows.
func TestHomeNeedsChecking(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	w.start(nil)
	w.sim.InjectFault(dialog.ActionAddOnsPurchase, dialogsim.Fault{DropAfterExecute: true})
	d, err := w.slack.SendSlashCommand(w.ctx(alertWait), slacktest.SlashCommand{Command: "/addons", Text: "buy 3 5", UserID: alertRequester, ChannelID: alertOrdersChan})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.slack.WaitForResponse(w.ctx(alertWait), d, 1)
	if err != nil {
		t.Fatal(err)
	}
	match := alertRequestID.FindStringSubmatch(slacktest.TextOf(slacktest.Message{Text: rs[0].Text, Blocks: rs[0].Blocks}))
	if match == nil {
		t.Fatalf("/addons buy opened no request: %+v", rs[0])
	}
	id := match[1]
	m, err := w.slack.WaitForMessage(w.ctx(alertWait), func(m slacktest.Message) bool {
		return m.Channel == alertOrdersChan && strings.Contains(slacktest.TextOf(m), id) && len(slacktest.ButtonsOf(m)) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	w.click(alertApprover, alertOrdersChan, m.TS, "Approve")
	unknown, err := w.slack.WaitForMessage(w.ctx(alertWait), func(x slacktest.Message) bool {
		return x.TS == m.TS && strings.Contains(slacktest.TextOf(x), "Outcome unknown")
	})
	if err != nil {
		t.Fatal(err)
	}
	if text := slacktest.TextOf(w.alertHomeOf(alertApprover)); !strings.Contains(text, "Needs checking") || !strings.Contains(text, id) {
		t.Errorf("App Home does not list %s under Needs checking:\n%s", id, text)
	}
	w.click(alertApprover, alertOrdersChan, unknown.TS, "It was bought")
	if _, err := w.slack.WaitForMessage(w.ctx(alertWait), func(x slacktest.Message) bool {
		return x.TS == m.TS && strings.Contains(slacktest.TextOf(x), "Checked: bought")
	}); err != nil {
		t.Fatal(err)
	}
	if text := slacktest.TextOf(w.alertHomeOf(alertApprover)); strings.Contains(text, "Needs checking") {
		t.Errorf("App Home still lists a resolved request:\n%s", text)
	}
}
