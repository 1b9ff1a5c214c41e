package slacktest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTriggerSingleUseAndExpiry: a trigger_id opens one view, and none
// 3 s after its click.
func TestTriggerSingleUseAndExpiry(t *testing.T) {
	var offset atomic.Int64
	srv := NewServer(t, WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	rc := dialRaw(t, srv)
	view := obj{"type": "modal", "title": txt("Deny request"), "blocks": []any{section("x")}}

	d := rc.slash(t, srv)
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": d.TriggerID, "view": view}); code != "" {
		t.Fatalf("views.open with a fresh trigger: %s", code)
	}
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": d.TriggerID, "view": view}); code != "exchanged_trigger_id" {
		t.Errorf("second views.open with one trigger: %q, want exchanged_trigger_id", code)
	}

	d = rc.slash(t, srv)
	offset.Add(int64(2900 * time.Millisecond))
	d2 := rc.slash(t, srv)
	offset.Add(int64(100 * time.Millisecond))
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": d.TriggerID, "view": view}); code != "expired_trigger_id" {
		t.Errorf("views.open 3 s after the click: %q, want expired_trigger_id", code)
	}
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": d2.TriggerID, "view": view}); code != "" {
		t.Errorf("views.open 0.1 s after its click: %q", code)
	}
	d = rc.slash(t, srv)
	srv.ExpireTriggers()
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": d.TriggerID, "view": view}); code != "expired_trigger_id" {
		t.Errorf("views.open after ExpireTriggers: %q, want expired_trigger_id", code)
	}
	if code, _ := callAPI(t, srv, "views.open", obj{"trigger_id": "1.2.made-up", "view": view}); code != "invalid_trigger_id" {
		t.Errorf("views.open with a made-up trigger: %q", code)
	}
	if n := len(srv.Refused()); n != 4 {
		t.Errorf("%d refusals recorded, want 4: %+v", n, srv.Refused())
	}
	srv.AllowRefusals("exchanged_trigger_id", "expired_trigger_id", "invalid_trigger_id")
	if r := srv.Refused(); len(r) != 0 {
		t.Errorf("allowed refusals still reported: %+v", r)
	}
}

// TestSubmissionResponseActions: an empty ack closes the modal; errors
// keeps it open with the messages; update replaces it; clear closes all;
// an ack after 3 s is ignored.
func TestSubmissionResponseActions(t *testing.T) {
	srv := NewServer(t)
	rc := dialRaw(t, srv)
	open := func() View {
		d := rc.slash(t, srv)
		v := obj{"type": "modal", "title": txt("Deny request"), "submit": txt("Deny"), "callback_id": "deny",
			"blocks": []any{inputBlock("Reason", 500)}}
		if code, msgs := callAPI(t, srv, "views.open", obj{"trigger_id": d.TriggerID, "view": v}); code != "" {
			t.Fatalf("views.open: %s %v", code, msgs)
		}
		vs := srv.Views()
		return vs[len(vs)-1]
	}
	submit := func(v View, payload obj) View {
		d, err := srv.SendViewSubmission(testContext(t), ViewSubmission{ViewID: v.ID, Conn: rc.id})
		if err != nil {
			t.Fatal(err)
		}
		rc.read(t)
		if code, msgs := rc.ack(t, srv, d, payload); code != "" {
			t.Fatalf("ack %v refused: %s %v", payload, code, msgs)
		}
		for _, x := range srv.Views() {
			if x.ID == v.ID {
				return x
			}
		}
		t.Fatalf("view %s gone", v.ID)
		return View{}
	}

	if v := submit(open(), nil); !v.Closed {
		t.Error("an empty ack left the modal open")
	}
	v := submit(open(), obj{"response_action": "errors", "errors": obj{"reason": "Already approved"}})
	if v.Closed || v.Errors["reason"] != "Already approved" {
		t.Errorf("errors ack: closed=%v errors=%v", v.Closed, v.Errors)
	}
	v = submit(v, obj{"response_action": "update", "view": obj{"type": "modal", "title": txt("Done"), "blocks": []any{section("ok")}}})
	if v.Closed || v.Errors != nil || v.Updated != 1 || !strings.Contains(string(v.JSON), `"Done"`) {
		t.Errorf("update ack: %+v", v)
	}
	a, b := open(), open()
	submit(a, obj{"response_action": "clear"})
	for _, x := range srv.Views() {
		if (x.ID == a.ID || x.ID == b.ID) && !x.Closed {
			t.Errorf("clear left %s open", x.ID)
		}
	}
}

