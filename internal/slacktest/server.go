package slacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Default tokens and identities of the emulated workspace.
const (
	DefaultBotToken = "xoxb-test-bot-token"
	DefaultAppToken = "xapp-test-app-token"

	// VerificationToken is the legacy verification token Slack still puts in
	// every payload.
	VerificationToken = "slacktest-verification-token"

	defaultPingInterval = 10 * time.Second
	// writeTimeout bounds a write to a client that stopped reading, so a
	// stuck client cannot hang a test.
	writeTimeout = 5 * time.Second
)

// Errors a caller can branch on with errors.Is.
var (
	ErrClosed          = errors.New("slacktest: server closed")
	ErrNoConnection    = errors.New("slacktest: no socket mode connection")
	ErrMessageNotFound = errors.New("slacktest: message not found")
	ErrButtonNotFound  = errors.New("slacktest: button not found in message")
	ErrViewNotFound    = errors.New("slacktest: view not found")
	ErrUnknownEnvelope = errors.New("slacktest: unknown envelope")
)

// Option configures a Server.
type Option func(*config)

type config struct {
	botToken     string
	appToken     string
	pingInterval time.Duration
	now          func() time.Time
	// disconnectGrace is how long after a disconnect Slack closes the old
	// socket.
	disconnectGrace time.Duration
}

// maxConnections is Slack's limit of Socket Mode connections per app.
const maxConnections = 10

// WithDisconnectGrace sets how long after sending `disconnect` the server
// closes the socket itself (Slack: about 10 s). A non-positive value keeps
// the default.
func WithDisconnectGrace(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.disconnectGrace = d
		}
	}
}

// WithTokens sets the bot token (xoxb-) and the app-level token (xapp-) the
// server accepts.
func WithTokens(botToken, appToken string) Option {
	return func(c *config) {
		c.botToken = botToken
		c.appToken = appToken
	}
}

// WithPingInterval sets how often the server pings each socket. slack-go
// reconnects when it hears no ping for its own interval (30s by default), so
// keep this below the client's. A non-positive value keeps the default.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pingInterval = d
		}
	}
}

// WithClock sets the source of the times the server records (API calls,
// acks, message timestamps) and of response_url expiry. Ping intervals and
// Stall durations stay on real time: they pace real sockets.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// Server is an emulated Slack workspace with one installed app. All methods
// are safe for concurrent use.
type Server struct {
	cfg  config
	http *httptest.Server
	// accepted counts the TCP connections made to the server.
	accepted atomic.Int64
	wg       sync.WaitGroup // every goroutine the server starts

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every state change
	started  bool
	closed   bool
	seq      int
	lastTS   int64 // microseconds of the last message ts handed out
	calls    []APICall
	limits   map[string]*rateLimit
	outside  map[string]bool // channels the bot is not a member of
	private  map[string]bool // private channels (SetPrivate)
	refusals []Refusal
	allowed  map[string]bool // refusal codes a test provokes on purpose
	tickets  map[string]bool // apps.connections.open tickets; true while unused
	conns    map[int]*conn
	held     map[int]*conn // open, waiting for a held hello
	lastConn int
	rr       int

	// chat.postMessage's pace in each channel (SetChannelRate).
	paces        map[string]*channelPace
	channelBurst int
	channelEvery time.Duration

	usergroups map[string][]string // user group id → members
	failures   map[string]*failure // Web API method → answers to fail with

	helloHeld  bool // HoldHello
	triggerTTL time.Duration
	stalled    bool
	stallGen   int
	stallT     *time.Timer

	messages   []*Message // channel messages in posting order
	ephemerals []*Message
	history    []Message // every version of every message, in order

	envelopes map[string]*envelope
	envOrder  []string
	acks      []Ack

	hooks      map[string]*hook
	envToHook  map[string]string
	triggers   map[string]*trigger
	views      []*View
	homeByUser map[string]*View
}

// New returns a server that is not yet listening for requests; call Start.
func New(opts ...Option) *Server {
	cfg := config{
		botToken:     DefaultBotToken,
		appToken:     DefaultAppToken,
		pingInterval: defaultPingInterval,
		now:          time.Now,

		disconnectGrace: 10 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:        cfg,
		changed:    make(chan struct{}),
		limits:     map[string]*rateLimit{},
		paces:      map[string]*channelPace{},
		outside:    map[string]bool{},
		private:    map[string]bool{},
		triggerTTL: defaultTriggerTTL,
		allowed:    map[string]bool{},
		usergroups: map[string][]string{},
		failures:   map[string]*failure{},
		tickets:    map[string]bool{},
		conns:      map[int]*conn{},
		held:       map[int]*conn{},
		envelopes:  map[string]*envelope{},
		hooks:      map[string]*hook{},
		envToHook:  map[string]string{},
		triggers:   map[string]*trigger{},
		homeByUser: map[string]*View{},

		channelBurst: defaultChannelBurst,
		channelEvery: defaultChannelEvery,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleSocket)
	mux.HandleFunc("/response/", s.handleResponse)
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.accepted.Add(1)
		}
	}
	return s
}

// AcceptedConns is how many TCP connections the server has accepted, for
// the Web API, response_url posts and sockets alike: a client that keeps
// its connections opens few.
func (s *Server) AcceptedConns() int { return int(s.accepted.Load()) }

// NewServer returns a started server that is closed when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// Start begins serving.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	s.http.Start()
}

// Close drops every socket, stops serving and returns once every goroutine
// the server started has ended. Waiters get ErrClosed.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	started := s.started
	if s.stallT != nil {
		s.stallT.Stop()
	}
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.notifyLocked()
	s.mu.Unlock()

	for _, c := range conns {
		c.goAway()
	}
	if started {
		s.http.Close()
	} else {
		_ = s.http.Listener.Close()
	}
	s.wg.Wait()
}

// APIURL is the Web API base URL for slack.OptionAPIURL; it ends with "/api/".
func (s *Server) APIURL() string { return s.baseURL() + "/api/" }

// BotToken is the bot token the server accepts.
func (s *Server) BotToken() string { return s.cfg.botToken }

// AppToken is the app-level token the server accepts.
func (s *Server) AppToken() string { return s.cfg.appToken }

// BotUserID is the user id of the app's bot user.
func (s *Server) BotUserID() string { return botUserID }

// BotID is the bot id (B...) of the app.
func (s *Server) BotID() string { return botID }

// TeamID is the id of the emulated workspace.
func (s *Server) TeamID() string { return teamID }

// AppID is the id of the installed app.
func (s *Server) AppID() string { return appID }

const (
	botUserID  = "U0BOTUSER1"
	botID      = "B0BOTID001"
	teamID     = "T0TEAM0001"
	teamDomain = "slacktest"
	teamName   = "Slack Test"
	appID      = "A0APP00001"
)

func (s *Server) baseURL() string { return "http://" + s.http.Listener.Addr().String() }

func (s *Server) now() time.Time { return s.cfg.now() }

// notifyLocked wakes every waiter so it re-checks its condition.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond, evaluated under s.mu, holds.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextSeqLocked numbers ids so they are unique within the server.
func (s *Server) nextSeqLocked() int {
	s.seq++
	return s.seq
}

// newTSLocked returns a message timestamp ("1700000000.000100") later than
// every one handed out before, as Slack's are unique per channel.
func (s *Server) newTSLocked() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnvelopeID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
