package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// Message is a message as people in the channel see it.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the parent's ts for a reply in a thread
	Text     string // the top-level text: the notification and fallback text
	User     string // who posted it; the bot user for the app's messages
	// Blocks are the Block Kit blocks as Slack holds them (a JSON array):
	// as the app sent them, with block_id and action_id filled in where the
	// app gave none; nil when the message has none.
	Blocks json.RawMessage
	// Updated counts the edits made to the message (chat.update or a
	// response_url with replace_original).
	Updated int
	// EphemeralTo is the only user who sees an ephemeral message; empty for
	// a message everyone in the channel sees.
	EphemeralTo string
	Deleted     bool
}

// View is a modal or App Home view the app opened or published.
type View struct {
	ID              string
	Type            string // "modal" or "home"
	TriggerID       string // the trigger views.open used; empty for home views
	UserID          string // who sees it
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	Hash            string
	// JSON is the view as Slack holds it: the app's view plus id, state, hash.
	JSON    json.RawMessage
	Updated int // views.update / views.publish calls after the first
	At      time.Time
	// Closed is set once the person's submission closed the modal (an
	// empty ack or response_action clear).
	Closed bool
	// Errors are what the last response_action errors showed under the
	// inputs, by block_id; nil once the modal moved on.
	Errors map[string]string
}

// Messages returns the messages in channel ("" for every channel) that
// everyone there sees, in posting order, without deleted ones.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return collect(s.messages, func(m *Message) bool {
		return !m.Deleted && (channel == "" || m.Channel == channel)
	})
}

// Ephemerals returns the ephemeral messages shown in channel ("" for every
// channel), in posting order.
func (s *Server) Ephemerals(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return collect(s.ephemerals, func(m *Message) bool {
		return !m.Deleted && (channel == "" || m.Channel == channel)
	})
}

// Message returns the current version of a channel message, deleted or not.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findLocked(channel, ts)
	if m == nil {
		return Message{}, false
	}
	return cloneMessage(m), true
}

// Thread returns the parent message with ts followed by its replies, in
// order, as conversations.replies lists them.
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return collect(s.messages, func(m *Message) bool {
		return !m.Deleted && m.Channel == channel && (m.TS == ts || m.ThreadTS == ts)
	})
}

// WaitForMessage waits until some version of a message (a post, an edit, a
// deletion, or an ephemeral message) matches, and returns that version. Every
// version since the server started counts, so a match that was already
// replaced by a later edit is still found; the earliest match wins.
func (s *Server) WaitForMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	var (
		found Message
		next  int
	)
	err := s.waitFor(ctx, func() bool {
		for ; next < len(s.history); next++ {
			if match(s.history[next]) {
				found = cloneMessage(&s.history[next])
				return true
			}
		}
		return false
	})
	if err != nil {
		return Message{}, fmt.Errorf("waiting for a message: %w", err)
	}
	return found, nil
}

// Views returns every view the app opened or published, in the order they
// first appeared, each in its latest version.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.views))
	for _, v := range s.views {
		out = append(out, cloneView(v))
	}
	return out
}

// HomeView returns the App Home view last published for user.
func (s *Server) HomeView(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.homeByUser[user]
	if v == nil {
		return View{}, false
	}
	return cloneView(v), true
}

// WaitForView waits until a view matches and returns it.
func (s *Server) WaitForView(ctx context.Context, match func(View) bool) (View, error) {
	var found View
	err := s.waitFor(ctx, func() bool {
		for _, v := range s.views {
			if c := cloneView(v); match(c) {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		return View{}, fmt.Errorf("waiting for a view: %w", err)
	}
	return found, nil
}

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.TS == ts && (channel == "" || m.Channel == channel) {
			return m
		}
	}
	return nil
}

func (s *Server) findEphemeralLocked(channel, ts string) *Message {
	for _, m := range s.ephemerals {
		if m.TS == ts && (channel == "" || m.Channel == channel) {
			return m
		}
	}
	return nil
}

// recordLocked keeps a snapshot of m's current version and wakes waiters.
func (s *Server) recordLocked(m *Message) {
	s.history = append(s.history, cloneMessage(m))
	s.notifyLocked()
}

// postLocked adds a message the way Slack posts a response on the app's
// behalf.
func (s *Server) postLocked(channel, threadTS, text string, blocks json.RawMessage, ephemeralTo string) *Message {
	m := &Message{Channel: channel, TS: s.newTSLocked(), ThreadTS: threadTS, Text: text, User: botUserID, Blocks: nonEmptyBlocks(blocks), EphemeralTo: ephemeralTo}
	if ephemeralTo != "" {
		s.ephemerals = append(s.ephemerals, m)
	} else {
		s.messages = append(s.messages, m)
	}
	s.recordLocked(m)
	return m
}

func collect(ms []*Message, keep func(*Message) bool) []Message {
	var out []Message
	for _, m := range ms {
		if keep(m) {
			out = append(out, cloneMessage(m))
		}
	}
	return out
}

func cloneMessage(m *Message) Message {
	c := *m
	c.Blocks = bytes.Clone(m.Blocks)
	return c
}

func cloneView(v *View) View {
	c := *v
	c.JSON = bytes.Clone(v.JSON)
	c.Errors = maps.Clone(v.Errors)
	return c
}

// nonEmptyBlocks maps "no blocks" (absent, null or []) to nil.
func nonEmptyBlocks(b json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(t, &arr) == nil && len(arr) == 0 {
		return nil
	}
	return bytes.Clone(t)
}

// messageObject is a message as Slack returns it in API answers and
// interaction payloads.
func messageObject(m *Message) map[string]any {
	o := map[string]any{
		"type": "message",
		"text": m.Text,
		"user": m.User,
		"ts":   m.TS,
		"team": teamID,
	}
	if m.User == botUserID {
		o["bot_id"] = botID
		o["app_id"] = appID
	}
	if m.Blocks != nil {
		o["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
	}
	return o
}
