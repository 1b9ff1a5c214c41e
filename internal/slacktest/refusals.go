package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// defaultTriggerTTL is how long a trigger_id works after the click that
// made it.
const defaultTriggerTTL = 3 * time.Second

// SetTriggerTTL sets how long a trigger_id works after its click, for
// triggers handed out from now on and those still unused (Slack: 3 s). 0
// makes every trigger dead on arrival, as for a click that waited in a
// queue; a negative value restores 3 s.
func (s *Server) SetTriggerTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		d = defaultTriggerTTL
	}
	s.triggerTTL = d
}

// Refusal is a request Slack said no to: a Web API call answered ok:false,
// a response_url post refused, or an ack Slack would not take.
type Refusal struct {
	// Method is the API method, "response_url" or "ack".
	Method string
	Code   string
	// Messages are response_metadata.messages: the broken rules, each with
	// the JSON pointer to what broke it.
	Messages []string
	At       time.Time
	// Injected refusals come from faults the test set up (RateLimit,
	// RemoveBot), not from anything the app did wrong.
	Injected bool
}

func (s *Server) refuseLocked(r Refusal) {
	if r.At.IsZero() {
		r.At = s.now()
	}
	s.refusals = append(s.refusals, r)
}

// Refusals returns every refusal so far, injected ones included.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refusals)
}

// AllowRefusals tells the server that the test provokes refusals with these
// codes on purpose (an expired trigger, a used response_url), so Refused
// leaves them out.
func (s *Server) AllowRefusals(codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.allowed[c] = true
	}
}

// Refused returns the refusals that are neither injected faults nor allowed
// with AllowRefusals: what the app sent that Slack would not take. A 429
// (ratelimited) is not among them: it says "not now", not "never", and an
// app that gave up on what it was asked to post shows in what was posted.
func (s *Server) Refused() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Refusal
	for _, r := range s.refusals {
		if !r.Injected && !s.allowed[r.Code] && r.Code != "ratelimited" {
			out = append(out, r)
		}
	}
	return out
}

// CheckNoRefusals fails t for every call Refused returns. End-to-end
// harnesses run it in t.Cleanup once the app has stopped, so no test passes
// while Slack would have refused something the app sent.
func (s *Server) CheckNoRefusals(t testing.TB) {
	t.Helper()
	for _, r := range s.Refused() {
		t.Errorf("Slack refused %s: %s %s", r.Method, r.Code, strings.Join(r.Messages, "; "))
	}
}

// ExpireTriggers makes every trigger_id handed out so far dead, as it is
// 3 s after its click: a click that waited in a queue.
func (s *Server) ExpireTriggers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range s.triggers {
		tr.expired = true
	}
}

// refusalBody is Slack's answer to a payload that breaks rules: the first
// rule's code, and every violation with its JSON pointer.
func refusalBody(vs []Violation) map[string]any {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.String()
	}
	return map[string]any{"ok": false, "error": vs[0].Code, "response_metadata": map[string]any{"messages": msgs}}
}

// payloadChecks validate what a method is given against Rules before it
// runs.
var payloadChecks = map[string]func(r *apiRequest) []Violation{
	"chat.postMessage":   func(r *apiRequest) []Violation { return checkMessageRequest("chat.postMessage", r) },
	"chat.postEphemeral": func(r *apiRequest) []Violation { return checkMessageRequest("chat.postEphemeral", r) },
	"chat.update":        func(r *apiRequest) []Violation { return checkMessageRequest("chat.update", r) },
	"views.open":         func(r *apiRequest) []Violation { return checkViewRequest("views.open", r) },
	"views.publish":      func(r *apiRequest) []Violation { return checkViewRequest("views.publish", r) },
	"views.update":       func(r *apiRequest) []Violation { return checkViewRequest("views.update", r) },
}

func checkMessageRequest(method string, r *apiRequest) []Violation {
	root := map[string]any{}
	if t, ok := r.str("text"); ok {
		root["text"] = t
	}
	raw, ok, err := r.rawJSON("blocks")
	switch {
	case err != nil:
		return []Violation{{Rule: "json", Code: "invalid_blocks", Pointer: "/blocks", Message: "must be valid JSON"}}
	case ok:
		var b any
		_ = json.Unmarshal(raw, &b)
		root["blocks"] = b
	}
	return checkMessage(method, root)
}

func checkViewRequest(method string, r *apiRequest) []Violation {
	raw, ok, err := r.rawJSON("view")
	if !ok || err != nil {
		return nil // the method answers invalid_arguments itself
	}
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil
	}
	return checkView(method, v, len(raw))
}

