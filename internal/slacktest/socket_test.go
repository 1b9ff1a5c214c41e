package slacktest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestConnectSendsHello(t *testing.T) {
	srv, a := connected(t)

	e := a.next(t, socketmode.EventTypeHello)
	got := *e.Request
	want := socketmode.Request{
		Type:           "hello",
		NumConnections: 1,
		ConnectionInfo: socketmode.ConnectionInfo{AppID: srv.AppID()},
		DebugInfo:      socketmode.DebugInfo{Host: debugHost, BuildNumber: 1, ApproximateConnectionTime: 18060},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hello (-want +got):\n%s", diff)
	}
	calls := srv.Calls("apps.connections.open")
	if len(calls) != 1 || calls[0].Token != TokenApp || calls[0].Status != 200 {
		t.Errorf("apps.connections.open calls = %+v, want one with the app token", calls)
	}
	if diff := cmp.Diff([]int{1}, srv.ConnIDs()); diff != "" {
		t.Errorf("ConnIDs (-want +got):\n%s", diff)
	}
}

func TestSlashCommandIsDeliveredAndAcked(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", Text: "buy 12 3", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeSlashCommand)
	if e.Request.EnvelopeID != d.EnvelopeID || !e.Request.AcceptsResponsePayload || e.Request.RetryAttempt != 0 {
		t.Errorf("request = %+v, want envelope %s accepting a response payload, attempt 0", e.Request, d.EnvelopeID)
	}
	want := slack.SlashCommand{
		Token:       VerificationToken,
		TeamID:      srv.TeamID(),
		TeamDomain:  teamDomain,
		ChannelID:   "C1",
		ChannelName: "channel_c1",
		UserID:      "U1",
		UserName:    "user_u1",
		Command:     "/addons",
		Text:        "buy 12 3",
		ResponseURL: d.ResponseURL,
		TriggerID:   d.TriggerID,
		APIAppID:    srv.AppID(),
	}
	if diff := cmp.Diff(want, e.Data.(slack.SlashCommand)); diff != "" {
		t.Errorf("slash command (-want +got):\n%s", diff)
	}
	if d.ResponseURL == "" || d.TriggerID == "" {
		t.Errorf("delivery lacks response_url or trigger_id: %+v", d)
	}

	if got := srv.Unacked(); !slices.Equal(got, []string{d.EnvelopeID}) {
		t.Errorf("Unacked before ack = %v", got)
	}
	if err := a.client.Ack(*e.Request); err != nil {
		t.Fatal(err)
	}
	ack, err := srv.WaitAck(ctx, d.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency < 0 || ack.Latency != ack.At.Sub(d.SentAt) || ack.Payload != nil || ack.Conn != d.Conn {
		t.Errorf("ack = %+v, delivery = %+v", ack, d)
	}
	if got := srv.Unacked(); len(got) != 0 {
		t.Errorf("Unacked after ack = %v", got)
	}
}

func TestSlashCommandAckPayloadIsShownToTheUser(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", Text: "nonsense", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeSlashCommand)
	if err := a.client.Ack(*e.Request, map[string]any{"text": "Usage: /addons buy <item_id> <qty>"}); err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitForMessage(ctx, func(m Message) bool { return m.EphemeralTo == "U1" })
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != "C1" || m.Text != "Usage: /addons buy <item_id> <qty>" {
		t.Errorf("ephemeral reply = %+v", m)
	}
	ack, err := srv.WaitAck(ctx, d.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Payload) != `{"text":"Usage: /addons buy \u003citem_id\u003e \u003cqty\u003e"}` {
		t.Errorf("ack payload = %s", ack.Payload)
	}
	if got := srv.Messages("C1"); len(got) != 0 {
		t.Errorf("channel messages = %+v, want none", got)
	}
}

// approvalBlocks is a request message with Approve (behind a confirm
// dialog) and Deny buttons.
func approvalBlocks() []slack.Block {
	approve := slack.NewButtonBlockElement("approve", "req-7", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false))
	approve.Style = slack.StylePrimary
	approve.Confirm = slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, "Buy?", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "This spends money.", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Buy", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false))
	deny := slack.NewButtonBlockElement("deny", "req-7", slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false))
	deny.Style = slack.StyleDanger
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*<@U1>* asks to buy 3 of add-on 12", false, false), nil, nil, slack.SectionBlockOptionBlockID("summary")),
		slack.NewActionBlock("decision", approve, deny),
	}
}

