package command

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// Progress is how far a request that needs several approvals has come.
type Progress struct {
	Needed     int      // approvals needed; 0 or 1: one
	ApprovedBy []string // who approved so far, oldest first
}

// line is "1 of 2: approved by @alice", or what is still needed.
func (p Progress) line() string {
	if len(p.ApprovedBy) == 0 {
		return fmt.Sprintf("0 of %d: %d different approvers must approve, neither the requester", p.Needed, p.Needed)
	}
	names := make([]string, len(p.ApprovedBy))
	for i, u := range p.ApprovedBy {
		names[i] = reply.Mention(u)
	}
	return fmt.Sprintf("%d of %d: approved by %s", len(p.ApprovedBy), p.Needed, strings.Join(names, ", "))
}

// partlyApproved is the result of an approval that was not the last one
// needed: the message shows who approved, and nothing is bought yet.
func (h *Handler) partlyApproved(ctx context.Context, r *store.Request) Result {
	m, p := h.pendingMessage(ctx, r)
	res := Result{RequestID: r.ID}
	if r.MessageTS != "" {
		// With the request's version: if the last approval lands while
		// this update is on its way, the transport then draws the outcome.
		res.Edits = []Edit{{ChannelID: r.ChannelID, TS: r.MessageTS, Message: m, RequestID: r.ID, Version: r.Version}}
	}
	t := fmt.Sprintf("Your approval is counted (%d of %d) for %s. Nothing is bought until %s approves too.", len(p.ApprovedBy), p.Needed, r.Summary, plural(p.Needed-len(p.ApprovedBy), "one more approver", "more approvers"))
	res.Reply = &reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	return res
}

// pendingMessage renders a pending request's message as it is now: the
// add-on's use read again, who approved so far.
func (h *Handler) pendingMessage(ctx context.Context, r *store.Request) (reply.Message, Progress) {
	needed, by, err := h.approvals.Progress(ctx, r)
	if err != nil {
		h.log.ErrorContext(ctx, "read approvals", "request_id", r.ID, "err", err)
	}
	p := Progress{Needed: needed, ApprovedBy: by}
	var usage *dialog.AddOn
	price := ""
	if addOns, err := h.account.ListAddOns(ctx); err == nil {
		switch r.Kind {
		case store.KindPurchase:
			var pr dialog.PurchaseRequest
			if json.Unmarshal(r.Params, &pr) == nil {
				if a, ok := findAddOn(addOns, pr.ItemID); ok {
					usage, price = &a, priceText(a, pr.Qty)
				}
			}
		case store.KindOrder:
			var o dialog.OrderRequest
			if json.Unmarshal(r.Params, &o) == nil {
				if a, ok := findAddOn(addOns, SlotItem(o.Type)); ok {
					usage = &a
				}
			}
		}
	}
	var waiting []string
	for _, u := range h.approvals.Eligible(r.RequesterID, max(needed, 1)) {
		if !slices.Contains(by, u) {
			waiting = append(waiting, u)
		}
	}
	return RequestMessage(r, usage, price, waiting, p), p
}

// decidedWith is decided, with who approved a request that needed several.
func (h *Handler) decidedWith(ctx context.Context, r *store.Request, ack string) Result {
	res := h.decided(r, ack)
	if len(res.Edits) > 0 {
		h.withApprovals(ctx, r, &res.Edits[0])
	}
	return res
}

// withApprovals draws e, the decided message of r, with who approved r
// when it needed several approvals.
func (h *Handler) withApprovals(ctx context.Context, r *store.Request, e *Edit) {
	if needed, by, err := h.approvals.Progress(ctx, r); err == nil && needed > 1 {
		e.Message = DecidedMessage(r, by...)
	}
}

// Reminder is the thread reply to a request nobody decided yet, naming
// who can decide.
func Reminder(r *store.Request, waitingOn []string) reply.Message {
	who := mentions(waitingOn)
	if who == "" {
		who = "the approvers"
	}
	t := fmt.Sprintf("Reminder: request %s (%s) by %s is still waiting for a decision. %s: Approve or Deny above. It expires at %s.",
		r.ID, r.Summary, reply.Mention(r.RequesterID), who, stamp(r.ExpiresAt))
	return reply.Message{Text: t, Visibility: reply.InChannel, Blocks: []reply.Block{reply.Section{Text: t}}}
}

// Threader posts a reply in a message's thread.
type Threader interface {
	Reply(ctx context.Context, channel, threadTS string, m reply.Message) (string, error)
}

// Remind posts the reminders that are due, through p.
func (h *Handler) Remind(ctx context.Context, p Threader) {
	_, err := h.approvals.Remind(ctx, func(ctx context.Context, r *store.Request, waitingOn []string) error {
		_, err := p.Reply(ctx, r.ChannelID, r.MessageTS, Reminder(r, waitingOn))
		return err
	})
	if err != nil {
		h.log.WarnContext(ctx, "reminders", "err", err)
	}
}

// maxMentions is how many people a message names: an approver group can
// be large, and Slack refuses a text block over 3000 characters.
const maxMentions = 20

// mentions names users, at most maxMentions of them, then how many more.
func mentions(users []string) string {
	names := make([]string, 0, min(len(users), maxMentions))
	for _, u := range users[:min(len(users), maxMentions)] {
		names = append(names, reply.Mention(u))
	}
	s := strings.Join(names, ", ")
	if more := len(users) - maxMentions; more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
