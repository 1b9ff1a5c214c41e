// Package console is dialogbot's terminal front end: the same commands and
// approvals as in Slack, typed on standard input.
//
// It is a transport like the Slack one and has no logic of its own: lines
// become command.Invocations, typed numbers become button presses
// (command.Action), and every command.Result is printed as plain text.
// Messages the bot "posts" go into one pretend channel and get a short id
// (m1, m2, ...) that stands in for Slack's message timestamp.
package console

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/internal/slackid"
	"github.com/dialogbot/dialogbot/reply"
)

// Options configures Run.
type Options struct {
	UserID    string // who is typing at first ("as U123" changes it)
	ChannelID string
	Banner    string // first line printed

	// Approvers are who may approve, only to tell the person whom to
	// switch to with "as". Empty: the hint does not mention approving.
	Approvers []string
	// IsApprover, when set, tells whoami who approves now (approver
	// groups change); else Approvers do.
	IsApprover func(user string) bool
	// SetGroup, when set, lets `group <S...> <user ids>` simulate a Slack
	// user group's members; it returns what to tell the person.
	SetGroup func(ctx context.Context, group string, users []string) (string, error)
	// OnStart, when set, is called once the console is ready to show
	// messages posted by others (the capacity alerts), with the channel
	// they post through. The channel stops taking messages when Run
	// returns.
	OnStart func(*Channel)
}

// maxLine is the longest line read; the rest of a longer line is dropped.
const maxLine = 64 << 10

// ErrClosed is returned by a Channel whose console has ended.
var ErrClosed = errors.New("console: closed")

// Run reads commands from in until EOF, "quit" or "exit" (or until ctx
// ends) and writes replies to out. It returns an error only when out
// cannot be written or in cannot be read.
func Run(ctx context.Context, h *command.Handler, in io.Reader, out io.Writer, opts Options) error {
	if opts.ChannelID == "" {
		opts.ChannelID = "C0CONSOLE"
	}
	if opts.UserID == "" {
		opts.UserID = "U0CONSOLE"
	}
	s := &session{
		h:           h,
		opts:        opts,
		out:         out,
		user:        opts.UserID,
		interactive: isTerminal(in),
		stamp:       strconv.FormatInt(time.Now().UnixNano(), 36),
		messages:    map[string]*message{},
	}
	for _, c := range h.Commands() {
		s.slashes = append(s.slashes, strings.TrimPrefix(c.Slash, "/"))
	}

	lines := make(chan input)
	done := make(chan struct{})
	defer close(done)
	s.lines = lines
	// Reading blocks in a goroutine so that ctx (Ctrl-C) ends the console
	// while it waits for a line. A read still blocked when Run returns
	// ends with the process.
	if t, restore, ok := newTerminal(in, out); ok {
		// A person at a terminal gets line editing and history; all
		// output goes through the terminal, which keeps the line being
		// typed intact when an alert arrives.
		defer restore()
		s.term, s.out = t, t
		asks := make(chan ask)
		s.asks = asks
		go t.readLines(asks, lines, done)
	} else {
		go readLines(in, lines, done)
	}

	s.mu.Lock()
	if opts.Banner != "" {
		s.printf("%s\n", safeLine(opts.Banner))
	}
	s.printf("Type help for the commands; `as U123` switches user; press a button by typing its number; quit leaves.\n")
	s.printf("%s\n", s.whoami())
	s.mu.Unlock()

	if opts.OnStart != nil {
		opts.OnStart(&Channel{s: s})
	}
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}()

	for {
		s.sweep(ctx)
		line, ok, err := s.readCommand(ctx, s.prompt())
		if err != nil || !ok {
			return errors.Join(err, s.err())
		}
		if quit := s.do(ctx, line); quit {
			return s.err()
		}
		if err := s.err(); err != nil {
			return err
		}
	}
}

// input is one line read, or why reading stopped.
type input struct {
	line string
	eof  bool // Ctrl-D at a terminal: no line this time
	err  error
}

