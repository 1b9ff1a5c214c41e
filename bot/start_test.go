package bot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

const (
	startBotToken = "xoxb-start-bot"
	startAppToken = "xapp-start-app"
)

// startBot makes a transport for srv with the given tokens; its
// connection is closed when the test ends.
func startBot(t *testing.T, srv *slacktest.Server, botTok, appTok string) *bot.Bot {
	t.Helper()
	b, err := newBot(srv.APIURL(), botTok, appTok, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Disconnect)
	return b
}

// TestStartOneTicket: Start checks both tokens with one auth.test and the
// socket's own apps.connections.open, whose ticket the connection uses:
// Slack is asked for one ticket per start, not one to check the token and
// another to connect.
func TestStartOneTicket(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	b := startBot(t, srv, startBotToken, startAppToken)
	who, err := b.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if who.UserID != srv.BotUserID() {
		t.Errorf("identity %+v, want user %s", who, srv.BotUserID())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Calls("apps.connections.open")); n != 1 {
		t.Errorf("apps.connections.open called %d times for one start, want 1", n)
	}
	if n := len(srv.Calls("auth.test")); n != 1 {
		t.Errorf("auth.test called %d times, want 1", n)
	}
}

// TestStartConnectsWhileAuthTestWaits: the socket does not wait for
// auth.test. With auth.test rate limited for a second, the connection is
// open well before Start returns.
func TestStartConnectsWhileAuthTestWaits(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	srv.RateLimit("auth.test", 1, time.Second)
	b := startBot(t, srv, startBotToken, startAppToken)
	done := startInBackground(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Start returned (%v) before the connection was open: the socket waited for auth.test", err)
	default:
	}
	// auth.test had not been answered yet: at most its rate-limited try.
	for _, c := range srv.Calls("auth.test") {
		if c.Status != 429 {
			t.Errorf("auth.test was answered (%d) before the socket opened; the socket waited for it", c.Status)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStartWaitsOutRateLimitedOpen: a 429 from apps.connections.open is
// not Slack's word on the token: Start waits, and connects on the retry.
func TestStartWaitsOutRateLimitedOpen(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	srv.RateLimit("apps.connections.open", 1, time.Second)
	b := startBot(t, srv, startBotToken, startAppToken)
	if _, err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Calls("apps.connections.open")); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2 (the 429, then the retry)", n)
	}
}

// TestStartRefused: a token Slack refuses is named, the other is not
// blamed, and nothing stays connected.
func TestStartRefused(t *testing.T) {
	tests := []struct {
		name           string
		botTok, appTok string
		fail           string // a method that answers ok:false once
		want           string
	}{
		{name: "bot token", botTok: "xoxb-wrong", appTok: startAppToken, want: "SLACK_BOT_TOKEN: slack refused the token (invalid_auth)"},
		{name: "app token", botTok: startBotToken, appTok: "xapp-wrong", want: "SLACK_APP_TOKEN: slack refused the token (invalid_auth)"},
		{name: "both", botTok: "xoxb-wrong", appTok: "xapp-wrong", want: "SLACK_BOT_TOKEN: slack refused the token (invalid_auth)"},
		{name: "app token revoked", botTok: startBotToken, appTok: startAppToken, fail: "apps.connections.open", want: "SLACK_APP_TOKEN: slack refused the token (token_revoked)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
			if tt.fail != "" {
				srv.Fail(tt.fail, "token_revoked", 1)
			}
			b := startBot(t, srv, tt.botTok, tt.appTok)
			_, err := b.Start(t.Context())
			if !errors.Is(err, bot.ErrAuth) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Start: %v, want %q wrapping ErrAuth", err, tt.want)
			}
			for _, tok := range []string{tt.botTok, tt.appTok} {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("the error shows a token: %v", err)
				}
			}
			// A socket that opened while auth.test was asked is closed.
			deadline := time.Now().Add(5 * time.Second)
			for srv.Connections() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := srv.Connections(); n != 0 {
				t.Errorf("%d connections open after a refused start", n)
			}
		})
	}
}

// TestStartUnreachable: with nothing listening, Start blames the network,
// not a token, within its own bound.
func TestStartUnreachable(t *testing.T) {
	b, err := newBot("http://127.0.0.1:1/api/", startBotToken, startAppToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Disconnect)
	_, err = b.Start(t.Context())
	if !errors.Is(err, bot.ErrUnreachable) || errors.Is(err, bot.ErrAuth) {
		t.Fatalf("Start: %v, want ErrUnreachable and not ErrAuth", err)
	}
}