func TestBlockActionDecodesAsInteractionCallback(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	_, ts, err := a.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Approval needed", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	d, err := srv.SendBlockAction(ctx, BlockAction{UserID: "U2", ChannelID: "C1", MessageTS: ts, ActionID: "approve"})
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeInteractive)
	if e.Request.EnvelopeID != d.EnvelopeID || e.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v", e.Request)
	}
	cb := e.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U2" || cb.Channel.ID != "C1" ||
		cb.ResponseURL != d.ResponseURL || cb.TriggerID != d.TriggerID || cb.APIAppID != srv.AppID() || cb.Team.ID != srv.TeamID() {
		t.Errorf("callback = %+v", cb)
	}
	if diff := cmp.Diff(slack.Container{Type: "message", MessageTs: ts, ChannelID: "C1"}, cb.Container); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	if cb.Message.Timestamp != ts || cb.Message.Text != "Approval needed" || cb.Message.User != srv.BotUserID() || len(cb.Message.Blocks.BlockSet) != 2 {
		t.Errorf("message = %+v", cb.Message)
	}
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v", cb.ActionCallback)
	}
	act := *cb.ActionCallback.BlockActions[0]
	want := slack.BlockAction{
		ActionID: "approve",
		BlockID:  "decision",
		Type:     "button",
		Text:     slack.TextBlockObject{Type: "plain_text", Text: "Approve", Emoji: new(true)},
		Value:    "req-7",
		ActionTs: act.ActionTs,
	}
	if diff := cmp.Diff(want, act); diff != "" || act.ActionTs == "" {
		t.Errorf("action (-want +got):\n%s", diff)
	}
}

