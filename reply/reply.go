// Package reply is what the bot says, as plain data that knows nothing of
// Slack. The command layer and the alerts build replies; each transport (the
// Slack one, the console one) renders them. Keeping one shape for both front
// ends means they cannot drift, and tests reach every command without a
// websocket.
//
// All text here is plain: renderers escape it for their medium, so text
// that came from a user or from DialogTech can never inject markup. The only
// markup is a mention, built with Mention.
package reply

import (
	"errors"
	"strings"

	"github.com/dialogbot/dialogbot/internal/slackid"
)

// ErrRefused marks a send the chat definitely did not carry out (Slack
// answered ok:false, or 429 past its retries): sending it again cannot make
// a second copy. Any other send error may have been carried out.
var ErrRefused = errors.New("the chat refused the message; it was not posted")

// Visibility says who sees a reply.
type Visibility int

const (
	// Ephemeral: only the person who asked (the default).
	Ephemeral Visibility = iota
	// InChannel: everyone in the channel.
	InChannel
)

// Message is one reply: a summary line (used for notifications and as the
// fallback text) and blocks.
type Message struct {
	Text       string
	Blocks     []Block
	Visibility Visibility
}

// Block is one of Header, Section, Fields, Usage, Context, Actions, Divider.
type Block interface{ isBlock() }

// Header is a short bold title.
type Header struct{ Text string }

// Section is a paragraph of plain text.
type Section struct{ Text string }

// Fields are label/value pairs shown side by side.
type Fields struct{ Fields []Field }

// Field is one label/value pair.
type Field struct{ Label, Value string }

// Usage shows how full an add-on is: a bar with in_use/total and what is
// left. Note is an extra line (e.g. a forecast).
type Usage struct {
	Label string
	InUse int
	Total int
	Note  string
}

// Context is small print under a message.
type Context struct{ Text string }

// Actions is a row of buttons.
type Actions struct{ Buttons []Button }

// Divider is a horizontal rule.
type Divider struct{}

func (Header) isBlock()  {}
func (Section) isBlock() {}
func (Fields) isBlock()  {}
func (Usage) isBlock()   {}
func (Context) isBlock() {}
func (Actions) isBlock() {}
func (Divider) isBlock() {}

// Style of a button.
type Style string

const (
	Default Style = ""
	Primary Style = "primary"
	Danger  Style = "danger"
)

// Button is something a person presses. Value carries only an id: what a
// button does is looked up on the server, never taken from the payload.
type Button struct {
	ActionID string
	Text     string
	Value    string
	Style    Style
	Confirm  *Confirm
}

// Confirm is a "are you sure?" dialog shown before a button takes effect.
type Confirm struct {
	Title   string
	Text    string
	Confirm string
	Deny    string
}

// Mentions are written into plain text between two private-use runes so
// renderers can turn them into their medium's mention without trusting any
// other markup. Clean removes the markers from untrusted text.
const (
	mentionOpen  = '\uE000'
	mentionClose = '\uE001'
)

// isUserID reports whether s looks like a Slack user id (U0123ABCD).
func isUserID(s string) bool { return slackid.Match(s, "UW", 2, 20) }

// Mention refers to a Slack user. An id that is not a user id is returned
// as plain text.
func Mention(userID string) string {
	if !isUserID(userID) {
		return Clean(userID)
	}
	return string(mentionOpen) + userID + string(mentionClose)
}

// Clean strips mention markers from untrusted text, so user input cannot
// forge a mention.
func Clean(s string) string {
	if !strings.ContainsAny(s, string(mentionOpen)+string(mentionClose)) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == mentionOpen || r == mentionClose {
			return -1
		}
		return r
	}, s)
}

// ExpandMentions rewrites every mention in s with render(userID); the rest
// of s is passed through text (e.g. an escaper). Markers not forming a valid
// mention are dropped.
func ExpandMentions(s string, text func(string) string, render func(userID string) string) string {
	if !strings.ContainsRune(s, mentionOpen) {
		return text(Clean(s))
	}
	var b strings.Builder
	for {
		i := strings.IndexRune(s, mentionOpen)
		if i < 0 {
			b.WriteString(text(Clean(s)))
			return b.String()
		}
		b.WriteString(text(Clean(s[:i])))
		rest := s[i+len(string(mentionOpen)):]
		j := strings.IndexRune(rest, mentionClose)
		if j < 0 {
			b.WriteString(text(Clean(rest)))
			return b.String()
		}
		id := rest[:j]
		if isUserID(id) {
			b.WriteString(render(id))
		} else {
			b.WriteString(text(Clean(id)))
		}
		s = rest[j+len(string(mentionClose)):]
	}
}

// Bar draws a usage bar of width cells, e.g. "███████░░░".
func Bar(inUse, total, width int) string {
	if width <= 0 {
		return ""
	}
	filled := 0
	if total > 0 {
		filled = (inUse*width + total/2) / total
		if inUse > 0 && filled == 0 {
			filled = 1
		}
		if filled > width {
			filled = width
		}
	}
	return strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
}
