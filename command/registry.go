package command

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// Command is one entry of the registry: a slash command and a verb, with
// what help shows about it.
type Command struct {
	Slash       string // "/addons"
	Verb        string // "buy"; "" for the bare command
	Default     bool   // runs when no verb matches (e.g. bare /addons)
	Usage       string
	Description string
	Examples    []string
	// Hint is the slash command's usage hint in the Slack app manifest.
	Hint string
	Run  func(ctx context.Context, inv Invocation, args []string) (Result, error)
}

// Name is "/addons buy" or "/addons".
func (c *Command) Name() string {
	if c.Verb == "" {
		return c.Slash
	}
	return c.Slash + " " + c.Verb
}

// SlashCommands lists each slash command once with its description and
// usage hint, for the app manifest.
func (h *Handler) SlashCommands() []Command {
	var out []Command
	seen := map[string]bool{}
	for _, c := range h.commands {
		if seen[c.Slash] {
			continue
		}
		seen[c.Slash] = true
		out = append(out, *c)
	}
	return out
}

func (h *Handler) registry() []*Command {
	return []*Command{
		{Slash: "/addons", Verb: "list", Default: true, Usage: UsageList, Hint: "[list | buy <item_id> <qty> [receipt] | pending | cancel <request_id> | audit | help]",
			Description: "Every add-on of the account, fullest first, with how much is in use.",
			Examples:    []string{"/addons"}, Run: h.runList},
		{Slash: "/addons", Verb: "buy", Usage: UsageBuy,
			Description: "Ask for approval to buy more of an add-on. `receipt` emails a receipt to the billing address.",
			Examples:    []string{"/addons buy 6 2", "/addons buy 9 5 receipt"}, Run: h.runBuy},
		{Slash: "/addons", Verb: "pending", Usage: UsagePend,
			Description: "Requests waiting for a decision.", Examples: []string{"/addons pending"}, Run: h.runPending},
		{Slash: "/addons", Verb: "cancel", Usage: UsageCancel,
			Description: "Withdraw a request you made that is still waiting.", Examples: []string{"/addons cancel " + exampleRequestID}, Run: h.runCancel},
		{Slash: "/addons", Verb: "resolve", Usage: UsageResolve,
			Description: "Record what you found in the DialogTech portal for a request whose outcome is unknown (approvers only); for an order that went through, give its numbers.",
			Examples:    []string{"/addons resolve " + exampleRequestID + " not-bought", "/addons resolve " + exampleRequestID + " bought 3125550100"}, Run: h.runResolve},
		{Slash: "/addons", Verb: "audit", Usage: UsageAudit,
			Description: "The last 20 entries of the audit log (approvers only).", Examples: []string{"/addons audit"}, Run: h.runAudit},
		{Slash: "/numbers", Verb: "order", Usage: UsageOrder, Hint: "order <search> <quantity> [--type T] [--partial] [--cleansed] [--distance N] [--sms] [--slots] [--overlay]",
			Description: "Ask for approval to order tracking numbers (all or nothing unless --partial).",
			Examples:    []string{"/numbers order 312 5", "/numbers order 312555 2 --overlay", "/numbers order 3 --type tollfree"}, Run: h.runOrder},
		{Slash: "/call", Verb: "vr", Usage: UsageCall, Hint: "vr <menu_id> <phone>",
			Description: "Ring a phone into a Virtual Receptionist menu.",
			Examples:    []string{"/call vr 55443322 3125550100"}, Run: h.runCall},
	}
}

// exampleRequestID is an id as approval.NewID makes them, for the help.
const exampleRequestID = "RJQTUTNQMXCV"

func (h *Handler) helpCommand(cmds []*Command) *Command {
	return &Command{Slash: cmds[0].Slash, Verb: "help", Run: func(context.Context, Invocation, []string) (Result, error) {
		m := HelpMessage(cmds)
		return Result{Reply: &m}, nil
	}}
}

