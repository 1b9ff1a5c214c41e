package command

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// MaxReason is the longest deny reason kept.
const MaxReason = 500

// Act runs a button press. Like Handle, every failure becomes a reply.
func (h *Handler) Act(ctx context.Context, a Action) Result {
	start := h.now()
	res, err := h.act(ctx, a)
	outcome := "ok"
	if err != nil {
		outcome = errorKind(err)
		res = Result{Reply: h.errorReply(ctx, err)}
		res.Edits, res.Threads = h.redraw(err, start)
	}
	d := h.now().Sub(start)
	h.log.InfoContext(ctx, "action", "action", a.ActionID, "request_id", a.Value, "user_id", a.UserID, "outcome", outcome, "duration", d)
	h.observed("action", a.ActionID, outcome, d)
	return res
}

// redrawEvery is how often late clicks on one request may redraw its
// message: a burst of presses on a stale rendering makes one update, not
// one per press (Slack rate-limits chat.update).
const redrawEvery = time.Minute

// redraw brings the message of a request a click found already decided
// (or just expired) up to date: a press on a button of a decided request
// means the message still shows buttons, e.g. because its update was lost
// at shutdown. The request the click itself expired also gets its thread
// note; the others had theirs.
func (h *Handler) redraw(err error, now time.Time) (edits, threads []Edit) {
	var de *approval.DecidedError
	var ee *approval.ExpiredError
	switch {
	case errors.As(err, &ee) && ee.Request != nil:
		h.redrewAt(ee.Request.ID, now)
		res := h.Expired([]*store.Request{ee.Request})
		return res.Edits, res.Threads
	case errors.As(err, &de) && de.Request != nil && de.Request.MessageTS != "" && h.redrewAt(de.Request.ID, now):
		r := de.Request
		return []Edit{redrawOf(r)}, nil
	}
	return nil, nil
}

// redrewAt records a redraw of request id at now; false means one was made
// less than redrawEvery ago.
func (h *Handler) redrewAt(id string, now time.Time) bool {
	h.redrawMu.Lock()
	defer h.redrawMu.Unlock()
	if h.redrawn == nil {
		h.redrawn = map[string]time.Time{}
	}
	if last, ok := h.redrawn[id]; ok && now.Sub(last) < redrawEvery {
		return false
	}
	for k, t := range h.redrawn {
		if now.Sub(t) >= redrawEvery {
			delete(h.redrawn, k)
		}
	}
	h.redrawn[id] = now
	return true
}

func (h *Handler) act(ctx context.Context, a Action) (Result, error) {
	id := a.Value
	if len(id) > 64 {
		return Result{}, &UsageError{Problem: "That button is not one of dialogbot's"}
	}
	switch a.ActionID {
	case ActionApprove:
		r, err := h.approvals.Approve(ctx, id, a.UserID)
		if err != nil {
			return Result{}, err
		}
		if r.State == store.StatePending {
			return h.partlyApproved(ctx, onMessage(r, a)), nil
		}
		return h.decidedWith(ctx, onMessage(r, a), ""), nil
	case ActionDeny:
		if err := h.mayDeny(ctx, id, a.UserID); err != nil {
			return Result{}, err
		}
		return Result{AskReason: id}, nil
	case ActionCancel:
		r, err := h.approvals.Cancel(ctx, id, a.UserID)
		if err != nil {
			return Result{}, err
		}
		return h.decided(onMessage(r, a), "Cancelled "+r.ID+"."), nil
	case ActionSnooze, ActionSnoozeDay, ActionSnoozeWeek:
		if h.alerts == nil {
			return Result{}, &UsageError{Problem: "Alerts are off"}
		}
		key, dur, ok := strings.Cut(a.Value, "|")
		d, err := time.ParseDuration(dur)
		if !ok || err != nil || d <= 0 || d > 30*24*time.Hour {
			return Result{}, &UsageError{Problem: "That snooze button is not one of dialogbot's"}
		}
		m, err := h.alerts.Snooze(ctx, key, a.UserID, d)
		if err != nil {
			return Result{}, err
		}
		return Result{Reply: &m}, nil
	case ActionRequestMore:
		return h.requestMore(ctx, a)
	case ActionResolveBought, ActionResolveNotBought:
		r, err := h.approvals.Resolve(ctx, id, a.UserID, a.ActionID == ActionResolveBought, nil)
		if err != nil {
			return Result{}, err
		}
		return h.decided(onMessage(r, a), resolvedAck(r)), nil
	}
	return Result{}, &UsageError{Problem: "That button is not one of dialogbot's"}
}

