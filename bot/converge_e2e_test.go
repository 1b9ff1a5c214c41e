package bot_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// reorderer sits between the bot and Slack's Web API and delivers a
// chat.update that shows a request mid-call only after the update that
// shows its outcome, as a slow network path can. Slack keeps whichever
// update reaches it last.
type reorderer struct {
	mu      sync.Mutex
	final   map[string]chan struct{} // ts → closed when the outcome's update was forwarded
	held    map[string]chan struct{} // ts → closed when the held stale update was forwarded
	proxy   *httputil.ReverseProxy
	stale   string // text of the stale state
	outcome string // text of the outcome
}

func newReorderer(t *testing.T, target, stale, outcome string) (*reorderer, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ro := &reorderer{final: map[string]chan struct{}{}, held: map[string]chan struct{}{}, stale: stale, outcome: outcome}
	ro.proxy = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(ro)
	t.Cleanup(srv.Close)
	return ro, srv.URL + u.Path
}

func (ro *reorderer) chans(ts string) (final, held chan struct{}) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	if ro.final[ts] == nil {
		ro.final[ts], ro.held[ts] = make(chan struct{}), make(chan struct{})
	}
	return ro.final[ts], ro.held[ts]
}

func (ro *reorderer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat.update") {
		ro.proxy.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	ts, text := form.Get("ts"), form.Get("text")
	final, held := ro.chans(ts)
	switch {
	case strings.Contains(text, ro.stale):
		select {
		case <-final:
		case <-time.After(5 * time.Second):
		}
		ro.proxy.ServeHTTP(w, r)
		ro.mu.Lock()
		select {
		case <-held:
		default:
			close(held)
		}
		ro.mu.Unlock()
	case strings.Contains(text, ro.outcome):
		ro.proxy.ServeHTTP(w, r)
		ro.mu.Lock()
		select {
		case <-final:
		default:
			close(final)
		}
		ro.mu.Unlock()
	default:
		ro.proxy.ServeHTTP(w, r)
	}
}

// TestLateClickRacingOutcome: a second approver presses Approve while the
// first one's call is in flight; the late press's redraw ("calling
// DialogTech") reaches Slack after the outcome's. The message must end on
// the outcome, every time.
func TestLateClickRacingOutcome(t *testing.T) {
	var ro *reorderer
	w := newWorld(t, options{apiURL: func(u string) string {
		var proxied string
		ro, proxied = newReorderer(t, u, "calling DialogTech", "Approved and ordered")
		return proxied
	}})
	// The late press must land while the call is in flight: the latency
	// is that window, wide enough for a busy machine.
	w.sim.InjectFault(dialog.ActionNumbersOrder, dialogsim.Fault{Latency: 300 * time.Millisecond})
	const runs = 50
	for i := range runs {
		m := w.ask(fmt.Sprintf("U0REQ%02d", i), "/numbers order 312 1")
		id := requestID(t, m)
		w.click(approver, m, "Approve")
		w.waitState(id, store.StateExecuting)
		w.click(approver2, m, "Approve")
		_, held := ro.chans(m.TS)
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: the late press's redraw never went out", i)
		}
		w.waitState(id, store.StateSucceeded)
		// Settled: the message reads the outcome and no update of it is on
		// its way.
		deadline := time.Now().Add(15 * time.Second)
		for {
			cur, _ := w.slack.Message(channel, m.TS)
			ended := strings.Contains(slacktest.TextOf(cur), "Approved and ordered")
			if ended && w.quiet(m.TS) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: message ended on %q, the store says succeeded", i, cur.Text)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n := buyingCalls(w.sim); n != runs {
		t.Errorf("%d buying calls for %d requests", n, runs)
	}
}

// quiet reports whether the message at ts has not been updated for 100ms.
func (w *world) quiet(ts string) bool {
	calls := w.slack.Calls("chat.update")
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Args.Get("ts") == ts {
			return time.Since(calls[i].At) > 100*time.Millisecond
		}
	}
	return true
}
