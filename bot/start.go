package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// startTimeout bounds each of Slack's answers Start waits for: to the
// socket's apps.connections.open, then to auth.test.
const startTimeout = 15 * time.Second

// Start checks both tokens and connects. The socket's own
// apps.connections.open asks about the app-level token, and the socket
// dials as soon as Slack hands it its ticket; auth.test asks about the bot
// token while the socket dials, so that on a busy machine the ticket is
// not kept waiting behind it, and on a real network it costs no time (the
// handshake takes longer). When Slack refused a token Start returns before
// the program opens its store; its errors wrap ErrAuth naming the setting
// (the bot token first when both are refused), or ErrUnreachable, and
// nothing stays connected. Otherwise it returns once the socket is up
// (Slack's hello), or its first try failed, or after helloWait: the store
// then opens on a machine no longer busy with the handshake, and nothing
// could be served before hello anyway. A socket that is slow to come up
// goes on trying while the program starts; one that Slack refuses
// meanwhile (a token revoked between two tries) is an error of Start's.
// Run serves on the connection Start opened, handles what the socket said
// meanwhile, and does not ask auth.test again.
func (b *Bot) Start(ctx context.Context) (Identity, error) {
	b.Connect(ctx)
	openCtx, cancelOpen := context.WithTimeout(ctx, b.startTimeout)
	defer cancelOpen()
	var openErr error
	select {
	case openErr = <-b.opens.verdict:
	case <-openCtx.Done():
		// No word on the app token: the bot token is not asked
		// about with what is left of the time, which would blame it.
		b.Disconnect()
		return Identity{}, authError("SLACK_APP_TOKEN", fmt.Errorf("apps.connections.open: no answer: %w", openCtx.Err()))
	}
	authCtx, cancelAuth := context.WithTimeout(ctx, b.startTimeout)
	defer cancelAuth()
	who, authErr := b.api.AuthTestContext(authCtx)
	if authErr != nil {
		b.Disconnect()
		return Identity{}, authError("SLACK_BOT_TOKEN", authErr)
	}
	if openErr != nil {
		b.Disconnect()
		return Identity{}, authError("SLACK_APP_TOKEN", openErr)
	}
	if err := b.awaitHello(ctx); err != nil {
		b.Disconnect()
		return Identity{}, err
	}
	b.identity = &Identity{UserID: who.UserID, Team: who.Team}
	return *b.identity, nil
}

// helloWait bounds how long Start waits for the socket's hello once Slack
// took both tokens. Slack says hello within a second; past that, the
// program starts while the socket keeps trying.
const helloWait = 5 * time.Second

// awaitHello reads the socket's events until its hello, a failed try, or
// b.helloWait, and keeps them, in order, for Run. It returns an error only
// when the socket has stopped for good: Slack refused the app token on a
// try after the first.
func (b *Bot) awaitHello(ctx context.Context) error {
	timer := time.NewTimer(b.helloWait)
	defer timer.Stop()
	for {
		select {
		case evt, ok := <-b.sm.Events:
			if !ok {
				return nil
			}
			b.early = append(b.early, evt)
			switch evt.Type {
			case socketmode.EventTypeInvalidAuth:
				return errInvalidAuthEvent()
			case socketmode.EventTypeHello, socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError:
				return nil
			}
		case err := <-b.socketErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				return socketError(err)
			}
			b.socketErr <- err // Run's to handle; the buffer has room for it again
			return nil
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// Identity is who the bot token belongs to, as auth.test says.
type Identity struct {
	UserID, Team string
}

// doer is the HTTP client slack-go calls through.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// openWatch is the HTTP client of the socket's Web API calls (only
// apps.connections.open). It passes every call through and reports
// Slack's first definite answer to apps.connections.open: nil when Slack
// gave a ticket, else why not. A 429 is not an answer: the retry layer
// above waits and asks again.
type openWatch struct {
	next    doer
	once    sync.Once
	verdict chan error // buffered: the one answer, read by Start or by nobody
}

func newOpenWatch(next doer) *openWatch {
	return &openWatch{next: next, verdict: make(chan error, 1)}
}

func (w *openWatch) Do(req *http.Request) (*http.Response, error) {
	resp, err := w.next.Do(req)
	if !strings.HasSuffix(req.URL.Path, "/apps.connections.open") {
		return resp, err
	}
	switch {
	case err != nil:
		w.report(err)
	case resp.StatusCode == http.StatusTooManyRequests:
	case resp.StatusCode != http.StatusOK:
		w.report(slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status})
	default:
		// Read the answer, and hand slack-go the same bytes. They are
		// judged on another goroutine: the dial, which comes next on this
		// one, does not wait for a second decoding of the answer.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			w.report(fmt.Errorf("apps.connections.open: reading the answer: %w", rerr))
			break
		}
		go w.judge(body)
	}
	return resp, err
}

// judge reports Slack's answer to apps.connections.open: ok, or its error.
func (w *openWatch) judge(body []byte) {
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	switch {
	case json.Unmarshal(body, &r) != nil:
		w.report(errors.New("apps.connections.open: the answer is not JSON"))
	case !r.OK:
		w.report(slack.SlackErrorResponse{Err: r.Error})
	default:
		w.report(nil)
	}
}

func (w *openWatch) report(err error) {
	w.once.Do(func() { w.verdict <- err })
}
