package dialog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultBaseURL is DialogTech's single API endpoint.
const DefaultBaseURL = "https://secure.dialogtech.com/ibp_api.php"

// Version is sent in the User-Agent ("dialogbot/<Version>"); the build sets
// it with -ldflags "-X github.com/dialogbot/dialogbot/dialog.Version=...".
var Version = "dev"

// Outcomes passed to the observer (see WithObserver). They are a closed set
// so that they can be metric label values.
const (
	OutcomeSuccess        = "success"
	OutcomeAPIError       = "api_error"
	OutcomeHTTPError      = "http_error"
	OutcomeMalformed      = "malformed"
	OutcomeTransportError = "transport_error"
	OutcomeUnknown        = "unknown_outcome"
	OutcomeInvalid        = "invalid"
)

const (
	defaultTimeout      = 30 * time.Second
	defaultAttempts     = 3
	defaultBackoffBase  = 200 * time.Millisecond
	defaultBackoffMax   = 2 * time.Second
	maxBodyBytes        = 1 << 20 // addons.list is ~8 KB; anything near this is not DialogTech
	maxErrorTextBytes   = 200
	redactedPlaceholder = "[REDACTED]"
)

// Client calls DialogTech. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	accessKey string
	secretKey string
	userAgent string

	// reads carries addons.list, the only action that may be repeated
	// harmlessly, on pooled connections. once carries every other action on
	// connections that are never reused, so net/http cannot replay them.
	reads *http.Client
	once  *http.Client

	logger  *slog.Logger
	timeout time.Duration
	observe func(action, outcome string, d time.Duration)

	attempts    int
	backoffBase time.Duration
	backoffMax  time.Duration
}

// Option configures a Client.
type Option func(*settings)

type settings struct {
	accessKey, secretKey string
	baseURL              string
	httpClient           *http.Client
	logger               *slog.Logger
	timeout              time.Duration
	attempts             int
	backoffBase          time.Duration
	backoffMax           time.Duration
	observe              func(action, outcome string, d time.Duration)
}

// WithCredentials sets the Key Manager's access key and secret access key.
// Both are required.
func WithCredentials(accessKey, secretKey string) Option {
	return func(s *settings) { s.accessKey, s.secretKey = accessKey, secretKey }
}

// WithBaseURL replaces DefaultBaseURL, e.g. with a simulator's address.
func WithBaseURL(u string) Option {
	return func(s *settings) { s.baseURL = u }
}

// WithHTTPClient sets the HTTP client whose Transport and Timeout are used.
// Its Transport must be nil or an *http.Transport: buying calls run on a
// clone of it that never reuses a connection, and no other RoundTripper can
// be made to promise that. Redirects are never followed.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithLogger sets where each request is logged (at debug level: action,
// attempt, duration, outcome). The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.logger = l }
}

// WithTimeout bounds each request to DialogTech (default 30s). A ListAddOns
// that retries may take several of these; bound the whole with ctx.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) { s.timeout = d }
}

// WithRetry sets how addons.list is retried after a transport error, a 5xx
// or a 429: at most attempts tries in all, waiting a jittered backoff that
// starts at base and doubles up to max. Other actions are never retried.
// The default is 3 attempts, 200ms, 2s.
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(s *settings) { s.attempts, s.backoffBase, s.backoffMax = attempts, base, max }
}

// WithObserver is called once per public call with its action, its outcome
// (one of the Outcome constants) and its duration including retries.
func WithObserver(f func(action, outcome string, d time.Duration)) Option {
	return func(s *settings) { s.observe = f }
}

// NewClient returns a Client. It fails when credentials are missing or an
// option is invalid; its errors never contain the secret or the base URL,
// which may itself carry credentials.
func NewClient(opts ...Option) (*Client, error) {
	s := settings{
		baseURL:     DefaultBaseURL,
		timeout:     defaultTimeout,
		attempts:    defaultAttempts,
		backoffBase: defaultBackoffBase,
		backoffMax:  defaultBackoffMax,
	}
	for _, o := range opts {
		o(&s)
	}
	if s.accessKey == "" || s.secretKey == "" {
		return nil, errors.New("dialog: access key and secret access key are both required")
	}
	base, err := url.Parse(s.baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("dialog: base URL must be an absolute http or https URL")
	}
	if s.timeout <= 0 {
		return nil, errors.New("dialog: timeout must be positive")
	}
	if s.attempts < 1 || s.backoffBase <= 0 || s.backoffMax < s.backoffBase {
		return nil, errors.New("dialog: retry needs attempts >= 1 and 0 < base <= max")
	}

	hc := s.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	var tr *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		} else {
			tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
		}
	case *http.Transport:
		tr = t
	default:
		return nil, fmt.Errorf("dialog: WithHTTPClient: Transport is %T; it must be nil or *http.Transport so that buying calls can be sent on connections that are never reused", t)
	}

	logger := s.logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Client{
		base:        base,
		accessKey:   s.accessKey,
		secretKey:   s.secretKey,
		userAgent:   "dialogbot/" + Version,
		reads:       &http.Client{Transport: tr, Timeout: hc.Timeout, CheckRedirect: refuseRedirect},
		once:        &http.Client{Transport: singleUseTransport(tr), Timeout: hc.Timeout, CheckRedirect: refuseRedirect},
		logger:      logger,
		timeout:     s.timeout,
		observe:     s.observe,
		attempts:    s.attempts,
		backoffBase: s.backoffBase,
		backoffMax:  s.backoffMax,
	}, nil
}

