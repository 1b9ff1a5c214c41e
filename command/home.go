package command

import (
	"context"

	"github.com/dialogbot/dialogbot/reply"
)

// Home is a person's App Home: every add-on's usage and forecast, the
// alerts that are firing, and the requests waiting for a decision (with
// their buttons, for approvers).
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
	m := AddOnsMessage(addOns, forecasts)
	m.Text = "dialogbot"
	m.Blocks = append([]reply.Block{reply.Header{Text: "dialogbot"}}, m.Blocks[1:]...)
	m.Blocks = append(m.Blocks, reply.Divider{}, reply.Header{Text: "Open alerts"})
	switch {
	case h.alerts == nil:
		m.Blocks = append(m.Blocks, reply.Section{Text: "Capacity alerts are off (ALERT_CHANNEL is not set)."})
	case len(open) == 0:
		m.Blocks = append(m.Blocks, reply.Section{Text: "No alert is firing."})
	}
	for _, line := range open {
		m.Blocks = append(m.Blocks, reply.Section{Text: line})
	}
	reqs, err := h.approvals.Pending(ctx, maxPendingListed)
	if err != nil {
		return reply.Message{}, err
	}
	m.Blocks = append(m.Blocks, reply.Divider{}, reply.Header{Text: pendingHeading(len(reqs))})
	if len(reqs) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "Nothing is waiting for a decision."})
	}
	m.Blocks = append(m.Blocks, h.pendingBlocks(reqs, userID, false)...)
	// Requests whose outcome is unknown, for someone to check; at most
	// maxHomeUnknown, so the view stays within Slack's 100 blocks.
	if unknown, err := h.approvals.NeedsChecking(ctx, maxHomeUnknown); err != nil {
		h.log.WarnContext(ctx, "app home: requests that need checking", "err", err)
	} else if len(unknown) > 0 {
		m.Blocks = append(m.Blocks, reply.Divider{})
		m.Blocks = append(m.Blocks, needsChecking(unknown)...)
	}
	return m, nil
}

const maxHomeUnknown = 5
