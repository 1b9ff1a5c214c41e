package slacktest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func newAPI(srv *Server, botToken string, opts ...slack.Option) *slack.Client {
	base := []slack.Option{slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(srv.AppToken())}
	return slack.New(botToken, append(base, opts...)...)
}

func TestTokens(t *testing.T) {
	srv := NewServer(t)
	ctx := testContext(t)

	tests := []struct {
		name      string
		call      func() error
		method    string
		wantErr   string
		wantToken string
	}{
		{
			name:      "auth.test with the bot token",
			call:      func() error { _, err := newAPI(srv, srv.BotToken()).AuthTestContext(ctx); return err },
			method:    "auth.test",
			wantToken: TokenBot,
		},
		{
			name:      "auth.test with a wrong token",
			call:      func() error { _, err := newAPI(srv, "xoxb-wrong").AuthTestContext(ctx); return err },
			method:    "auth.test",
			wantErr:   "invalid_auth",
			wantToken: TokenBad,
		},
		{
			name:      "auth.test without a token",
			call:      func() error { _, err := newAPI(srv, "").AuthTestContext(ctx); return err },
			method:    "auth.test",
			wantErr:   "not_authed",
			wantToken: TokenNone,
		},
		{
			name: "chat.postMessage with the app token",
			call: func() error {
				_, _, err := newAPI(srv, srv.AppToken()).PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
				return err
			},
			method:    "chat.postMessage",
			wantErr:   "not_allowed_token_type",
			wantToken: TokenApp,
		},
		{
			name: "apps.connections.open with the bot token",
			call: func() error {
				_, _, err := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(srv.BotToken())).StartSocketModeContext(ctx)
				return err
			},
			method:    "apps.connections.open",
			wantErr:   "not_allowed_token_type",
			wantToken: TokenBot,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Calls(tt.method))
			err := tt.call()
			if got := errString(err); got != tt.wantErr {
				t.Errorf("err = %q, want %q", got, tt.wantErr)
			}
			calls := srv.Calls(tt.method)
			if len(calls) != before+1 {
				t.Fatalf("calls = %d, want %d", len(calls), before+1)
			}
			last := calls[len(calls)-1]
			if last.Token != tt.wantToken || last.Error != tt.wantErr || last.Args.Has("token") {
				t.Errorf("recorded call = %+v", last)
			}
		})
	}

	auth, err := newAPI(srv, srv.BotToken()).AuthTestContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if auth.UserID != srv.BotUserID() || auth.TeamID != srv.TeamID() || auth.BotID != srv.BotID() {
		t.Errorf("auth.test = %+v", auth)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSocketModeWithBadAppTokenStops(t *testing.T) {
	srv := NewServer(t, WithTokens("xoxb-good", "xapp-good"))
	api := slack.New("xoxb-good", slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken("xapp-bad"))
	client := socketmode.New(api)
	ctx := testContext(t)
	go func() {
		for {
			select {
			case <-client.Events:
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := client.RunContext(ctx); errString(err) != "invalid_auth" {
		t.Errorf("RunContext = %v, want invalid_auth", err)
	}
}

func TestPostAndUpdateChangeTheStoredMessage(t *testing.T) {
	srv := NewServer(t)
	api := newAPI(srv, srv.BotToken())
	ctx := testContext(t)

	ch, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Approval needed", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := srv.Message("C1", ts)
	if !ok || ch != "C1" {
		t.Fatalf("message %s not stored (channel %q)", ts, ch)
	}
	wantButtons := []Button{
		{BlockID: "decision", ActionID: "approve", Value: "req-7", Text: "Approve", Style: "primary", HasConfirm: true},
		{BlockID: "decision", ActionID: "deny", Value: "req-7", Text: "Deny", Style: "danger"},
	}
	if diff := cmp.Diff(wantButtons, ButtonsOf(m)); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("Approval needed\n*<@U1>* asks to buy 3 of add-on 12\nApprove\nDeny", TextOf(m)); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Approved by <@U2>", false), slack.MsgOptionBlocks())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Message("C1", ts)
	want := Message{Channel: "C1", TS: ts, Text: "Approved by <@U2>", User: srv.BotUserID(), Updated: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("updated message (-want +got):\n%s", diff)
	}

	_, _, _, err = api.UpdateMessageContext(ctx, "C1", "1.000001", slack.MsgOptionText("x", false))
	if errString(err) != "message_not_found" {
		t.Errorf("updating an unknown message: err = %v, want message_not_found", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1"); errString(err) != "no_text" {
		t.Errorf("posting nothing: err = %v, want no_text", err)
	}
	if n := len(srv.Messages("C1")); n != 1 {
		t.Errorf("messages in C1 = %d, want 1", n)
	}
}

func TestThreadsEphemeralsAndDeletes(t *testing.T) {
	srv := NewServer(t)
	api := newAPI(srv, srv.BotToken())
	ctx := testContext(t)

	_, parent, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Request #7", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Ordered 3 numbers", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Fatal(err)
	}
	thread := srv.Thread("C1", parent)
	want := []Message{
		{Channel: "C1", TS: parent, Text: "Request #7", User: srv.BotUserID()},
		{Channel: "C1", TS: reply, ThreadTS: parent, Text: "Ordered 3 numbers", User: srv.BotUserID()},
	}
	if diff := cmp.Diff(want, thread); diff != "" {
		t.Errorf("thread (-want +got):\n%s", diff)
	}
	if parent >= reply {
		t.Errorf("timestamps not increasing: %s then %s", parent, reply)
	}

	ts, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("Only approvers may approve.", false))
	if err != nil {
		t.Fatal(err)
	}
	eph := srv.Ephemerals("C1")
	wantEph := []Message{{Channel: "C1", TS: ts, Text: "Only approvers may approve.", User: srv.BotUserID(), EphemeralTo: "U1"}}
	if diff := cmp.Diff(wantEph, eph); diff != "" {
		t.Errorf("ephemerals (-want +got):\n%s", diff)
	}

	if _, _, err := api.DeleteMessageContext(ctx, "C1", reply); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages("C1"); len(got) != 1 || got[0].TS != parent {
		t.Errorf("messages after delete = %+v", got)
	}
	if m, ok := srv.Message("C1", reply); !ok || !m.Deleted {
		t.Errorf("deleted message = %+v, %v", m, ok)
	}
	if got := len(srv.Messages("")); got != 2 {
		t.Errorf("messages in every channel = %d, want 2", got)
	}
}

func TestWaitForMessageSeesLaterUpdates(t *testing.T) {
	srv := NewServer(t)
	api := newAPI(srv, srv.BotToken())
	ctx := testContext(t)

	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Pending", false))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Message, 1)
	go func() {
		m, err := srv.WaitForMessage(ctx, func(m Message) bool { return m.TS == ts && strings.Contains(TextOf(m), "Approved") })
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Approved", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("Done", false)); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.Text != "Approved" || m.Updated != 1 {
		t.Errorf("matched version = %+v", m)
	}

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := srv.WaitForMessage(short, func(m Message) bool { return m.Text == "never" }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a message that never comes: err = %v", err)
	}
}

func TestUsersConversationsAndOtherMethods(t *testing.T) {
	srv := NewServer(t)
	api := newAPI(srv, srv.BotToken())
	ctx := testContext(t)

	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "U1" || u.Name != "user_u1" || u.TeamID != srv.TeamID() || u.IsBot {
		t.Errorf("user = %+v", u)
	}
	if _, err := api.GetUserInfoContext(ctx, "nobody"); errString(err) != "user_not_found" {
		t.Errorf("unknown user: err = %v", err)
	}
	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != "C1" || ch.Name != "channel_c1" || !ch.IsChannel {
		t.Errorf("channel = %+v", ch)
	}
	if err := api.AddReactionContext(ctx, "white_check_mark", slack.NewRefToMessage("C1", "1.000001")); err != nil {
		t.Errorf("a method the server does not model: %v", err)
	}
	calls := srv.Calls("reactions.add")
	if len(calls) != 1 || calls[0].Args.Get("name") != "white_check_mark" || calls[0].Args.Get("channel") != "C1" {
		t.Errorf("reactions.add calls = %+v", calls)
	}
}

func TestRateLimit(t *testing.T) {
	srv := NewServer(t)
	ctx := testContext(t)

	srv.RateLimit("chat.postMessage", 1, 1500*time.Millisecond)
	_, _, err := newAPI(srv, srv.BotToken()).PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want a RateLimitedError with Retry-After 2s", err)
	}

	// With retries on, slack-go waits out the 429 and succeeds.
	srv.RateLimit("chat.postMessage", 1, 0)
	retrying := newAPI(srv, srv.BotToken(), slack.OptionRetryConfig(slack.RetryConfig{MaxRetries: 1}))
	if _, _, err := retrying.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, c := range srv.Calls("chat.postMessage") {
		statuses = append(statuses, c.Status)
	}
	if diff := cmp.Diff([]int{429, 429, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if n := len(srv.Messages("C1")); n != 1 {
		t.Errorf("stored messages = %d, want 1", n)
	}
}

func TestResponseURL(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)

	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := a.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)

	if err := slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "Add-ons: 3", ResponseType: slack.ResponseTypeInChannel}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		resp, err := http.Post(cmd.ResponseURL, "application/json", strings.NewReader(`{"text":"working on it"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d", resp.StatusCode)
		}
	}
	err = slack.PostWebhookContext(ctx, cmd.ResponseURL, &slack.WebhookMessage{Text: "sixth"})
	var code slack.StatusCodeError
	if !errors.As(err, &code) || code.Code != http.StatusNotFound {
		t.Errorf("sixth use: err = %v, want 404", err)
	}

	got, err := srv.WaitForResponse(ctx, d, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ResponseType != "in_channel" || got[0].Text != "Add-ons: 3" || got[0].ReplaceOriginal || len(got) != 5 {
		t.Errorf("responses = %+v", got)
	}
	if diff := cmp.Diff([]string{"Add-ons: 3"}, texts(srv.Messages("C1"))); diff != "" {
		t.Errorf("channel messages (-want +got):\n%s", diff)
	}
	if n := len(srv.Ephemerals("C1")); n != 4 {
		t.Errorf("ephemeral replies = %d, want 4", n)
	}
	resp, err := http.Post(srv.baseURL()+"/response/unknown", "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown response_url: status = %d, want 404", resp.StatusCode)
	}
}

func TestResponseURLReplacesTheOriginal(t *testing.T) {
	srv, a := connected(t)
	ctx := testContext(t)
	_, ts, err := a.api.PostMessageContext(ctx, "C1", slack.MsgOptionText("Approval needed", false), slack.MsgOptionBlocks(approvalBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	d, err := srv.SendBlockAction(ctx, BlockAction{UserID: "U2", ChannelID: "C1", MessageTS: ts, ActionID: "deny"})
	if err != nil {
		t.Fatal(err)
	}
	cb := a.next(t, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if _, _, err := a.api.PostMessageContext(ctx, "", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("Denied by <@U2>", false)); err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitForMessage(ctx, func(m Message) bool { return m.TS == ts && m.Updated == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Denied by <@U2>" || len(ButtonsOf(m)) != 0 {
		t.Errorf("replaced message = %+v", m)
	}
	resp := srv.ResponsesFor(d)
	if len(resp) != 1 || !resp[0].ReplaceOriginal {
		t.Errorf("responses = %+v", resp)
	}

	if err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages("C1"); len(got) != 0 {
		t.Errorf("messages after delete_original = %+v", got)
	}
}

func TestResponseURLExpires(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var elapsed atomic.Int64
	srv := New(WithClock(func() time.Time { return now.Add(time.Duration(elapsed.Load())) }))
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := testContext(t)
	a := startApp(t, srv, nil)
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	d, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	a.next(t, socketmode.EventTypeSlashCommand)
	if !d.SentAt.Equal(now) {
		t.Errorf("SentAt = %v, want the server clock's %v", d.SentAt, now)
	}
	elapsed.Store(int64(31 * time.Minute))
	err = slack.PostWebhookContext(ctx, d.ResponseURL, &slack.WebhookMessage{Text: "late"})
	var code slack.StatusCodeError
	if !errors.As(err, &code) || code.Code != http.StatusNotFound {
		t.Errorf("post after 31 minutes: err = %v, want 404", err)
	}
}

func texts(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

func TestRecordedArgs(t *testing.T) {
	srv := NewServer(t)
	api := newAPI(srv, srv.BotToken())
	ctx := testContext(t)
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false), slack.MsgOptionTS("1.000001")); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls("chat.postMessage")
	want := url.Values{"channel": {"C1"}, "text": {"hi"}, "thread_ts": {"1.000001"}}
	if diff := cmp.Diff(want, calls[0].Args, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

func TestBotNotInChannel(t *testing.T) {
	srv := NewServer(t)
	ctx := testContext(t)
	api := newAPI(srv, srv.BotToken())

	srv.RemoveBot("C1")
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "not_in_channel" {
		t.Fatalf("post to a channel without the bot: %v, want not_in_channel", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post to another channel: %v", err)
	}
	srv.AddBot("C1")
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post after AddBot: %v", err)
	}
	if n := len(srv.Messages("C1")); n != 1 {
		t.Errorf("stored messages in C1 = %d, want 1", n)
	}
}
