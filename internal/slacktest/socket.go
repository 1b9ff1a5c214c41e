package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The socket URL is single-use and reached only from tests, so any origin
// may connect (slack-go sends "Origin: https://api.slack.com").
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type conn struct {
	id      int
	ws      *websocket.Conn
	writeMu sync.Mutex    // gorilla allows one writer at a time
	done    chan struct{} // closed when the read loop has ended
	retired bool          // sent a disconnect; guarded by Server.mu
	dropped bool          // closed by DropConnections while its hello was held; guarded by Server.mu
}

func (c *conn) write(frame []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// goAway closes the socket the way a server shutting down does.
func (c *conn) goAway() {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.ws.Close()
}

type helloFrame struct {
	Type           string         `json:"type"`
	NumConnections int            `json:"num_connections"`
	DebugInfo      debugInfo      `json:"debug_info"`
	ConnectionInfo connectionInfo `json:"connection_info"`
}

type debugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

type connectionInfo struct {
	AppID string `json:"app_id"`
}

type disconnectFrame struct {
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	DebugInfo debugInfo `json:"debug_info"`
}

const debugHost = "applink-slacktest"

func (s *Server) handleSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	valid := s.tickets[ticket]
	if valid {
		s.tickets[ticket] = false
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	if !valid {
		// Each apps.connections.open call allows one connection.
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws, done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.lastConn++
	c.id = s.lastConn
	s.held[c.id] = c
	s.mu.Unlock()

	// A held hello keeps the new socket open and silent until ReleaseHello
	// (or DropConnections closes it).
	err = s.waitFor(context.Background(), func() bool { return !s.helloHeld || c.dropped })
	s.mu.Lock()
	delete(s.held, c.id)
	dropped := c.dropped
	s.mu.Unlock()
	if err != nil || dropped {
		_ = ws.Close()
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	if s.liveLocked() >= maxConnections {
		// Slack allows 10 connections per app: the one over the limit is
		// told to go away and never gets an envelope.
		c.retired = true
		s.conns[c.id] = c
		s.wg.Add(1)
		s.notifyLocked()
		s.mu.Unlock()
		b, _ := json.Marshal(disconnectFrame{Type: "disconnect", Reason: "too_many_websockets", DebugInfo: debugInfo{Host: debugHost}})
		_ = c.write(b)
		s.closeLater(c)
		go s.pingLoop(c)
		s.readLoop(c)
		return
	}
	hello := helloFrame{
		Type:           "hello",
		NumConnections: s.liveLocked() + 1,
		DebugInfo:      debugInfo{Host: debugHost, BuildNumber: 1, ApproximateConnectionTime: 18060},
		ConnectionInfo: connectionInfo{AppID: appID},
	}
	stalled := s.stalled
	s.mu.Unlock()

	// hello goes out before the connection is listed, so it is always the
	// first frame; a deaf server says nothing.
	if !stalled {
		b, _ := json.Marshal(hello)
		if err := c.write(b); err != nil {
			_ = ws.Close()
			return
		}
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c.id] = c
	s.wg.Add(1)
	s.notifyLocked()
	s.mu.Unlock()

	go s.pingLoop(c)
	s.readLoop(c)
}

func (s *Server) readLoop(c *conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c.id)
		s.notifyLocked()
		s.mu.Unlock()
		close(c.done)
		_ = c.ws.Close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s.receive(c, data)
	}
}

func (s *Server) pingLoop(c *conn) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if s.Stalled() {
				continue
			}
			_ = c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout))
		}
	}
}

// liveLocked counts the connections that still receive envelopes.
func (s *Server) liveLocked() int {
	n := 0
	for _, c := range s.conns {
		if !c.retired {
			n++
		}
	}
	return n
}

// Connections returns the number of open sockets that still receive
// envelopes: a socket sent `disconnect` no longer counts, even before the
// client closes it.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked()
}

// ConnIDs returns the ids of the connections Connections counts, ascending.
// Ids start at 1 and are never reused.
func (s *Server) ConnIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveIDsLocked()
}

