package command

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
//
// A request that needs several approvals (progress, when given) shows how
// many it has and who gave them, and its confirm dialog says whether an
// approval is the first or the final one.
func RequestMessage(r *store.Request, usage *dialog.AddOn, price string, approvers []string, progress ...Progress) reply.Message {
	var p Progress
	if len(progress) > 0 {
		p = progress[0]
	}
	multi := p.Needed > 1
	m := reply.Message{Text: "Approval needed: " + r.Summary, Visibility: reply.InChannel}
	header := "Approval needed"
	if multi {
		header = fmt.Sprintf("Approval needed (%d of %d)", len(p.ApprovedBy), p.Needed)
		m.Text = fmt.Sprintf("%s (%s)", m.Text, p.line())
	}
	m.Blocks = append(m.Blocks, reply.Header{Text: header})
	fields := []reply.Field{
		{Label: "Request", Value: r.Summary},
		{Label: "Requested by", Value: reply.Mention(r.RequesterID)},
		{Label: "Request id", Value: r.ID},
		{Label: "Expires", Value: stamp(r.ExpiresAt)},
	}
	if price != "" {
		fields = append(fields, reply.Field{Label: "Estimated price", Value: price})
	}
	if multi {
		fields = append(fields, reply.Field{Label: "Approvals", Value: p.line()})
	}
	m.Blocks = append(m.Blocks, reply.Fields{Fields: fields})
	if usage != nil {
		m.Blocks = append(m.Blocks, reply.Usage{Label: reply.Clean(usage.Name) + " now", InUse: usage.InUse, Total: usage.TotalQty,
			Note: fmt.Sprintf("item_id %d", usage.ItemID)})
	}
	m.Blocks = append(m.Blocks, reply.Actions{Buttons: decideButtons(r, p)})
	m.Blocks = append(m.Blocks, reply.Context{Text: "Approvers: " + mentions(approvers) + ". The requester can withdraw it with /addons cancel " + r.ID + "."})
	return m
}

// decideButtons are Approve (with a confirmation that restates the
// purchase and, for a request needing several approvals, says whether
// this one is the first or the final) and Deny for request r.
func decideButtons(r *store.Request, progress ...Progress) []reply.Button {
	var p Progress
	if len(progress) > 0 {
		p = progress[0]
	}
	title, confirm := "Approve this purchase?", "This spends money: "+r.Summary+"."
	switch {
	case p.Needed > 1 && len(p.ApprovedBy)+1 < p.Needed:
		title = fmt.Sprintf("First approval of %d?", p.Needed)
		confirm = fmt.Sprintf("This is approval %d of %d: nothing is bought until %d different approvers have approved. For: %s.", len(p.ApprovedBy)+1, p.Needed, p.Needed, r.Summary)
		if len(p.ApprovedBy) > 0 {
			title = "Add your approval?"
		}
	case p.Needed > 1:
		title = "Final approval?"
		confirm = fmt.Sprintf("This is the final approval (%d of %d): it spends money: %s.", p.Needed, p.Needed, r.Summary)
	}
	confirm = truncateChars(confirm, approveConfirmText)
	return []reply.Button{
		{ActionID: ActionApprove, Text: "Approve", Value: r.ID, Style: reply.Primary,
			Confirm: &reply.Confirm{Title: title, Text: confirm, Confirm: "Approve", Deny: "Not yet"}},
		{ActionID: ActionDeny, Text: "Deny", Value: r.ID, Style: reply.Danger},
	}
}