// Help lists every command of the registry.
func (h *Handler) Help() reply.Message { return HelpMessage(h.commands) }

// HelpMessage describes cmds: usage, what it does, examples.
func HelpMessage(cmds []*Command) reply.Message {
	m := reply.Message{Text: "dialogbot commands"}
	for _, c := range cmds {
		text := c.Description
		if len(c.Examples) > 0 {
			text += "\nExample: " + strings.Join(c.Examples, "   ")
		}
		m.Blocks = append(m.Blocks, reply.Fields{Fields: []reply.Field{{Label: c.Usage, Value: text}}})
	}
	return m
}

func (h *Handler) runList(ctx context.Context, inv Invocation, args []string) (Result, error) {
	if len(args) > 0 {
		return Result{}, usageErr(UsageList, "/addons list takes no more words (got %s)", quote(args[0]))
	}
	addOns, err := h.account.ListAddOns(ctx)
	if err != nil {
		return Result{}, err
	}
	var forecasts map[int]string
	if h.alerts != nil {
		forecasts = h.alerts.Forecasts(ctx, addOns)
	}
	m := AddOnsMessage(addOns, forecasts)
	return Result{Reply: &m}, nil
}

// SortFullest orders add-ons fullest first (by share in use, then by
// amount in use, then by item id).
func SortFullest(addOns []dialog.AddOn) []dialog.AddOn {
	out := slices.Clone(addOns)
	sort.SliceStable(out, func(i, j int) bool {
		ui, uj := out[i].Usage(), out[j].Usage()
		if ui != uj {
			return ui > uj
		}
		if out[i].InUse != out[j].InUse {
			return out[i].InUse > out[j].InUse
		}
		return out[i].ItemID < out[j].ItemID
	})
	return out
}

// AddOnsMessage renders the add-on list: name, item_id, in_use/total_qty, a
// usage bar and the capacity left, fullest first.
func AddOnsMessage(addOns []dialog.AddOn, forecasts map[int]string) reply.Message {
	m := reply.Message{Text: fmt.Sprintf("%d add-ons", len(addOns))}
	m.Blocks = append(m.Blocks, reply.Header{Text: "Add-ons, fullest first"})
	for _, a := range SortFullest(addOns) {
		note := fmt.Sprintf("item_id %d · buy up to %d at a time", a.ItemID, a.MaxQtyPurchase)
		if f := forecasts[a.ItemID]; f != "" {
			note += " · forecast: " + f
		}
		m.Blocks = append(m.Blocks, reply.Usage{Label: reply.Clean(a.Name), InUse: a.InUse, Total: a.TotalQty, Note: note})
	}
	if len(addOns) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "DialogTech lists no add-ons for this account."})
	}
	m.Blocks = append(m.Blocks, reply.Context{Text: "Buy more: " + UsageBuy})
	return m
}

func (h *Handler) runBuy(ctx context.Context, inv Invocation, args []string) (Result, error) {
	p, err := ParseBuy(args)
	if err != nil {
		return Result{}, err
	}
	if !h.approvals.HasApprovers() {
		return Result{}, errNoApprovers
	}
	addOns, err := h.account.ListAddOns(ctx)
	if err != nil {
		return Result{}, err
	}
	a, ok := findAddOn(addOns, p.ItemID)
	if !ok {
		return Result{}, usageErr(UsageBuy, "There is no add-on with item_id %d; `/addons` lists them", p.ItemID)
	}
	if a.MaxQtyPurchase > 0 && p.Qty > a.MaxQtyPurchase {
		return Result{}, usageErr(UsageBuy, "%s can be bought at most %d at a time (asked %d)", reply.Clean(a.Name), a.MaxQtyPurchase, p.Qty)
	}
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	summary := fmt.Sprintf("buy %d × %s (item %d)", p.Qty, reply.Clean(a.Name), a.ItemID)
	if p.SendReceipt {
		summary += ", receipt by email"
	}
	return h.openRequest(ctx, inv, store.KindPurchase, p, summary, &a, priceText(a, p.Qty), sizeOf(&a, p.Qty))
}

