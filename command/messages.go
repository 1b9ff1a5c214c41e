package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
	"github.com/shopspring/decimal"
)

func decimalFromInt(n int) decimal.Decimal { return decimal.NewFromInt(int64(n)) }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// RequestMessage is the channel message of a pending request: what will be
// bought, for whom, what it costs, and the buttons to decide. The buttons
// carry only the request id.
func RequestMessage(r *store.Request, usage *dialog.AddOn, price string, approvers []string) reply.Message {
	m := reply.Message{Text: "Approval needed: " + r.Summary, Visibility: reply.InChannel}
	m.Blocks = append(m.Blocks, reply.Header{Text: "Approval needed"})
	fields := []reply.Field{
		{Label: "Request", Value: r.Summary},
		{Label: "Requested by", Value: reply.Mention(r.RequesterID)},
		{Label: "Request id", Value: r.ID},
		{Label: "Expires", Value: stamp(r.ExpiresAt)},
	}
	if price != "" {
		fields = append(fields, reply.Field{Label: "Estimated price", Value: price})
	}
	m.Blocks = append(m.Blocks, reply.Fields{Fields: fields})
	if usage != nil {
		m.Blocks = append(m.Blocks, reply.Usage{Label: usage.Name + " now", InUse: usage.InUse, Total: usage.TotalQty,
			Note: fmt.Sprintf("item_id %d", usage.ItemID)})
	}
	confirm := "This spends money: " + r.Summary + "."
	if len(confirm) > approveConfirmText {
		confirm = confirm[:approveConfirmText] + "…"
	}
	m.Blocks = append(m.Blocks, reply.Actions{Buttons: []reply.Button{
		{ActionID: ActionApprove, Text: "Approve", Value: r.ID, Style: reply.Primary,
			Confirm: &reply.Confirm{Title: "Approve this purchase?", Text: confirm, Confirm: "Approve", Deny: "Not yet"}},
		{ActionID: ActionDeny, Text: "Deny", Value: r.ID, Style: reply.Danger},
	}})
	who := make([]string, 0, len(approvers))
	for _, a := range approvers {
		who = append(who, reply.Mention(a))
	}
	m.Blocks = append(m.Blocks, reply.Context{Text: "Approvers: " + strings.Join(who, ", ") + ". The requester can withdraw it with /addons cancel " + r.ID + "."})
	return m
}

// DecidedMessage replaces the request message once it is decided: who
// decided, when, and how it ended.
func DecidedMessage(r *store.Request) reply.Message {
	title, line := outcomeLines(r)
	m := reply.Message{Text: title + ": " + r.Summary, Visibility: reply.InChannel}
	m.Blocks = append(m.Blocks, reply.Header{Text: title})
	fields := []reply.Field{
		{Label: "Request", Value: r.Summary},
		{Label: "Requested by", Value: reply.Mention(r.RequesterID)},
		{Label: "Request id", Value: r.ID},
	}
	switch r.State {
	case store.StateExpired:
		fields = append(fields, reply.Field{Label: "Expired", Value: stamp(r.ExpiresAt)})
	case store.StateExecuting:
		fields = append(fields, reply.Field{Label: "Approved by", Value: reply.Mention(r.DecidedBy) + " at " + stamp(r.DecidedAt)})
	default:
		if r.DecidedBy != "" {
			fields = append(fields, reply.Field{Label: decidedLabel(r.State), Value: reply.Mention(r.DecidedBy) + " at " + stamp(r.DecidedAt)})
		}
	}
	if r.Reason != "" {
		fields = append(fields, reply.Field{Label: "Reason", Value: r.Reason})
	}
	m.Blocks = append(m.Blocks, reply.Fields{Fields: fields})
	if line != "" {
		m.Blocks = append(m.Blocks, reply.Section{Text: line})
	}
	return m
}

func decidedLabel(s store.State) string {
	switch s {
	case store.StateDenied:
		return "Denied by"
	case store.StateCancelled:
		return "Cancelled by"
	}
	return "Approved by"
}

func outcomeLines(r *store.Request) (title, line string) {
	o := approval.DecodeOutcome(r)
	switch r.State {
	case store.StateExecuting:
		return "Approved: calling DialogTech", "The purchase is being made."
	case store.StateSucceeded:
		if r.Kind == store.KindOrder {
			if len(o.Numbers) == 0 {
				return "Approved: no numbers were available", "DialogTech filled 0 numbers."
			}
			return "Approved and ordered", fmt.Sprintf("%d %s ordered:\n%s", len(o.Numbers), plural(len(o.Numbers), "number", "numbers"), strings.Join(o.Numbers, "\n"))
		}
		text := "Bought."
		if o.Description != "" {
			text = "Bought. DialogTech says: " + o.Description
		}
		return "Approved and bought", text
	case store.StateFailed:
		return "Approved, but DialogTech refused", "Nothing was bought. " + o.Error
	case store.StateUnknown:
		check := "`/addons` shows the add-on counts"
		if r.Kind == store.KindOrder {
			check = "`/addons` shows the number slot counts"
		}
		return "Outcome unknown", "DialogTech's answer was lost: this may or may not have gone through. It will not be sent again automatically. Check before asking again: " + check + ", or the DialogTech dashboard."
	case store.StateDenied:
		return "Denied", "Nothing was bought."
	case store.StateCancelled:
		return "Cancelled by the requester", "Nothing was bought."
	case store.StateExpired:
		return "Expired", "Nobody decided in time; nothing was bought. Ask again if it is still needed."
	}
	return "Waiting for approval", ""
}

// decidedText answers a late click: "Already approved by @x at T".
func decidedText(r *store.Request) string {
	switch r.State {
	case store.StateExpired:
		return fmt.Sprintf("Request %s expired at %s; nothing was bought.", r.ID, stamp(r.ExpiresAt))
	case store.StatePending:
		return fmt.Sprintf("Request %s is still waiting for a decision.", r.ID)
	}
	verb := "approved"
	switch r.State {
	case store.StateDenied:
		verb = "denied"
	case store.StateCancelled:
		verb = "cancelled"
	}
	return fmt.Sprintf("Request %s was already %s by %s at %s (%s).", r.ID, verb, reply.Mention(r.DecidedBy), stamp(r.DecidedAt), r.State)
}

// notice is the thread reply that tells the requester how their request
// ended.
func notice(r *store.Request) reply.Message {
	title, line := outcomeLines(r)
	t := fmt.Sprintf("%s: request %s (%s).", reply.Mention(r.RequesterID), r.ID, strings.ToLower(title))
	if r.DecidedBy != "" && r.State != store.StateCancelled {
		t = fmt.Sprintf("%s: request %s was %s by %s (%s).", reply.Mention(r.RequesterID), r.ID, verbOf(r.State), reply.Mention(r.DecidedBy), strings.ToLower(title))
	}
	if r.Reason != "" {
		t += " Reason: " + r.Reason
	}
	m := reply.Message{Text: t, Visibility: reply.InChannel, Blocks: []reply.Block{reply.Section{Text: t}}}
	if line != "" && r.State != store.StateDenied {
		m.Blocks = append(m.Blocks, reply.Context{Text: line})
	}
	return m
}

func verbOf(s store.State) string {
	if s == store.StateDenied {
		return "denied"
	}
	return "approved"
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