// truncateChars keeps the first n characters of s (not bytes: a cut
// never splits a character), marking a cut with "…".
func truncateChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// pendingBlocks lists waiting requests for userID: what, who asked and
// when, when it expires, and the buttons that person may press (Approve
// and Deny for an approver who may decide it, Cancel request for its
// requester, when withCancel), each entry set apart by a divider. It uses
// at most maxBlocks blocks, and ends with a line counting the requests it
// had no room for: an entry is shown whole, buttons and all, or not at all.
//
// A request that needs several approvals shows how many it has and who
// gave them; its requester gets no Approve button.
func (h *Handler) pendingBlocks(ctx context.Context, reqs []*store.Request, userID string, withCancel bool, maxBlocks int) []reply.Block {
	var blocks []reply.Block
	policy := h.approvals.Policy()
	approver := h.approvals.IsApprover(userID)
	for i, r := range reqs {
		var p Progress
		if needed, by, err := h.approvals.Progress(ctx, r); err == nil && needed > 1 {
			p = Progress{Needed: needed, ApprovedBy: by}
		}
		mayApprove := approver && (r.RequesterID != userID || policy.AllowSelfApproval && p.Needed <= 1)
		need := 1
		if i > 0 {
			need++
		}
		if mayApprove || withCancel && r.RequesterID == userID {
			need++
		}
		// One block stays free for the line saying what is left out.
		if rest := len(reqs) - i; len(blocks)+need > maxBlocks-1 && rest > 0 {
			blocks = append(blocks, reply.Context{Text: fmt.Sprintf("…and %d more %s not shown here, oldest first above.", rest, plural(rest, "request", "requests"))})
			break
		}
		if i > 0 {
			blocks = append(blocks, reply.Divider{})
		}
		fields := []reply.Field{
			{Label: r.ID, Value: r.Summary},
			{Label: "Requested by", Value: reply.Mention(r.RequesterID) + " at " + stamp(r.CreatedAt)},
			{Label: "Expires", Value: stamp(r.ExpiresAt)},
		}
		if p.Needed > 1 {
			fields = append(fields, reply.Field{Label: "Approvals", Value: p.line()})
		}
		blocks = append(blocks, reply.Fields{Fields: fields})
		var buttons []reply.Button
		if mayApprove {
			buttons = append(buttons, decideButtons(r, p)...)
		}
		if withCancel && r.RequesterID == userID {
			buttons = append(buttons, reply.Button{ActionID: ActionCancel, Text: "Cancel request", Value: r.ID})
		}
		if len(buttons) > 0 {
			blocks = append(blocks, reply.Actions{Buttons: buttons})
		}
	}
	return blocks
}

// pendingHeading is "Pending requests (3)": every request waiting, also
// those a list has no room for.
func pendingHeading(n int) string {
	return fmt.Sprintf("Pending requests (%d)", n)
}

// DecidedMessage replaces the request message once it is decided: who
// decided, when, and how it ended.
//
// approvedBy, for a request that needed several approvals, lists who
// approved it, oldest first.
func DecidedMessage(r *store.Request, approvedBy ...string) reply.Message {
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
	if len(approvedBy) > 1 || (len(approvedBy) == 1 && approvedBy[0] != r.DecidedBy) {
		names := make([]string, len(approvedBy))
		for i, u := range approvedBy {
			names[i] = reply.Mention(u)
		}
		label := "Approvals"
		if r.State == store.StateDenied {
			label = "Approved before the denial by"
		}
		fields = append(fields, reply.Field{Label: label, Value: strings.Join(names, ", ")})
	}
	if r.Reason != "" {
		fields = append(fields, reply.Field{Label: "Reason", Value: r.Reason})
	}
	m.Blocks = append(m.Blocks, reply.Fields{Fields: fields})
	if line != "" {
		m.Blocks = append(m.Blocks, reply.Section{Text: line})
	}
	if r.State == store.StateUnknown {
		m.Blocks = append(m.Blocks, resolveBlocks(r)...)
	}
	return m
}