// sizeOf is a request's quantity and, when DialogTech lists a price for
// the add-on it buys, its estimated amount.
func sizeOf(priced *dialog.AddOn, qty int) approval.Size {
	sz := approval.Size{Qty: qty}
	if priced != nil && !priced.PurchasePrice.IsZero() {
		sz.Amount, sz.AmountKnown = priced.PurchasePrice.Mul(decimalFromInt(qty)), true
	}
	return sz
}

func (h *Handler) runOrder(ctx context.Context, inv Invocation, args []string) (Result, error) {
	o, err := ParseOrder(args)
	if err != nil {
		return Result{}, err
	}
	if !h.approvals.HasApprovers() {
		return Result{}, errNoApprovers
	}
	summary := orderSummary(o)
	// The slots these numbers use: checked before anyone is asked, unless
	// --slots buys one with each number.
	var slot *dialog.AddOn
	addOns, err := h.account.ListAddOns(ctx)
	if err != nil && !o.OrderSlot {
		return Result{}, fmt.Errorf("check free number slots: %w", err)
	}
	item := SlotItem(o.Type)
	if a, ok := findAddOn(addOns, item); ok {
		slot = &a
	}
	if !o.OrderSlot {
		if err := slotsFor(o, slot, item, inv); err != nil {
			return Result{}, err
		}
	}
	var priced *dialog.AddOn
	if o.OrderSlot {
		priced = slot
	}
	return h.openRequest(ctx, inv, store.KindOrder, o, summary, slot, "", sizeOf(priced, o.Quantity))
}

// slotsFor refuses an order the account has no room for: DialogTech would
// refuse it after approval. A partial order needs one free slot.
func slotsFor(o dialog.OrderRequest, slot *dialog.AddOn, item int, inv Invocation) error {
	free, name, use := 0, slotName(o.Type), ""
	if slot != nil {
		free, name, use = max(slot.TotalQty-slot.InUse, 0), reply.Clean(slot.Name), fmt.Sprintf(" (%d/%d in use)", slot.InUse, slot.TotalQty)
	}
	need := o.Quantity
	if !o.AllOrNothing {
		need = 1
	}
	if free >= need {
		return nil
	}
	buy := o.Quantity - free
	again := strings.TrimSpace("/numbers " + strings.Join(strings.Fields(inv.Text), " ") + " --slots")
	return &Refusal{Text: fmt.Sprintf("Not enough free %s slots for %d %s: %d free%s, so DialogTech would refuse this order. Nothing was requested. Buy slots first with `/addons buy %d %d`, or add `--slots` to buy a slot with each number: `%s`.",
		name, o.Quantity, plural(o.Quantity, "number", "numbers"), free, use, item, buy, again)}
}

func slotName(t dialog.NumberType) string {
	switch t {
	case dialog.TollFree:
		return "Tollfree Numbers"
	case dialog.True800:
		return "True 800 Numbers"
	case dialog.CanadianLocal:
		return "Canadian Local Number"
	}
	return "Local Number"
}

var errNoApprovers = &UsageError{Problem: "No approvers are configured (APPROVERS and APPROVER_GROUPS are empty), so nobody could approve this; ask whoever runs dialogbot to set APPROVERS or APPROVER_GROUPS"}

// SlotItem is the add-on whose capacity numbers of type t use.
func SlotItem(t dialog.NumberType) int {
	switch t {
	case dialog.TollFree:
		return 3
	case dialog.True800:
		return 18
	case dialog.CanadianLocal:
		return 17
	}
	return 6
}

