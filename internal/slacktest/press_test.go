package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestFindButton(t *testing.T) {
	blocks, err := json.Marshal(approvalBlocks())
	if err != nil {
		t.Fatal(err)
	}
	m := Message{Channel: "C1", TS: "1.000001", Blocks: blocks}
	tests := []struct {
		name   string
		m      Message
		label  string
		want   Button
		wantOK bool
	}{
		{"first button", m, "Approve", Button{BlockID: "decision", ActionID: "approve", Value: "req-7", Text: "Approve", Style: "primary", HasConfirm: true}, true},
		{"second button", m, "Deny", Button{BlockID: "decision", ActionID: "deny", Value: "req-7", Text: "Deny", Style: "danger"}, true},
		{"text that is no button", m, "asks to buy", Button{}, false},
		{"label differs in case", m, "approve", Button{}, false},
		{"message without blocks", Message{Channel: "C1", TS: "1.000002", Text: "Approve"}, "Approve", Button{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindButton(tt.m, tt.label)
			if ok != tt.wantOK {
				t.Errorf("FindButton(%q) found = %v, want %v", tt.label, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindButton(%q) (-want +got):\n%s", tt.label, diff)
			}
		})
	}
}

// TestPressSendsTheButtonAndWaitsForTheAck presses Deny on a stored message:
// the app sees that button pressed by that user, and Press returns only
// after the app's ack.
func TestPressSendsTheButtonAndWaitsForTheAck(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	m := postApproval(t, srv, a)

	type result struct {
		d   *Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := srv.Press(ctx, "U2", m, "Deny")
		done <- result{d, err}
	}()
	e := a.next(t, socketmode.EventTypeInteractive)
	select {
	case r := <-done:
		t.Fatalf("Press returned before the app acked: %+v, %v", r.d, r.err)
	default:
	}
	cb := e.Data.(slack.InteractionCallback)
	if cb.User.ID != "U2" || cb.Channel.ID != "C1" || cb.Container.MessageTs != m.TS || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("callback = %+v", cb)
	}
	act := cb.ActionCallback.BlockActions[0]
	if act.ActionID != "deny" || act.BlockID != "decision" || act.Value != "req-7" || act.Text.Text != "Deny" {
		t.Errorf("pressed %+v, want the Deny button", act)
	}
	if err := a.client.Ack(*e.Request); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Press: %v", r.err)
	}
	if r.d == nil || r.d.EnvelopeID != e.Request.EnvelopeID {
		t.Errorf("delivery = %+v, want envelope %s", r.d, e.Request.EnvelopeID)
	}
	if got := srv.Unacked(); len(got) != 0 {
		t.Errorf("Unacked after Press = %v", got)
	}
}

// TestPressErrors: what cannot be pressed, or is never acked, is an error
// that names the label and, for a missing button, the buttons there are.
func TestPressErrors(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	m := postApproval(t, srv, a)
	gone := m
	gone.TS = "1.000001" // the same buttons on a message Slack does not have

	tests := []struct {
		name     string
		m        Message
		label    string
		timeout  time.Duration // for the whole press; 0 for the test's
		want     error
		mentions []string
	}{
		{"no such button", m, "Buy now", 0, ErrButtonNotFound, []string{`"Buy now"`, `"Approve", "Deny"`}},
		{"message without buttons", Message{Channel: "C1", TS: m.TS}, "Approve", 0, ErrButtonNotFound, []string{`"Approve"`, "none"}},
		{"message not stored", gone, "Approve", 0, ErrMessageNotFound, []string{`"Approve"`}},
		// The app drains events and never acks this one.
		{"never acked", m, "Approve", 200 * time.Millisecond, context.DeadlineExceeded, []string{`"Approve"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctx
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := srv.Press(ctx, "U2", tt.m, tt.label)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, s := range tt.mentions {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to name %s", err, s)
				}
			}
		})
	}
}

func TestPressOnGoesToTheChosenConnection(t *testing.T) {
	srv, first := connected(t)
	ctx := testContext(t)
	second := startApp(t, srv, nil)
	if err := srv.WaitConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	m := postApproval(t, srv, first)
	for conn, a := range map[int]*app{2: second, 1: first} {
		done := make(chan error, 1)
		go func() {
			d, err := srv.PressOn(ctx, conn, "U2", m, "Approve")
			if err == nil && d.Conn != conn {
				err = errors.New("delivered on another connection")
			}
			done <- err
		}()
		e := a.next(t, socketmode.EventTypeInteractive)
		if err := a.client.Ack(*e.Request); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("PressOn connection %d: %v", conn, err)
		}
	}
}

// postApproval has the app post the approval message and returns it as
// Slack stores it.
func postApproval(t *testing.T, srv *Server, a *app) Message {
	t.Helper()
	_, ts, err := a.api.PostMessageContext(testContext(t), "C1", slack.MsgOptionText("Approval needed", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := srv.Message("C1", ts)
	if !ok {
		t.Fatalf("no message %s", ts)
	}
	return m
}
