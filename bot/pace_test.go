package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/slack-go/slack"
)

func pacedAPI(srv *slacktest.Server) *slack.Client {
	api, _ := pacedAPIAt(srv, srv.APIURL())
	return api
}

// pacedAPIAt is a client of srv's Web API at apiURL (srv's, or a proxy's
// in front of it), and its pacer.
func pacedAPIAt(srv *slacktest.Server, apiURL string) (*slack.Client, *pacer) {
	p := newPacer(&http.Client{Timeout: 10 * time.Second})
	return slack.New(srv.BotToken(), slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(p)), p
}

// proxy is a Web API URL in front of srv's that passes each call on and
// hands its answer to alter: what it returns goes back, and false cuts the
// connection instead (the call was made; its answer is lost).
func proxy(t *testing.T, srv *slacktest.Server, alter func(path string, resp *http.Response) bool) string {
	t.Helper()
	target, err := url.Parse(srv.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.Replace(pr.In.URL.Path, "/proxy/", target.Path, 1)
	}}
	rp.ModifyResponse = func(resp *http.Response) error {
		if !alter(resp.Request.URL.Path, resp) {
			return errLose
		}
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if conn, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
			_ = conn.Close()
		}
	}
	ps := httptest.NewServer(rp)
	t.Cleanup(ps.Close)
	return ps.URL + "/proxy/"
}

var errLose = errors.New("answer lost")

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
		if limited := srv.RateLimited("chat.update"); limited != 4 {
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
		limited := srv.RateLimited("chat.postMessage")
		if ok := len(srv.Calls("chat.postMessage")) - limited; ok != 1 || limited != 4 {
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
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		if _, err := srv.WaitForCall(wctx, "chat.postMessage", 2); err != nil {
			t.Fatal(err)
		}
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
	t.Run("a lost answer is not made again", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api, p := pacedAPIAt(srv, proxy(t, srv, func(path string, _ *http.Response) bool {
			return !strings.HasSuffix(path, "/chat.postMessage")
		}))
		_, _, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("x", false))
		if err == nil || errors.Is(sendError("chat.postMessage", err), reply.ErrRefused) {
			t.Fatalf("err = %v, want a lost answer (it may have been posted)", err)
		}
		if n := len(srv.Calls("chat.postMessage")); n != 1 {
			t.Errorf("%d chat.postMessage calls, want 1: a post whose answer was lost is never made again", n)
		}
		if n := len(srv.Messages("C1")); n != 1 {
			t.Errorf("C1 holds %d messages, want the 1 posted", n)
		}
		if n := len(p.channels); n != 0 {
			t.Errorf("the pacer still holds %d channels", n)
		}
	})
	t.Run("a 429 without Retry-After", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api, _ := pacedAPIAt(srv, proxy(t, srv, func(_ string, resp *http.Response) bool {
			resp.Header.Del("Retry-After")
			return true
		}))
		srv.RateLimit("chat.postMessage", 1, time.Second)
		if _, _, err := api.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("x", false)); err != nil {
			t.Fatalf("post: %v, want it posted after the 429", err)
		}
		srv.RateLimit("chat.update", 4, time.Second)
		_, _, _, err := api.UpdateMessageContext(context.Background(), "C1", "1.2", slack.MsgOptionText("x", false))
		if !errors.Is(sendError("chat.update", err), reply.ErrRefused) {
			t.Errorf("err = %v, want a refusal: a 429 is one, with or without Retry-After", err)
		}
	})
	t.Run("posts past the time they have fail while the caller can still say so", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.NewServer(t)
		api, p := pacedAPIAt(srv, srv.APIURL())
		srv.SetChannelRate(1, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), postReserve+2500*time.Millisecond)
		defer cancel()
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, _, errs[i] = api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			t.Error("the posts used up the caller's time, reserve and all")
		}
		posted := 0
		for _, err := range errs {
			switch {
			case err == nil:
				posted++
			case !errors.Is(sendError("chat.postMessage", err), reply.ErrRefused):
				t.Errorf("err = %v, want a refusal: a post not made in time was not made", err)
			}
		}
		if posted < 2 || posted == n {
			t.Errorf("%d of %d posted; want the first and those the time allowed, not all", posted, n)
		}
		if got := len(srv.Messages("C1")); got != posted {
			t.Errorf("C1 holds %d messages; %d posts succeeded", got, posted)
		}
		if len(p.channels) != 0 {
			t.Errorf("the pacer still holds %d channels", len(p.channels))
		}
	})
}
