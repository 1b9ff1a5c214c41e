package bot_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// answerLoser passes the bot's first chat.postMessage to Slack, which
// posts it, and then holds the answer until release is closed and loses
// it (a 502 from a proxy on the way back).
type answerLoser struct {
	proxy   *httputil.ReverseProxy
	posted  chan struct{}
	release chan struct{}
	done    atomic.Bool
}

func (a *answerLoser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat.postMessage") || !a.done.CompareAndSwap(false, true) {
		a.proxy.ServeHTTP(w, r)
		return
	}
	a.proxy.ServeHTTP(httptest.NewRecorder(), r)
	close(a.posted)
	<-a.release
	http.Error(w, "bad gateway", http.StatusBadGateway)
}

// TestLostPostAnswerTellsTheTruth: Slack posted a request message but its
// answer was lost, and an approver approved it from that message before
// the bot could withdraw it. The requester must not be told the request
// was withdrawn: it was bought.
func TestLostPostAnswerTellsTheTruth(t *testing.T) {
	al := &answerLoser{posted: make(chan struct{}), release: make(chan struct{})}
	w := newWorld(t, options{workers: 2, apiURL: func(u string) string {
		target, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		al.proxy = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
		srv := httptest.NewServer(al)
		t.Cleanup(srv.Close)
		return srv.URL + target.Path
	}})
	d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/numbers", Text: "order 312 1", UserID: requester, ChannelID: channel})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-al.posted:
	case <-time.After(10 * time.Second):
		t.Fatal("the request message was never posted")
	}
	m := w.requestMessage("312")
	id := requestID(t, m)
	w.click(approver, m, "Approve")
	w.waitState(id, store.StateSucceeded)
	close(al.release)
	rs, err := w.slack.WaitForResponse(w.ctx(), d, 1)
	if err != nil {
		t.Fatal(err)
	}
	text := responseText(rs[0])
	if strings.Contains(text, "withdrawn") || !strings.Contains(text, id) || !strings.Contains(text, string(store.StateSucceeded)) {
		t.Errorf("reply to the requester of %s, which was bought: %q", id, text)
	}
	if n := buyingCalls(w.sim); n != 1 {
		t.Errorf("%d buying calls, want 1", n)
	}
}