func readLines(in io.Reader, lines chan<- input, done <-chan struct{}) {
	br := bufio.NewReaderSize(in, 4096)
	for {
		line, err := readLine(br)
		if line == "" && err != nil {
			// End of input is the channel closing; only a real read error
			// is sent, so that no reader takes the end for an empty line.
			if !errors.Is(err, io.EOF) {
				select {
				case lines <- input{err: err}:
				case <-done:
				}
			}
			close(lines)
			return
		}
		select {
		case lines <- input{line: line}:
		case <-done:
			return
		}
	}
}

// readLine reads up to a newline, keeping at most maxLine bytes. A last
// line without a newline is returned with a nil error.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b) < maxLine {
			b = append(b, chunk[:min(len(chunk), maxLine-len(b))]...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && len(b) > 0 && errors.Is(err, io.EOF):
			return string(bytes.TrimRight(b, "\r")), nil
		case err != nil:
			return "", err
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			// An empty line is a line; only EOF is "no line".
			return "\n", nil
		}
		return string(b), nil
	}
}

func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// session is one console run. mu guards everything below it and the
// output; it is never held while the handler runs, because the handler
// may post through the Channel (a snooze edits its alert).
type session struct {
	h           *command.Handler
	opts        Options
	interactive bool
	stamp       string // makes message ids unique to this run
	slashes     []string
	lines       <-chan input
	// term is the line editor when a person types at a terminal; then
	// each line is asked for on asks, with its prompt.
	term *terminal
	asks chan<- ask

	mu       sync.Mutex
	out      io.Writer
	werr     error
	user     string
	next     int                 // messages posted so far
	replies  int                 // thread replies posted through the Channel
	messages map[string]*message // by ts
	buttons  []*button           // button n is buttons[n-1]
	waiting  string              // the prompt shown while a line is awaited
	closed   bool
}

// message is one message posted into the console's channel.
type message struct {
	id      string // what the person sees: "m1"
	ts      string // what the handler and the store see
	channel string
	buttons []*button
}

// button is a numbered button. msg is nil for a button on a reply.
type button struct {
	n     int
	b     reply.Button
	msg   *message
	stale bool
}

// printf writes to out; s.mu must be held. The first write error stops
// the session.
func (s *session) printf(format string, args ...any) {
	if s.werr != nil {
		return
	}
	_, s.werr = fmt.Fprintf(s.out, format, args...)
}

func (s *session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.werr != nil {
		return fmt.Errorf("console: write: %w", s.werr)
	}
	return nil
}

func (s *session) prompt() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user + "> "
}

// read waits for the next line after showing prompt. In a terminal the
// prompt comes first; when input is piped the line is echoed after it, so
// that the output reads as a transcript. ok is false at the end of input.
func (s *session) read(ctx context.Context, prompt string) (line string, ok bool, err error) {
	return s.readLine(ctx, prompt, false)
}

// readCommand reads a line at the main prompt: one that history keeps.
func (s *session) readCommand(ctx context.Context, prompt string) (line string, ok bool, err error) {
	return s.readLine(ctx, prompt, true)
}

func (s *session) readLine(ctx context.Context, prompt string, history bool) (line string, ok bool, err error) {
	if s.term != nil {
		select {
		case <-ctx.Done():
			return "", false, nil
		case s.asks <- ask{prompt: prompt, history: history}:
		}
	}
	s.mu.Lock()
	if s.interactive && s.term == nil {
		s.printf("%s", prompt)
		s.waiting = prompt
	}
	s.mu.Unlock()
	var in input
	select {
	case <-ctx.Done():
	case in, ok = <-s.lines:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting = ""
	if !ok || in.err != nil || in.eof {
		if s.interactive && s.term == nil {
			s.printf("\n")
		}
		if in.err != nil {
			return "", false, fmt.Errorf("console: read: %w", in.err)
		}
		return "", false, nil
	}
	if in.line == "\n" {
		in.line = ""
	}
	if !s.interactive {
		s.printf("%s\n", strings.TrimRight(prompt+safeLine(in.line), " "))
	}
	return in.line, true, nil
}

// do runs one line; it reports whether the person asked to leave.
func (s *session) do(ctx context.Context, line string) (quit bool) {
	line = strings.TrimSpace(line)
	// Any white space ends the first word: "/addons\tbuy 6 2" is a command.
	word, rest := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		word, rest = line[:i], strings.TrimSpace(line[i:])
	}
	lower := strings.ToLower(word)
	switch {
	case line == "":
	case lower == "quit" || lower == "exit":
		return true
	case lower == "help" || lower == "/help" || lower == "?":
		s.help()
	case lower == "whoami":
		s.say(s.locked(s.whoami))
	case lower == "as":
		s.switchUser(rest)
	case lower == "home":
		s.home(ctx)
	case lower == "group":
		s.group(ctx, rest)
	case isNumber(line):
		s.press(ctx, line)
	case strings.HasPrefix(word, "/") || slices.Contains(s.slashes, lower):
		inv := command.Invocation{Command: "/" + strings.TrimPrefix(word, "/"), Text: rest, UserID: s.currentUser(), ChannelID: s.opts.ChannelID}
		s.apply(ctx, s.h.Handle(ctx, inv))
	default:
		s.say(fmt.Sprintf("%q is not something dialogbot knows. Type help for the commands, or a button's number to press it.", truncate(line, 40)))
	}
	return false
}

