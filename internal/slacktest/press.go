package slacktest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// FindButton returns the first button of m, in display order, whose text is
// label: the button a person would press by reading it.
func FindButton(m Message, label string) (Button, bool) {
	for _, b := range ButtonsOf(m) {
		if b.Text == label {
			return b, true
		}
	}
	return Button{}, false
}

// Press is user pressing the button labelled label on m, as m reads: it
// sends the block action over any connection and returns once the app has
// acknowledged it. When no ack comes before ctx ends, the error comes with
// the delivery that went out.
func (s *Server) Press(ctx context.Context, user string, m Message, label string) (*Delivery, error) {
	return s.PressOn(ctx, 0, user, m, label)
}

// PressOn is Press over the connection conn (see ConnIDs); 0 picks one
// round robin.
func (s *Server) PressOn(ctx context.Context, conn int, user string, m Message, label string) (*Delivery, error) {
	b, ok := FindButton(m, label)
	if !ok {
		return nil, fmt.Errorf("slacktest: press %q in message %s: %w; its buttons: %s", label, m.TS, ErrButtonNotFound, buttonLabels(m))
	}
	d, err := s.SendBlockAction(ctx, BlockAction{
		UserID: user, ChannelID: m.Channel, MessageTS: m.TS,
		ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Conn: conn,
	})
	if err != nil {
		return nil, fmt.Errorf("slacktest: press %q in message %s: %w", label, m.TS, err)
	}
	if _, err := s.WaitAck(ctx, d.EnvelopeID); err != nil {
		return d, fmt.Errorf("slacktest: press %q in message %s: %w", label, m.TS, err)
	}
	return d, nil
}

// buttonLabels lists the texts of m's buttons for an error message.
func buttonLabels(m Message) string {
	bs := ButtonsOf(m)
	if len(bs) == 0 {
		return "none"
	}
	labels := make([]string, len(bs))
	for i, b := range bs {
		labels[i] = strconv.Quote(b.Text)
	}
	return strings.Join(labels, ", ")
}
