// Package command is what dialogbot does, with no knowledge of Slack: it
// takes a parsed command or a button press and the person behind it, and
// returns replies as plain data (package reply). The Slack transport and the
// console transport both drive it, so they behave the same.
package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// Account is what commands read from DialogTech, and the one non-buying
// action they take directly.
type Account interface {
	ListAddOns(ctx context.Context) ([]dialog.AddOn, error)
	CallVR(ctx context.Context, menuID, phone string) error
}

// Alerts is what commands need from the capacity alerts. It may be nil.
type Alerts interface {
	// Forecasts returns a short forecast ("full in ~4 days") per item id.
	Forecasts(ctx context.Context, addOns []dialog.AddOn) map[int]string
	// Snooze silences an alert; key and duration come from the button.
	Snooze(ctx context.Context, key, userID string, d time.Duration) (reply.Message, error)
	// Suggest is how many to buy to bring an add-on back under its
	// threshold.
	Suggest(a dialog.AddOn) int
	// OpenAlerts lists the alerts that are firing, one line each.
	OpenAlerts(ctx context.Context) ([]string, error)
}

// Invocation is a command as typed: "/numbers" and "order 312 5".
type Invocation struct {
	Command   string
	Text      string
	UserID    string
	ChannelID string
	// Key names this invocation (e.g. the slash command's trigger id): a
	// second delivery of it, to any replica, opens no second request.
	Key string
}

// Action is a button press. Value carries only an id.
type Action struct {
	ActionID  string
	Value     string
	UserID    string
	ChannelID string
	MessageTS string // the message the button is on
}

// Post is a new message in a channel. RequestID, when set, is the approval
// request the message shows: the transport reports where it was posted with
// Handler.Posted.
type Post struct {
	ChannelID string
	Message   reply.Message
	RequestID string
}

// Edit replaces a posted message, or (as a thread reply) answers in its
// thread.
type Edit struct {
	ChannelID string
	TS        string
	Message   reply.Message
	// RequestID and Version, when set, say which request the message
	// shows and at which version of it: after the update the transport
	// asks Handler.Redraw whether a newer one must follow.
	RequestID string
	Version   int64
}

// Result is everything one command or action produces. Transports carry
// out each part in this order: Reply, Post, Edits, Threads.
type Result struct {
	Reply   *reply.Message // to the person who acted; ephemeral unless its Visibility says otherwise
	Post    *Post
	Edits   []Edit
	Threads []Edit
	// AskReason asks the person for an optional deny reason for this
	// request id; the transport then calls Handler.Deny.
	AskReason string
	// RequestID is the request a command acted on, for the log line.
	RequestID string
	// Failed says the command or action did not take effect; Reply says
	// why. A transport that can keep a dialog open shows it there.
	Failed bool
}

// Action ids of the buttons the handler puts on messages.
const (
	ActionApprove     = "request.approve"
	ActionDeny        = "request.deny"
	ActionCancel      = "request.cancel"
	ActionRequestMore = "alert.request_more"
	ActionSnooze      = "alert.snooze"
	ActionSnoozeDay   = "alert.snooze_day"
	ActionSnoozeWeek  = "alert.snooze_week"
	// ActionResolveBought and ActionResolveNotBought record what an
	// approver found for a request whose outcome is unknown.
	ActionResolveBought    = "request.resolve_bought"
	ActionResolveNotBought = "request.resolve_not_bought"
	maxAuditEntries        = 20
	maxPendingListed       = 15 // requests that need checking, listed by /addons pending
	maxMessageBlocks       = 50 // Slack's limit on blocks in a message
	approveConfirmText     = 290
)

// ActionDenySubmit names the submission of the deny-reason dialog (Deny) to
// the observer; no button carries it.
const ActionDenySubmit = "request.deny_reason"

// Handler runs commands and actions.
type Handler struct {
	account   Account
	approvals *approval.Service
	alerts    Alerts
	log       *slog.Logger
	now       func() time.Time
	commands  []*Command
	observe   func(kind, name, outcome string, d time.Duration)

	callers []string        // CALLERS: who may use /call vr; empty: anyone
	groups  approval.Groups // members of the groups in callers

	redrawMu sync.Mutex
	redrawn  map[string]time.Time // request id → when a late click last redrew its message
}

// Option configures a Handler.
type Option func(*Handler)