// refuseRedirect returns the 3xx itself: DialogTech documents no redirects,
// and following one would send the call a second time.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// singleUseTransport clones t so that every request gets a fresh HTTP/1.1
// connection that is closed after the answer. http.Transport silently
// resends an idempotent request (every GET) when a reused connection dies
// before the answer; with no reuse there is nothing to resend on. HTTP/2 is
// turned off as well, because its transport has its own retry rules and
// would multiplex on one connection.
func singleUseTransport(t *http.Transport) *http.Transport {
	c := t.Clone()
	c.DisableKeepAlives = true
	c.Protocols = new(http.Protocols)
	c.Protocols.SetHTTP1(true)
	c.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if c.TLSClientConfig != nil {
		c.TLSClientConfig.NextProtos = slices.DeleteFunc(slices.Clone(c.TLSClientConfig.NextProtos),
			func(p string) bool { return p == "h2" })
	}
	return c
}

// param is one query parameter; a slice of them keeps the vendor's order.
type param struct{ key, value string }

// query builds the query string in the vendor's order: action, keys, then
// the action's own parameters.
func (c *Client) query(action string, params []param) string {
	var b strings.Builder
	if c.base.RawQuery != "" {
		b.WriteString(c.base.RawQuery)
		b.WriteByte('&')
	}
	all := append([]param{{"action", action}, {"access_key", c.accessKey}, {"secret_access_key", c.secretKey}}, params...)
	for i, p := range all {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}

// call sends action once (or, for addons.list, up to the retry budget),
// hands a 2xx body to decode, and turns every failure into one of the
// package's error types. It logs each attempt and reports the call once to
// the observer.
func (c *Client) call(ctx context.Context, action string, params []param, decode func([]byte) error) error {
	start := time.Now()
	attempts := 1
	if action == ActionAddOnsList {
		attempts = c.attempts
	}
	var err error
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		err = c.attempt(ctx, action, params, decode)
		c.log(ctx, action, attempt, time.Since(t0), err)
		if err == nil || attempt >= attempts || !retryable(err) {
			break
		}
		timer := time.NewTimer(c.backoff(attempt))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
		if ctx.Err() != nil {
			err = stopped(ctx, err)
			break
		}
	}
	if c.observe != nil {
		c.observe(action, outcome(err), time.Since(start))
	}
	return err
}

// invalid reports a request refused before sending, so that the observer
// and the log see it like any other call.
func (c *Client) invalid(ctx context.Context, action string, err error) error {
	c.log(ctx, action, 0, 0, err)
	if c.observe != nil {
		c.observe(action, OutcomeInvalid, 0)
	}
	return err
}

func (c *Client) attempt(ctx context.Context, action string, params []param, decode func([]byte) error) error {
	body, err := c.send(ctx, action, params)
	if err == nil {
		err = decode(body)
	}
	if err != nil && IsBuying(action) && MayHaveReached(err) {
		err = &UnknownOutcomeError{Action: action, Err: err}
	}
	return err
}

// MayHaveReached reports whether a failed call may nonetheless have been
// carried out by DialogTech: it was sent and its answer was lost or cut
// short. For a buying call that is ErrUnknownOutcome; for clickto.vr it
// means the phone may be ringing.
func MayHaveReached(err error) bool {
	var te *TransportError
	var he *HTTPError
	var me *MalformedResponseError
	switch {
	case errors.As(err, &te):
		return te.Sent
	case errors.As(err, &he):
		// A 3xx or 4xx is a refusal before any work; a 5xx may come
		// from a server that failed half-way through.
		return he.StatusCode >= 500
	case errors.As(err, &me):
		// A 2xx whose body we cannot read may be a purchase that went
		// through: only a person can tell.
		return true
	}
	return false
}