// TestAtMostTenConnections: the eleventh socket is told
// too_many_websockets and gets no envelope.
func TestAtMostTenConnections(t *testing.T) {
	srv := NewServer(t, WithDisconnectGrace(50*time.Millisecond))
	for range 10 {
		dialRaw(t, srv)
	}
	if n := srv.Connections(); n != 10 {
		t.Fatalf("%d connections", n)
	}
	ws := openSocket(t, srv)
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, first, err := ws.ReadMessage()
	if err != nil || !bytes.Contains(first, []byte(`"too_many_websockets"`)) {
		t.Fatalf("eleventh socket's first frame %s (%v), want a too_many_websockets disconnect", first, err)
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("the eleventh socket stayed open")
	}
	if n := srv.Connections(); n != 10 {
		t.Errorf("%d connections count, want 10", n)
	}
}

// TestDisconnectThenClose: after `disconnect` the server closes the old
// socket itself once the grace has passed, even if the client keeps it.
func TestDisconnectThenClose(t *testing.T) {
	srv := NewServer(t, WithDisconnectGrace(100*time.Millisecond))
	rc := dialRaw(t, srv)
	start := time.Now()
	srv.Disconnect("refresh_requested")
	if f := rc.read(t); !bytes.Contains(f, []byte(`"refresh_requested"`)) {
		t.Fatalf("frame %s, want the disconnect", f)
	}
	_ = rc.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := rc.ws.ReadMessage(); err == nil {
		t.Fatal("a frame after disconnect, want the socket closed")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before the grace", d)
	}
}

// TestPrivateChannelNotFound: posting to a private channel the bot is not
// in answers channel_not_found (a public one not_in_channel); both are
// faults the test made, not refusals of what the app sent.
func TestPrivateChannelNotFound(t *testing.T) {
	srv := NewServer(t)
	srv.RemoveBot("C1")
	srv.SetPrivate("C2")
	srv.RemoveBot("C2")
	srv.RemoveBot("G3")
	for ch, want := range map[string]string{"C1": "not_in_channel", "C2": "channel_not_found", "G3": "channel_not_found"} {
		if code, _ := callAPI(t, srv, "chat.postMessage", obj{"channel": ch, "text": "hi"}); code != want {
			t.Errorf("post to %s: %q, want %q", ch, code, want)
		}
	}
	if code, _ := callAPI(t, srv, "chat.postEphemeral", obj{"channel": "C2", "user": "U1", "text": "hi"}); code != "channel_not_found" {
		t.Errorf("ephemeral in a private channel the bot is not in: %q", code)
	}
	if r := srv.Refused(); len(r) != 0 {
		t.Errorf("injected faults reported as refusals: %+v", r)
	}
}

