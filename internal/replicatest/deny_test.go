package replicatest

import (
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// TestReplicasDenyRetried: a Deny click Slack delivers again to the other
// replica finds its trigger used by the first delivery's dialog. The
// second replica decides nothing and says nothing (the approver has the
// dialog); the denial made in that dialog is the one that counts.
func TestReplicasDenyRetried(t *testing.T) {
	c := newCluster(t)
	c.start(2)
	conns := c.slack.ConnIDs()
	if len(conns) != 2 {
		t.Fatalf("connections %v, want 2", conns)
	}
	// The retry's views.open is refused because the trigger was used.
	c.slack.AllowRefusals("exchanged_trigger_id")
	m := c.askAs(conns[0], "U0REQDENY", "/numbers order 312 1")
	first, err := c.slack.PressOn(c.ctx(30*time.Second), conns[0], approverA, m, "Deny")
	if err != nil {
		t.Fatal(err)
	}
	dialog, err := c.slack.WaitForView(c.ctx(30*time.Second), func(v slacktest.View) bool { return v.CallbackID == "deny_reason" })
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.slack.Redeliver(c.ctx(30*time.Second), first)
	if err != nil {
		t.Fatal(err)
	}
	if retry.Conn == first.Conn {
		t.Fatalf("the retry went to the same connection %d", retry.Conn)
	}
	if _, err := c.slack.WaitForCall(c.ctx(30*time.Second), "views.open", 2); err != nil {
		t.Fatalf("the other replica never tried the dialog: %v", err)
	}
	st := c.openStore()
	id := slacktest.ButtonsOf(m)[0].Value
	if r, err := st.GetRequest(t.Context(), id); err != nil || r.State != store.StatePending {
		t.Fatalf("request after the retried click: %+v, %v; want it pending", r, err)
	}

	d, err := c.slack.SendViewSubmission(c.ctx(30*time.Second), slacktest.ViewSubmission{UserID: approverA, ViewID: dialog.ID,
		Values: map[string]map[string]string{"reason": {"reason_input": "not this quarter"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.slack.WaitAck(c.ctx(30*time.Second), d.EnvelopeID); err != nil || ack.Payload != nil {
		t.Fatalf("deny submission ack %s, %v; want an empty ack", ack.Payload, err)
	}
	if _, err := c.slack.WaitForMessage(c.ctx(30*time.Second), func(x slacktest.Message) bool {
		return x.TS == m.TS && strings.Contains(slacktest.TextOf(x), "not this quarter")
	}); err != nil {
		t.Fatalf("the request message never showed the denial: %v", err)
	}
	for _, e := range c.slack.Ephemerals("") {
		if e.EphemeralTo == approverA && strings.Contains(slacktest.TextOf(e), "Press Deny again") {
			t.Errorf("the approver, dialog in hand, was told to press Deny again: %s", slacktest.TextOf(e))
		}
	}
	r, err := st.GetRequest(t.Context(), id)
	if err != nil || r.State != store.StateDenied || r.DecidedBy != approverA || r.Reason != "not this quarter" {
		t.Errorf("request %+v, %v; want denied by %s with the reason", r, err, approverA)
	}
}