func (s *session) locked(f func() string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

func (s *session) currentUser() string { return s.locked(func() string { return s.user }) }

// say prints a note from the console itself (not from the bot).
func (s *session) say(t string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.printf("%s\n", safe(t))
}

// whoami needs s.mu held.
func (s *session) whoami() string {
	switch {
	case s.opts.IsApprover != nil && s.opts.IsApprover(s.user):
		return "You are " + s.user + ", an approver."
	case len(s.opts.Approvers) == 0:
		return "You are " + s.user + "."
	case slices.Contains(s.opts.Approvers, s.user):
		return "You are " + s.user + ", an approver."
	}
	return fmt.Sprintf("You are %s; `as %s` to approve.", s.user, s.opts.Approvers[0])
}

// isUserID and isGroupID report whether s looks like a Slack user id
// (U0123ABCD) or user group id (S0FINANCE).
func isUserID(s string) bool  { return slackid.Match(s, "UW", 2, 20) }
func isGroupID(s string) bool { return slackid.Match(s, "S", 2, 20) }

// group sets a simulated user group: "S0FINANCE U0ALICE U0BOB".
func (s *session) group(ctx context.Context, rest string) {
	const form = "Usage: group <group_id> [user_id ...], e.g. group S0FINANCE U0ALICE U0BOB (no users empties it)"
	if s.opts.SetGroup == nil {
		s.say("Groups come from Slack here; they cannot be simulated.")
		return
	}
	words := strings.Fields(strings.ReplaceAll(rest, ",", " "))
	if len(words) == 0 || !isGroupID(strings.ToUpper(words[0])) {
		s.say(form)
		return
	}
	users := make([]string, 0, len(words)-1)
	for _, w := range words[1:] {
		u := strings.ToUpper(strings.TrimPrefix(w, "@"))
		if !isUserID(u) {
			s.say(fmt.Sprintf("%q is not a Slack user id; they look like U0123ABCD. %s", truncate(w, 40), form))
			return
		}
		users = append(users, u)
	}
	note, err := s.opts.SetGroup(ctx, strings.ToUpper(words[0]), users)
	if err != nil {
		s.say("The group was not changed: " + err.Error())
		return
	}
	s.say(note)
}

func (s *session) switchUser(typed string) {
	typed = strings.TrimPrefix(strings.TrimSpace(typed), "@")
	id := strings.ToUpper(typed)
	if !isUserID(id) {
		// Quoted as typed: "bob", not "BOB".
		s.say(fmt.Sprintf("%q is not a Slack user id; they look like U0123ABCD. Example: as U0APPROVER", truncate(typed, 40)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = id
	s.printf("%s\n", s.whoami())
}

func (s *session) help() {
	m := s.h.Help()
	m.Blocks = append(m.Blocks, reply.Divider{}, reply.Fields{Fields: []reply.Field{
		{Label: "In this console", Value: strings.Join([]string{
			"as <user_id>   act as another Slack user (approvers approve)",
			"whoami         who you are now",
			"home           the App Home: usage, open alerts, pending requests",
			"group S… U…    members of a simulated Slack user group (APPROVER_GROUPS, CALLERS)",
			"<number>       press the button with that number",
			"quit           leave (so does end of input)",
			"Commands work with or without the leading slash.",
		}, "\n")},
	}})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.show("dialogbot (only you):", m, nil)
}

func (s *session) home(ctx context.Context) {
	m, err := s.h.Home(ctx, s.currentUser())
	if err != nil {
		s.say("The App Home could not be built: " + err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.show("dialogbot App Home (only you):", m, nil)
}

func isNumber(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// press presses button n as the current user, after the button's
// confirmation when it has one (as Slack shows before Approve).
func (s *session) press(ctx context.Context, n string) {
	i, _ := strconv.Atoi(n)
	s.mu.Lock()
	if i < 1 || i > len(s.buttons) {
		s.printf("There is no button [%d].\n", i)
		s.mu.Unlock()
		return
	}
	btn := s.buttons[i-1]
	if btn.stale {
		s.printf("Button [%d] was on %s, which has been updated since; its buttons no longer work.\n", i, btn.msg.id)
		s.mu.Unlock()
		return
	}
	a := command.Action{ActionID: btn.b.ActionID, Value: btn.b.Value, UserID: s.user, ChannelID: s.opts.ChannelID}
	on := ""
	if btn.msg != nil {
		a.MessageTS, a.ChannelID = btn.msg.ts, btn.msg.channel
		on = " on " + btn.msg.id
	}
	s.printf("%s pressed %s%s.\n", s.user, safeLine(btn.b.Text), on)
	prompt := ""
	if c := btn.b.Confirm; c != nil {
		s.printf("%s %s\n", safeLine(c.Title), safeLine(c.Text))
		prompt = fmt.Sprintf("Type y to %s or n for %s: ", safeLine(c.Confirm), safeLine(c.Deny))
	}
	s.mu.Unlock()

	if prompt != "" && !s.confirm(ctx, prompt, btn.b.Confirm) {
		s.say(fmt.Sprintf("Not pressed: %s.", safeLine(btn.b.Confirm.Deny)))
		return
	}
	s.apply(ctx, s.h.Act(ctx, a))
}

// confirm asks until the answer is y or n, as Slack's dialog offers two
// buttons and nothing else: a command typed here by mistake is neither.
// End of input is n.
func (s *session) confirm(ctx context.Context, prompt string, c *reply.Confirm) bool {
	for {
		answer, ok, _ := s.read(ctx, prompt)
		if !ok {
			return false
		}
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
			return true
		case "n", "no":
			return false
		}
		s.say(fmt.Sprintf("%q is not an answer here: type y to %s or n for %s.", truncate(answer, 40), safeLine(c.Confirm), safeLine(c.Deny)))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// sweep closes expired requests and shows their updated messages.
func (s *session) sweep(ctx context.Context) {
	s.apply(ctx, s.h.Sweep(ctx))
	s.h.Remind(ctx, &Channel{s: s})
}

// apply shows a result in the order the Slack transport carries it out:
// the new channel message (recorded with Posted before anything else
// happens), the reply to the person, the edits, the thread replies; then
// it asks for a deny reason if the result wants one.
func (s *session) apply(ctx context.Context, res command.Result) {
	if p := res.Post; p != nil {
		s.mu.Lock()
		msg := s.post(p.ChannelID, p.Message)
		s.mu.Unlock()
		if p.RequestID != "" {
			if err := s.h.Posted(ctx, p.RequestID, p.ChannelID, msg.ts); err != nil {
				s.say(fmt.Sprintf("Could not record where request %s was posted: %v", p.RequestID, err))
			}
		}
	}
	s.mu.Lock()
	if r := res.Reply; r != nil {
		if r.Visibility == reply.InChannel {
			s.post(s.opts.ChannelID, *r)
		} else {
			s.show("dialogbot (only you):", *r, nil)
		}
	}
	for _, e := range res.Edits {
		s.update(e.ChannelID, e.TS, e.Message)
	}
	defer func() {
		for _, e := range res.Edits {
			if e.RequestID != "" {
				s.h.Drawn(ctx, e.RequestID, e.Version)
			}
		}
	}()
	for _, e := range res.Threads {
		s.thread(e.ChannelID, e.TS, e.Message)
	}
	s.mu.Unlock()
	if id := res.AskReason; id != "" {
		s.askReason(ctx, id)
	}
}

// askReason stands in for Slack's deny dialog. End of input closes the
// dialog: nothing is denied.
func (s *session) askReason(ctx context.Context, id string) {
	reason, ok, _ := s.read(ctx, "Reason (optional, Enter to skip): ")
	if !ok {
		s.say("Nothing was denied.")
		return
	}
	s.apply(ctx, s.h.Deny(ctx, id, s.currentUser(), reason))
}

// post adds a message to a channel and shows it; s.mu must be held.
func (s *session) post(channel string, m reply.Message) *message {
	s.next++
	msg := &message{id: "m" + strconv.Itoa(s.next), channel: channel}
	msg.ts = msg.id + "." + s.stamp
	s.messages[msg.ts] = msg
	s.show(fmt.Sprintf("dialogbot in #%s (%s):", safeLine(channel), msg.id), m, msg)
	return msg
}

// update replaces a message: its buttons stop working and the new text is
// shown; s.mu must be held.
func (s *session) update(channel, ts string, m reply.Message) {
	msg, ok := s.messages[ts]
	if !ok {
		// Posted by an earlier run (or a replica): nothing of it is on
		// this screen, so show the new text as is.
		s.show(fmt.Sprintf("dialogbot in #%s (a message from earlier, updated):", safeLine(channel)), m, nil)
		return
	}
	for _, b := range msg.buttons {
		b.stale = true
	}
	msg.buttons = nil
	s.show(fmt.Sprintf("dialogbot in #%s (%s, updated):", safeLine(msg.channel), msg.id), m, msg)
}

// thread shows a thread reply under its message; s.mu must be held.
func (s *session) thread(channel, ts string, m reply.Message) {
	of := "a message from earlier"
	if msg, ok := s.messages[ts]; ok {
		of = msg.id
	}
	s.show(fmt.Sprintf("  dialogbot in the thread of %s:", of), m, nil, "    ")
}

// show prints a heading and m under it, numbering m's buttons and
// recording them on msg (nil for a reply); s.mu must be held.
func (s *session) show(heading string, m reply.Message, msg *message, indent ...string) {
	in := "  "
	if len(indent) > 0 {
		in = indent[0]
	}
	if s.waiting != "" {
		// A message from the alerts arrived at the prompt: start a fresh
		// line, and show the prompt again after it.
		s.printf("\n")
	}
	body := render(m, in, func(b reply.Button) int {
		btn := &button{n: len(s.buttons) + 1, b: b, msg: msg}
		s.buttons = append(s.buttons, btn)
		if msg != nil {
			msg.buttons = append(msg.buttons, btn)
		}
		return btn.n
	})
	s.printf("%s\n%s", heading, body)
	if s.waiting != "" {
		s.printf("%s", s.waiting)
	}
}

// Channel is the console's channel as a place others post to: it has the
// methods of alerts.Poster, so the capacity alerts show up in the
// terminal with working buttons. It is safe for concurrent use.
type Channel struct{ s *session }

// Post shows a new message and returns its id.
func (c *Channel) Post(ctx context.Context, channel string, m reply.Message) (string, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.closed {
		return "", ErrClosed
	}
	return c.s.post(channel, m).ts, nil
}

// Update shows a message again, changed.
func (c *Channel) Update(ctx context.Context, channel, ts string, m reply.Message) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.closed {
		return ErrClosed
	}
	c.s.update(channel, ts, m)
	return nil
}

// Reply shows a reply in a message's thread.
func (c *Channel) Reply(ctx context.Context, channel, threadTS string, m reply.Message) (string, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.closed {
		return "", ErrClosed
	}
	c.s.thread(channel, threadTS, m)
	c.s.replies++
	return "t" + strconv.Itoa(c.s.replies) + "." + c.s.stamp, nil
}
