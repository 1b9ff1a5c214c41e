package command

import (
	"context"
	"fmt"

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
	if len(open) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "No alert is firing."})
	}
	for _, line := range open {
		m.Blocks = append(m.Blocks, reply.Section{Text: line})
	}
	reqs, err := h.approvals.Pending(ctx, maxPendingListed)
	if err != nil {
		return reply.Message{}, err
	}
	m.Blocks = append(m.Blocks, reply.Divider{}, reply.Header{Text: fmt.Sprintf("Pending requests (%d)", len(reqs))})
	if len(reqs) == 0 {
		m.Blocks = append(m.Blocks, reply.Section{Text: "Nothing is waiting for a decision."})
	}
	approver := h.approvals.IsApprover(userID)
	for _, r := range reqs {
		m.Blocks = append(m.Blocks, reply.Fields{Fields: []reply.Field{
			{Label: r.ID, Value: r.Summary},
			{Label: "Requested by", Value: reply.Mention(r.RequesterID) + " at " + stamp(r.CreatedAt)},
		}})
		if approver && r.RequesterID != userID || approver && h.approvals.Policy().AllowSelfApproval {
			req := RequestMessage(r, nil, "", nil)
			for _, b := range req.Blocks {
				if a, ok := b.(reply.Actions); ok {
					m.Blocks = append(m.Blocks, reply.Actions{Buttons: a.Buttons[:2]})
				}
			}
		}
	}
	return m, nil
}