// WithAlerts connects the capacity alerts (forecasts, snooze buttons).
func WithAlerts(a Alerts) Option { return func(h *Handler) { h.alerts = a } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithCallers limits /call vr to callers (user ids and user group ids,
// whose members groups knows); empty: anyone may call.
func WithCallers(callers []string, groups approval.Groups) Option {
	return func(h *Handler) { h.callers, h.groups = callers, groups }
}

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithObserver is told of every command (kind "command", the registry name
// such as "/addons buy") and every button press or deny submission (kind
// "action", the action id), with its outcome and how long it took. A name
// may be what a person typed when it matched no command, so an observer
// that makes labels of it must map unknown names to a fixed value. It must
// be cheap and safe for concurrent use.
func WithObserver(f func(kind, name, outcome string, d time.Duration)) Option {
	return func(h *Handler) { h.observe = f }
}

// New returns a Handler.
func New(account Account, approvals *approval.Service, opts ...Option) *Handler {
	h := &Handler{account: account, approvals: approvals, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.commands = h.registry()
	return h
}

// Handle runs one command. It never returns an error: every failure becomes
// a reply a person can act on.
func (h *Handler) Handle(ctx context.Context, inv Invocation) Result {
	start := h.now()
	cmd, args, err := h.route(inv)
	var res Result
	outcome := "ok"
	if err == nil {
		res, err = cmd.Run(ctx, inv, args)
	}
	if err != nil {
		outcome = errorKind(err)
		res = Result{Reply: h.errorReply(ctx, err)}
	}
	name := inv.Command
	if cmd != nil {
		name = cmd.Name()
	}
	d := h.now().Sub(start)
	attrs := []any{"command", name, "user_id", inv.UserID, "outcome", outcome, "duration", d}
	switch {
	case res.Post != nil && res.Post.RequestID != "":
		attrs = append(attrs, "request_id", res.Post.RequestID)
	case res.RequestID != "":
		attrs = append(attrs, "request_id", res.RequestID)
	}
	h.log.InfoContext(ctx, "command", attrs...)
	h.observed("command", name, outcome, d)
	return res
}

func (h *Handler) observed(kind, name, outcome string, d time.Duration) {
	if h.observe != nil {
		h.observe(kind, name, outcome, d)
	}
}

// Commands lists the registry, for help, the app manifest and tests.
func (h *Handler) Commands() []*Command { return h.commands }

func (h *Handler) route(inv Invocation) (*Command, []string, error) {
	name := strings.ToLower(strings.TrimSpace(inv.Command))
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	var family []*Command
	var slashes []string
	for _, c := range h.commands {
		if c.Slash == name {
			family = append(family, c)
		}
		if s := strings.TrimPrefix(c.Slash, "/"); !slices.Contains(slashes, s) {
			slashes = append(slashes, s)
		}
	}
	if len(family) == 0 {
		problem := fmt.Sprintf("Unknown command %s%s", quote(inv.Command), didYouMean(strings.TrimPrefix(name, "/"), slashes, "/"))
		return nil, nil, &UsageError{Problem: problem, Usage: "/addons help"}
	}
	// A refused text is answered with the usage of the subcommand it was
	// for, when its first word names one.
	usage := family[0].Usage
	if first := strings.Fields(inv.Text); len(first) > 0 {
		for _, c := range family {
			if strings.EqualFold(c.Verb, first[0]) {
				usage = c.Usage
			}
		}
	}
	words, err := Tokenize(inv.Text, usage)
	if err != nil {
		return nil, nil, err
	}
	verb := ""
	if len(words) > 0 {
		verb = strings.ToLower(words[0])
	}
	if verb == "help" || verb == "-h" || verb == "--help" {
		return h.helpCommand(family), nil, nil
	}
	for _, c := range family {
		if c.Verb == verb {
			if len(words) > 1 && strings.EqualFold(words[1], "help") {
				return h.helpCommand([]*Command{c}), nil, nil
			}
			return c, words[1:], nil
		}
	}
	if verb == "" {
		for _, c := range family {
			if c.Default {
				return c, nil, nil
			}
		}
	}
	var usages, verbs []string
	for _, c := range family {
		usages = append(usages, c.Usage)
		verbs = append(verbs, c.Verb)
	}
	problem := fmt.Sprintf("%s needs a subcommand", name)
	if verb != "" {
		problem = fmt.Sprintf("Unknown %s subcommand %s%s", name, quote(verb), h.suggestVerb(name, verb, verbs))
	}
	return nil, nil, &UsageError{Problem: problem, Usage: strings.Join(usages, " | ")}
}

// suggestVerb is " (did you mean …?)" for a subcommand that is not one of
// slash's: a close one of its own, its only one, and the same word under
// another slash command ("/numbers buy": /numbers order or /addons buy).
func (h *Handler) suggestVerb(slash, verb string, verbs []string) string {
	var options []string
	if c, ok := closest(verb, verbs); ok {
		options = append(options, slash+" "+c)
	} else if len(verbs) == 1 {
		options = append(options, slash+" "+verbs[0])
	}
	for _, c := range h.commands {
		if c.Slash != slash && c.Verb == verb {
			options = append(options, c.Name())
		}
	}
	if len(options) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(options, " or ") + "?)"
}

func (h *Handler) errorReply(ctx context.Context, err error) *reply.Message {
	var ue *UsageError
	var ve *dialog.ValidationError
	var de *approval.DecidedError
	var ee *approval.ExistingError
	var re *approval.ResolveError
	var rf *Refusal
	var nobody *approval.NobodyCanApproveError
	switch {
	case errors.As(err, &ee):
		t := existingText(ee)
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.As(err, &re):
		t := fmt.Sprintf("Request %s is %s, not unknown: there is nothing to record. Nothing was changed.", re.Request.ID, re.Request.State)
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.Is(err, approval.ErrNotRecorded):
		t := sentence(err.Error())
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.Is(err, approval.ErrNumbersNeeded):
		t := sentence(err.Error()) + " Nothing was changed."
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}, reply.Context{Text: "Usage: " + UsageResolve}}}
	case errors.As(err, &rf):
		return &reply.Message{Text: rf.Text, Blocks: []reply.Block{reply.Section{Text: rf.Text}}}
	case errors.As(err, &nobody):
		t := sentence(err.Error()) + nobodyHint(nobody) + " Nothing was requested."
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.Is(err, approval.ErrAlreadyApproved):
		t := "You already approved this request; it needs another approver before anything is bought. Nothing was changed."
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.As(err, &ue):
		m := reply.Message{Text: ue.Problem, Blocks: []reply.Block{reply.Section{Text: ue.Problem + "."}}}
		if ue.Usage != "" {
			m.Blocks = append(m.Blocks, reply.Context{Text: "Usage: " + ue.Usage})
		}
		return &m
	case errors.As(err, &de):
		t := decidedText(de.Request)
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.As(err, &ve):
		t := "DialogTech would refuse that: " + reply.Clean(ve.Error())
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	case errors.Is(err, approval.ErrNotApprover), errors.Is(err, approval.ErrSelfApproval),
		errors.Is(err, approval.ErrNoApprovers), errors.Is(err, approval.ErrNotRequester),
		errors.Is(err, approval.ErrExpired), errors.Is(err, approval.ErrNotFound):
		t := sentence(err.Error()) + " Nothing was changed."
		return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	}
	h.log.ErrorContext(ctx, "command failed", "err", err)
	t := "Something went wrong: " + failureText(err)
	return &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
}

// failureText describes an error from DialogTech or the store in words,
// using only the typed errors' safe fields.
func failureText(err error) string {
	var ae *dialog.APIError
	var he *dialog.HTTPError
	var me *dialog.MalformedResponseError
	var te *dialog.TransportError
	switch {
	case errors.Is(err, dialog.ErrUnknownOutcome):
		return "DialogTech did not answer; the outcome is unknown."
	case errors.As(err, &ae):
		// DialogTech's words are its text, not markup: no mention in them.
		return fmt.Sprintf("DialogTech refused %s: %s.", commandFor(ae.Action), strings.TrimSuffix(botTerms(reply.Clean(firstNonEmpty(ae.Description, ae.Result))), "."))
	case errors.As(err, &he):
		return fmt.Sprintf("DialogTech answered %s with HTTP %d.", commandFor(he.Action), he.StatusCode)
	case errors.As(err, &me):
		return fmt.Sprintf("DialogTech's answer to %s could not be read.", commandFor(me.Action))
	case errors.As(err, &te):
		return fmt.Sprintf("DialogTech could not be reached (%s).", te.Op)
	case errors.Is(err, context.DeadlineExceeded):
		return "it took too long."
	}
	return "an internal error; it has been logged."
}

// existingText points to the request that stood in the way of a new one.
func existingText(ee *approval.ExistingError) string {
	r := ee.Request
	state := "it is waiting for a decision"
	if r.State != store.StatePending {
		state = "it is " + string(r.State)
	}
	if ee.Same {
		return fmt.Sprintf("You already asked for this: request %s (%s); %s. Nothing new was opened.", r.ID, r.Summary, state)
	}
	return fmt.Sprintf("This was already asked for: request %s (%s); %s. Nothing new was opened.", r.ID, r.Summary, state)
}

func errorKind(err error) string {
	var ue *UsageError
	var de *approval.DecidedError
	var ee *approval.ExistingError
	var rf *Refusal
	var nobody *approval.NobodyCanApproveError
	switch {
	case errors.As(err, &ee):
		return "existing"
	case errors.As(err, &rf), errors.As(err, &nobody), errors.Is(err, approval.ErrAlreadyApproved):
		return "refused"
	case errors.As(err, &ue):
		return "usage"
	case errors.As(err, &de):
		return "already_decided"
	case errors.Is(err, approval.ErrNotApprover), errors.Is(err, approval.ErrSelfApproval),
		errors.Is(err, approval.ErrNoApprovers), errors.Is(err, approval.ErrNotRequester):
		return "refused"
	}
	return "error"
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// nobodyHint says who could approve and what to change.
func nobodyHint(e *approval.NobodyCanApproveError) string {
	who := ""
	if len(e.Eligible) > 0 {
		names := make([]string, len(e.Eligible))
		for i, u := range e.Eligible {
			names[i] = reply.Mention(u)
		}
		who = " Who can approve it: " + strings.Join(names, ", ") + "."
	}
	return who + " Ask whoever runs dialogbot to add an approver to APPROVERS or APPROVER_GROUPS."
}

// Posted records where the message of a request was posted.
func (h *Handler) Posted(ctx context.Context, requestID, channelID, ts string) error {
	return h.approvals.Posted(ctx, requestID, channelID, ts)
}

var _ = store.StatePending