func TestBlockActionRefusesWhatAPersonCannotPress(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	_, ts, err := a.api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		action BlockAction
		want   error
	}{
		{"unknown message", BlockAction{UserID: "U2", ChannelID: "C1", MessageTS: "1.000001", ActionID: "approve"}, ErrMessageNotFound},
		{"unknown button", BlockAction{UserID: "U2", ChannelID: "C1", MessageTS: ts, ActionID: "buy-now"}, ErrButtonNotFound},
		{"wrong block", BlockAction{UserID: "U2", ChannelID: "C1", MessageTS: ts, ActionID: "approve", BlockID: "summary"}, ErrButtonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := srv.SendBlockAction(ctx, tt.action); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBlockActionOnStaleRendering(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	_, ts, err := a.api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Approved by <@U2>", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	// A second approver's client still shows the buttons.
	if _, err := srv.SendBlockAction(ctx, BlockAction{UserID: "U3", ChannelID: "C1", MessageTS: ts, ActionID: "approve"}); err != nil {
		t.Fatal(err)
	}
	cb := a.next(t, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if cb.Message.Text != "Approved by <@U2>" || cb.ActionCallback.BlockActions[0].Value != "req-7" {
		t.Errorf("callback message = %+v, actions = %+v", cb.Message, cb.ActionCallback.BlockActions[0])
	}
}

func TestViewSubmissionCarriesInputs(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	if _, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/numbers", UserID: "U1", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	cmd := a.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)
	modal := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Order numbers", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Ask", false, false),
		CallbackID:      "order",
		PrivateMetadata: "C1",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("search", slack.NewTextBlockObject(slack.PlainTextType, "Search", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "digits")),
			slack.NewInputBlock("qty", slack.NewTextBlockObject(slack.PlainTextType, "Quantity", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "n")),
		}},
	}
	resp, err := a.api.OpenViewContext(ctx, cmd.TriggerID, modal)
	if err != nil {
		t.Fatal(err)
	}
	views := srv.Views()
	if len(views) != 1 {
		t.Fatalf("views = %+v", views)
	}
	v := views[0]
	if v.ID != resp.View.ID || v.CallbackID != "order" || v.PrivateMetadata != "C1" || v.TriggerID != cmd.TriggerID || v.UserID != "U1" || v.Type != "modal" {
		t.Errorf("stored view = %+v, opened = %s", v, resp.View.ID)
	}
	if _, err := a.api.OpenViewContext(ctx, cmd.TriggerID, modal); err == nil || err.Error() != "exchanged_trigger_id" {
		t.Errorf("second views.open with the same trigger: err = %v, want exchanged_trigger_id", err)
	}
	if _, err := a.api.OpenViewContext(ctx, "123.456.made-up", modal); err == nil || err.Error() != "invalid_trigger_id" {
		t.Errorf("views.open with a made-up trigger: err = %v, want invalid_trigger_id", err)
	}

	d, err := srv.SendViewSubmission(ctx, ViewSubmission{UserID: "U1", ViewID: v.ID, Values: map[string]map[string]string{"search": {"digits": "312"}}})
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeInteractive)
	if !e.Request.AcceptsResponsePayload || e.Request.EnvelopeID != d.EnvelopeID {
		t.Errorf("request = %+v", e.Request)
	}
	cb := e.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeViewSubmission || cb.User.ID != "U1" || cb.View.ID != v.ID ||
		cb.View.CallbackID != "order" || cb.View.PrivateMetadata != "C1" {
		t.Errorf("callback = %+v", cb)
	}
	want := map[string]map[string]slack.BlockAction{
		"search": {"digits": {Type: "plain_text_input", Value: "312"}},
		"qty":    {"n": {Type: "plain_text_input"}},
	}
	if diff := cmp.Diff(want, cb.View.State.Values); diff != "" {
		t.Errorf("state values (-want +got):\n%s", diff)
	}

	errs := slack.NewErrorsViewSubmissionResponse(map[string]string{"qty": "Enter a quantity"})
	if err := a.client.Ack(*e.Request, errs); err != nil {
		t.Fatal(err)
	}
	ack, err := srv.WaitAck(ctx, d.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Payload) != `{"response_action":"errors","errors":{"qty":"Enter a quantity"}}` {
		t.Errorf("ack payload = %s", ack.Payload)
	}

	if _, err := srv.SendViewSubmission(ctx, ViewSubmission{UserID: "U1", Values: map[string]map[string]string{"nope": {"x": "1"}}}); err == nil {
		t.Error("submitting an input the view lacks succeeded")
	}
	if _, err := srv.SendViewSubmission(ctx, ViewSubmission{UserID: "U9"}); !errors.Is(err, ErrViewNotFound) {
		t.Errorf("submission by a user with no modal: err = %v, want ErrViewNotFound", err)
	}
}

func TestAppHomeOpenedEvent(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	d, err := srv.SendEvent(ctx, "U1", map[string]any{"type": "app_home_opened", "tab": "home", "channel": "D1"})
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeEventsAPI)
	if e.Request.EnvelopeID != d.EnvelopeID || e.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v", e.Request)
	}
	ev := e.Data.(slackevents.EventsAPIEvent)
	if ev.Type != slackevents.CallbackEvent || ev.TeamID != srv.TeamID() || ev.APIAppID != srv.AppID() {
		t.Errorf("outer event = %+v", ev)
	}
	home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok {
		t.Fatalf("inner event = %T", ev.InnerEvent.Data)
	}
	want := slackevents.AppHomeOpenedEvent{Type: "app_home_opened", User: "U1", Channel: "D1", Tab: "home", EventTimeStamp: home.EventTimeStamp}
	if diff := cmp.Diff(want, *home); diff != "" || home.EventTimeStamp == "" {
		t.Errorf("app_home_opened (-want +got):\n%s", diff)
	}

	// The app answers by publishing its home view.
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Add-ons: 3", false, false), nil, nil),
	}}}
	if _, err := a.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: view}); err != nil {
		t.Fatal(err)
	}
	hv, ok := srv.HomeView("U1")
	if !ok || hv.Type != "home" || hv.UserID != "U1" {
		t.Errorf("home view = %+v, %v", hv, ok)
	}
}