// send performs one GET and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, action string, params []param) ([]byte, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// WroteRequest fires once the transport has tried to write the
	// request, even if the write failed part-way: from then on the server
	// may have it, so the call counts as sent.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}

	// The URL is built here rather than parsed from a string so that no
	// parse error can ever echo the query.
	u := *c.base
	u.RawQuery = c.query(action, params)
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(reqCtx, trace), http.MethodGet, "", nil)
	if err != nil {
		return nil, &TransportError{Action: action, Op: "build request", Err: c.cause(err)}
	}
	req.URL = &u
	req.Host = u.Host
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/xml, text/xml, text/plain")

	hc := c.once
	if action == ActionAddOnsList {
		hc = c.reads
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, action, wrote.Load(), err)
	}
	defer resp.Body.Close()

	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Action: action, StatusCode: resp.StatusCode, Body: c.scrub().errText(string(body))}
	}
	if readErr != nil {
		te := c.transportError(ctx, action, true, readErr)
		if te.Op != "timeout" && te.Op != "canceled" {
			te.Op = "read response"
		}
		return nil, te
	}
	if len(body) > maxBodyBytes {
		return nil, &MalformedResponseError{Action: action, Reason: "body larger than 1 MiB"}
	}
	return body, nil
}

// transportError turns a net/http failure into a *TransportError whose text
// has neither the URL (a *url.Error prints it whole, query and secret
// included) nor the secret.
func (c *Client) transportError(parent context.Context, action string, sent bool, err error) *TransportError {
	for {
		ue, ok := err.(*url.Error)
		if !ok {
			break
		}
		err = ue.Err
	}
	te := &TransportError{Action: action, Sent: sent, Err: c.cause(err)}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case parent.Err() != nil:
		te.Op = "canceled"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		te.Op = "timeout"
	case errors.As(err, &dnsErr):
		te.Op = "dns"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		te.Op = "dial"
	case sent:
		te.Op = "read response"
	default:
		te.Op = "send request"
	}
	return te
}

// redactedError carries a cause whose text has been scrubbed. It unwraps to
// the original only when scrubbing changed nothing, so that errors.Is/As
// still find context.DeadlineExceeded or *net.DNSError.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) cause(err error) error {
	if err == nil {
		return nil
	}
	raw := err.Error()
	msg := c.scrub().errText(raw)
	if c.redact(raw) != raw {
		return &redactedError{msg: msg}
	}
	return &redactedError{msg: msg, err: err}
}

func (c *Client) scrub() scrubber { return c.redact }

// redact replaces the secret, raw or escaped as in a query, with a
// placeholder, and so does it for any value of a secret_access_key
// parameter a server might echo back in another encoding.
func (c *Client) redact(s string) string {
	for _, v := range []string{c.secretKey, url.QueryEscape(c.secretKey), url.PathEscape(c.secretKey)} {
		if v != "" && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redactedPlaceholder)
		}
	}
	return redactParam(s, "secret_access_key=")
}

// redactParam replaces the value after each key= up to the next delimiter.
func redactParam(s, key string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, key)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(s)
			return b.String()
		}
		i += len(key)
		b.WriteString(s[:i])
		s = s[i:]
		end := strings.IndexAny(s, "&;\"' <>\t\r\n")
		if end < 0 {
			end = len(s)
		}
		if end > 0 {
			b.WriteString(redactedPlaceholder)
		}
		s = s[end:]
	}
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// retryable reports whether an addons.list attempt may be tried again.
func retryable(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Op != "canceled"
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// stopped adds the context's reason to the last attempt's error when
// retrying ends because ctx is done.
func stopped(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w (stopped retrying: %w)", err, cause)
}

// backoff is the wait after the attempt-th try: base doubled per try,
// capped at max, with equal jitter so that replicas do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffBase
	for i := 1; i < attempt && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}

// outcome classifies a call's final error for the observer and the log.
func outcome(err error) string {
	var (
		ve *ValidationError
		ae *APIError
		he *HTTPError
		me *MalformedResponseError
		te *TransportError
	)
	switch {
	case err == nil:
		return OutcomeSuccess
	case errors.Is(err, ErrUnknownOutcome):
		return OutcomeUnknown
	case errors.As(err, &ve):
		return OutcomeInvalid
	case errors.As(err, &ae):
		return OutcomeAPIError
	case errors.As(err, &he):
		return OutcomeHTTPError
	case errors.As(err, &me):
		return OutcomeMalformed
	case errors.As(err, &te):
		return OutcomeTransportError
	}
	return OutcomeTransportError
}

// log records one attempt. Never the URL or the query: they hold the secret.
func (c *Client) log(ctx context.Context, action string, attempt int, d time.Duration, err error) {
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", action),
		slog.Int("attempt", attempt),
		slog.Duration("duration", d),
		slog.String("outcome", outcome(err)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redact(err.Error())))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "dialogtech call", attrs...)
}
