package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/config"
)

// settings is every variable `dialogbot env` must list: the interface's
// table and the settings added to it.
var settings = []string{
	"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL",
	"DIALOGTECH_ACCESS_KEY", "DIALOGTECH_SECRET_ACCESS_KEY", "DIALOGTECH_BASE_URL", "DIALOGTECH_SANDBOX", "ADDONS_CACHE_TTL",
	"APPROVERS", "APPROVER_GROUPS", "ALLOW_SELF_APPROVAL", "APPROVAL_TTL",
	"SECOND_APPROVAL_ABOVE", "APPROVAL_REMIND_AFTER", "GROUP_REFRESH_INTERVAL", "CALLERS",
	"ALERT_CHANNEL", "ALERT_SCHEDULE", "ALERT_THRESHOLD", "ALERT_REPEAT_INTERVAL",
	"ALERT_CRITICAL_THRESHOLD", "ALERT_RESOLVE_MARGIN", "ALERT_THRESHOLDS",
	"ALERT_FORECAST_HORIZON", "ALERT_ERROR_AFTER", "ALERT_LEASE_TTL",
	"DATABASE_URL", "HTTP_ADDR",
	"WORKERS", "SHUTDOWN_TIMEOUT", "LOG_LEVEL", "LOG_FORMAT",
}

type env map[string]string