func TestRedeliverSendsTheSameEnvelope(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	first := a.next(t, socketmode.EventTypeSlashCommand)
	d2, err := srv.Redeliver(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	second := a.next(t, socketmode.EventTypeSlashCommand)
	if d2.EnvelopeID != d.EnvelopeID || d2.RetryAttempt != 1 || d2.ResponseURL != d.ResponseURL {
		t.Errorf("redelivery = %+v, first = %+v", d2, d)
	}
	want := *first.Request
	want.RetryAttempt = 1
	want.RetryReason = "timeout"
	if diff := cmp.Diff(want, *second.Request); diff != "" {
		t.Errorf("redelivered request (-want +got):\n%s", diff)
	}
	if got := srv.Unacked(); !slices.Equal(got, []string{d.EnvelopeID}) {
		t.Errorf("Unacked = %v", got)
	}
	for _, e := range []socketmode.Event{first, second} {
		if err := a.client.Ack(*e.Request); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.WaitAck(ctx, d.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if got := srv.Unacked(); len(got) != 0 {
		t.Errorf("Unacked after ack = %v", got)
	}
	if _, err := srv.Redeliver(ctx, &Delivery{EnvelopeID: "never-sent"}); !errors.Is(err, ErrUnknownEnvelope) {
		t.Errorf("redelivering an unknown envelope: err = %v", err)
	}
}

func TestClientReconnectsAfterDisconnect(t *testing.T) {
	for _, reason := range []string{"warning", "refresh_requested", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			srv, a := connected(t)
			ctx := testContext(t)

			srv.Disconnect(reason)
			if _, err := srv.WaitForCall(ctx, "apps.connections.open", 2); err != nil {
				t.Fatal(err)
			}
			if err := srv.WaitConnections(ctx, 1); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]int{2}, srv.ConnIDs()); diff != "" {
				t.Errorf("ConnIDs (-want +got):\n%s", diff)
			}
			d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Conn != 2 {
				t.Errorf("delivered on connection %d, want 2", d.Conn)
			}
			if e := a.next(t, socketmode.EventTypeSlashCommand); e.Request.EnvelopeID != d.EnvelopeID {
				t.Errorf("got envelope %s, want %s", e.Request.EnvelopeID, d.EnvelopeID)
			}
		})
	}
}

