package bot

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Where a result goes: the person who acted and how to reach them.
type target struct {
	userID      string
	channelID   string
	responseURL string // a slash command's: replies go there
	triggerID   string // for opening a modal
}

// applyTimeout bounds carrying out one result in Slack.
const applyTimeout = 15 * time.Second

const (
	denyCallbackID = "deny_reason"
	denyBlockID    = "reason"
	denyActionID   = "reason_input"
)

func (b *Bot) slashCommand(ctx context.Context, j *slashJob) {
	res := b.h.Handle(ctx, j.invocation())
	b.apply(ctx, res, j.target())
}

// submitAckWithin is how long a deny submission may take before its ack
// must go out: Slack waits 3 s, and the ack has to travel too.
const submitAckWithin = 2500 * time.Millisecond

// maxSubmitError bounds the text shown under the reason field.
const maxSubmitError = 2000

// denySubmission reports whether evt is the submission of the deny dialog.
func denySubmission(evt socketmode.Event) (slack.InteractionCallback, bool) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	return cb, ok && evt.Type == socketmode.EventTypeInteractive &&
		cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == denyCallbackID
}

// enqueueDenySubmission hands a deny submission to the workers; its ack
// is sent by them, once the denial is recorded or has failed. A full queue
// answers at once, keeping the dialog open.
func (b *Bot) enqueueDenySubmission(req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	kind := string(socketmode.EventTypeInteractive)
	j, _ := parseJob(kind, cb)
	var once sync.Once
	dj := j.deny()
	dj.received = received
	dj.ack = func(payload any) { once.Do(func() { b.ack(req, kind, received, payload) }) }
	j.bytes += int64(len(req.Payload))
	if b.jobs.push(j) {
		return
	}
	b.observer.Busy(kind, true)
	n, bytes := b.jobs.len()
	b.log.Warn("work queue full; deny submission refused", "user_id", dj.userID, "queued", n, "queued_bytes", bytes, "budget", b.cfg.QueueMemory)
	dj.ack(submitErrors("dialogbot is busy, nothing was denied, try again in a moment."))
}

// denySubmitted records a denial and answers the submission: an empty ack
// closes the dialog once the denial is recorded; when it is not, the
// dialog stays open and says why, so the approver is never left thinking
// it worked.
func (b *Bot) denySubmitted(ctx context.Context, j *denyJob) {
	ack := j.ack
	if ack == nil {
		ack = func(any) {}
	}
	dctx, cancel := context.WithDeadline(ctx, j.received.Add(submitAckWithin))
	res := b.h.Deny(dctx, j.requestID, j.userID, j.reason)
	cancel()
	if res.Failed {
		text := "Nothing was denied."
		if res.Reply != nil {
			text = res.Reply.Text
		}
		ack(submitErrors(text))
		return
	}
	ack(nil)
	b.apply(ctx, res, target{userID: j.userID, channelID: j.channelID})
}

// submitErrors is a view_submission answer that keeps the dialog open with
// text under the reason field.
func submitErrors(text string) map[string]any {
	return map[string]any{
		"response_action": "errors",
		"errors":          map[string]string{denyBlockID: cutPlain(text, maxSubmitError)},
	}
}

func (b *Bot) blockActions(ctx context.Context, j *clickJob) {
	for _, a := range j.actions {
		res := b.h.Act(ctx, command.Action{ActionID: a.actionID, Value: a.value, UserID: j.to.userID, ChannelID: j.to.channelID, MessageTS: j.messageTS})
		b.apply(ctx, res, j.to)
	}
}

func (b *Bot) publishHome(ctx context.Context, user string) {
	if b.home == nil {
		return
	}
	view, err := b.home(ctx, user)
	if err != nil {
		b.log.ErrorContext(ctx, "app home: build view", "user_id", user, "err", err)
		return
	}
	if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view}); err != nil {
		b.log.ErrorContext(ctx, "app home: views.publish", "user_id", user, "err", redactURLError(err))
	}
}

