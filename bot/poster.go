package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dialogbot/dialogbot/reply"
	"github.com/slack-go/slack"
)

// Poster posts replies that no person asked for (capacity alerts) through
// the Web API.
type Poster struct{ api *slack.Client }

// NewPoster returns a Poster on api.
func NewPoster(api *slack.Client) *Poster { return &Poster{api: api} }

// Post sends m to channel and returns its ts.
func (p *Poster) Post(ctx context.Context, channel string, m reply.Message) (string, error) {
	_, ts, err := p.api.PostMessageContext(ctx, channel, msgOptions(m)...)
	if err != nil {
		return "", sendError("chat.postMessage", err)
	}
	return ts, nil
}

// Update replaces the message at ts.
func (p *Poster) Update(ctx context.Context, channel, ts string, m reply.Message) error {
	if _, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...); err != nil {
		return sendError("chat.update", err)
	}
	return nil
}

// Reply answers in the thread of threadTS.
func (p *Poster) Reply(ctx context.Context, channel, threadTS string, m reply.Message) (string, error) {
	_, ts, err := p.api.PostMessageContext(ctx, channel, append(msgOptions(m), slack.MsgOptionTS(threadTS))...)
	if err != nil {
		return "", sendError("chat.postMessage (thread)", err)
	}
	return ts, nil
}

// sendError says whether Slack refused the call (ok:false, or rate limited
// past the retries) or it never left (errNotPosted): nothing was posted,
// which is reply.ErrRefused; or its answer was lost (it may have been).
func sendError(method string, err error) error {
	var se slack.SlackErrorResponse
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	refused := errors.As(err, &se) || errors.As(err, &rl) || errors.Is(err, errNotPosted) ||
		errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests
	if refused {
		return fmt.Errorf("slack: %s: %w: %w", method, reply.ErrRefused, redactURLError(err))
	}
	return fmt.Errorf("slack: %s: %w", method, redactURLError(err))
}

// HomeTab renders a reply as an App Home view (at most 100 blocks).
func HomeTab(m reply.Message) slack.HomeTabViewRequest {
	blocks := blocksWithin(m, 100)
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