// resolveBlocks let an approver record what the DialogTech portal shows for
// a request whose outcome is unknown. An order that went through has
// numbers, which only the command can carry.
func resolveBlocks(r *store.Request) []reply.Block {
	notBought := reply.Button{ActionID: ActionResolveNotBought, Text: "It was not bought", Value: r.ID,
		Confirm: &reply.Confirm{Title: "Record: not bought?", Text: "You checked DialogTech and this did not go through: " + clip(r.Summary, 200) + ".", Confirm: "Record", Deny: "Back"}}
	if r.Kind == store.KindOrder {
		return []reply.Block{
			reply.Actions{Buttons: []reply.Button{notBought}},
			reply.Context{Text: "Approvers: if DialogTech shows the numbers were ordered, record them with /addons resolve " + r.ID + " bought <numbers...>."},
		}
	}
	bought := reply.Button{ActionID: ActionResolveBought, Text: "It was bought", Value: r.ID,
		Confirm: &reply.Confirm{Title: "Record: bought?", Text: "You checked DialogTech and this went through: " + clip(r.Summary, 200) + ".", Confirm: "Record", Deny: "Back"}}
	return []reply.Block{
		reply.Actions{Buttons: []reply.Button{bought, notBought}},
		reply.Context{Text: "Approvers: check the DialogTech portal, then record what you found (or /addons resolve " + r.ID + " bought|not-bought)."},
	}
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
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
	if res := o.Resolution; res != nil {
		by := reply.Mention(res.By) + " at " + stamp(res.At)
		if !res.Bought {
			return "Checked: not bought", "DialogTech's answer was lost; " + by + " checked DialogTech and recorded that nothing was bought."
		}
		if len(res.Numbers) > 0 {
			return "Checked: ordered", fmt.Sprintf("DialogTech's answer was lost; %s checked DialogTech and recorded %d %s ordered:\n%s",
				by, len(res.Numbers), plural(len(res.Numbers), "number", "numbers"), phoneList(res.Numbers))
		}
		return "Checked: bought", "DialogTech's answer was lost; " + by + " checked DialogTech and recorded that it was bought."
	}
	if o.NotSent && r.State == store.StateFailed {
		return "Approved, but not carried out", "dialogbot stopped after the approval and before calling DialogTech, so nothing was bought. Ask again if it is still needed."
	}
	switch r.State {
	case store.StateExecuting:
		return "Approved: calling DialogTech", "The purchase is being made."
	case store.StateSucceeded:
		if r.Kind == store.KindOrder {
			if len(o.Numbers) == 0 {
				return "Approved: no numbers were available", "DialogTech filled 0 numbers."
			}
			return "Approved and ordered", fmt.Sprintf("%d %s ordered:\n%s", len(o.Numbers), plural(len(o.Numbers), "number", "numbers"), phoneList(o.Numbers))
		}
		text := "Bought."
		if o.Description != "" {
			text = "Bought. DialogTech says: " + reply.Clean(o.Description)
		}
		return "Approved and bought", text
	case store.StateFailed:
		return "Approved, but DialogTech refused", "Nothing was bought. " + refusedText(reply.Clean(o.Error))
	case store.StateUnknown:
		return "Outcome unknown", "DialogTech's answer was lost: this may or may not have gone through. It will not be sent again automatically. " + checkText(r)
	case store.StateDenied:
		return "Denied", "Nothing was bought."
	case store.StateCancelled:
		return "Cancelled by the requester", "Nothing was bought."
	case store.StateExpired:
		return "Expired", "Nobody decided in time; nothing was bought. Ask again if it is still needed."
	}
	return "Waiting for approval", ""
}

func checkText(r *store.Request) string {
	check := "`/addons` shows the add-on counts"
	if r.Kind == store.KindOrder {
		check = "`/addons` shows the number slot counts"
	}
	return "Check before asking again: " + check + ", or the DialogTech dashboard."
}

// refusedText is what DialogTech said when it refused, as a sentence.
func refusedText(reason string) string {
	if reason == "" {
		return "DialogTech gave no reason."
	}
	// In the bot's commands: "buy more with /addons buy 6 <qty>", not
	// "addons.purchase item_id=6".
	return "DialogTech said: " + strings.TrimSuffix(botTerms(reason), ".") + "."
}

// phoneList writes numbers one a line, as people write them.
func phoneList(numbers []string) string {
	out := make([]string, len(numbers))
	for i, n := range numbers {
		out[i] = dialog.FormatPhone(n)
	}
	return strings.Join(out, "\n")
}

