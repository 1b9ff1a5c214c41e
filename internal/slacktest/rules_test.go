package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Where a rule case is sent.
const (
	viaPost       = "chat.postMessage"
	viaUpdate     = "chat.update"
	viaEphemeral  = "chat.postEphemeral"
	viaPublish    = "views.publish"
	viaOpen       = "views.open"
	viaResponse   = "response_url"
	viaSlashAck   = "ack of a slash command"
	viaSubmitAck  = "ack of a view_submission"
	viaEventAck   = "ack of an event"
	viaViewUpdate = "views.update"
)

type obj = map[string]any

func txt(s string) obj   { return obj{"type": "plain_text", "text": s} }
func mdTxt(s string) obj { return obj{"type": "mrkdwn", "text": s} }
func section(s string) obj {
	return obj{"type": "section", "text": mdTxt(s)}
}
func button(id, label string) obj {
	return obj{"type": "button", "action_id": id, "text": txt(label), "value": "v"}
}
func actions(els ...any) obj { return obj{"type": "actions", "elements": els} }

// n repeats a multi-byte character: lengths are counted in characters, so
// a limit met with "é" must pass although it is twice as many bytes.
func n(count int) string { return strings.Repeat("é", count) }

func blocksOf(count int) []any {
	out := make([]any, count)
	for i := range out {
		out[i] = section("s")
	}
	return out
}

func withConfirm(part string, s string) obj {
	c := obj{"title": txt("t"), "text": txt("x"), "confirm": txt("y"), "deny": txt("z")}
	c[part] = txt(s)
	b := button("a", "b")
	b["confirm"] = c
	return actions(b)
}