// apply carries out a result: the reply to the person, the new channel
// post, the edits of earlier messages, the thread replies, and a modal.
func (b *Bot) apply(ctx context.Context, res command.Result, t target) {
	// What happened must be shown even when a shutdown is cutting work
	// short: a purchase made during the last seconds of a process still
	// gets its message updated and its people told. Bounded, so shutdown
	// still ends.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), applyTimeout)
	defer cancel()
	if res.AskReason != "" {
		if err := b.askReason(ctx, res.AskReason, t); isSlackError(err, "exchanged_trigger_id") {
			// Another delivery of this very click (Slack retried it to
			// another replica) opened the dialog: the approver has it.
			b.log.InfoContext(ctx, "deny: the reason dialog was opened by another delivery of the click", "request_id", res.AskReason)
			res = command.Result{}
		} else if err != nil {
			// A deny is the approver's decision, and the dialog is where
			// they make it: without it nothing is decided. The trigger may
			// have died while the click waited, or Slack was busy.
			b.log.WarnContext(ctx, "deny: could not open the reason dialog; nothing decided", "request_id", res.AskReason, "err", redactURLError(err))
			m := denyAgain(res.AskReason)
			res = command.Result{Reply: &m}
		}
	}
	if p := res.Post; p != nil {
		_, ts, err := b.api.PostMessageContext(ctx, p.ChannelID, msgOptions(p.Message)...)
		switch {
		case err != nil:
			b.log.ErrorContext(ctx, "post failed", "channel", p.ChannelID, "request_id", p.RequestID, "err", redactURLError(err))
			m := failedPost(err)
			if p.RequestID != "" {
				if werr := b.h.Withdraw(ctx, p.RequestID); werr != nil {
					m = notWithdrawn(p.RequestID, werr)
				}
			}
			b.replyTo(ctx, m, t)
			// That is the whole answer: the reply that would have said
			// "asked for approval" (with a Cancel button) is about a
			// request that was just withdrawn.
			res.Reply = nil
		case p.RequestID != "":
			if err := b.h.Posted(ctx, p.RequestID, p.ChannelID, ts); err != nil {
				b.log.ErrorContext(ctx, "record request message", "request_id", p.RequestID, "err", err)
			}
		}
	}
	// The reply goes after the post is recorded, so whoever reads it finds
	// a request that knows its message.
	if res.Reply != nil {
		b.replyTo(ctx, *res.Reply, t)
	}
	for _, e := range res.Edits {
		b.update(ctx, e)
	}
	for _, e := range res.Threads {
		opts := append(msgOptions(e.Message), slack.MsgOptionTS(e.TS))
		if _, _, err := b.api.PostMessageContext(ctx, e.ChannelID, opts...); err != nil {
			b.log.ErrorContext(ctx, "thread reply failed", "channel", e.ChannelID, "ts", e.TS, "err", redactURLError(err))
		}
	}
}

// maxRedraws bounds how often one update follows the store's newer
// versions of its request.
const maxRedraws = 5

// update edits a message. For a request's message it then checks the
// store: an update drawn from an older version than the store's may have
// reached Slack after a newer one (a late click racing the outcome, another
// replica), so the newest state is drawn again.
func (b *Bot) update(ctx context.Context, e command.Edit) {
	for range maxRedraws {
		_, _, _, err := b.api.UpdateMessageContext(ctx, e.ChannelID, e.TS, msgOptions(e.Message)...)
		if err != nil {
			b.log.ErrorContext(ctx, "update failed", "channel", e.ChannelID, "ts", e.TS, "request_id", e.RequestID, "err", redactURLError(err))
		}
		if e.RequestID == "" {
			return
		}
		if err == nil {
			b.h.Drawn(ctx, e.RequestID, e.Version)
		}
		next, ok := b.h.Redraw(ctx, e.RequestID, e.Version)
		if !ok {
			return
		}
		e = next
	}
}

func isSlackError(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}

// denyAgain tells an approver whose Deny click could not open the reason
// dialog that nothing happened.
func denyAgain(requestID string) reply.Message {
	t := "The dialog for denying " + requestID + " could not open (Slack allows a few seconds after a click), so nothing was decided. Press Deny again."
	return reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
}

func failedPost(err error) reply.Message {
	t := "The request could not be posted in this channel, so it was withdrawn."
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "not_in_channel" || se.Err == "channel_not_found") {
		t = "dialogbot is not in this channel, so the request could not be posted and was withdrawn. Invite the bot (/invite) and ask again."
	}
	return reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
}