func TestClientReconnectsAfterDroppedConnections(t *testing.T) {
	srv, _ := connected(t)
	ctx := testContext(t)

	before := srv.ConnIDs()
	srv.DropConnections()
	// The client may already be back on a new socket (slack-go reconnects
	// at once), so what must hold is that none of the dropped ones lives.
	for _, id := range srv.ConnIDs() {
		if slices.Contains(before, id) {
			t.Errorf("connection %d still live after drop (live: %v, dropped: %v)", id, srv.ConnIDs(), before)
		}
	}
	if _, err := srv.WaitForCall(ctx, "apps.connections.open", 2); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestStalledServerMakesTheClientReconnect(t *testing.T) {
	srv := NewServer(t, WithPingInterval(20*time.Millisecond))
	a := startApp(t, srv, []socketmode.Option{socketmode.OptionPingInterval(300 * time.Millisecond)})
	ctx := testContext(t)
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}

	srv.Stall(0)
	if !srv.Stalled() {
		t.Fatal("not stalled")
	}
	// Without pings the client gives up on the socket and opens another.
	if _, err := srv.WaitForCall(ctx, "apps.connections.open", 2); err != nil {
		t.Fatal(err)
	}
	srv.Resume()

	// Around the resume the client may drop one more socket, losing what was
	// written to it; Slack redelivers unacked envelopes, and so does this.
	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		if e, ok := a.nextWithin(socketmode.EventTypeSlashCommand, time.Second); ok {
			if e.Request.EnvelopeID != d.EnvelopeID {
				t.Errorf("got envelope %s, want %s", e.Request.EnvelopeID, d.EnvelopeID)
			}
			break
		}
		if attempt == 10 {
			t.Fatal("the command never reached the client after Resume")
		}
		if d, err = srv.Redeliver(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStallWithDurationResumesByItself(t *testing.T) {
	srv := NewServer(t)
	srv.Stall(10 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stalled() {
		if time.Now().After(deadline) {
			t.Fatal("still stalled")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEnvelopesWhileStalledAreLost(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	srv.Stall(0)
	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Resume()
	if _, err := srv.Redeliver(ctx, d); err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeSlashCommand)
	if e.Request.EnvelopeID != d.EnvelopeID || e.Request.RetryAttempt != 1 {
		t.Errorf("first envelope the client saw = %+v, want the redelivery", e.Request)
	}
}

func TestEnvelopesGoToTheChosenConnection(t *testing.T) {
	srv := NewServer(t)
	ctx := testContext(t)
	first := startApp(t, srv, nil)
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	second := startApp(t, srv, nil)
	if err := srv.WaitConnections(ctx, 2); err != nil {
		t.Fatal(err)
	}
	replicas := map[int]*app{1: first, 2: second}

	for _, conn := range []int{2, 1} {
		d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1", Conn: conn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Conn != conn {
			t.Errorf("delivered on %d, want %d", d.Conn, conn)
		}
		if e := replicas[conn].next(t, socketmode.EventTypeSlashCommand); e.Request.EnvelopeID != d.EnvelopeID {
			t.Errorf("connection %d got %s, want %s", conn, e.Request.EnvelopeID, d.EnvelopeID)
		}
	}

	// Round robin reaches both, and a redelivery goes to the other replica.
	var conns []int
	for range 2 {
		d, err := srv.SendEvent(ctx, "U1", map[string]any{"type": "app_home_opened", "tab": "home"})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, d.Conn)
		replicas[d.Conn].next(t, socketmode.EventTypeEventsAPI)
		r, err := srv.Redeliver(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Conn == d.Conn {
			t.Errorf("redelivery went to the same connection %d", r.Conn)
		}
		replicas[r.Conn].next(t, socketmode.EventTypeEventsAPI)
	}
	slices.Sort(conns)
	if diff := cmp.Diff([]int{1, 2}, conns); diff != "" {
		t.Errorf("round robin connections (-want +got):\n%s", diff)
	}

	_ = second.stop()
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1", Conn: 2}); !errors.Is(err, ErrNoConnection) {
		t.Errorf("sending to a closed connection: err = %v, want ErrNoConnection", err)
	}
}

func TestSendWaitsForAConnection(t *testing.T) {
	srv := NewServer(t)
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() {
		_, err := srv.SendEvent(ctx, "U1", map[string]any{"type": "app_home_opened", "tab": "home"})
		done <- err
	}()
	a := startApp(t, srv, nil)
	a.next(t, socketmode.EventTypeEventsAPI)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestEnvelopeShapeOnTheWire(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	payload := json.RawMessage(`{"type":"event_callback","event":{"type":"app_mention","text":"hi","user":"U1","channel":"C1","ts":"1.000001","event_ts":"1.000001"}}`)
	d, err := srv.SendEnvelope(ctx, 0, EnvelopeEventsAPI, payload, false)
	if err != nil {
		t.Fatal(err)
	}
	e := a.next(t, socketmode.EventTypeEventsAPI)
	want := socketmode.Request{Type: "events_api", EnvelopeID: d.EnvelopeID, Payload: payload}
	if diff := cmp.Diff(want, *e.Request); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}