func orderSummary(o dialog.OrderRequest) string {
	kind := strings.ReplaceAll(string(o.Type), "_", " ")
	s := fmt.Sprintf("order %d %s number", o.Quantity, kind)
	if o.Quantity != 1 {
		s += "s"
	}
	if o.Search != "" {
		s += " in " + o.Search
	}
	var opts []string
	if o.AllOrNothing {
		opts = append(opts, "all or nothing")
	} else {
		opts = append(opts, "partial fill allowed")
	}
	if o.CleansedOnly {
		opts = append(opts, "cleansed only")
	}
	if o.Distance > 0 {
		opts = append(opts, fmt.Sprintf("within %d miles", o.Distance))
	}
	if o.SMSSupported {
		opts = append(opts, "SMS capable")
	}
	if o.OrderSlot {
		opts = append(opts, "buy a slot per number")
	}
	if o.AllowOverlay {
		opts = append(opts, "overlay allowed")
	}
	return s + " (" + strings.Join(opts, ", ") + ")"
}

func priceText(a dialog.AddOn, qty int) string {
	if a.PurchasePrice.IsZero() {
		// DialogTech lists 0.00 where it shows no price; saying "$0.00"
		// would read as free.
		return "not known: DialogTech lists no price for this add-on (0.00); the contract's rate applies"
	}
	total := a.PurchasePrice.Mul(decimalFromInt(qty))
	return fmt.Sprintf("$%s (%d × $%s, pro-rated by DialogTech)", total.StringFixed(2), qty, a.PurchasePrice.StringFixed(2))
}

func findAddOn(addOns []dialog.AddOn, id int) (dialog.AddOn, bool) {
	for _, a := range addOns {
		if a.ItemID == id {
			return a, true
		}
	}
	return dialog.AddOn{}, false
}

func (h *Handler) openRequest(ctx context.Context, inv Invocation, kind store.Kind, params any, summary string, usage *dialog.AddOn, price string, size approval.Size) (Result, error) {
	needed := h.approvals.Policy().Needs(size)
	opts := []approval.OpenOption{approval.NeedingApprovals(needed)}
	if inv.Key != "" {
		opts = append(opts, approval.WithKey(inv.Key))
	}
	r, err := h.approvals.Open(ctx, kind, params, summary, inv.UserID, inv.ChannelID, opts...)
	if err != nil {
		return Result{}, err
	}
	msg := RequestMessage(r, usage, price, h.approvals.Eligible(r.RequesterID, needed), Progress{Needed: needed})
	who := "an approver decides"
	if needed > 1 {
		who = fmt.Sprintf("%d different approvers must approve (it is above SECOND_APPROVAL_ABOVE=%s)", needed, h.approvals.Policy().SecondAbove)
	}
	ack := reply.Message{Text: "Asked for approval: " + summary}
	ack.Blocks = []reply.Block{
		reply.Section{Text: fmt.Sprintf("Asked for approval: %s. Request %s; %s in the channel. Nothing is bought until then.", summary, r.ID, who)},
		// Only the requester sees this reply, so the way to withdraw the
		// request is here, not on the channel message.
		reply.Actions{Buttons: []reply.Button{{ActionID: ActionCancel, Text: "Cancel request", Value: r.ID}}},
	}
	return Result{Reply: &ack, Post: &Post{ChannelID: inv.ChannelID, Message: msg, RequestID: r.ID}}, nil
}

