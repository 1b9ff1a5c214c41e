package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMaxSilence is how long Slack may send nothing before readiness
// fails: twice slack-go's own limit (30 s without a ping, after which it
// reconnects), so a reconnect that works never shows as not ready.
const DefaultMaxSilence = time.Minute

// Socket is the Slack connection as readiness sees it (a *bot.Bot).
type Socket interface {
	Connected() bool
	LastSeen() time.Time // last byte read from Slack, pings included
}

// Pinger is the store as readiness sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Readiness decides whether dialogbot can do its work: the store answers,
// the Socket Mode connection is up and Slack was heard from recently.
type Readiness struct {
	Store Pinger
	// MaxSilence is how long Slack may send nothing, not even a ping,
	// before the connection counts as dead (DefaultMaxSilence when zero).
	MaxSilence time.Duration
	// PingTimeout bounds the store ping (2 s when zero).
	PingTimeout time.Duration
	// Log gets the details that /readyz does not show (it is not
	// authenticated); nil logs nothing.
	Log *slog.Logger
	Now func() time.Time // time.Now when nil

	socket   atomic.Pointer[socketRef]
	stopping atomic.Bool
}

type socketRef struct{ s Socket }

// SetSocket gives readiness the Slack connection once it exists.
func (r *Readiness) SetSocket(s Socket) { r.socket.Store(&socketRef{s}) }

// Stopping marks the process as shutting down: from then on it is not
// ready.
func (r *Readiness) Stopping() { r.stopping.Store(true) }

// Check returns one line per failing check; none means ready.
func (r *Readiness) Check(ctx context.Context) []string {
	var problems []string
	if r.stopping.Load() {
		problems = append(problems, "process: shutting down")
	}
	if r.Store == nil {
		problems = append(problems, "store: not open")
	} else {
		timeout := r.PingTimeout
		if timeout <= 0 {
			timeout = 2 * time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := r.Store.Ping(pctx)
		cancel()
		if err != nil {
			// The error may name hosts or users: it goes to the log, not
			// to whoever asks /readyz.
			if r.Log != nil {
				r.Log.WarnContext(ctx, "readiness: store ping failed", "err", err)
			}
			problems = append(problems, "store: ping failed")
		}
	}
	ref := r.socket.Load()
	switch {
	case ref == nil:
		problems = append(problems, "slack: not started")
	case !ref.s.Connected():
		problems = append(problems, "slack: socket mode not connected")
	default:
		maxSilence := r.MaxSilence
		if maxSilence <= 0 {
			maxSilence = DefaultMaxSilence
		}
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		last := ref.s.LastSeen()
		if last.IsZero() {
			problems = append(problems, "slack: nothing received yet")
		} else if silent := now().Sub(last); silent > maxSilence {
			problems = append(problems, "slack: nothing received for "+silent.Round(time.Second).String()+" (limit "+maxSilence.String()+")")
		}
	}
	return problems
}

// Handler serves /healthz (the process is up), /readyz (Readiness) and
// /metrics (m's exposition).
func Handler(m *Metrics, ready *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plainText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if problems := ready.Check(r.Context()); len(problems) > 0 {
			plainText(w, http.StatusServiceUnavailable, strings.Join(problems, "\n")+"\n")
			return
		}
		plainText(w, http.StatusOK, "ready\n")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		body := m.AppendText(r.Context(), nil)
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	return mux
}

func plainText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Server is the operations HTTP server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Serve serves h on ln until Shutdown. Errors other than a shutdown go to
// log.
func Serve(ln net.Listener, h http.Handler, log *slog.Logger) *Server {
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops http server stopped", "err", err)
		}
	}()
	return s
}

// Addr is where the server listens.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops taking requests and waits for those in flight, until ctx
// ends; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}
