package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// serveOnce runs `dialogbot serve` in process with env over a fresh
// directory's database, and returns its exit status, what it printed on
// stderr, and whether the database file exists afterwards.
func serveOnce(t *testing.T, e env) (code int, stderr string, dbExists bool) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "dialogbot.db")
	e = e.orDefaults("DATABASE_URL", "sqlite:"+db, "HTTP_ADDR", "", "DIALOGTECH_SANDBOX", "true", "APPROVERS", "U0BOSS", "LOG_FORMAT", "text")
	var errOut bytes.Buffer
	code = run(t.Context(), []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, &errOut, e.lookup)
	_, err := os.Stat(db)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return code, errOut.String(), err == nil
}

// TestNetworkIsNotBlamedOnTheToken: with Slack out of reach, serve says
// Slack cannot be reached and names no token; a token Slack refuses is
// named. Either way it stops before creating its database.
func TestNetworkIsNotBlamedOnTheToken(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens("xoxb-right-bot", "xapp-right-app"))
	t.Cleanup(func() { srv.CheckNoRefusals(t) })
	tests := []struct {
		name string
		env  env
		want string
		not  string
	}{
		{name: "no network", env: env{"SLACK_BOT_TOKEN": "xoxb-right-bot", "SLACK_APP_TOKEN": "xapp-right-app", "SLACK_API_URL": closedURL(t)},
			want: "dialogbot: cannot reach Slack (", not: "TOKEN"},
		{name: "bot token refused", env: env{"SLACK_BOT_TOKEN": "xoxb-wrong-bot", "SLACK_APP_TOKEN": "xapp-right-app", "SLACK_API_URL": srv.APIURL()},
			want: "dialogbot: SLACK_BOT_TOKEN: slack refused the token (invalid_auth)", not: "cannot reach"},
		{name: "app token refused", env: env{"SLACK_BOT_TOKEN": "xoxb-right-bot", "SLACK_APP_TOKEN": "xapp-wrong-app", "SLACK_API_URL": srv.APIURL()},
			want: "dialogbot: SLACK_APP_TOKEN: slack refused the token (invalid_auth)", not: "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr, dbExists := serveOnce(t, tt.env)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			last := lastLine(stderr)
			if !strings.HasPrefix(last, tt.want) || strings.Contains(last, tt.not) {
				t.Errorf("last line %q, want it to start with %q and not hold %q\nstderr:\n%s", last, tt.want, tt.not, stderr)
			}
			for _, secret := range []string{"xoxb-right-bot", "xoxb-wrong-bot", "xapp-right-app", "xapp-wrong-app"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr holds a token:\n%s", stderr)
				}
			}
			if dbExists {
				t.Error("the database file was created before the tokens were known to be good")
			}
		})
	}
}

// TestBadSettingsTouchNoFile: settings that fail their checks stop the
// program before any file is made.
func TestBadSettingsTouchNoFile(t *testing.T) {
	code, stderr, dbExists := serveOnce(t, env{"SLACK_BOT_TOKEN": "", "WORKERS": "0"})
	if code != 1 || !strings.Contains(stderr, "SLACK_BOT_TOKEN") || !strings.Contains(stderr, "WORKERS") || dbExists {
		t.Errorf("exit %d, database made %v, stderr:\n%s", code, dbExists, stderr)
	}
}

// TestPostgresFailureIsOneLine: a database that cannot be reached is one
// line, naming DATABASE_URL, without its password.
func TestPostgresFailureIsOneLine(t *testing.T) {
	srv := slacktest.NewServer(t, slacktest.WithTokens("xoxb-right-bot", "xapp-right-app"))
	t.Cleanup(func() { srv.CheckNoRefusals(t) })
	e := env{"SLACK_BOT_TOKEN": "xoxb-right-bot", "SLACK_APP_TOKEN": "xapp-right-app", "SLACK_API_URL": srv.APIURL(),
		"DIALOGTECH_SANDBOX": "true", "APPROVERS": "U0BOSS", "HTTP_ADDR": "", "LOG_LEVEL": "error",
		"DATABASE_URL": "postgres://dialogbot:hunter2secret@localhost:1/dialogbot?connect_timeout=2"}
	var errOut bytes.Buffer
	code := run(t.Context(), []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, &errOut, e.lookup)
	out := strings.TrimRight(errOut.String(), "\n")
	if code != 1 || strings.Count(out, "\n") != 0 || !strings.HasPrefix(out, "dialogbot: DATABASE_URL: ") || strings.Contains(out, "hunter2secret") {
		t.Errorf("exit %d, stderr:\n%s\nwant one line naming DATABASE_URL, without the password", code, out)
	}
}

// TestServeWarnsWhenNobodyCanApprove: one warning line at start-up.
func TestServeWarnsWhenNobodyCanApprove(t *testing.T) {
	e := env{"SLACK_BOT_TOKEN": "xoxb-right-bot", "SLACK_APP_TOKEN": "xapp-right-app", "SLACK_API_URL": closedURL(t),
		"DIALOGTECH_SANDBOX": "true", "HTTP_ADDR": "", "LOG_FORMAT": "text", "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db")}
	var errOut bytes.Buffer
	run(t.Context(), []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, &errOut, e.lookup)
	if n := strings.Count(errOut.String(), "APPROVERS and APPROVER_GROUPS are empty: nobody can approve"); n != 1 {
		t.Errorf("%d warnings that nobody can approve, want 1:\n%s", n, errOut.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// orDefaults is e with each key/value pair added unless e sets the key.
func (e env) orDefaults(kv ...string) env {
	out := env{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	for k, v := range e {
		out[k] = v
	}
	return out
}

// closedURL is a Slack API URL where nothing listens: a network failure.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/api/"
}

// TestCRLFWriter: log lines shown beside the console's raw-mode terminal
// return to the left edge.
func TestCRLFWriter(t *testing.T) {
	var b bytes.Buffer
	n, err := crlfWriter{&b}.Write([]byte("one\ntwo\n"))
	if err != nil || n != 8 || b.String() != "one\r\ntwo\r\n" {
		t.Errorf("Write = %d, %v; wrote %q", n, err, b.String())
	}
	if isTerminal(crlfWriter{os.Stdin}) != isTerminal(os.Stdin) {
		t.Error("isTerminal does not look through crlfWriter")
	}
}