// fillIDs gives every block a block_id and every interactive element an
// action_id where the app sent none, as Slack does. Keys keep their order,
// so text reads in display order.
func fillIDs(blocks json.RawMessage) json.RawMessage {
	if blocks == nil {
		return nil
	}
	root, err := decodeTree(blocks)
	if err != nil || root.isObj || root.isStr || root.raw != nil {
		return blocks
	}
	used := map[string]bool{}
	for _, b := range root.items {
		if b.isObj {
			if id := b.get("block_id"); id != nil && id.isStr {
				used[id.str] = true
			}
		}
	}
	changed := false
	for _, b := range root.items {
		if !b.isObj {
			continue
		}
		if b.get("block_id") == nil {
			id := randomID()
			for used[id] {
				id = randomID()
			}
			used[id] = true
			b.set("block_id", &node{str: id, isStr: true})
			changed = true
		}
		var els []*node
		switch b.getStr("type") {
		case "actions":
			if e := b.get("elements"); e != nil {
				els = e.items
			}
		case "section":
			if e := b.get("accessory"); e != nil {
				els = []*node{e}
			}
		case "input":
			if e := b.get("element"); e != nil {
				els = []*node{e}
			}
		}
		for _, e := range els {
			if e.isObj && e.get("action_id") == nil && interactive[e.getStr("type")] {
				e.set("action_id", &node{str: randomID(), isStr: true})
				changed = true
			}
		}
	}
	if !changed {
		return blocks
	}
	var buf bytes.Buffer
	root.encode(&buf)
	return buf.Bytes()
}

// fillIDsIn fills ids in place and reports whether it changed anything.
func fillIDsIn(bs []any) bool {
	changed := false
	used := map[string]bool{}
	for _, b := range bs {
		if o, ok := b.(map[string]any); ok {
			if id, ok := o["block_id"].(string); ok {
				used[id] = true
			}
		}
	}
	for i, b := range bs {
		o, ok := b.(map[string]any)
		if !ok {
			continue
		}
		if _, ok := o["block_id"]; !ok {
			id := randomID()
			for used[id] {
				id = randomID()
			}
			used[id] = true
			o["block_id"] = id
			changed = true
		}
		for _, e := range elementsOf(at{obj: o}) {
			if _, ok := e.obj["action_id"]; ok || !interactive[str(e.obj["type"])] {
				continue
			}
			e.obj["action_id"] = randomID()
			changed = true
		}
		bs[i] = o
	}
	return changed
}

// interactive element types carry an action_id.
var interactive = map[string]bool{
	"button": true, "static_select": true, "external_select": true, "users_select": true,
	"conversations_select": true, "channels_select": true, "overflow": true, "datepicker": true,
	"timepicker": true, "plain_text_input": true, "radio_buttons": true, "checkboxes": true,
	"multi_static_select": true, "multi_users_select": true, "number_input": true, "email_text_input": true, "url_text_input": true,
}

// randomID is an id shaped like the ones Slack fills in ("Xy3aB").
func randomID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte(randomHex(5))
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ackDeadline is how long Slack waits for an ack.
const ackDeadline = 3 * time.Second

// applySubmissionLocked does what a view_submission ack asks: no
// response_action closes the modal; errors keeps it open with the messages;
// update replaces it; push opens a new one on top; clear closes them all.
func (s *Server) applySubmissionLocked(env *envelope, payload json.RawMessage) {
	var v *View
	for _, cand := range s.views {
		if cand.ID == env.viewID {
			v = cand
		}
	}
	if v == nil {
		return
	}
	var ack struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	if payload != nil {
		_ = json.Unmarshal(payload, &ack)
	}
	switch ack.ResponseAction {
	case "errors":
		v.Errors = ack.Errors
	case "update":
		v.Errors = nil
		v.Updated++
		v.At = s.now()
		_, _ = s.fillViewLocked(v, ack.View)
	case "push":
		nv := &View{ID: fmt.Sprintf("V%09d", s.nextSeqLocked()), UserID: v.UserID, At: s.now()}
		if _, code := s.fillViewLocked(nv, ack.View); code == "" {
			s.views = append(s.views, nv)
		}
	case "clear":
		for _, cand := range s.views {
			if cand.Type == "modal" && cand.UserID == v.UserID {
				cand.Closed = true
			}
		}
	default:
		v.Closed = true
		v.Errors = nil
	}
	s.notifyLocked()
}