func (s *Server) liveIDsLocked() []int {
	var ids []int
	for id, c := range s.conns {
		if !c.retired {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// WaitConnections waits until exactly n connections receive envelopes.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	have := 0
	err := s.waitFor(ctx, func() bool {
		have = s.liveLocked()
		return have == n
	})
	if err != nil {
		return fmt.Errorf("waiting for %d connections (have %d): %w", n, have, err)
	}
	return nil
}

// Disconnect sends {"type":"disconnect","reason":reason} on every connection
// ("warning", "refresh_requested", "link_disabled") and stops routing
// envelopes to them; slack-go then opens a new connection. While the server
// is stalled nothing is sent and nothing changes.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	if s.stalled {
		s.mu.Unlock()
		return
	}
	var targets []*conn
	for _, id := range s.liveIDsLocked() {
		c := s.conns[id]
		c.retired = true
		targets = append(targets, c)
	}
	s.notifyLocked()
	s.mu.Unlock()

	b, _ := json.Marshal(disconnectFrame{Type: "disconnect", Reason: reason, DebugInfo: debugInfo{Host: debugHost}})
	for _, c := range targets {
		_ = c.write(b)
		s.closeLater(c)
	}
}

// closeLater closes c's socket after the disconnect grace, as Slack does
// with a socket it sent `disconnect` on, unless the client closed it first.
func (s *Server) closeLater(c *conn) {
	t := time.AfterFunc(s.cfg.disconnectGrace, func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "disconnected")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
	go func() {
		<-c.done
		t.Stop()
	}()
}

// HoldHello makes new sockets wait, open but silent, before their hello:
// a client that reconnects sits in "connecting" until ReleaseHello.
func (s *Server) HoldHello() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.helloHeld = true
	s.notifyLocked()
}

// Held is how many sockets are open and waiting for a held hello.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// ReleaseHello lets held sockets get their hello.
func (s *Server) ReleaseHello() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.helloHeld = false
	s.notifyLocked()
}

// DropConnections closes every socket abruptly, without a close frame, as a
// network failure would, also one waiting for a held hello, and returns
// once the server has forgotten them.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var targets []*conn
	for _, c := range s.conns {
		targets = append(targets, c)
	}
	// Sockets waiting for a held hello have no read loop yet: they are
	// closed where they wait.
	for _, c := range s.held {
		c.dropped = true
		_ = c.ws.Close()
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range targets {
		_ = c.ws.Close()
	}
	for _, c := range targets {
		<-c.done
	}
}

// Stall makes the server deaf and mute: no pings, no hello, no envelopes (a
// send while stalled is recorded as sent but never reaches the client, as on
// a dead link). Acks that still arrive are recorded. For d > 0 the server
// resumes by itself after d; otherwise it stays stalled until Resume.
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalled = true
	s.stallGen++
	if s.stallT != nil {
		s.stallT.Stop()
		s.stallT = nil
	}
	if d > 0 && !s.closed {
		gen := s.stallGen
		s.stallT = time.AfterFunc(d, func() { s.resume(gen) })
	}
	s.notifyLocked()
}

// Resume ends a Stall.
func (s *Server) Resume() { s.resume(-1) }

func (s *Server) resume(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen >= 0 && gen != s.stallGen {
		return // a newer Stall replaced the one this timer belonged to
	}
	s.stalled = false
	if s.stallT != nil {
		s.stallT.Stop()
		s.stallT = nil
	}
	s.notifyLocked()
}

// Stalled reports whether the server is stalled.
func (s *Server) Stalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

// pickConnLocked chooses where an envelope goes: the connection asked for
// (want > 0), or round robin over live connections, skipping avoid when
// another one is open. It reports done=false when the caller should wait.
func (s *Server) pickConnLocked(want, avoid int) (c *conn, done bool, err error) {
	if want > 0 {
		if c := s.conns[want]; c != nil {
			return c, true, nil
		}
		if want <= s.lastConn {
			return nil, true, fmt.Errorf("%w: connection %d is closed", ErrNoConnection, want)
		}
		return nil, false, nil
	}
	ids := s.liveIDsLocked()
	if len(ids) == 0 {
		return nil, false, nil
	}
	if avoid > 0 && len(ids) > 1 {
		// A redelivery does not advance the rotation, so new envelopes
		// still alternate.
		ids = slices.DeleteFunc(ids, func(id int) bool { return id == avoid })
		return s.conns[ids[s.rr%len(ids)]], true, nil
	}
	c = s.conns[ids[s.rr%len(ids)]]
	s.rr++
	return c, true, nil
}
