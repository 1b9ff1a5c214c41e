package slacktest

import (
	"net/http"
	"strconv"
	"time"
)

// Slack paces chat.postMessage per channel: "about 1 per second per
// channel", with short bursts (docs.slack.dev, reference/methods/
// chat.postMessage and apis/web-api/rate-limits). The size of a burst is
// not documented; the emulator takes the stricter reading, a few.
const (
	defaultChannelBurst = 4
	defaultChannelEvery = time.Second
)

// channelPace is one channel's bucket of chat.postMessage calls.
type channelPace struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// SetChannelRate sets how chat.postMessage is paced in each channel: a
// channel takes burst posts at once, then one every `every`; past that
// Slack answers HTTP 429, error ratelimited, with Retry-After in whole
// seconds. burst <= 0 restores the default (4, then one a second).
// Buckets in use keep what they hold, up to the new burst.
func (s *Server) SetChannelRate(burst int, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if burst <= 0 || every <= 0 {
		burst, every = defaultChannelBurst, defaultChannelEvery
	}
	s.channelBurst, s.channelEvery = burst, every
	for _, p := range s.paces {
		p.tokens = min(p.tokens, float64(burst))
	}
}

// paceLocked takes one post from channel's bucket. When the bucket is
// empty it sets Retry-After to the whole seconds until the next post is
// allowed and returns false.
func (s *Server) paceLocked(channel string, h http.Header) bool {
	now := s.now()
	p := s.paces[channel]
	if p == nil {
		p = &channelPace{tokens: float64(s.channelBurst), at: now}
		s.paces[channel] = p
	}
	if elapsed := now.Sub(p.at); elapsed > 0 {
		p.tokens = min(float64(s.channelBurst), p.tokens+float64(elapsed)/float64(s.channelEvery))
		p.at = now
	}
	if p.tokens >= 1 {
		p.tokens--
		return true
	}
	wait := time.Duration((1 - p.tokens) * float64(s.channelEvery))
	secs := max(int64((wait+time.Second-1)/time.Second), 1)
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	return false
}

// channelOf is the channel a call names.
func channelOf(r *apiRequest) string {
	c, _ := r.str("channel")
	return c
}
