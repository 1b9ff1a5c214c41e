package slacktest

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// serverGoroutines lists the stacks of goroutines running the server's code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "slacktest.(*Server)") || strings.Contains(g, "slacktest.(*conn)") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseEndsEveryGoroutineAndConnection(t *testing.T) {
	srv := New(WithPingInterval(10 * time.Millisecond))
	srv.Start()
	ctx := testContext(t)
	a := startApp(t, srv, nil)
	if err := srv.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SendSlashCommand(ctx, SlashCommand{Command: "/addons", UserID: "U1", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	a.next(t, socketmode.EventTypeSlashCommand)
	srv.Stall(time.Hour)

	// Waiters blocked on the server are released by Close.
	waitErr := make(chan error, 1)
	go func() { waitErr <- srv.WaitConnections(ctx, 5) }()

	// The client keeps its socket for 30s without pings, so Close returns
	// in time only if it closes the socket itself.
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while the client held its socket")
	}
	srv.Close() // idempotent
	if err := <-waitErr; err == nil {
		t.Error("WaitConnections returned nil after Close")
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("Connections after Close = %d", n)
	}
	_ = a.stop()

	deadline := time.Now().Add(5 * time.Second)
	for {
		left := serverGoroutines()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	srv := New()
	srv.Close()
	if srv.Connections() != 0 {
		t.Error("connections on a server never started")
	}
}