func (e env) lookup(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

// listedVariables is the first column of `dialogbot env`, header excluded.
func listedVariables(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var keys []string
	for _, l := range lines[1:] {
		keys = append(keys, strings.Fields(l)[0])
	}
	return keys
}

func TestRun(t *testing.T) {
	const unknown = usageLine + "\n"
	tests := []struct {
		name       string
		args       []string
		env        env
		wantCode   int
		wantStdout string // compared whole unless wantVars is set
		wantVars   bool   // stdout is the settings table
		wantStderr string
	}{
		{name: "env", args: []string{"env"}, wantVars: true},
		{name: "env with broken settings", args: []string{"env"}, env: env{"ALERT_THRESHOLD": "abc", "WORKERS": "-1"}, wantVars: true},
		{name: "env with an argument", args: []string{"env", "--all"}, wantCode: 2,
			wantStderr: "dialogbot: env takes no arguments\n" + unknown},
		{name: "version", args: []string{"version"}, wantStdout: versionText(debug.ReadBuildInfo())},
		{name: "--version", args: []string{"--version"}, wantStdout: versionText(debug.ReadBuildInfo())},
		{name: "-v", args: []string{"-v"}, wantStdout: versionText(debug.ReadBuildInfo())},
		{name: "help", args: []string{"help"}, wantStdout: helpText},
		{name: "--help", args: []string{"--help"}, wantStdout: helpText},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2,
			wantStderr: "dialogbot: unknown command \"frobnicate\"\n" + unknown},
		{name: "no command runs serve", args: nil, wantCode: 1,
			wantStderr: "dialogbot: SLACK_BOT_TOKEN: required for serve (the bot token, \"xoxb-...\")\n" +
				"dialogbot: SLACK_APP_TOKEN: required for serve (an app-level token, \"xapp-...\")\n" +
				"dialogbot: DIALOGTECH_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true\n" +
				"dialogbot: DIALOGTECH_SECRET_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true\n"},
		{name: "serve with nothing set names every missing setting", args: []string{"serve"}, wantCode: 1,
			wantStderr: "dialogbot: SLACK_BOT_TOKEN: required for serve (the bot token, \"xoxb-...\")\n" +
				"dialogbot: SLACK_APP_TOKEN: required for serve (an app-level token, \"xapp-...\")\n" +
				"dialogbot: DIALOGTECH_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true\n" +
				"dialogbot: DIALOGTECH_SECRET_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true\n"},
		{name: "unknown command, near a real one", args: []string{"consle"}, wantCode: 2,
			wantStderr: "dialogbot: unknown command \"consle\" (did you mean console?)\n" + unknown},
		{name: "version takes nothing more", args: []string{"version", "now"}, wantCode: 2,
			wantStderr: "dialogbot: version takes no arguments\n" + unknown},
		{name: "serve with an argument", args: []string{"serve", "now"}, wantCode: 2,
			wantStderr: "dialogbot: serve takes no arguments\n" + unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr, tt.env.lookup)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if tt.wantVars {
				if diff := cmp.Diff(settings, listedVariables(stdout.String())); diff != "" {
					t.Errorf("variables listed (-want +got):\n%s", diff)
				}
			} else if diff := cmp.Diff(tt.wantStdout, stdout.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	const botToken = "xoxp-WRONG-KIND-OF-TOKEN"
	tests := []struct {
		name       string
		env        env
		mode       config.Mode
		wantStderr string
	}{
		{name: "console needs nothing", env: env{}, mode: config.ModeConsole},
		{name: "serve", mode: config.ModeServe, env: env{
			"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "DIALOGTECH_SANDBOX": "true",
		}},
		{name: "unreadable setting", env: env{"ALERT_THRESHOLD": "most"}, mode: config.ModeConsole,
			wantStderr: "dialogbot: ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got \"most\")\n"},
		{name: "several bad settings give one line each", env: env{"WORKERS": "0", "LOG_LEVEL": "loud", "ALERT_THRESHOLD": "most", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "DIALOGTECH_SANDBOX": "true"}, mode: config.ModeServe,
			wantStderr: "dialogbot: ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got \"most\")\n" +
				"dialogbot: WORKERS: must be a whole number from 1 to 1024 (got \"0\")\n" +
				"dialogbot: LOG_LEVEL: must be debug, info, warn or error (got \"loud\")\n"},
		{name: "wrong token is not echoed", mode: config.ModeServe, env: env{
			"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": "xapp-1", "DIALOGTECH_SANDBOX": "true",
		}, wantStderr: "dialogbot: SLACK_BOT_TOKEN: must start with \"xoxb-\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, ok := loadConfig(tt.env.lookup, tt.mode, &stderr)
			if diff := cmp.Diff(tt.wantStderr, stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if wantOK := tt.wantStderr == ""; ok != wantOK || (cfg != nil) != wantOK {
				t.Errorf("loadConfig = %v, %v; want ok %v", cfg, ok, wantOK)
			}
		})
	}
}

func TestProblemsOneLineEach(t *testing.T) {
	err := errors.Join(errors.New("first\nstill first"), errors.New("second"))
	if diff := cmp.Diff([]string{"first; still first", "second"}, problems(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"one"}, problems(errors.New("one"))); diff != "" {
		t.Errorf("problems of one error (-want +got):\n%s", diff)
	}
}

// TestBinary builds the real binary and runs it as a user would, to cover
// main itself: arguments, streams and exit status.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	if f, err := elf.Open(bin); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s needs a dynamic loader; it should be one static binary", bin)
			}
		}
		f.Close()
	}

	dialogbot := func(ctx context.Context, args ...string) (stdout, stderr string, code int) {
		var o, e bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ALERT_THRESHOLD=broken"}
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("dialogbot %v: %v", args, err)
		}
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}

	stdout, stderr, code := dialogbot(t.Context(), "env")
	if code != 0 || stderr != "" {
		t.Errorf("dialogbot env: exit %d, stderr %q", code, stderr)
	}
	if diff := cmp.Diff(settings, listedVariables(stdout)); diff != "" {
		t.Errorf("dialogbot env variables (-want +got):\n%s", diff)
	}

	// A binary built from the repository says which commit it is.
	for _, arg := range []string{"version", "--version", "-v"} {
		stdout, stderr, code = dialogbot(t.Context(), arg)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "built with "+runtime.Version()) {
			t.Errorf("dialogbot %s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
		if head, err := gitHead(t); err == nil {
			if want := "commit " + strings.TrimSpace(string(head)); !strings.Contains(stdout, want) {
				t.Errorf("dialogbot %s built from a git checkout:\n%s\nwant %q", arg, stdout, want)
			}
		} else {
			t.Logf("the commit is not checked: %v", err)
		}
	}

	stdout, stderr, code = dialogbot(t.Context(), "frobnicate")
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "dialogbot: unknown command") {
		t.Errorf("dialogbot frobnicate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// gitHead is the commit checked out, when go build can record it: in a
// clone, whose .git is a directory (go build does not read a git
// worktree's .git file).
func gitHead(t *testing.T) (string, error) {
	top, err := exec.CommandContext(t.Context(), "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("no git checkout: %w", err)
	}
	if st, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !st.IsDir() {
		return "", errors.New("a git worktree, whose commit go build does not record")
	}
	head, err := exec.CommandContext(t.Context(), "git", "rev-parse", "HEAD").Output()
	return string(head), err
}

// buildBinary builds the program into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	bin := filepath.Join(t.TempDir(), "dialogbot")
	// -buildvcs=auto as go build has by default, even where GOFLAGS
	// turns it off: the version must show the commit.
	build := exec.CommandContext(t.Context(), goTool, "build", "-buildvcs=auto", "-o", bin, ".")
	// As on a machine with no C compiler: one static binary.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
