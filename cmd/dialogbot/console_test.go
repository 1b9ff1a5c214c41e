package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/internal/testlog"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// consoleScript is a session as a newcomer types it: look around, ask for
// numbers and an add-on, fail to approve their own request, switch to the
// approver, approve one, deny the other with a reason, make mistakes.
const consoleScript = `help
whoami
/addons
/addons buy 6 2
/numbers order 312 2
4
y
/addons pending
as U0APPROVER
4
y
2
not this month
home
/addons audit
/addons buy 6 100000
/numbers order 31 2
/numbers order 312 30
/call vr 55443322 (312) 555-0100
/call vr 55443322 312-555-0100
as U0REQUESTER
/addons buy 9 1
11
/addons
frobnicate
as someone
quit
`

// runConsoleScript runs `dialogbot console` in process with env and the
// script on stdin, and returns what it printed.
func runConsoleScript(t *testing.T, env env, script string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var o, e bytes.Buffer
	if code := run(ctx, []string{"console"}, strings.NewReader(script), &o, &e, env.lookup); code != 0 {
		t.Fatalf("dialogbot console: exit %d\nstderr:\n%s\nstdout:\n%s", code, e.String(), o.String())
	}
	return o.String(), e.String()
}

// TestConsoleTranscript drives the console through stdin and stdout and
// compares what it printed with testdata/console.golden, ids, times and
// the simulator's random numbers normalised.
//
//	go test ./cmd/dialogbot/ -run TestConsoleTranscript -update
func TestConsoleTranscript(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "console.db")
	stdout, stderr := runConsoleScript(t, env{"DATABASE_URL": db}, consoleScript)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	got := normalise(strings.ReplaceAll(stdout, db, "<DATABASE_URL>"))
	checkGolden(t, "console.golden", got)

	// What the transcript must show, whatever the golden file says.
	for _, want := range []string{
		"Only approvers can decide on purchases. Nothing was changed.",
		"U0APPROVER pressed Approve on m2.",
		"2 numbers ordered:",
		"Denied by: @U0APPROVER",
		"not this month",
		"Cancelled by: @U0REQUESTER",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if n := strings.Count(got, "(312) NNN-NNNN"); n < 2 {
		t.Errorf("transcript shows %d ordered numbers in 312, want 2", n)
	}
}

// TestConsoleKeepsSandboxState: the sandbox's account lives in the
// database, so what one console session bought is there in the next.
func TestConsoleKeepsSandboxState(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "console.db")
	e := env{"DATABASE_URL": db, "APPROVERS": "U0BOSS", "ALLOW_SELF_APPROVAL": "true"}
	first, _ := runConsoleScript(t, e, "as U0BOSS\n/addons buy 6 5\n1\ny\n")
	if !strings.Contains(first, "Approved and bought: buy 5 × Local Number") {
		t.Fatalf("purchase not made:\n%s", first)
	}
	second, _ := runConsoleScript(t, e, "/addons\n")
	if !strings.Contains(second, "79/199") {
		t.Errorf("second session does not show the 5 bought (79/194 → 79/199):\n%s", second)
	}
}

var (
	requestIDs = regexp.MustCompile(`\bR[A-Z0-9]{11}\b`)
	timestamps = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC\b`)
	shortTimes = regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{2}:\d{2} UTC\b`)
	phones     = regexp.MustCompile(`\((\d{3})\) \d{3}-\d{4}\b`)
)

// normalise replaces what changes from run to run: request ids (by order
// of appearance), times, and the numbers the simulator hands out.
func normalise(s string) string {
	ids := map[string]string{}
	s = requestIDs.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = "<R" + strconv.Itoa(len(ids)+1) + ">"
		}
		return ids[id]
	})
	s = timestamps.ReplaceAllString(s, "<time>")
	s = shortTimes.ReplaceAllString(s, "<time>")
	return phones.ReplaceAllStringFunc(s, func(p string) string {
		if strings.HasSuffix(p, "555-0100") {
			return p // typed in the script, not handed out
		}
		return p[:6] + "NNN-NNNN"
	})
}

// TestBinaryConsole runs the built program as a newcomer would, in a fresh
// directory with no settings at all, and pipes a full approval flow in.
func TestBinaryConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, "console")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdin = strings.NewReader("/numbers order 312 1\nas U0APPROVER\n1\ny\n")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("dialogbot console: %v\nstderr:\n%s\nstdout:\n%s", err, e.String(), o.String())
	}
	out := o.String()
	for _, want := range []string{"sandbox: nothing is bought", "U0APPROVER approves here", "1 number ordered:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if e.Len() > 0 {
		t.Errorf("stderr: %s", e.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dialogbot.db")); err != nil {
		t.Errorf("the sandbox's database is not in the working directory: %v", err)
	}
}

// TestConsoleShowsAlerts: with ALERT_CHANNEL set, the capacity alerts run
// in the console and show up in the terminal, buttons numbered; pressing
// Snooze works there as in Slack.
func TestConsoleShowsAlerts(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "console.db")
	e := env{"DATABASE_URL": db, "ALERT_CHANNEL": "C0ALERTS", "ALERT_SCHEDULE": "@every 1s"}
	in, typed := io.Pipe()
	var out testlog.Buffer
	done := make(chan int)
	go func() { done <- run(t.Context(), []string{"console"}, in, &out, io.Discard, e.lookup) }()

	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the console within 20s:\n%s", want, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The sandbox's Campaign Guest Logins is 1/1 in use.
	waitFor("dialogbot in #C0ALERTS (m1):")
	waitFor("Campaign Guest Logins has no capacity left")
	n := regexp.MustCompile(`\[(\d+)\] Snooze 1 day`).FindStringSubmatch(out.String())
	if n == nil {
		t.Fatalf("no Snooze button on the alert:\n%s", out.String())
	}
	fmt.Fprintf(typed, "%s\n", n[1])
	waitFor("Snoozed")
	fmt.Fprintln(typed, "quit")
	if code := <-done; code != 0 {
		t.Errorf("console exit %d", code)
	}
	if strings.Count(out.String(), "Campaign Guest Logins has no capacity left") < 1 {
		t.Errorf("alert not shown:\n%s", out.String())
	}
}

// TestConsoleBannerHidesDatabasePassword: the banner names where the
// sandbox keeps its state without the database's password.
func TestConsoleBannerHidesDatabasePassword(t *testing.T) {
	url := os.Getenv("DIALOGBOT_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("DIALOGBOT_TEST_POSTGRES_URL not set")
	}
	const password = "hunter2Secret"
	withPassword := strings.Replace(url, "postgres@", "postgres:"+password+"@", 1)
	if withPassword == url {
		t.Skipf("cannot add a password to %s", url)
	}
	stdout, stderr := runConsoleScript(t, env{"DIALOGTECH_SANDBOX": "true", "DATABASE_URL": withPassword}, "quit\n")
	if strings.Contains(stdout+stderr, password) {
		t.Errorf("the database password is shown:\n%s%s", stdout, stderr)
	}
	if !strings.Contains(stdout, "postgres:xxxxx@") {
		t.Errorf("the banner does not say where the state is kept:\n%s", stdout)
	}
}

// checkGolden compares a transcript with testdata/name; -update rewrites it.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("console transcript %s (-want +got):\n%s", name, diff)
	}
}