// TestIDsFilledIn: Slack gives blocks and interactive elements an id when
// the app gives none, and keeps the ones it gives.
func TestIDsFilledIn(t *testing.T) {
	srv := NewServer(t)
	blocks := []any{section("a"), obj{"type": "actions", "block_id": "mine", "elements": []any{obj{"type": "button", "text": txt("b"), "value": "1"}}}}
	if code, _ := callAPI(t, srv, "chat.postMessage", obj{"channel": "C1", "text": "t", "blocks": blocks}); code != "" {
		t.Fatal(code)
	}
	m := srv.Messages("C1")[0]
	var got []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			ActionID string `json:"action_id"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &got); err != nil {
		t.Fatal(err)
	}
	if got[0].BlockID == "" || got[0].BlockID == "mine" || got[1].BlockID != "mine" || got[1].Elements[0].ActionID == "" {
		t.Errorf("stored blocks %s", m.Blocks)
	}
	// The app sent keys in this order (encoding/json sorts a map's).
	if !strings.HasPrefix(string(m.Blocks), `[{"text":{"text":"a","type":"mrkdwn"},"type":"section","block_id":`) {
		t.Errorf("filling in ids reordered the keys: %s", m.Blocks)
	}
}

// TestResponseURLRefusesBadBlocks: a response_url post is held to the same
// rules, refused with the rule's code and recorded.
func TestResponseURLRefusesBadBlocks(t *testing.T) {
	srv := NewServer(t)
	rc := dialRaw(t, srv)
	d := rc.slash(t, srv)
	b, _ := json.Marshal(obj{"text": "t", "blocks": blocksOf(51)})
	resp, err := http.Post(d.ResponseURL, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	code, msgs := decodeAnswer(t, resp.Body)
	resp.Body.Close()
	if code != "invalid_blocks" || len(msgs) == 0 {
		t.Errorf("response_url with 51 blocks: %q %v", code, msgs)
	}
	if r := srv.Refused(); len(r) != 1 || r[0].Method != "response_url" {
		t.Errorf("refusals %+v", r)
	}
	if n := len(srv.ResponsesFor(d)); n != 0 {
		t.Errorf("%d responses shown after a refusal", n)
	}
}

// TestRedeliverEventNewEnvelope: a retried event keeps its event_id and
// gets a new envelope_id.
func TestRedeliverEventNewEnvelope(t *testing.T) {
	srv := NewServer(t)
	rc := dialRaw(t, srv)
	d, err := srv.SendEvent(testContext(t), "U1", obj{"type": "app_home_opened", "tab": "home"})
	if err != nil {
		t.Fatal(err)
	}
	first := rc.read(t)
	r, err := srv.RedeliverEvent(testContext(t), d)
	if err != nil {
		t.Fatal(err)
	}
	second := rc.read(t)
	var a, b struct {
		EnvelopeID   string `json:"envelope_id"`
		RetryAttempt int    `json:"retry_attempt"`
		Payload      struct {
			EventID string `json:"event_id"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(first, &a)
	_ = json.Unmarshal(second, &b)
	if a.EnvelopeID == b.EnvelopeID || b.EnvelopeID != r.EnvelopeID || a.Payload.EventID == "" || a.Payload.EventID != b.Payload.EventID || b.RetryAttempt != 1 {
		t.Errorf("first %s\nretry %s", first, second)
	}
}

// recorder is a testing.TB that keeps what Errorf says.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }

// TestCheckNoRefusalsFailsTheTest: the harness check fails a test for each
// payload Slack refused, and not for faults the test set up.
func TestCheckNoRefusalsFailsTheTest(t *testing.T) {
	srv := NewServer(t)
	srv.RateLimit("chat.postMessage", 1, time.Second)
	srv.RemoveBot("C9")
	callAPI(t, srv, "chat.postMessage", obj{"channel": "C1", "text": "rate limited"})
	callAPI(t, srv, "chat.postMessage", obj{"channel": "C9", "text": "not in channel"})
	rec := &recorder{TB: t}
	srv.CheckNoRefusals(rec)
	if len(rec.errs) != 0 {
		t.Fatalf("injected faults failed the test: %v", rec.errs)
	}
	callAPI(t, srv, "chat.postMessage", obj{"channel": "C1", "text": "t", "blocks": []any{actions(button("a", "1"), button("a", "2"))}})
	srv.CheckNoRefusals(rec)
	if len(rec.errs) != 1 {
		t.Errorf("a refused payload made %d test errors, want 1", len(rec.errs))
	}
}