// notWithdrawn tells a requester whose request message Slack did not
// confirm that the request could not be withdrawn, and where it stands:
// the message may have reached the channel all the same.
func notWithdrawn(requestID string, err error) reply.Message {
	t := "Slack did not confirm the message of request " + requestID + ", and the request could not be withdrawn (dialogbot's store did not answer), so it may be waiting for a decision. Cancel it with /addons cancel " + requestID + "."
	var de *approval.DecidedError
	if errors.As(err, &de) && de.Request != nil {
		t = "Slack did not confirm the message of request " + requestID + ", but it reached the channel and an approver decided it first (it is now " + string(de.Request.State) + "), so it stands as decided. Its message in the channel shows the outcome."
	}
	return reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
}

// internalError is what a person sees when handling their command or click
// broke inside dialogbot. It promises nothing about money: a click may have
// broken after DialogTech answered, so it points at the request message.
func internalError(command string) reply.Message {
	t := "Something went wrong inside dialogbot while handling that. It has been logged. If it was about a request, check the request message before trying again."
	if command != "" {
		t = "Something went wrong inside dialogbot while handling " + command + ". It has been logged; try again in a moment."
	}
	return reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
}

// interactionTarget is where the reply to a click goes.
func interactionTarget(cb slack.InteractionCallback) target {
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	return target{userID: cb.User.ID, channelID: channel, triggerID: cb.TriggerID}
}

func msgOptions(m reply.Message) []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(Text(m), false), slack.MsgOptionBlocks(Blocks(m)...)}
}

// replyTo answers the person who acted: through the slash command's
// response_url when there is one, else as an ephemeral message, else (App
// Home, no channel) as a direct message.
func (b *Bot) replyTo(ctx context.Context, m reply.Message, t target) {
	var err error
	switch {
	case t.responseURL != "":
		typ := slack.ResponseTypeEphemeral
		if m.Visibility == reply.InChannel {
			typ = slack.ResponseTypeInChannel
		}
		blocks := slack.Blocks{BlockSet: Blocks(m)}
		err = slack.PostWebhookCustomHTTPContext(ctx, t.responseURL, b.http, &slack.WebhookMessage{Text: Text(m), Blocks: &blocks, ResponseType: typ})
	case t.channelID != "" && t.userID != "":
		_, err = b.api.PostEphemeralContext(ctx, t.channelID, t.userID, msgOptions(m)...)
	case t.userID != "":
		_, _, err = b.api.PostMessageContext(ctx, t.userID, msgOptions(m)...)
	default:
		return
	}
	if err != nil {
		b.log.ErrorContext(ctx, "reply failed", "user_id", t.userID, "err", redactURLError(err))
	}
}

func (b *Bot) askReason(ctx context.Context, requestID string, t target) error {
	if t.triggerID == "" {
		return errors.New("no trigger id")
	}
	_, err := b.api.OpenViewContext(ctx, t.triggerID, denyModal(requestID, t.channelID))
	return err
}

// denyModal is the dialog that asks an approver why they deny a request.
func denyModal(requestID, channelID string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "Why? (optional)", false, false), denyActionID)
	input.Multiline = true
	input.MaxLength = command.MaxReason // characters, as Slack counts
	in := slack.NewInputBlock(denyBlockID, slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil, input)
	in.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      denyCallbackID,
		PrivateMetadata: requestID + "|" + channelID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Deny request", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Back", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Deny request *"+Escape(requestID)+"*? Nothing will be bought.", false, false), nil, nil),
			in,
		}},
	}
}

// redactURLError drops the URL from a *url.Error: a response_url is a
// credential of its own, and Slack hosts do not belong in user replies.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return err
}

// envelopeSet remembers envelope ids seen recently, so an envelope Slack
// delivers twice runs once.
type envelopeSet struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	seen  map[string]time.Time
	order []string
}

func newEnvelopeSet(max int, ttl time.Duration) *envelopeSet {
	// The map grows as envelopes come: made at its full size, it would
	// cost the start-up a quarter of a megabyte of fresh pages.
	return &envelopeSet{ttl: ttl, max: max, seen: make(map[string]time.Time)}
}

// Add records id and reports whether it was new.
func (s *envelopeSet) Add(id string, now time.Time) bool {
	if id == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.seen[id]; ok && now.Sub(at) < s.ttl {
		return false
	}
	s.seen[id] = now
	s.order = append(s.order, id)
	for len(s.order) > s.max {
		delete(s.seen, s.order[0])
		s.order = s.order[1:]
	}
	return true
}
