package slacktest

import (
	"context"
	"io"
	"log"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// app is a real slack-go Socket Mode client connected to the server, as the
// bot runs it: RunContext in a goroutine and Events drained at once.
type app struct {
	api    *slack.Client
	client *socketmode.Client
	events chan socketmode.Event
	stop   func() error
}

func startApp(t *testing.T, srv *Server, smOpts []socketmode.Option, opts ...slack.Option) *app {
	t.Helper()
	base := []slack.Option{
		slack.OptionAPIURL(srv.APIURL()),
		slack.OptionAppLevelToken(srv.AppToken()),
	}
	api := slack.New(srv.BotToken(), append(base, opts...)...)
	smOpts = append([]socketmode.Option{socketmode.OptionLog(log.New(io.Discard, "", 0))}, smOpts...)
	client := socketmode.New(api, smOpts...)

	ctx, cancel := context.WithCancel(context.Background())
	a := &app{api: api, client: client, events: make(chan socketmode.Event, 1024)}
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-client.Events:
				select {
				case a.events <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	stopped := false
	var err error
	a.stop = func() error {
		if stopped {
			return err
		}
		stopped = true
		cancel()
		err = <-runErr
		<-drained
		return err
	}
	t.Cleanup(func() { _ = a.stop() })
	return a
}

// next returns the next event of type typ, skipping others.
func (a *app) next(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	e, ok := a.nextWithin(typ, 10*time.Second)
	if !ok {
		t.Fatalf("no %s event within 10s", typ)
	}
	return e
}

func (a *app) nextWithin(typ socketmode.EventType, d time.Duration) (socketmode.Event, bool) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case e := <-a.events:
			if e.Type == typ {
				return e, true
			}
		case <-timeout.C:
			return socketmode.Event{}, false
		}
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connected starts a server and an app and waits for the socket.
func connected(t *testing.T, opts ...Option) (*Server, *app) {
	t.Helper()
	srv := NewServer(t, opts...)
	a := startApp(t, srv, nil)
	if err := srv.WaitConnections(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	return srv, a
}
