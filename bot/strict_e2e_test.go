package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// denyDialog waits for the deny dialog of the latest Deny click.
func (w *world) denyDialog(n int) slacktest.View {
	w.t.Helper()
	var views []slacktest.View
	deadline := time.Now().Add(10 * time.Second)
	for {
		views = views[:0]
		for _, v := range w.slack.Views() {
			if v.CallbackID == "deny_reason" {
				views = append(views, v)
			}
		}
		if len(views) >= n {
			return views[n-1]
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d deny dialogs, want %d", len(views), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// submitDeny submits the deny dialog v with reason and waits for the ack.
func (w *world) submitDeny(v slacktest.View, reason string) slacktest.Ack {
	w.t.Helper()
	d, err := w.slack.SendViewSubmission(w.ctx(), slacktest.ViewSubmission{UserID: v.UserID, ViewID: v.ID,
		Values: map[string]map[string]string{"reason": {"reason_input": reason}}})
	if err != nil {
		w.t.Fatal(err)
	}
	ack, err := w.slack.WaitAck(w.ctx(), d.EnvelopeID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ack
}

// TestDenyDeadTrigger: a Deny click whose trigger died before the dialog
// could open (it waited in a queue, Slack answered 429 until it was too
// late) decides nothing; the approver is told to press Deny again, and
// that works.
func TestDenyDeadTrigger(t *testing.T) {
	for _, fault := range []string{"expired trigger", "rate limited"} {
		t.Run(fault, func(t *testing.T) {
			w := newWorld(t, options{})
			m := w.ask(requester, "/numbers order 312 2")
			id := requestID(t, m)
			switch fault {
			case "expired trigger":
				w.slack.AllowRefusals("expired_trigger_id")
				w.slack.SetTriggerTTL(0)
			case "rate limited":
				// Every try of the bot's (one and three retries, a second
				// apart) is refused; by then the trigger is dead anyway.
				w.slack.RateLimit("views.open", 10, time.Millisecond)
				w.slack.AllowRefusals("expired_trigger_id")
			}
			w.click(approver, m, "Deny")
			w.ephemeral(approver, "Press Deny again")
			if r := w.waitState(id, store.StatePending); r.DecidedBy != "" {
				t.Errorf("request decided by %s after a dialog that never opened", r.DecidedBy)
			}
			if cur, _ := w.slack.Message(channel, m.TS); cur.Updated != 0 {
				t.Errorf("request message edited %d times: %s", cur.Updated, slacktest.TextOf(cur))
			}

			w.slack.RateLimit("views.open", 0, 0)
			w.slack.SetTriggerTTL(-1)
			w.click(approver, m, "Deny")
			v := w.denyDialog(1)
			if ack := w.submitDeny(v, "not now"); ack.Payload != nil {
				t.Errorf("successful deny acked with %s", ack.Payload)
			}
			w.waitState(id, store.StateDenied)
			w.updated(m.TS, "Denied")
		})
	}
}

// TestDenySubmitFails: a denial that cannot be recorded (the request was
// cancelled while the dialog was open) keeps the dialog open with the
// reason under the field; a denial that is recorded closes it.
func TestDenySubmitFails(t *testing.T) {
	w := newWorld(t, options{})
	m := w.ask(requester, "/numbers order 312 2")
	id := requestID(t, m)
	w.click(approver, m, "Deny")
	v := w.denyDialog(1)
	w.slash(requester, "/addons cancel "+id)
	w.waitState(id, store.StateCancelled)

	ack := w.submitDeny(v, "too late")
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) {
		t.Fatalf("failed deny acked with %s, want response_action errors", ack.Payload)
	}
	got, err := w.slack.WaitForView(w.ctx(), func(x slacktest.View) bool { return x.ID == v.ID && x.Errors != nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.Closed || !strings.Contains(got.Errors["reason"], "cancelled") {
		t.Errorf("dialog closed=%v errors=%v; want it open saying the request was cancelled", got.Closed, got.Errors)
	}
	if r := w.waitState(id, store.StateCancelled); r.Reason != "" {
		t.Errorf("cancelled request got reason %q", r.Reason)
	}

	// A recorded denial closes its dialog.
	m2 := w.ask(requester, "/numbers order 312 3")
	w.click(approver, m2, "Deny")
	v2 := w.denyDialog(2)
	w.submitDeny(v2, "")
	if _, err := w.slack.WaitForView(w.ctx(), func(x slacktest.View) bool { return x.ID == v2.ID && x.Closed }); err != nil {
		t.Errorf("recorded denial left its dialog open: %v", err)
	}
	w.updated(m2.TS, "Denied")
}

// TestUnpostedRequestOneReply: a request whose message Slack refused gets
// one reply, saying it was withdrawn; no "Asked for approval" with a
// Cancel button for a request that no longer exists. A private channel the
// bot cannot see answers channel_not_found, with the same reply.
func TestUnpostedRequestOneReply(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private=%v", private), func(t *testing.T) {
			w := newWorld(t, options{})
			if private {
				w.slack.SetPrivate(channel)
			}
			w.slack.RemoveBot(channel)
			d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/numbers", Text: "order 312 2", UserID: requester, ChannelID: channel})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.slack.WaitForResponse(w.ctx(), d, 1); err != nil {
				t.Fatal(err)
			}
			want := "not_in_channel"
			if private {
				want = "channel_not_found"
			}
			if calls := w.slack.Calls("chat.postMessage"); len(calls) != 1 || calls[0].Error != want {
				t.Fatalf("chat.postMessage calls %+v, want one refused with %s", calls, want)
			}
			w.stop()
			rs := w.slack.ResponsesFor(d)
			if len(rs) != 1 {
				var texts []string
				for _, r := range rs {
					texts = append(texts, responseText(r))
				}
				t.Fatalf("%d replies to an unposted request, want 1: %q", len(texts), texts)
			}
			text := responseText(rs[0])
			if !strings.Contains(text, "withdrawn") || strings.Contains(text, "Asked for approval") {
				t.Errorf("reply: %q", text)
			}
			if bs := slacktest.ButtonsOf(slacktest.Message{Blocks: rs[0].Blocks}); len(bs) != 0 {
				t.Errorf("reply has buttons %+v for a withdrawn request", bs)
			}
		})
	}
}

// TestAddOnsHundred: /addons with 100 add-ons lists every one of them and
// the "Buy more" line, in one message Slack takes.
func TestAddOnsHundred(t *testing.T) {
	w := newWorld(t, options{})
	have := len(w.sim.AddOns())
	for i := have; i < 100; i++ {
		w.sim.SetAddOn(dialogsim.AddOn{ItemID: 100 + i, Name: fmt.Sprintf("Extra <Add-on> & Co. №%d — ünïcode", i), MaxQtyPurchase: 10, TotalQty: 50, InUse: i % 50})
	}
	r := w.slash(requester, "/addons")
	text := responseText(r)
	for _, a := range w.sim.AddOns() {
		want := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(a.Name)
		if !strings.Contains(text, "*"+want+"*") {
			t.Errorf("/addons does not list %q", a.Name)
		}
	}
	if !strings.Contains(text, "Buy more") {
		t.Error(`/addons lost its "Buy more" line`)
	}
	if n := len(w.sim.AddOns()); n != 100 {
		t.Fatalf("the simulator lists %d add-ons", n)
	}
}
