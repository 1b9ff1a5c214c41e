package dialog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/secrettest"
	"github.com/google/go-cmp/cmp"
)

const (
	testAccessKey = "AK-test-1"
	testSecret    = "s3cr3t-KEY-123"
	apiPath       = "/ibp_api.php"
)

// server is a DialogTech stand-in: one path, handlers chosen by the action
// parameter, and a count of the requests that reached it per action.
type server struct {
	t        *testing.T
	srv      *httptest.Server
	URL      string // the base URL to give the client
	done     chan struct{}
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	counts   map[string]int
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{
		t:        t,
		done:     make(chan struct{}),
		handlers: map[string]http.HandlerFunc{},
		counts:   map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + apiPath
	t.Cleanup(s.srv.Close)
	// Runs before srv.Close (cleanups are last in, first out), so that
	// handlers that wait for the client are let go first.
	t.Cleanup(func() { close(s.done) })
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != apiPath {
		s.t.Errorf("request path = %q, want %q", r.URL.Path, apiPath)
		http.NotFound(w, r)
		return
	}
	action := r.URL.Query().Get("action")
	s.mu.Lock()
	s.counts[action]++
	h := s.handlers[action]
	s.mu.Unlock()
	if h == nil {
		s.t.Errorf("unexpected request for action %q", action)
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func (s *server) handle(action string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[action] = h
}

func (s *server) count(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[action]
}

// waitCount returns the count for action once it reaches want, or after a
// few seconds. A client that gave up may have closed the connection before
// the server parsed the request it had been sent; the server still reads it.
func (s *server) waitCount(action string, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := s.count(action)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// observer records what WithObserver reports.
type observer struct {
	mu  sync.Mutex
	got []observation
}

type observation struct{ Action, Outcome string }

func (o *observer) observe(action, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observation{action, outcome})
}

func (o *observer) all() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.got)
}

// noProxyTransport keeps tests off any proxy set in the environment.
func noProxyTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return tr
}

// newTestClient builds a client for baseURL that logs at debug level into
// the returned buffer and retries quickly.
func newTestClient(t *testing.T, baseURL string, opts ...Option) (*Client, *bytes.Buffer, *observer) {
	t.Helper()
	logs := new(bytes.Buffer)
	obs := new(observer)
	all := append([]Option{
		WithCredentials(testAccessKey, testSecret),
		WithBaseURL(baseURL),
		WithHTTPClient(&http.Client{Transport: noProxyTransport()}),
		WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithObserver(obs.observe),
		WithRetry(3, time.Millisecond, 2*time.Millisecond),
	}, opts...)
	c, err := NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, logs, obs
}

// setup sets up a test server and a client configured to talk to it. Tests
// register handlers per action on the server.
func setup(t *testing.T, opts ...Option) (*Client, *server, *bytes.Buffer, *observer) {
	t.Helper()
	s := newServer(t)
	c, logs, obs := newTestClient(t, s.URL, opts...)
	return c, s, logs, obs
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if got := r.Method; got != want {
		t.Errorf("Request method: %v, want %v", got, want)
	}
}

type values map[string]string

func testFormValues(t *testing.T, r *http.Request, values values) {
	t.Helper()
	want := url.Values{}
	for k, v := range values {
		want.Set(k, v)
	}
	if err := r.ParseForm(); err != nil {
		t.Fatalf("ParseForm: %v", err)
	}
	if diff := cmp.Diff(want, r.Form); diff != "" {
		t.Errorf("Request parameters mismatch (-want +got):\n%s", diff)
	}
}

// testQueryOrder checks that the query starts as the vendor's examples do:
// action, access_key, secret_access_key, then the action's own.
func testQueryOrder(t *testing.T, r *http.Request, want ...string) {
	t.Helper()
	var got []string
	for kv := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		got = append(got, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query keys mismatch (-want +got):\n%s", diff)
	}
}

