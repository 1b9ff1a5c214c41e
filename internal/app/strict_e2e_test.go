package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// homeOf opens user's App Home and returns the view the bot published, as
// a message, so slacktest.TextOf and ButtonsOf read it.
func (w *world) homeOf(user string) slacktest.Message {
	w.t.Helper()
	prev, had := w.slack.HomeView(user)
	if _, err := w.slack.SendEvent(w.ctx(), user, map[string]any{"type": "app_home_opened", "tab": "home"}); err != nil {
		w.t.Fatalf("app_home_opened: %v", err)
	}
	v, err := w.slack.WaitForView(w.ctx(), func(v slacktest.View) bool {
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

// TestReconnectAfterDisconnect: Slack asks for a refresh; slack-go handles
// the disconnect itself, so the bot sees only connecting, connected and
// hello. While the new socket waits for its hello the bot is not ready and
// dialogbot_socket_connected is 0; after it, both show the reconnect, the
// old socket is closed by Slack, and the bot answers on the new one.
func TestReconnectAfterDisconnect(t *testing.T) {
	w := newWorld(t, options{})
	w.waitFor("/readyz", http.StatusOK, 5*time.Second)
	old := w.slack.ConnIDs()

	w.slack.HoldHello()
	w.slack.Disconnect("refresh_requested")
	w.waitFor("/readyz", http.StatusServiceUnavailable, 10*time.Second)
	if got := metricValue(t, w.metrics(), "dialogbot_socket_connected"); got != 0 {
		t.Errorf("dialogbot_socket_connected = %v while the new socket waits for hello", got)
	}

	w.slack.ReleaseHello()
	if err := w.slack.WaitConnections(w.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	w.waitFor("/readyz", http.StatusOK, 10*time.Second)
	body := w.metrics()
	if got := metricValue(t, body, "dialogbot_socket_connected"); got != 1 {
		t.Errorf("dialogbot_socket_connected = %v after the reconnect", got)
	}
	if got := metricValue(t, body, "dialogbot_socket_reconnects_total"); got != 1 {
		t.Errorf("dialogbot_socket_reconnects_total = %v, want 1", got)
	}
	now := w.slack.ConnIDs()
	if len(now) != 1 || now[0] == old[0] {
		t.Fatalf("connections %v after the refresh; before %v", now, old)
	}
	d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/addons", UserID: requester, ChannelID: channel, Conn: now[0]})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.slack.WaitForResponse(w.ctx(), d, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := slacktest.TextOf(slacktest.Message{Text: rs[0].Text, Blocks: rs[0].Blocks}); !strings.Contains(got, "Local Number") {
		t.Errorf("/addons on the new connection: %q", got)
	}
}

var pendingMore = regexp.MustCompile(`…and (\d+) more requests? not shown`)

// TestHomeSixtyPending: with 60 requests waiting, the App Home (within
// Slack's 100 blocks) shows as many as fit, each with its Approve and Deny
// for an approver, counts all 60, and says how many it leaves out; a
// non-approver sees the same list without buttons.
func TestHomeSixtyPending(t *testing.T) {
	w := newWorld(t, options{})
	// Distinct asks: an identical one would be the same request.
	for i := range 60 {
		w.ask(requester, fmt.Sprintf("/numbers order %s %d", []string{"312", "773", "847"}[i/25], i%25+1))
	}

	for _, user := range []string{approver, requester} {
		home := w.homeOf(user)
		text := slacktest.TextOf(home)
		if !strings.Contains(text, "Pending requests (60)") {
			t.Errorf("%s's App Home does not count 60 pending requests:\n%s", user, text)
		}
		shown := len(regexp.MustCompile(`\*R[A-Z0-9]{11}\*`).FindAllString(text, -1))
		m := pendingMore.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("%s's App Home does not say how many requests it leaves out:\n%s", user, text)
		}
		var more int
		fmt.Sscan(m[1], &more)
		if shown+more != 60 || shown == 0 {
			t.Errorf("%s's App Home shows %d requests and says %d more; want 60 in all", user, shown, more)
		}
		approves, denies := 0, 0
		for _, b := range slacktest.ButtonsOf(home) {
			switch b.Text {
			case "Approve":
				approves++
			case "Deny":
				denies++
			}
		}
		want := shown
		if user == requester {
			want = 0 // not an approver
		}
		if approves != want || denies != want {
			t.Errorf("%s's App Home: %d Approve and %d Deny for %d requests shown; want %d each", user, approves, denies, shown, want)
		}
		if !strings.Contains(text, "Local Number") {
			t.Errorf("%s's App Home lost the add-ons", user)
		}
	}
}

// TestEventRetryNewEnvelope: an event Slack retries under a new
// envelope_id runs once, found by its event_id.
func TestEventRetryNewEnvelope(t *testing.T) {
	w := newWorld(t, options{})
	d, err := w.slack.SendEvent(w.ctx(), approver, map[string]any{"type": "app_home_opened", "tab": "home"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitForCall(w.ctx(), "views.publish", 1); err != nil {
		t.Fatal(err)
	}
	retry, err := w.slack.RedeliverEvent(w.ctx(), d)
	if err != nil {
		t.Fatal(err)
	}
	if retry.EnvelopeID == d.EnvelopeID || retry.RetryAttempt != 1 {
		t.Fatalf("retry %+v of %+v", retry, d)
	}
	if _, err := w.slack.WaitAck(w.ctx(), retry.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	w.stop()
	if n := len(w.slack.Calls("views.publish")); n != 1 {
		t.Errorf("%d views.publish calls for one event delivered twice, want 1", n)
	}
}