// approvedPhrase says, after "was approved by @x", how it ended: each
// outcome once.
func approvedPhrase(r *store.Request) string {
	o := approval.DecodeOutcome(r)
	if res := o.Resolution; res != nil {
		// Not DialogTech's answer: a person checked after it was lost.
		found := "it was bought"
		switch {
		case !res.Bought:
			found = "nothing was bought"
		case len(res.Numbers) > 0:
			found = fmt.Sprintf("%d %s ordered", len(res.Numbers), plural(len(res.Numbers), "number was", "numbers were"))
		}
		return fmt.Sprintf("; DialogTech's answer was lost, and %s checked DialogTech: %s", reply.Mention(res.By), found)
	}
	switch r.State {
	case store.StateExecuting:
		return "; DialogTech is being called"
	case store.StateSucceeded:
		if r.Kind == store.KindOrder {
			if len(o.Numbers) == 0 {
				return ", but DialogTech had no numbers to fill it"
			}
			return fmt.Sprintf(" and %d %s ordered", len(o.Numbers), plural(len(o.Numbers), "number was", "numbers were"))
		}
		return " and bought"
	case store.StateFailed:
		return ", but DialogTech refused it; nothing was bought"
	case store.StateUnknown:
		return ", but DialogTech's answer was lost: it may or may not have gone through"
	}
	return ""
}

// decidedText answers a late click: "Request R was already approved by
// @x at T and bought."
func decidedText(r *store.Request) string {
	switch r.State {
	case store.StateExpired:
		return fmt.Sprintf("Request %s expired at %s; nothing was bought.", r.ID, stamp(r.ExpiresAt))
	case store.StatePending:
		return fmt.Sprintf("Request %s is still waiting for a decision.", r.ID)
	case store.StateDenied:
		return fmt.Sprintf("Request %s was already denied by %s at %s.", r.ID, reply.Mention(r.DecidedBy), stamp(r.DecidedAt))
	case store.StateCancelled:
		return fmt.Sprintf("Request %s was already cancelled by the requester at %s.", r.ID, stamp(r.DecidedAt))
	}
	return fmt.Sprintf("Request %s was already approved by %s at %s%s.", r.ID, reply.Mention(r.DecidedBy), stamp(r.DecidedAt), approvedPhrase(r))
}

// notice is the thread reply that tells the requester how their request
// ended: a sentence with its verb, then the details (the numbers, what
// DialogTech said) once.
func notice(r *store.Request) reply.Message {
	who := reply.Mention(r.RequesterID)
	o := approval.DecodeOutcome(r)
	var t, detail string
	switch r.State {
	case store.StateDenied:
		t = fmt.Sprintf("%s: request %s was denied by %s.", who, r.ID, reply.Mention(r.DecidedBy))
		if r.Reason != "" {
			t += " Reason: " + r.Reason
		}
	case store.StateCancelled:
		t = fmt.Sprintf("%s: you cancelled request %s; nothing was bought.", who, r.ID)
	case store.StateExpired:
		t = fmt.Sprintf("%s: request %s expired: nobody decided in time, so nothing was bought.", who, r.ID)
		detail = "Ask again if it is still needed."
	default:
		t = fmt.Sprintf("%s: request %s was approved by %s%s.", who, r.ID, reply.Mention(r.DecidedBy), approvedPhrase(r))
		switch {
		case o.Resolution != nil:
			detail = phoneList(o.Resolution.Numbers)
		case r.State == store.StateSucceeded:
			if len(o.Numbers) > 0 {
				detail = phoneList(o.Numbers)
			} else if o.Description != "" {
				detail = "DialogTech says: " + reply.Clean(o.Description)
			}
		case r.State == store.StateFailed:
			detail = refusedText(reply.Clean(o.Error))
		case r.State == store.StateUnknown:
			detail = "It will not be sent again automatically. " + checkText(r)
		}
	}
	m := reply.Message{Text: t, Visibility: reply.InChannel, Blocks: []reply.Block{reply.Section{Text: t}}}
	if detail != "" {
		m.Blocks = append(m.Blocks, reply.Context{Text: detail})
	}
	return m
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
