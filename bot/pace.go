package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Slack answers HTTP 429 with Retry-After when a method's tier limit is
// reached, and paces chat.postMessage per channel: about one a second
// after a short burst. A 429 means nothing was done, so the call can be
// made again without doing anything twice.
const (
	// retries429 is how often a call other than chat.postMessage is
	// made again after a 429 (as slack-go's own retry option does).
	retries429 = 3
	// maxPostWait bounds how long a post waits out a channel's pace,
	// whatever the caller's context allows.
	maxPostWait = 2 * time.Minute
	// minRetryAfter is the wait when Slack names none (it always does).
	minRetryAfter = time.Second
	// retryJitter spreads the retries of replicas that were all told
	// the same Retry-After.
	retryJitter = 250 * time.Millisecond
)

// errNotPosted marks a post that never left: waiting for its channel's
// turn would have outlasted its time. Nothing was posted.
var errNotPosted = errors.New("not sent: the channel's pace left no time")

// pacer is the HTTP client of the bot's Web API calls. It makes again
// the calls Slack answered 429, after Retry-After, and takes
// chat.postMessage one at a time per channel: posts to a channel wait for
// each other, and after a 429 all of them wait out the channel's
// Retry-After together, instead of each trying again on its own and being
// refused again. A post is made again until Slack takes or refuses it, or
// its time is up (maxPostWait, and postReserve before its caller's
// deadline, so that the caller can still say it was not posted); a
// person's notice is not dropped because the channel was busy for a few
// seconds.
type pacer struct {
	next doer

	mu       sync.Mutex
	channels map[string]*channelTurn
}

// channelTurn is one channel's queue of posts.
type channelTurn struct {
	turn  chan struct{} // holds a token while a post of the channel is out
	until time.Time     // no post before this (Slack's Retry-After)
	users int           // posts holding or waiting for the turn
}

func newPacer(next doer) *pacer {
	return &pacer{next: next, channels: map[string]*channelTurn{}}
}

func (p *pacer) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := waitContext(req.Context())
	defer cancel()
	if !strings.HasSuffix(req.URL.Path, "/chat.postMessage") {
		return p.retry(ctx, req, retries429)
	}
	channel := channelOf(req)
	ct := p.join(channel)
	defer p.leave(channel, ct)
	// A free turn is taken even when the waits have no time left: a post
	// that need not wait is made.
	select {
	case ct.turn <- struct{}{}:
	default:
		select {
		case ct.turn <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("chat.postMessage: %w (%w)", errNotPosted, ctx.Err())
		}
	}
	defer func() { <-ct.turn }()
	var last *http.Response
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		until := ct.until
		p.mu.Unlock()
		if !sleepUntil(ctx, until) {
			if last != nil {
				return last, nil // Slack's refusal stands: nothing was posted
			}
			return nil, fmt.Errorf("chat.postMessage: %w (%w)", errNotPosted, context.DeadlineExceeded)
		}
		if attempt > 0 && !rewind(req) {
			return last, nil
		}
		// The call itself runs on the caller's context, and is bounded
		// by the HTTP client's timeout: once it is out, its answer is
		// waited for, whatever the waits left.
		resp, err := p.next.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		last = keep(resp)
		p.mu.Lock()
		ct.until = time.Now().Add(retryAfter(resp) + jitter())
		p.mu.Unlock()
	}
}

// retry makes req, and makes it again after each 429, at most times
// more. When the waits would outlast ctx, the 429 is the answer.
func (p *pacer) retry(ctx context.Context, req *http.Request, times int) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := p.next.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || attempt == times {
			return resp, err
		}
		resp = keep(resp)
		if !sleepUntil(ctx, time.Now().Add(retryAfter(resp)+jitter())) || !rewind(req) {
			return resp, nil
		}
	}
}

// postReserve is the part of a caller's time the waits leave it: a post
// that cannot be made in time fails while there is still time to say so
// (a request whose message could not be posted is withdrawn, and its
// requester told).
const postReserve = 2 * time.Second

// waitContext bounds the waits for Slack's pace: maxPostWait, and
// postReserve before the caller's own deadline.
func waitContext(parent context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(maxPostWait)
	if d, ok := parent.Deadline(); ok && d.Add(-postReserve).Before(deadline) {
		deadline = d.Add(-postReserve)
	}
	return context.WithDeadline(parent, deadline)
}

func (p *pacer) join(channel string) *channelTurn {
	p.mu.Lock()
	defer p.mu.Unlock()
	ct := p.channels[channel]
	if ct == nil {
		ct = &channelTurn{turn: make(chan struct{}, 1)}
		p.channels[channel] = ct
	}
	ct.users++
	return ct
}

// leave forgets a channel nobody posts to; what it remembered (a
// Retry-After) is past or is Slack's to tell again.
func (p *pacer) leave(channel string, ct *channelTurn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ct.users--; ct.users == 0 {
		delete(p.channels, channel)
	}
}

// channelOf is the channel a chat.postMessage names, read from a copy of
// its form body. Nothing else of the body (it carries the token) is kept.
func channelOf(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return ""
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return ""
	}
	return v.Get("channel")
}

// keep reads a 429's body, so that the response can still be handed up
// once its connection has been reused, and writes its Retry-After as
// slack-go reads it (whole seconds, nothing else): slack-go tells a 429
// from another failure, a call that may have been made, by that header.
func keep(resp *http.Response) *http.Response {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.Header.Set("Retry-After", strconv.FormatInt(int64(retryAfter(resp)/time.Second), 10))
	return resp
}

// rewind readies req's body to be sent again; false when it cannot be.
func rewind(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if req.GetBody == nil {
		return false
	}
	body, err := req.GetBody()
	if err != nil {
		return false
	}
	req.Body = body
	return true
}

// retryAfter is the wait a 429 asks for.
func retryAfter(resp *http.Response) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("Retry-After")), 10, 64)
	if err != nil || secs <= 0 {
		return minRetryAfter
	}
	return time.Duration(secs) * time.Second
}

func jitter() time.Duration { return rand.N(retryJitter) }

// sleepUntil waits until t; false, at once, when ctx ends first or
// would end before t.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
