package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Slack's limits on a response_url.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

// Response is one accepted post to a response_url.
type Response struct {
	ResponseType    string // "ephemeral" (the default) or "in_channel"
	Text            string
	Blocks          json.RawMessage
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	Raw             json.RawMessage
	At              time.Time
}

// hook is one response_url and what it may act on.
type hook struct {
	id        string
	channel   string
	user      string // who triggered it; sees ephemeral responses
	messageTS string // the message a block action came from
	ephemeral bool   // whether that message is ephemeral
	issued    time.Time
	uses      int
	responses []Response
}

func (s *Server) newHookLocked(channel, user, messageTS string, ephemeral bool) *hook {
	h := &hook{id: randomHex(12), channel: channel, user: user, messageTS: messageTS, ephemeral: ephemeral, issued: s.now()}
	s.hooks[h.id] = h
	return h
}

func (s *Server) hookURL(id string) string { return s.baseURL() + "/response/" + id }

// ResponsesFor returns the accepted posts to d's response_url, in order.
func (s *Server) ResponsesFor(d *Delivery) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responsesLocked(d.EnvelopeID)
}

func (s *Server) responsesLocked(envelopeID string) []Response {
	h := s.hooks[s.envToHook[envelopeID]]
	if h == nil {
		return nil
	}
	out := make([]Response, len(h.responses))
	for i, r := range h.responses {
		r.Blocks = bytes.Clone(r.Blocks)
		r.Raw = bytes.Clone(r.Raw)
		out[i] = r
	}
	return out
}

// WaitForResponse waits until d's response_url has accepted at least n posts
// and returns them all.
func (s *Server) WaitForResponse(ctx context.Context, d *Delivery, n int) ([]Response, error) {
	var out []Response
	err := s.waitFor(ctx, func() bool {
		out = s.responsesLocked(d.EnvelopeID)
		return len(out) >= n
	})
	if err != nil {
		return out, fmt.Errorf("waiting for %d responses to %s (have %d): %w", n, d.EnvelopeID, len(out), err)
	}
	return out, nil
}

func (s *Server) handleResponse(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "invalid_payload"})
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/response/")

	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[id]
	now := s.now()
	code, status := "", http.StatusOK
	switch {
	case h == nil:
		code, status = "no_such_url", http.StatusNotFound
	case now.Sub(h.issued) > responseURLTTL:
		code, status = "expired_url", http.StatusNotFound
	case h.uses >= responseURLUses:
		code, status = "used_url", http.StatusNotFound
	}
	if code != "" {
		s.refuseLocked(Refusal{Method: "response_url", Code: code, At: now})
		s.notifyLocked()
		writeJSON(w, status, map[string]any{"ok": false, "error": code})
		return
	}
	resp, err := parseResponse(body, now)
	if err != nil {
		s.refuseLocked(Refusal{Method: "response_url", Code: err.Error(), At: now})
		s.notifyLocked()
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	if vs := checkResponse("response_url", body); len(vs) > 0 {
		rb := refusalBody(vs)
		msgs := rb["response_metadata"].(map[string]any)["messages"].([]string)
		s.refuseLocked(Refusal{Method: "response_url", Code: vs[0].Code, Messages: msgs, At: now})
		s.notifyLocked()
		writeJSON(w, http.StatusBadRequest, rb)
		return
	}
	resp.Blocks = fillIDs(resp.Blocks)
	h.uses++
	h.responses = append(h.responses, resp)
	s.applyResponseLocked(h, resp)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

var errNoText = errors.New("no_text")

// checkResponse checks a response_url post or a slash command's ack
// payload, which are messages.
func checkResponse(method string, body []byte) []Violation {
	var root map[string]any
	if json.Unmarshal(body, &root) != nil || root == nil {
		return []Violation{{Rule: "json", Code: "invalid_payload", Message: "must be a JSON object"}}
	}
	return checkMessage(method, root)
}

func parseResponse(body []byte, at time.Time) (Response, error) {
	var in struct {
		ResponseType    string          `json:"response_type"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ReplaceOriginal flexBool        `json:"replace_original"`
		DeleteOriginal  flexBool        `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return Response{}, errors.New("invalid_payload")
	}
	r := Response{
		ResponseType:    in.ResponseType,
		Text:            in.Text,
		Blocks:          nonEmptyBlocks(in.Blocks),
		ReplaceOriginal: bool(in.ReplaceOriginal),
		DeleteOriginal:  bool(in.DeleteOriginal),
		ThreadTS:        in.ThreadTS,
		Raw:             bytes.Clone(body),
		At:              at,
	}
	if !r.DeleteOriginal && r.Text == "" && r.Blocks == nil {
		return Response{}, errNoText
	}
	return r, nil
}

// flexBool accepts true and "true": Slack takes both for replace_original.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	default:
		*b = false
	}
	return nil
}

// applyResponseLocked shows a reply as Slack would: it replaces or deletes
// the message a button was pressed on, or posts in the channel, or shows an
// ephemeral message to the person who acted.
func (s *Server) applyResponseLocked(h *hook, r Response) {
	var orig *Message
	if h.messageTS != "" {
		if h.ephemeral {
			orig = s.findEphemeralLocked(h.channel, h.messageTS)
		} else {
			orig = s.findLocked(h.channel, h.messageTS)
		}
	}
	switch {
	case r.DeleteOriginal && orig != nil:
		orig.Deleted = true
		s.recordLocked(orig)
	case r.DeleteOriginal:
		// Nothing to delete: Slack ignores it.
	case r.ReplaceOriginal && orig != nil && !orig.Deleted:
		orig.Text = r.Text
		orig.Blocks = r.Blocks
		orig.Updated++
		s.recordLocked(orig)
	case r.ResponseType == "in_channel":
		s.postLocked(h.channel, r.ThreadTS, r.Text, r.Blocks, "")
	default:
		s.postLocked(h.channel, r.ThreadTS, r.Text, r.Blocks, h.user)
	}
}