func (h *Handler) runPending(ctx context.Context, inv Invocation, args []string) (Result, error) {
	if len(args) > 0 {
		return Result{}, usageErr(UsagePend, "/addons pending takes no more words (got %s)", quote(args[0]))
	}
	reqs, err := h.approvals.Pending(ctx, maxPendingCounted)
	if err != nil {
		return Result{}, err
	}
	// Every request that needs checking is counted; at most
	// maxPendingListed are listed.
	unknown, err := h.approvals.NeedsChecking(ctx, maxPendingCounted)
	if err != nil {
		return Result{}, err
	}
	checking := len(unknown)
	unknown = unknown[:min(len(unknown), maxPendingListed)]
	m := reply.Message{Text: pendingHeading(len(reqs))}
	m.Blocks = []reply.Block{reply.Header{Text: pendingHeading(len(reqs))}}
	if len(reqs) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "No requests are waiting for a decision."})
	}
	// A message holds 50 blocks: the heading takes one, and the requests
	// that need checking keep room for theirs.
	reserve := 0
	if len(unknown) > 0 {
		reserve = min(len(unknown), 10) + 2
	}
	m.Blocks = append(m.Blocks, h.pendingBlocks(ctx, reqs, inv.UserID, true, maxMessageBlocks-1-reserve)...)
	if len(unknown) > 0 {
		// Within Slack's 50 blocks: a header, one block each, a note.
		if room := 50 - len(m.Blocks) - 2; len(unknown) > room {
			unknown = unknown[:max(room, 0)]
		}
		m.Text += fmt.Sprintf("; %d %s checking", checking, plural(checking, "needs", "need"))
		m.Blocks = append(m.Blocks, needsChecking(unknown, checking)...)
	}
	return Result{Reply: &m}, nil
}

// needsChecking lists requests whose outcome is unknown, and how to record
// what the DialogTech portal shows for them; total counts them all, also
// those not in reqs.
func needsChecking(reqs []*store.Request, total int) []reply.Block {
	blocks := []reply.Block{reply.Header{Text: fmt.Sprintf("Needs checking (%d)", total)}}
	for _, r := range reqs {
		blocks = append(blocks, reply.Fields{Fields: []reply.Field{
			{Label: r.ID, Value: r.Summary},
			{Label: "Approved by", Value: reply.Mention(r.DecidedBy) + " at " + stamp(r.DecidedAt)},
		}})
	}
	note := "DialogTech's answer was lost for these. Check the DialogTech portal, then record what you found: " + UsageResolve
	if more := total - len(reqs); more > 0 {
		note = fmt.Sprintf("…and %d more that %s checking, not shown here (oldest first above). ", more, plural(more, "needs", "need")) + note
	}
	blocks = append(blocks, reply.Context{Text: note})
	return blocks
}

func (h *Handler) runResolve(ctx context.Context, inv Invocation, args []string) (Result, error) {
	id, bought, numbers, err := ParseResolve(args)
	if err != nil {
		return Result{}, err
	}
	r, err := h.approvals.Resolve(ctx, id, inv.UserID, bought, numbers)
	if err != nil {
		return Result{}, err
	}
	res := h.decided(r, resolvedAck(r))
	res.RequestID = r.ID
	return res, nil
}

func resolvedAck(r *store.Request) string {
	if r.State == store.StateSucceeded {
		return fmt.Sprintf("Recorded: request %s was bought. Its message now says so.", r.ID)
	}
	return fmt.Sprintf("Recorded: request %s was not bought. Its message now says so.", r.ID)
}

func (h *Handler) runCancel(ctx context.Context, inv Invocation, args []string) (Result, error) {
	if len(args) != 1 {
		return Result{}, usageErr(UsageCancel, "Give the id of the request to cancel")
	}
	r, err := h.approvals.Cancel(ctx, strings.ToUpper(args[0]), inv.UserID)
	if err != nil {
		return Result{}, err
	}
	res := h.decided(r, "Cancelled "+r.ID+".")
	res.RequestID = r.ID
	return res, nil
}

