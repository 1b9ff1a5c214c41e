package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/internal/testlog"
)

// TestBinarySignals: serve catches SIGTERM from the moment it is connected
// to Slack, and then stops cleanly (exit status 0, "stopped"), also while
// it opens its store. Before that, while it waits for Slack, nothing has
// been taken that would need finishing: the signal ends it at once, and it
// has made no database.
func TestBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	serve := func(t *testing.T, srv *slacktest.Server) (*exec.Cmd, *testlog.Buffer, string, func() error) {
		t.Helper()
		db := filepath.Join(t.TempDir(), "dialogbot.db")
		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"),
			"SLACK_BOT_TOKEN=xoxb-signal-bot", "SLACK_APP_TOKEN=xapp-signal-app", "SLACK_API_URL=" + srv.APIURL(),
			"DIALOGTECH_SANDBOX=true", "APPROVERS=U0BOSS", "HTTP_ADDR=", "LOG_FORMAT=json", "DATABASE_URL=sqlite:" + db}
		var out testlog.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var err error
		go func() { err = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
		})
		// exited waits for the program to end, and is its exit.
		exited := func() error {
			select {
			case <-done:
				return err
			case <-time.After(10 * time.Second):
				t.Fatal("still running 10 s after SIGTERM")
				return nil
			}
		}
		return cmd, &out, db, exited
	}
	waitFor := func(t *testing.T, what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	for _, tt := range []struct {
		name, after string // SIGTERM once this message is logged
	}{
		// The handler is armed before "starting" is logged; the store
		// is opened next.
		{"opening the store", "starting"},
		{"serving", "socket mode connected"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.NewServer(t, slacktest.WithTokens("xoxb-signal-bot", "xapp-signal-app"))
			cmd, out, _, exited := serve(t, srv)
			waitFor(t, "the line "+tt.after, func() bool { return out.Count(tt.after) == 1 })
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := exited(); err != nil {
				t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", err, out.String())
			}
			if out.Count("stopped") != 1 {
				t.Errorf("no clean stop logged:\n%s", out.String())
			}
		})
	}

	t.Run("waiting for Slack", func(t *testing.T) {
		srv := slacktest.NewServer(t, slacktest.WithTokens("xoxb-signal-bot", "xapp-signal-app"))
		srv.HoldHello()
		cmd, out, db, exited := serve(t, srv)
		waitFor(t, "both tokens asked about", func() bool {
			return len(srv.Calls("apps.connections.open")) == 1 && len(srv.Calls("auth.test")) == 1
		})
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := exited()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Fatalf("exit after SIGTERM while waiting for hello: %v, want the signal's default (terminated)\n%s", err, out.String())
		}
		if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the database exists after a start that never got connected (%v)", err)
		}
		if strings.Contains(out.String(), "xoxb-signal-bot") || strings.Contains(out.String(), "xapp-signal-app") {
			t.Errorf("the output holds a token:\n%s", out.String())
		}
	})
}