// startInBackground calls b.Start on a goroutine; its error comes on the
// channel.
func startInBackground(t *testing.T, b *bot.Bot) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := b.Start(t.Context())
		done <- err
	}()
	return done
}

// startedWithin waits up to 5 s for Start's error on done, which must be
// nil; it fails with late when Start is still waiting.
func startedWithin(t *testing.T, done <-chan error, late string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal(late)
	}
}

// startHeld starts a bot against a server that holds hello, and waits
// until both tokens were asked about and the socket is open but silent.
func startHeld(t *testing.T) (*slacktest.Server, *bot.Bot, <-chan error) {
	t.Helper()
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	srv.HoldHello()
	b := startBot(t, srv, startBotToken, startAppToken)
	done := startInBackground(t, b)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Held() == 0 || len(srv.Calls("auth.test")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Start asked no auth.test, or no socket waits for its hello")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return srv, b, done
}

// runStarted runs b after Start until the test ends.
func runStarted(t *testing.T, b *bot.Bot) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitConnected waits for the bot to call itself connected.
func waitConnected(t *testing.T, b *bot.Bot) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the bot never called itself connected: an event the socket sent during Start was lost")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStartReturnsOnceSocketIsUp: Start returns when Slack said hello on
// the socket, not as soon as the tokens are taken, so that what the
// program does next (opening its store) does not compete with the
// handshake. The hello it read is not lost: Run handles it.
func TestStartReturnsOnceSocketIsUp(t *testing.T) {
	srv, b, done := startHeld(t)
	select {
	case err := <-done:
		t.Fatalf("Start returned (%v) before the socket's hello", err)
	case <-time.After(200 * time.Millisecond):
	}
	srv.ReleaseHello()
	startedWithin(t, done, "Start did not return after hello")
	runStarted(t, b)
	waitConnected(t, b)
}

// TestStartHelloWaitBounded: a socket that stays silent does not hold the
// program's start up past the bound; the socket goes on, and Run calls
// the bot connected once hello comes.
func TestStartHelloWaitBounded(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	srv.HoldHello()
	b := startBot(t, srv, startBotToken, startAppToken)
	b.SetHelloWait(50 * time.Millisecond)
	startedWithin(t, startInBackground(t, b), "Start waited for a held hello past its bound")
	if b.Connected() {
		t.Fatal("connected without a hello")
	}
	runStarted(t, b)
	srv.ReleaseHello()
	waitConnected(t, b)
}

// TestStartOpenNoAnswer: when apps.connections.open gets no answer in
// time, Start says so; it does not go on to ask auth.test with no time
// left and blame that.
func TestStartOpenNoAnswer(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens(startBotToken, startAppToken))
	srv.RateLimit("apps.connections.open", 1, 2*time.Second)
	b := startBot(t, srv, startBotToken, startAppToken)
	b.SetStartTimeout(200 * time.Millisecond)
	_, err := b.Start(t.Context())
	if !errors.Is(err, bot.ErrUnreachable) || !strings.Contains(err.Error(), "apps.connections.open: no answer") {
		t.Fatalf("Start: %v, want ErrUnreachable for apps.connections.open's missing answer", err)
	}
	if n := len(srv.Calls("auth.test")); n != 0 {
		t.Errorf("auth.test asked %d times with no time left for it", n)
	}
}

// TestStartRefusedBeforeHello: Slack took the app token, the socket
// dropped before its hello, and the reconnect's apps.connections.open was
// refused: Start fails naming the token, before the program opens its
// store, instead of handing Run a socket that has stopped for good.
func TestStartRefusedBeforeHello(t *testing.T) {
	srv, _, done := startHeld(t)
	srv.Fail("apps.connections.open", "token_revoked", 1)
	srv.DropConnections()
	select {
	case err := <-done:
		if !errors.Is(err, bot.ErrAuth) || !strings.HasPrefix(err.Error(), "SLACK_APP_TOKEN") || !strings.Contains(err.Error(), "token_revoked") {
			t.Fatalf("Start: %v, want SLACK_APP_TOKEN refused (token_revoked)", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Start did not see the socket stop for good")
	}
}
