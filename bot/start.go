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
)

// startTimeout bounds Start: Slack's answers to auth.test and to the
// socket's apps.connections.open.
const startTimeout = 15 * time.Second

// Start checks both tokens and connects, all at once: auth.test asks about
// the bot token while the socket's own apps.connections.open asks about
// the app-level token, and the socket dials as soon as Slack hands it its
// ticket. It returns once Slack has answered both, so that the program can
// stop before it opens its store when a token is refused; the connection
// then goes on opening while the store does. Its errors wrap ErrAuth naming
// the setting, or ErrUnreachable; on an error nothing stays connected.
// Run serves on the connection Start opened and does not ask auth.test
// again.
func (b *Bot) Start(ctx context.Context) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	// The socket's way is the longer one (a ticket, a dial, a handshake,
	// hello): it starts first, on a goroutine of its own, and auth.test is
	// asked from this one rather than waiting for another to be scheduled.
	b.Connect(ctx)
	who, authErr := b.api.AuthTestContext(ctx)
	var openErr error
	select {
	case openErr = <-b.opens.verdict:
	case <-ctx.Done():
		openErr = fmt.Errorf("apps.connections.open: no answer: %w", ctx.Err())
	}
	if authErr != nil {
		b.Disconnect()
		return Identity{}, authError("SLACK_BOT_TOKEN", authErr)
	}
	if openErr != nil {
		b.Disconnect()
		return Identity{}, authError("SLACK_APP_TOKEN", openErr)
	}
	b.identity = &Identity{UserID: who.UserID, Team: who.Team}
	return *b.identity, nil
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
		// Read the answer, and hand slack-go the same bytes.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var r struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		switch {
		case rerr != nil:
			w.report(fmt.Errorf("apps.connections.open: reading the answer: %w", rerr))
		case json.Unmarshal(body, &r) != nil:
			w.report(errors.New("apps.connections.open: the answer is not JSON"))
		case !r.OK:
			w.report(slack.SlackErrorResponse{Err: r.Error})
		default:
			w.report(nil)
		}
	}
	return resp, err
}

func (w *openWatch) report(err error) {
	w.once.Do(func() { w.verdict <- err })
}
