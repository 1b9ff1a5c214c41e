package command

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/reply"
)

// What an App Home may hold: Slack takes at most 100 blocks in a view.
// Requests come first and get most of it, since they are what a person can
// act on; each shown request keeps its Approve and Deny.
const (
	maxHomeRequestBlocks = 60
	maxHomeAlertBlocks   = 8
	maxPendingCounted    = 10000
	maxHomeUnknown       = 5
	// maxSectionChars is what one packed section may hold, with room for
	// the escaping a renderer adds (Slack's limit is 3000).
	maxSectionChars = 2800
)

// Home is a person's App Home: the requests waiting for a decision (with
// their buttons, for approvers) first, then the alerts that are firing,
// then every add-on's usage and forecast.
func (h *Handler) Home(ctx context.Context, userID string) (reply.Message, error) {
	addOns, err := h.account.ListAddOns(ctx)
	if err != nil {
		return reply.Message{}, err
	}
	var forecasts map[int]string
	var open []string
	if h.alerts != nil {
		forecasts = h.alerts.Forecasts(ctx, addOns)
		if open, err = h.alerts.OpenAlerts(ctx); err != nil {
			h.log.WarnContext(ctx, "app home: open alerts", "err", err)
		}
	}
	reqs, err := h.approvals.Pending(ctx, maxPendingCounted)
	if err != nil {
		return reply.Message{}, err
	}

	m := reply.Message{Text: "dialogbot"}
	m.Blocks = append(m.Blocks, reply.Header{Text: "dialogbot"}, reply.Header{Text: pendingHeading(len(reqs))})
	if len(reqs) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "Nothing is waiting for a decision."})
	}
	m.Blocks = append(m.Blocks, h.pendingBlocks(ctx, reqs, userID, false, maxHomeRequestBlocks)...)
	// Requests whose outcome is unknown, for someone to check: all
	// counted, at most maxHomeUnknown listed, so the view stays within
	// Slack's 100 blocks.
	if unknown, err := h.approvals.NeedsChecking(ctx, maxPendingCounted); err != nil {
		h.log.WarnContext(ctx, "app home: requests that need checking", "err", err)
	} else if len(unknown) > 0 {
		m.Blocks = append(m.Blocks, reply.Divider{})
		m.Blocks = append(m.Blocks, needsChecking(unknown[:min(len(unknown), maxHomeUnknown)], len(unknown))...)
	}

	m.Blocks = append(m.Blocks, reply.Divider{}, reply.Header{Text: "Open alerts"})
	switch {
	case h.alerts == nil:
		m.Blocks = append(m.Blocks, reply.Section{Text: "Capacity alerts are off (ALERT_CHANNEL is not set)."})
	case len(open) == 0:
		m.Blocks = append(m.Blocks, reply.Section{Text: "No alert is firing."})
	}
	sections, listed := pack(open, maxHomeAlertBlocks)
	m.Blocks = append(m.Blocks, sections...)
	if rest := len(open) - listed; rest > 0 {
		m.Blocks = append(m.Blocks, reply.Context{Text: fmt.Sprintf("…and %d more open %s.", rest, plural(rest, "alert", "alerts"))})
	}

	list := AddOnsMessage(addOns, forecasts)
	m.Blocks = append(m.Blocks, reply.Divider{})
	m.Blocks = append(m.Blocks, list.Blocks...)
	return m, nil
}

// pack puts lines into at most maxBlocks sections of at most
// maxSectionChars rendered characters and says how many lines it placed.
func pack(lines []string, maxBlocks int) (blocks []reply.Block, placed int) {
	var cur []string
	size := 0
	for _, l := range lines {
		n := renderedChars(l) + 1
		if len(cur) > 0 && size+n > maxSectionChars {
			blocks = append(blocks, reply.Section{Text: strings.Join(cur, "\n")})
			cur, size = nil, 0
		}
		if len(blocks) == maxBlocks {
			return blocks, placed
		}
		cur = append(cur, l)
		size += n
		placed++
	}
	if len(cur) > 0 {
		blocks = append(blocks, reply.Section{Text: strings.Join(cur, "\n")})
	}
	return blocks, placed
}

// renderedChars is how long s is once escaped for mrkdwn: &, < and > grow
// into entities, a mention into <@U…>.
func renderedChars(s string) int {
	return utf8.RuneCountInString(s) + 4*strings.Count(s, "&") + 3*strings.Count(s, "<") + 3*strings.Count(s, ">") + strings.Count(s, "\uE000")
}