// onMessage fills in where the request message is from the button press,
// for a press that came before the transport recorded it.
func onMessage(r *store.Request, a Action) *store.Request {
	if r.MessageTS == "" && a.MessageTS != "" && a.ChannelID == r.ChannelID {
		c := *r
		c.MessageTS = a.MessageTS
		return &c
	}
	return r
}

// mayDeny checks, before asking for a reason, that the person could deny.
func (h *Handler) mayDeny(ctx context.Context, id, user string) error {
	if !h.approvals.HasApprovers() {
		return errNoApprovers
	}
	if !h.approvals.IsApprover(user) {
		// The same refusal, in the same words, as a click on Approve.
		return approval.ErrNotApprover
	}
	r, err := h.approvals.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.State != store.StatePending {
		return &approval.DecidedError{Request: r}
	}
	return nil
}

// Deny refuses a request with an optional reason (after AskReason).
func (h *Handler) Deny(ctx context.Context, id, user, reason string) Result {
	reason = strings.TrimSpace(reply.Clean(reason))
	reason = truncateChars(reason, MaxReason)
	start := h.now()
	r, err := h.approvals.Deny(ctx, id, user, reason)
	d := h.now().Sub(start)
	h.log.InfoContext(ctx, "deny", "request_id", id, "user_id", user, "outcome", outcomeOf(err), "duration", d)
	h.observed("action", ActionDenySubmit, outcomeOf(err), d)
	if err != nil {
		return Result{Reply: h.errorReply(ctx, err), Failed: true}
	}
	return h.decidedWith(ctx, r, "Denied "+r.ID+".")
}

func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return errorKind(err)
}

// decided is the result of a decision: the request message updated in
// place, the requester told in its thread, and a line to the decider.
func (h *Handler) decided(r *store.Request, ack string) Result {
	res := Result{}
	if r.MessageTS != "" {
		res.Edits = []Edit{redrawOf(r)}
		res.Threads = []Edit{{ChannelID: r.ChannelID, TS: r.MessageTS, Message: notice(r)}}
	}
	if ack == "" {
		title, _ := outcomeLines(r)
		ack = fmt.Sprintf("%s: %s.", title, r.Summary)
	}
	res.Reply = &reply.Message{Text: ack, Blocks: []reply.Block{reply.Section{Text: ack}}}
	return res
}

// redrawOf is the edit that shows r's message as r is, with r's version.
func redrawOf(r *store.Request) Edit {
	return Edit{ChannelID: r.ChannelID, TS: r.MessageTS, Message: DecidedMessage(r), RequestID: r.ID, Version: r.Version}
}

// Redraw is called by a transport after it updated a request's message
// drawn at version: when the store has moved on since (another click, the
// outcome, another replica), it returns the edit that shows the newest
// state, which the transport makes too. So whichever update reaches Slack
// last, its writer then checks, and the message ends on the newest state.
func (h *Handler) Redraw(ctx context.Context, requestID string, version int64) (Edit, bool) {
	r, err := h.approvals.Get(ctx, requestID)
	if err != nil {
		h.log.WarnContext(ctx, "redraw: read request", "request_id", requestID, "err", err)
		return Edit{}, false
	}
	if r.Version <= version || r.State == store.StatePending || r.MessageTS == "" {
		return Edit{}, false
	}
	e := redrawOf(r)
	h.withApprovals(ctx, r, &e)
	return e, true
}

// Expired is the result of a sweep: the messages of requests that expired
// or whose call was interrupted.
func (h *Handler) Expired(reqs []*store.Request) Result {
	var res Result
	for _, r := range reqs {
		if r.MessageTS == "" {
			continue
		}
		res.Edits = append(res.Edits, redrawOf(r))
		res.Threads = append(res.Threads, Edit{ChannelID: r.ChannelID, TS: r.MessageTS, Message: notice(r)})
	}
	return res
}