func (h *Handler) runAudit(ctx context.Context, inv Invocation, args []string) (Result, error) {
	if len(args) > 0 {
		return Result{}, usageErr(UsageAudit, "/addons audit takes no more words (got %s)", quote(args[0]))
	}
	if !h.approvals.IsApprover(inv.UserID) {
		return Result{}, &UsageError{Problem: "The audit log is for approvers only"}
	}
	entries, err := h.approvals.Audit(ctx, maxAuditEntries)
	if err != nil {
		return Result{}, err
	}
	m := reply.Message{Text: fmt.Sprintf("Last %d audit entries", len(entries))}
	m.Blocks = append(m.Blocks, reply.Header{Text: "Audit log, newest first"})
	var lines []string
	for _, e := range entries {
		who := e.Actor
		if who != "system" {
			who = reply.Mention(who)
		}
		line := fmt.Sprintf("%s  %s  %s  %s", stamp(e.At), firstNonEmpty(e.RequestID, "-"), who, e.Event)
		if e.Detail != "" {
			// Details quote DialogTech and people: their text, not markup.
			line += ": " + reply.Clean(e.Detail)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = []string{"The audit log is empty."}
	}
	m.Blocks = append(m.Blocks, reply.Section{Text: strings.Join(lines, "\n")})
	return Result{Reply: &m}, nil
}

func (h *Handler) runCall(ctx context.Context, inv Invocation, args []string) (Result, error) {
	menu, phone, err := ParseCall(args)
	if err != nil {
		return Result{}, err
	}
	if !h.mayCall(inv.UserID) {
		return Result{}, &Refusal{Text: "Only the people listed in CALLERS may place calls with /call vr. Nothing was called."}
	}
	masked := MaskPhone(phone)
	// The call is in the audit log before it is placed, or it is not placed.
	if err := h.approvals.Record(ctx, inv.UserID, "call.requested", fmt.Sprintf("clickto.vr menu %s, phone %s", menu, masked)); err != nil {
		h.log.ErrorContext(ctx, "call not placed: audit log not written", "menu_id", menu, "user_id", inv.UserID, "err", err)
		return Result{}, &Refusal{Text: "The call could not be recorded in the audit log, so it was not placed. Try again in a moment."}
	}
	callErr := h.account.CallVR(ctx, menu, phone)
	outcome := "connected"
	switch {
	case callErr == nil:
	case dialog.MayHaveReached(callErr):
		outcome = "unknown: DialogTech's answer was lost; the call may have been placed"
	default:
		outcome = "not placed: " + botTerms(failureText(callErr))
	}
	if err := h.approvals.Record(context.WithoutCancel(ctx), inv.UserID, "call.result", fmt.Sprintf("menu %s, phone %s: %s", menu, masked, outcome)); err != nil {
		h.log.ErrorContext(ctx, "call outcome not audited", "menu_id", menu, "user_id", inv.UserID, "err", err)
	}
	if callErr != nil {
		if dialog.MayHaveReached(callErr) {
			// The phone may be ringing: trying again could ring it twice.
			t := fmt.Sprintf("DialogTech got the request to call %s into Virtual Receptionist %s, but its answer was lost: the call may have been placed. Check with the person before trying again.", phone, menu)
			m := reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
			h.log.WarnContext(ctx, "clickto.vr outcome unknown", "menu_id", menu, "user_id", inv.UserID)
			return Result{Reply: &m}, nil
		}
		return Result{}, callErr
	}
	t := fmt.Sprintf("Calling %s into Virtual Receptionist %s: DialogTech says the call is connected.", phone, menu)
	m := reply.Message{Text: t, Blocks: []reply.Block{reply.Section{Text: t}}}
	return Result{Reply: &m}, nil
}

// mayCall reports whether user may place calls: anyone when CALLERS is
// empty, else a listed user or a member of a listed group.
func (h *Handler) mayCall(user string) bool {
	if len(h.callers) == 0 {
		return true
	}
	for _, c := range h.callers {
		if c == user || (h.groups != nil && strings.HasPrefix(c, "S") && h.groups.Member(c, user)) {
			return true
		}
	}
	return false
}

// MaskPhone hides all but the last four digits: "******0100".
func MaskPhone(phone string) string {
	if len(phone) <= 4 {
		return strings.Repeat("*", len(phone))
	}
	return strings.Repeat("*", len(phone)-4) + phone[len(phone)-4:]
}
