package bot

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/slack-go/slack"
)

func pacedAPI(srv *slacktest.Server) *slack.Client {
	return slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()), slack.OptionHTTPClient(newPacer(&http.Client{Timeout: 10 * time.Second})))
}

func statuses(srv *slacktest.Server, method string) (ok, limited int) {
	for _, c := range srv.Calls(method) {
		switch c.Status {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	return ok, limited
}

func TestPacer(t *testing.T) {
	t.Run("other methods: three more tries after a 429, then Slack's refusal", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api := pacedAPI(srv)
		srv.RateLimit("chat.update", 4, 0)
		_, _, _, err := api.UpdateMessageContext(context.Background(), "C1", "1.2", slack.MsgOptionText("x", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v, want a RateLimitedError", err)
		}
		if _, limited := statuses(srv, "chat.update"); limited != 4 {
			t.Errorf("chat.update answered 429 %d times, want 4 (one call, three more)", limited)
		}
	})
	t.Run("a post waits its channel's turn past three tries", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api := pacedAPI(srv)
		srv.RateLimit("chat.postMessage", 4, 0) // slack-go's own retries would give up after 3
		if _, _, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("x", false)); err != nil {
			t.Fatal(err)
		}
		if ok, limited := statuses(srv, "chat.postMessage"); ok != 1 || limited != 4 {
			t.Errorf("chat.postMessage: %d posted, %d answered 429; want 1 and 4", ok, limited)
		}
	})
	t.Run("a post whose time ran out while paced was refused, not lost", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api := pacedAPI(srv)
		srv.RateLimit("chat.postMessage", 1, 30*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
		if err := sendError("chat.postMessage", err); !errors.Is(err, reply.ErrRefused) {
			t.Errorf("err = %v, want reply.ErrRefused: Slack said 429, nothing was posted", err)
		}
		// And one that never got its turn.
		var wg sync.WaitGroup
		srv.RateLimit("chat.postMessage", 1, 30*time.Second)
		holder, cancelHolder := context.WithCancel(context.Background())
		wg.Go(func() { _, _, _ = api.PostMessageContext(holder, "C2", slack.MsgOptionText("x", false)) })
		waitCalls(t, srv, "chat.postMessage", 2)
		ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel2()
		_, _, err = api.PostMessageContext(ctx2, "C2", slack.MsgOptionText("y", false))
		if !errors.Is(err, errNotPosted) || !errors.Is(sendError("chat.postMessage", err), reply.ErrRefused) {
			t.Errorf("err = %v, want errNotPosted, a refusal", err)
		}
		cancelHolder()
		wg.Wait()
		if n := len(srv.Calls("chat.postMessage")); n != 2 {
			t.Errorf("%d chat.postMessage calls, want 2: the waiting post never left", n)
		}
	})
}

func waitCalls(t *testing.T, srv *slacktest.Server, method string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Calls(method)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d calls, want %d", method, len(srv.Calls(method)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