// requestMore opens a purchase request from an alert's button, for the
// quantity that brings the add-on back under its threshold.
func (h *Handler) requestMore(ctx context.Context, a Action) (Result, error) {
	// "6", "6|2" (item, quantity) or "6|e3" (item, alert episode).
	itemStr, rest, _ := strings.Cut(a.Value, "|")
	item, ok := wholeNumber(itemStr, 1, 1<<30)
	if !ok {
		return Result{}, &UsageError{Problem: "That button is not one of dialogbot's"}
	}
	var qty int
	key := ""
	if ep, isEpisode := strings.CutPrefix(rest, "e"); isEpisode {
		n, ok := wholeNumber(ep, 0, 1<<62)
		if !ok {
			return Result{}, &UsageError{Problem: "That button is not one of dialogbot's"}
		}
		// One request per alert episode, whoever presses and however often.
		key = fmt.Sprintf("more:addon:%d:%d", item, n)
	} else {
		qty, _ = wholeNumber(rest, 1, 1<<30)
	}
	if !h.approvals.HasApprovers() {
		return Result{}, errNoApprovers
	}
	addOns, err := h.account.ListAddOns(ctx)
	if err != nil {
		return Result{}, err
	}
	ao, ok := findAddOn(addOns, item)
	if !ok {
		return Result{}, &UsageError{Problem: fmt.Sprintf("DialogTech no longer lists add-on %d", item)}
	}
	if qty == 0 && h.alerts != nil {
		qty = h.alerts.Suggest(ao)
	}
	if qty <= 0 {
		qty = 1
	}
	if ao.MaxQtyPurchase > 0 && qty > ao.MaxQtyPurchase {
		qty = ao.MaxQtyPurchase
	}
	p := dialog.PurchaseRequest{ItemID: item, Qty: qty}
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	summary := fmt.Sprintf("buy %d × %s (item %d)", qty, reply.Clean(ao.Name), item)
	inv := Invocation{Command: "/addons", Text: "buy " + strconv.Itoa(item) + " " + strconv.Itoa(qty), UserID: a.UserID, ChannelID: a.ChannelID, Key: key}
	return h.openRequest(ctx, inv, store.KindPurchase, p, summary, &ao, priceText(ao, qty), sizeOf(&ao, qty))
}

var _ = errors.New

// Sweep closes requests that expired or whose call was interrupted, and
// returns the updates of their messages, and of the messages that are
// behind their request (an update Slack did not take, a process that
// stopped before it updated the message).
func (h *Handler) Sweep(ctx context.Context) Result {
	changed, err := h.approvals.Sweep(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "sweep failed", "err", err)
	}
	res := h.Expired(changed)
	behind, err := h.approvals.Undrawn(ctx, maxRedrawsPerSweep)
	if err != nil {
		h.log.ErrorContext(ctx, "sweep: messages behind their request", "err", err)
	}
	for _, r := range behind {
		if slices.ContainsFunc(res.Edits, func(e Edit) bool { return e.RequestID == r.ID }) {
			continue
		}
		h.log.InfoContext(ctx, "request message behind its request; drawing it again", "request_id", r.ID, "state", string(r.State))
		res.Edits = append(res.Edits, redrawOf(r))
	}
	return res
}

// maxRedrawsPerSweep bounds the chat.update calls one sweep makes per state.
const maxRedrawsPerSweep = 20

// Drawn records that a request's message shows version (the transport
// calls it after an update Slack took).
func (h *Handler) Drawn(ctx context.Context, requestID string, version int64) {
	if err := h.approvals.Drawn(ctx, requestID, version); err != nil {
		h.log.WarnContext(ctx, "record a drawn message", "request_id", requestID, "err", err)
	}
}

// Withdraw cancels a request whose message could not be posted: nobody
// could decide on it. When it was not withdrawn the error says why: an
// *approval.DecidedError when an approver decided it first (the message
// reached Slack although its answer did not), else the store's failure.
func (h *Handler) Withdraw(ctx context.Context, requestID string) error {
	r, err := h.approvals.Get(ctx, requestID)
	if err == nil {
		_, err = h.approvals.Cancel(ctx, requestID, r.RequesterID)
	}
	if err != nil {
		h.log.ErrorContext(ctx, "withdraw failed", "request_id", requestID, "err", err)
	}
	return err
}