func modal(extra obj) obj {
	v := obj{"type": "modal", "title": txt("Title"), "blocks": []any{section("hi")}}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func inputBlock(label string, maxLen int) obj {
	return obj{"type": "input", "block_id": "reason", "label": txt(label),
		"element": obj{"type": "plain_text_input", "action_id": "in", "max_length": maxLen}}
}

// ruleCase breaks one row of Rules (bad) and just meets it (good).
type ruleCase struct {
	via       string
	bad, good obj // the message, the view, or the ack payload
}

// ruleCases has a case for every row of Rules. TestRuleCasesCoverTheTable
// fails when a row has none; deleting a row makes its bad payload pass.
var ruleCases = map[string]ruleCase{
	"json":                {viaPost, obj{"text": "t", "blocks": obj{"not": "an array"}}, obj{"text": "t", "blocks": []any{section("s")}}},
	"message_text_update": {viaUpdate, obj{"text": n(4001)}, obj{"text": n(4000)}},
	"message_text_post":   {viaPost, obj{"text": n(40001)}, obj{"text": n(40000)}},
	"blocks_per_message":  {viaPost, obj{"blocks": blocksOf(51)}, obj{"blocks": blocksOf(50)}},
	"blocks_per_view":     {viaPublish, obj{"type": "home", "blocks": blocksOf(101)}, obj{"type": "home", "blocks": blocksOf(100)}},
	"block_type":          {viaPost, obj{"blocks": []any{obj{"type": "carousel"}}}, obj{"blocks": []any{obj{"type": "divider"}}}},
	"block_id_unique": {viaPost,
		obj{"blocks": []any{obj{"type": "divider", "block_id": "x"}, obj{"type": "divider", "block_id": "x"}}},
		obj{"blocks": []any{obj{"type": "divider", "block_id": "x"}, obj{"type": "divider", "block_id": "y"}}}},
	"block_id_length": {viaPost, obj{"blocks": []any{obj{"type": "divider", "block_id": n(256)}}}, obj{"blocks": []any{obj{"type": "divider", "block_id": n(255)}}}},
	"action_id_unique": {viaPost,
		obj{"blocks": []any{actions(button("snooze", "1 day"), button("snooze", "7 days"))}},
		obj{"blocks": []any{actions(button("snooze", "1 day"), button("snooze_week", "7 days")), actions(button("snooze", "again"))}}},
	"action_id_length": {viaPost, obj{"blocks": []any{actions(button(n(256), "b"))}}, obj{"blocks": []any{actions(button(n(255), "b"))}}},
	"actions_elements": {viaPost, obj{"blocks": []any{actionsOf(26)}}, obj{"blocks": []any{actionsOf(25)}}},
	"context_elements": {viaPost, obj{"blocks": []any{contextOf(11)}}, obj{"blocks": []any{contextOf(10)}}},
	"section_content":  {viaPost, obj{"blocks": []any{obj{"type": "section"}}}, obj{"blocks": []any{obj{"type": "section", "fields": []any{mdTxt("f")}}}}},
	"section_text":     {viaPost, obj{"blocks": []any{section(n(3001))}}, obj{"blocks": []any{section(n(3000))}}},
	"section_fields":   {viaPost, obj{"blocks": []any{fieldsOf(11, "f")}}, obj{"blocks": []any{fieldsOf(10, "f")}}},
	"field_text":       {viaPost, obj{"blocks": []any{fieldsOf(1, n(2001))}}, obj{"blocks": []any{fieldsOf(1, n(2000))}}},
	"header_text":      {viaPost, obj{"blocks": []any{obj{"type": "header", "text": txt(n(151))}}}, obj{"blocks": []any{obj{"type": "header", "text": txt(n(150))}}}},
	"button_text":      {viaPost, obj{"blocks": []any{actions(button("a", n(76)))}}, obj{"blocks": []any{actions(button("a", n(75)))}}},
	"button_value":     {viaPost, obj{"blocks": []any{actions(buttonWith("value", n(2001)))}}, obj{"blocks": []any{actions(buttonWith("value", n(2000)))}}},
	"button_url":       {viaPost, obj{"blocks": []any{actions(buttonWith("url", n(3001)))}}, obj{"blocks": []any{actions(buttonWith("url", n(3000)))}}},
	"button_style":     {viaPost, obj{"blocks": []any{actions(buttonWith("style", "green"))}}, obj{"blocks": []any{actions(buttonWith("style", "danger"))}}},
	"confirm_title":    {viaPost, obj{"blocks": []any{withConfirm("title", n(101))}}, obj{"blocks": []any{withConfirm("title", n(100))}}},
	"confirm_text":     {viaPost, obj{"blocks": []any{withConfirm("text", n(301))}}, obj{"blocks": []any{withConfirm("text", n(300))}}},
	"confirm_confirm":  {viaPost, obj{"blocks": []any{withConfirm("confirm", n(31))}}, obj{"blocks": []any{withConfirm("confirm", n(30))}}},
	"confirm_deny":     {viaPost, obj{"blocks": []any{withConfirm("deny", n(31))}}, obj{"blocks": []any{withConfirm("deny", n(30))}}},
	"text_object_type": {viaPost, obj{"blocks": []any{obj{"type": "section", "text": obj{"type": "markdown", "text": "x"}}}}, obj{"blocks": []any{section("x")}}},
	"plain_text_only":  {viaPost, obj{"blocks": []any{obj{"type": "header", "text": mdTxt("x")}}}, obj{"blocks": []any{obj{"type": "header", "text": txt("x")}}}},
	"text_not_empty":   {viaPost, obj{"blocks": []any{section("")}}, obj{"blocks": []any{section(" ")}}},
	"view_type":        {viaPublish, modal(nil), obj{"type": "home", "blocks": []any{section("s")}}},
	"modal_title":      {viaOpen, modal(obj{"title": txt(n(25))}), modal(obj{"title": txt(n(24))})},
	"modal_buttons":    {viaOpen, modal(obj{"close": txt(n(25))}), modal(obj{"close": txt(n(24)), "submit": txt(n(24))})},
	"private_metadata": {viaOpen, modal(obj{"private_metadata": n(3001)}), modal(obj{"private_metadata": n(3000)})},
	"callback_id":      {viaOpen, modal(obj{"callback_id": n(256)}), modal(obj{"callback_id": n(255)})},
	"input_needs_submit": {viaOpen, modal(obj{"blocks": []any{inputBlock("l", 10)}}),
		modal(obj{"blocks": []any{inputBlock("l", 10)}, "submit": txt("Go")})},
	"input_only_in_views": {viaPost, obj{"blocks": []any{inputBlock("l", 10)}}, obj{"blocks": []any{section("s")}}},
	"input_label": {viaOpen, modal(obj{"blocks": []any{inputBlock(n(2001), 10)}, "submit": txt("Go")}),
		modal(obj{"blocks": []any{inputBlock(n(2000), 10)}, "submit": txt("Go")})},
	"input_max_length": {viaOpen, modal(obj{"blocks": []any{inputBlock("l", 3001)}, "submit": txt("Go")}),
		modal(obj{"blocks": []any{inputBlock("l", 3000)}, "submit": txt("Go")})},
	"view_size":            {viaPublish, bigHome(maxViewBytes + 1), bigHome(maxViewBytes)},
	"ack_size":             {viaSlashAck, obj{"text": strings.Repeat("x", maxAckBytes)}, obj{"text": strings.Repeat("x", maxAckBytes-20)}},
	"ack_payload_accepted": {viaEventAck, obj{"text": "hi"}, nil},
	"response_action":      {viaSubmitAck, obj{"response_action": "close"}, obj{"response_action": "clear"}},
	"response_errors": {viaSubmitAck, obj{"response_action": "errors", "errors": obj{"nosuch": "x"}},
		obj{"response_action": "errors", "errors": obj{"reason": n(2000)}}},
}

func buttonWith(k, v string) obj {
	b := button("a", "b")
	b[k] = v
	return b
}

func actionsOf(count int) obj {
	els := make([]any, count)
	for i := range els {
		els[i] = button(fmt.Sprintf("a%d", i), "b")
	}
	return actions(els...)
}

func contextOf(count int) obj {
	els := make([]any, count)
	for i := range els {
		els[i] = mdTxt("c")
	}
	return obj{"type": "context", "elements": els}
}

func fieldsOf(count int, s string) obj {
	fs := make([]any, count)
	for i := range fs {
		fs[i] = mdTxt(s)
	}
	return obj{"type": "section", "fields": fs}
}

// bigHome is a home view of exactly size bytes as JSON: sections of 2900
// characters, the last one padded to the byte.
func bigHome(size int) obj {
	for k := 0; ; k++ {
		blocks := make([]any, 0, k+1)
		for range k {
			blocks = append(blocks, section(strings.Repeat("x", 2900)))
		}
		blocks = append(blocks, section("x"))
		v := obj{"type": "home", "blocks": blocks}
		b, _ := json.Marshal(v)
		if need := size - len(b); need >= 0 && need < 2900 {
			blocks[k] = section(strings.Repeat("x", 1+need))
			return v
		}
	}
}

func TestRuleCasesCoverTheTable(t *testing.T) {
	names := map[string]bool{}
	for _, r := range Rules {
		if names[r.Name] {
			t.Errorf("rule %q appears twice", r.Name)
		}
		names[r.Name] = true
		if _, ok := ruleCases[r.Name]; !ok {
			t.Errorf("rule %q has no test case", r.Name)
		}
		if r.Code == "" || r.Docs == "" || r.What == "" {
			t.Errorf("rule %q lacks its code, docs page or description", r.Name)
		}
	}
	for name := range ruleCases {
		if !names[name] {
			t.Errorf("test case %q names no rule of the table", name)
		}
	}
}

// TestRules sends, for every row of the table, a payload that breaks it and
// expects the row's Slack error code and a JSON pointer in
// response_metadata.messages, and one that just meets it and expects
// success.
func TestRules(t *testing.T) {
	srv := NewServer(t)
	rc := dialRaw(t, srv)
	// The cases, not the table, drive this: a row deleted from the table
	// leaves its case, whose payload then goes through.
	names := slices.Sorted(maps.Keys(ruleCases))
	// Two posts a case to one channel, at once: this test is about what
	// Slack refuses, not how it paces a channel (TestChannelPace).
	srv.SetChannelRate(2*len(names), time.Second)
	for _, name := range names {
		c := ruleCases[name]
		r := ruleNamed(name)
		t.Run(name, func(t *testing.T) {
			if r == nil {
				r = &Rule{Name: name, Code: "(a refusal)"}
				t.Errorf("no rule %q in the table", name)
			}
			want := r.Code
			if r.ViewCode != "" && (c.via == viaPublish || c.via == viaOpen || c.via == viaViewUpdate || c.via == viaSubmitAck) {
				want = r.ViewCode
			}
			before := len(srv.Refusals())
			code, msgs := send(t, srv, rc, c.via, c.bad)
			if code != want {
				t.Errorf("breaking %s via %s: answered %q, want %q (%v)", r.Name, c.via, code, want, msgs)
			}
			if len(msgs) == 0 || !strings.Contains(msgs[0], "[json-pointer:") {
				t.Errorf("breaking %s: response_metadata.messages = %q, want a JSON pointer", r.Name, msgs)
			}
			if got := srv.Refusals(); len(got) != before+1 || got[len(got)-1].Code != want || got[len(got)-1].Injected {
				t.Errorf("breaking %s: refusals %+v, want one more with %s", r.Name, got[before:], want)
			}
			if c.good != nil || c.via == viaEventAck {
				if code, msgs := send(t, srv, rc, c.via, c.good); code != "" {
					t.Errorf("meeting %s via %s: answered %q (%v), want success", r.Name, c.via, code, msgs)
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	var unexpected int
	for _, r := range srv.Refusals() {
		if !r.Injected {
			unexpected++
		}
	}
	if got := len(srv.Refused()); got != unexpected {
		t.Errorf("Refused() = %d, want %d", got, unexpected)
	}
}

func ruleNamed(name string) *Rule {
	for _, r := range Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// send delivers payload via and returns Slack's error code ("" for ok) and
// response_metadata.messages.
func send(t *testing.T, srv *Server, rc *rawClient, via string, payload obj) (string, []string) {
	t.Helper()
	switch via {
	case viaPost, viaEphemeral:
		body := obj{"channel": "C1", "user": "U1"}
		for k, v := range payload {
			body[k] = v
		}
		if _, ok := body["text"]; !ok {
			body["text"] = "fallback"
		}
		return callAPI(t, srv, via, body)
	case viaUpdate:
		code, _ := callAPI(t, srv, viaPost, obj{"channel": "C1", "text": "first"})
		if code != "" {
			t.Fatalf("post: %s", code)
		}
		ms := srv.Messages("C1")
		body := obj{"channel": "C1", "ts": ms[len(ms)-1].TS}
		for k, v := range payload {
			body[k] = v
		}
		return callAPI(t, srv, via, body)
	case viaPublish:
		return callAPI(t, srv, via, obj{"user_id": "U1", "view": payload})
	case viaOpen:
		d := rc.slash(t, srv)
		return callAPI(t, srv, via, obj{"trigger_id": d.TriggerID, "view": payload})
	case viaResponse:
		d := rc.slash(t, srv)
		b, _ := json.Marshal(payload)
		resp, err := http.Post(d.ResponseURL, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return decodeAnswer(t, resp.Body)
	case viaSlashAck:
		d := rc.slash(t, srv)
		return rc.ack(t, srv, d, payload)
	case viaEventAck:
		d, err := srv.SendEvent(testContext(t), "U1", obj{"type": "app_home_opened", "tab": "home"})
		if err != nil {
			t.Fatal(err)
		}
		rc.read(t)
		return rc.ack(t, srv, d, payload)
	case viaSubmitAck:
		d := rc.slash(t, srv)
		view := modal(obj{"blocks": []any{inputBlock("Reason", 100)}, "submit": txt("Go"), "callback_id": "cb"})
		if code, msgs := callAPI(t, srv, viaOpen, obj{"trigger_id": d.TriggerID, "view": view}); code != "" {
			t.Fatalf("views.open: %s %v", code, msgs)
		}
		vs := srv.Views()
		sub, err := srv.SendViewSubmission(testContext(t), ViewSubmission{ViewID: vs[len(vs)-1].ID, Conn: rc.id})
		if err != nil {
			t.Fatal(err)
		}
		rc.read(t)
		return rc.ack(t, srv, sub, payload)
	}
	t.Fatalf("unknown via %q", via)
	return "", nil
}

func callAPI(t *testing.T, srv *Server, method string, body obj) (string, []string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+method, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+srv.BotToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decodeAnswer(t, resp.Body)
}

func decodeAnswer(t *testing.T, r io.Reader) (string, []string) {
	t.Helper()
	var a struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error"`
		Metadata struct {
			Messages []string `json:"messages"`
		} `json:"response_metadata"`
	}
	if err := json.NewDecoder(r).Decode(&a); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if a.OK {
		return "", nil
	}
	return a.Error, a.Metadata.Messages
}

// rawClient is a bare Socket Mode client: it can send what slack-go
// would refuse to (an ack of 20 KB).
type rawClient struct {
	ws *websocket.Conn
	id int
}

// openSocket asks apps.connections.open for a URL and dials it, closing
// the socket when the test ends.
func openSocket(t *testing.T, srv *Server) *websocket.Conn {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AppToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct {
		URL string `json:"url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&open)
	resp.Body.Close()
	ws, _, err := websocket.DefaultDialer.Dial(open.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func dialRaw(t *testing.T, srv *Server) *rawClient {
	t.Helper()
	rc := &rawClient{ws: openSocket(t, srv)}
	rc.read(t) // hello
	// The socket is listed just after its hello: the newest id.
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.mu.Lock()
		last := srv.lastConn
		_, listed := srv.conns[last]
		srv.mu.Unlock()
		if listed {
			rc.id = last
			return rc
		}
		if time.Now().After(deadline) {
			t.Fatal("the raw socket was never listed")
		}
		time.Sleep(time.Millisecond)
	}
}

func (rc *rawClient) read(t *testing.T) []byte {
	t.Helper()
	_ = rc.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := rc.ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (rc *rawClient) slash(t *testing.T, srv *Server) *Delivery {
	t.Helper()
	d, err := srv.SendSlashCommand(testContext(t), SlashCommand{Command: "/x", UserID: "U1", ChannelID: "C1", Conn: rc.id})
	if err != nil {
		t.Fatal(err)
	}
	rc.read(t)
	return d
}

// ack acknowledges d with payload and returns what the server made of it.
func (rc *rawClient) ack(t *testing.T, srv *Server, d *Delivery, payload obj) (string, []string) {
	t.Helper()
	before := len(srv.Refusals())
	frame := obj{"envelope_id": d.EnvelopeID}
	if payload != nil {
		frame["payload"] = payload
	}
	b, _ := json.Marshal(frame)
	if err := rc.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(testContext(t), d.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if rs := srv.Refusals(); len(rs) > before {
		return rs[len(rs)-1].Code, rs[len(rs)-1].Messages
	}
	return "", nil
}