func testHeader(t *testing.T, r *http.Request, header, want string) {
	t.Helper()
	if got := r.Header.Get(header); got != want {
		t.Errorf("Header.Get(%q) = %q, want %q", header, got, want)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Handlers for the failure paths.

func respond(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
}

func respondFile(t *testing.T, name string) http.HandlerFunc {
	body := readTestdata(t, name)
	return func(w http.ResponseWriter, r *http.Request) { w.Write(body) }
}

// echoQuery answers status with the request's own query in the body, as
// a careless server might: the client must not pass it on.
func echoQuery(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, "error for "+r.URL.String())
	}
}

// hang reads the request and never answers; it returns when the client
// gives up (closing the connection cancels r.Context()) or the test ends.
func (s *server) hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

// drop reads the request and closes the connection without a word.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// truncate promises 1000 bytes, sends a few and closes the connection.
func truncate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "<?xml version=\"1.0\"?><response><result>succ")
	http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler)
}

// refusedURL is an address where nothing listens any more.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + apiPath
}

const unknownHostURL = "http://dialogbot-nonexistent.invalid" + apiPath

func apiFailure(result, description string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE response [
<!ELEMENT response (result,result_description)>
<!ELEMENT result (#PCDATA)>
<!ELEMENT result_description (#PCDATA)>]>
<response><result>` + result + `</result><result_description>` + description + `</result_description></response>`
}

// assertNoSecret checks err in every print form and the captured log.
func assertNoSecret(t *testing.T, err error, logs *bytes.Buffer) {
	t.Helper()
	secrettest.AssertNoSecret(t, []string{testSecret}, append(secrettest.ErrorTexts(err), logs.String())...)
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"no credentials", nil},
		{"no secret", []Option{WithCredentials(testAccessKey, "")}},
		{"no access key", []Option{WithCredentials("", testSecret)}},
		{"relative base URL", []Option{WithCredentials(testAccessKey, testSecret), WithBaseURL(apiPath)}},
		{"base URL without host", []Option{WithCredentials(testAccessKey, testSecret), WithBaseURL("https://" + testSecret + "@/x")}},
		{"base URL not http", []Option{WithCredentials(testAccessKey, testSecret), WithBaseURL("ftp://" + testSecret + "@example.com/")}},
		{"base URL unparsable", []Option{WithCredentials(testAccessKey, testSecret), WithBaseURL("http://a b/" + testSecret)}},
		{"zero timeout", []Option{WithCredentials(testAccessKey, testSecret), WithTimeout(0)}},
		{"zero attempts", []Option{WithCredentials(testAccessKey, testSecret), WithRetry(0, time.Second, time.Second)}},
		{"max below base", []Option{WithCredentials(testAccessKey, testSecret), WithRetry(3, time.Second, time.Millisecond)}},
		{"replaying transport", []Option{WithCredentials(testAccessKey, testSecret), WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.opts...)
			if err == nil {
				t.Fatalf("NewClient = %v, nil; want an error", c)
			}
			secrettest.AssertNoSecret(t, []string{testSecret}, secrettest.ErrorTexts(err)...)
		})
	}

	c, err := NewClient(WithCredentials(testAccessKey, testSecret))
	if err != nil {
		t.Fatalf("NewClient with credentials: %v", err)
	}
	if got, want := c.base.String(), DefaultBaseURL; got != want {
		t.Errorf("base URL = %q, want %q", got, want)
	}
	if c.timeout != 30*time.Second || c.attempts != 3 {
		t.Errorf("timeout, attempts = %v, %d; want 30s, 3", c.timeout, c.attempts)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The buying transport must never reuse a connection nor speak HTTP/2, and
// building it must leave the caller's transport alone.
func TestSingleUseTransport(t *testing.T) {
	orig := noProxyTransport()
	orig.ForceAttemptHTTP2 = true
	orig.TLSClientConfig = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	got := singleUseTransport(orig)
	if !got.DisableKeepAlives {
		t.Error("DisableKeepAlives = false")
	}
	if got.Protocols == nil || !got.Protocols.HTTP1() || got.Protocols.HTTP2() || got.Protocols.UnencryptedHTTP2() {
		t.Errorf("Protocols = %v, want HTTP1 only", got.Protocols)
	}
	if diff := cmp.Diff([]string{"http/1.1"}, got.TLSClientConfig.NextProtos); diff != "" {
		t.Errorf("NextProtos mismatch (-want +got):\n%s", diff)
	}
	if orig.DisableKeepAlives || !slices.Contains(orig.TLSClientConfig.NextProtos, "h2") {
		t.Error("the caller's transport was changed")
	}
}

// buyingCall is one of the two money-spending calls, valid or not.
type buyingCall struct {
	action  string
	call    func(context.Context, *Client) error
	invalid func(context.Context, *Client) error
}

var buyingCalls = []buyingCall{
	{
		action: ActionNumbersOrder,
		call: func(ctx context.Context, c *Client) error {
			_, err := c.OrderNumbers(ctx, OrderRequest{Type: Local, Search: "312", Quantity: 3, AllOrNothing: true})
			return err
		},
		invalid: func(ctx context.Context, c *Client) error {
			_, err := c.OrderNumbers(ctx, OrderRequest{Type: Local, Search: "31", Quantity: 3})
			return err
		},
	},
	{
		action: ActionAddOnsPurchase,
		call: func(ctx context.Context, c *Client) error {
			_, err := c.PurchaseAddOn(ctx, PurchaseRequest{ItemID: 6, Qty: 2})
			return err
		},
		invalid: func(ctx context.Context, c *Client) error {
			_, err := c.PurchaseAddOn(ctx, PurchaseRequest{ItemID: 6, Qty: 0})
			return err
		},
	},
}

// Every way a buying call can fail: how many requests reached the server,
// whether the outcome is unknown, and what error a caller can branch on.
func TestBuyingCallFailures(t *testing.T) {
	isHTTP := func(code int) func(error) bool {
		return func(err error) bool {
			var e *HTTPError
			return errors.As(err, &e) && e.StatusCode == code && strings.Contains(e.Body, "[REDACTED]")
		}
	}
	isTransport := func(op string, sent bool) func(error) bool {
		return func(err error) bool {
			var e *TransportError
			return errors.As(err, &e) && e.Op == op && e.Sent == sent
		}
	}
	isAPI := func(result, desc string) func(error) bool {
		return func(err error) bool {
			var e *APIError
			return errors.As(err, &e) && e.Result == result && e.Description == desc
		}
	}
	isMalformed := func(err error) bool {
		var e *MalformedResponseError
		return errors.As(err, &e)
	}
	isValidation := func(err error) bool {
		var e *ValidationError
		return errors.As(err, &e)
	}

	tests := []struct {
		name         string
		handler      func(*server) http.HandlerFunc
		baseURL      func(*testing.T) string // instead of the test server
		cancelled    bool                    // ctx cancelled before the call
		invalid      bool
		wantRequests int
		wantUnknown  bool
		wantOutcome  string
		wantErr      func(error) bool
	}{
		{
			name:         "500",
			handler:      func(*server) http.HandlerFunc { return echoQuery(http.StatusInternalServerError) },
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isHTTP(500),
		},
		{
			name:         "503",
			handler:      func(*server) http.HandlerFunc { return echoQuery(http.StatusServiceUnavailable) },
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isHTTP(503),
		},
		{
			name:         "timeout after send",
			handler:      func(s *server) http.HandlerFunc { return s.hang },
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isTransport("timeout", true),
		},
		{
			name:         "connection dropped after reading the request",
			handler:      func(*server) http.HandlerFunc { return drop },
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isTransport("read response", true),
		},
		{
			name:         "truncated body",
			handler:      func(*server) http.HandlerFunc { return truncate },
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isTransport("read response", true),
		},
		{
			name: "malformed XML",
			handler: func(*server) http.HandlerFunc {
				return respond(`<?xml version="1.0"?><response><result>success</result><result_description>`)
			},
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isMalformed,
		},
		{
			name: "HTML instead of XML",
			handler: func(*server) http.HandlerFunc {
				return respond("<html><body>Maintenance " + testSecret + "</body></html>")
			},
			wantRequests: 1, wantUnknown: true, wantOutcome: OutcomeUnknown, wantErr: isMalformed,
		},
		{
			name:         "failure result",
			handler:      func(*server) http.HandlerFunc { return respond(apiFailure("failed", " Bad key "+testSecret+" ")) },
			wantRequests: 1, wantOutcome: OutcomeAPIError, wantErr: isAPI("failed", "Bad key [REDACTED]"),
		},
		{
			name:         "bad login",
			handler:      func(*server) http.HandlerFunc { return respond(apiFailure("INVALID ACCOUNT", "")) },
			wantRequests: 1, wantOutcome: OutcomeAPIError, wantErr: isAPI("INVALID ACCOUNT", ""),
		},
		{
			name:         "403",
			handler:      func(*server) http.HandlerFunc { return echoQuery(http.StatusForbidden) },
			wantRequests: 1, wantOutcome: OutcomeHTTPError, wantErr: isHTTP(403),
		},
		{
			name:        "refused connection",
			baseURL:     refusedURL,
			wantOutcome: OutcomeTransportError, wantErr: isTransport("dial", false),
		},
		{
			name:        "unknown host",
			baseURL:     func(*testing.T) string { return unknownHostURL },
			wantOutcome: OutcomeTransportError, wantErr: isTransport("dns", false),
		},
		{
			name:        "context cancelled before sending",
			handler:     func(*server) http.HandlerFunc { return respond("unreachable") },
			cancelled:   true,
			wantOutcome: OutcomeTransportError, wantErr: isTransport("canceled", false),
		},
		{
			name:        "invalid request",
			handler:     func(*server) http.HandlerFunc { return respond("unreachable") },
			invalid:     true,
			wantOutcome: OutcomeInvalid, wantErr: isValidation,
		},
	}
	for _, bc := range buyingCalls {
		for _, tt := range tests {
			t.Run(bc.action+"/"+tt.name, func(t *testing.T) {
				s := newServer(t)
				base := s.URL
				if tt.baseURL != nil {
					base = tt.baseURL(t)
				} else {
					s.handle(bc.action, tt.handler(s))
				}
				timeout := 10 * time.Second
				if tt.wantErr(&TransportError{Op: "timeout", Sent: true}) {
					timeout = 300 * time.Millisecond
				}
				// Retries are allowed, to show that buying calls ignore them.
				c, logs, obs := newTestClient(t, base, WithTimeout(timeout), WithRetry(5, time.Millisecond, time.Millisecond))

				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelled {
					cancel()
				}
				call := bc.call
				if tt.invalid {
					call = bc.invalid
				}
				err := call(ctx, c)

				if err == nil {
					t.Fatal("err = nil, want an error")
				}
				if got := s.waitCount(bc.action, tt.wantRequests); got != tt.wantRequests {
					t.Errorf("requests that reached the server = %d, want %d", got, tt.wantRequests)
				}
				if got := errors.Is(err, ErrUnknownOutcome); got != tt.wantUnknown {
					t.Errorf("errors.Is(%v, ErrUnknownOutcome) = %v, want %v", err, got, tt.wantUnknown)
				}
				if !tt.wantErr(err) {
					t.Errorf("err = %#v (%v): not the expected type or fields", err, err)
				}
				if diff := cmp.Diff([]observation{{bc.action, tt.wantOutcome}}, obs.all()); diff != "" {
					t.Errorf("observations mismatch (-want +got):\n%s", diff)
				}
				assertNoSecret(t, err, logs)
			})
		}
	}
}

// net/http resends a GET by itself when a reused keep-alive connection
// closes before the answer. The server here answers normally on a fresh
// connection and then closes it after reading the next request.
func TestBuyingCallNotReplayedOnDeadKeepAlive(t *testing.T) {
	newDroppingServer := func(t *testing.T) *server {
		s := newServer(t)
		s.handle(ActionAddOnsList, respondFile(t, "addons-list.xml"))
		s.handle(ActionAddOnsPurchase, respondFile(t, "purchase-success.xml"))
		s.handle(ActionNumbersOrder, drop)
		return s
	}

	// Shows that this server does provoke the resend, so that the check
	// below can fail.
	t.Run("plain net/http resends", func(t *testing.T) {
		s := newDroppingServer(t)
		hc := &http.Client{Transport: noProxyTransport()}
		for _, action := range []string{ActionAddOnsPurchase, ActionNumbersOrder} {
			resp, err := hc.Get(s.URL + "?action=" + action)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		if got := s.count(ActionNumbersOrder); got != 2 {
			t.Fatalf("plain net/http sent numbers.order %d times, want 2 (the harness no longer provokes a resend)", got)
		}
	})

	t.Run("client", func(t *testing.T) {
		s := newDroppingServer(t)
		c, logs, _ := newTestClient(t, s.URL)
		ctx := t.Context()
		if _, err := c.ListAddOns(ctx); err != nil {
			t.Fatalf("ListAddOns: %v", err)
		}
		if _, err := c.PurchaseAddOn(ctx, PurchaseRequest{ItemID: 6, Qty: 2}); err != nil {
			t.Fatalf("PurchaseAddOn: %v", err)
		}
		_, err := c.OrderNumbers(ctx, OrderRequest{Type: Local, Search: "312", Quantity: 1, AllOrNothing: true})
		if !errors.Is(err, ErrUnknownOutcome) {
			t.Errorf("OrderNumbers err = %v, want ErrUnknownOutcome", err)
		}
		if got := s.count(ActionNumbersOrder); got != 1 {
			t.Errorf("numbers.order reached the server %d times, want 1", got)
		}
		assertNoSecret(t, err, logs)
	})
}

// addons.list may be repeated; each failure kind is retried or not.
func TestListAddOnsRetry(t *testing.T) {
	tests := []struct {
		name         string
		handler      func(*server) http.HandlerFunc
		wantRequests int
		wantOutcome  string
	}{
		{"500 every time", func(*server) http.HandlerFunc { return echoQuery(500) }, 3, OutcomeHTTPError},
		{"429 every time", func(*server) http.HandlerFunc { return echoQuery(429) }, 3, OutcomeHTTPError},
		{"connection dropped", func(*server) http.HandlerFunc { return drop }, 3, OutcomeTransportError},
		{"timeout", func(s *server) http.HandlerFunc { return s.hang }, 3, OutcomeTransportError},
		{"404 is not retried", func(*server) http.HandlerFunc { return echoQuery(404) }, 1, OutcomeHTTPError},
		{"failure result is not retried", func(*server) http.HandlerFunc { return respond(apiFailure("failed", "no")) }, 1, OutcomeAPIError},
		{"malformed is not retried", func(*server) http.HandlerFunc { return respond("<response>") }, 1, OutcomeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := 10 * time.Second
			if tt.name == "timeout" {
				timeout = 300 * time.Millisecond
			}
			c, s, logs, obs := setup(t, WithTimeout(timeout))
			s.handle(ActionAddOnsList, tt.handler(s))
			_, err := c.ListAddOns(t.Context())
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			if got := s.waitCount(ActionAddOnsList, tt.wantRequests); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if errors.Is(err, ErrUnknownOutcome) {
				t.Errorf("a read has an unknown outcome: %v", err)
			}
			if diff := cmp.Diff([]observation{{ActionAddOnsList, tt.wantOutcome}}, obs.all()); diff != "" {
				t.Errorf("observations mismatch (-want +got):\n%s", diff)
			}
			if got := strings.Count(logs.String(), "\n"); got != tt.wantRequests {
				t.Errorf("log lines = %d, want one per attempt (%d)", got, tt.wantRequests)
			}
			assertNoSecret(t, err, logs)
		})
	}
}

func TestListAddOnsRetriesThenSucceeds(t *testing.T) {
	c, s, logs, obs := setup(t)
	body := readTestdata(t, "addons-list.xml")
	s.handle(ActionAddOnsList, func(w http.ResponseWriter, r *http.Request) {
		if s.count(ActionAddOnsList) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write(body)
	})
	got, err := c.ListAddOns(t.Context())
	if err != nil {
		t.Fatalf("ListAddOns: %v", err)
	}
	if diff := cmp.Diff(exampleAddOns, got); diff != "" {
		t.Errorf("add-ons mismatch (-want +got):\n%s", diff)
	}
	if n := s.count(ActionAddOnsList); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
	if diff := cmp.Diff([]observation{{ActionAddOnsList, OutcomeSuccess}}, obs.all()); diff != "" {
		t.Errorf("observations mismatch (-want +got):\n%s", diff)
	}
	assertNoSecret(t, err, logs)
}

// A cancelled context ends the wait between attempts at once: with an
// hour of backoff, a client that ignored ctx would never return.
func TestListAddOnsStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := new(bytes.Buffer)
	// The attempt's log line is written after its answer and before the
	// wait: cancelling there lands between two attempts.
	logger := slog.New(hookHandler{slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}), cancel})
	c, s, _, _ := setup(t, WithRetry(5, time.Hour, time.Hour), WithLogger(logger))
	s.handle(ActionAddOnsList, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := c.ListAddOns(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want it to keep the last attempt's *HTTPError", err)
	}
	if n := s.count(ActionAddOnsList); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
	assertNoSecret(t, err, logs)
}

// hookHandler calls fn for each record it handles.
type hookHandler struct {
	slog.Handler
	fn func()
}

func (h hookHandler) Handle(ctx context.Context, r slog.Record) error {
	h.fn()
	return h.Handler.Handle(ctx, r)
}

func TestBackoff(t *testing.T) {
	c, _, _, _ := setup(t, WithRetry(10, 100*time.Millisecond, time.Second))
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		for range 50 {
			if d := c.backoff(attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
}

// The log has one debug line per attempt with action, duration and
// outcome, and neither the URL nor the query.
func TestLogLine(t *testing.T) {
	c, s, logs, _ := setup(t)
	s.handle(ActionAddOnsList, respondFile(t, "addons-list.xml"))
	if _, err := c.ListAddOns(t.Context()); err != nil {
		t.Fatalf("ListAddOns: %v", err)
	}
	var line map[string]any
	sc := bufio.NewScanner(logs)
	if !sc.Scan() {
		t.Fatal("nothing logged")
	}
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	delete(line, "time")
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("duration = %v, want a number", line["duration"])
	}
	delete(line, "duration")
	want := map[string]any{"level": "DEBUG", "msg": "dialogtech call", "action": "addons.list", "attempt": float64(1), "outcome": "success"}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("log line mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), s.srv.URL) || strings.Contains(logs.String(), "access_key") {
		t.Errorf("log has the URL or the query: %s", logs.String())
	}
}

// A redirect is returned as an HTTP error, not followed: following it
// would send the call again.
func TestRedirectNotFollowed(t *testing.T) {
	c, s, logs, _ := setup(t)
	s.handle(ActionNumbersOrder, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	})
	_, err := c.OrderNumbers(t.Context(), OrderRequest{Type: TollFree, Quantity: 1})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusFound {
		t.Errorf("err = %v, want *HTTPError 302", err)
	}
	if n := s.count(ActionNumbersOrder); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
	assertNoSecret(t, err, logs)
}
