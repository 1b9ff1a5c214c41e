package console

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/dialogbot/dialogbot/dialog/dialogsim"
)

// TestConfirmTakesOnlyYesOrNo: a line that is neither y nor n at a
// confirmation is not taken as "Not yet"; the question is asked again.
func TestConfirmTakesOnlyYesOrNo(t *testing.T) {
	sim := dialogsim.New()
	h := newHandler(t, sim, "U0BOSS")
	out := runScript(t, h, strings.Join([]string{
		"/numbers order 312 1", // [1] Approve [2] Deny, [3] Cancel request
		"as U0BOSS",
		"1",
		"whoami",
		"y",
	}, "\n")+"\n", Options{UserID: "U0ASK", Approvers: []string{"U0BOSS"}})
	for _, want := range []string{
		`"whoami" is not an answer here: type y to Approve or n for Not yet.`,
		"Approved and ordered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Not pressed") || strings.Contains(out, "You are U0BOSS, an approver.\nU0BOSS> 1") && strings.Count(out, "You are U0BOSS") > 1 {
		t.Errorf("the line at the confirmation was taken as an answer or run:\n%s", out)
	}
	if n := len(sim.Ordered()); n != 1 {
		t.Errorf("%d numbers ordered, want 1", n)
	}

	out = runScript(t, newHandler(t, dialogsim.New(), "U0BOSS"), "/numbers order 312 1\nas U0BOSS\n1\nn\n", Options{UserID: "U0ASK", Approvers: []string{"U0BOSS"}})
	if !strings.Contains(out, "Not pressed: Not yet.") {
		t.Errorf("n did not answer Not yet:\n%s", out)
	}
}

// TestTabSeparatesWords: words typed with tabs between them are words.
func TestTabSeparatesWords(t *testing.T) {
	h := newHandler(t, dialogsim.New(), "U0BOSS")
	out := runScript(t, h, "/addons\tbuy\t6\t2\nas\tU0BOSS\n", Options{UserID: "U0ASK", Approvers: []string{"U0BOSS"}})
	if !strings.Contains(out, "Approval needed") || !strings.Contains(out, "You are U0BOSS, an approver.") {
		t.Errorf("tab-separated lines were not understood:\n%s", out)
	}
	if strings.Contains(out, "Unknown command") {
		t.Errorf("tab-separated command refused:\n%s", out)
	}
}

// TestAsQuotesWhatWasTyped: a wrong id is shown as typed, not upper-cased.
func TestAsQuotesWhatWasTyped(t *testing.T) {
	h := newHandler(t, dialogsim.New(), "U0BOSS")
	out := runScript(t, h, "as bob\nas @u0boss\n", Options{UserID: "U0ASK", Approvers: []string{"U0BOSS"}})
	if !strings.Contains(out, `"bob" is not a Slack user id`) || strings.Contains(out, "BOB") {
		t.Errorf("as bob answered:\n%s", out)
	}
	if !strings.Contains(out, "You are U0BOSS, an approver.") {
		t.Errorf("a lower-case id with @ is not taken:\n%s", out)
	}
}

// screen collects what the console writes to the terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the screen shows want n times in all.
func (s *screen) waitFor(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for strings.Count(s.String(), want) < n {
		select {
		case <-s.ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the terminal never showed %q %d times; it shows:\n%q", want, n, s.String())
		}
	}
}

// Keys as a terminal sends them.
const (
	keyUp    = "\x1b[A"
	keyLeft  = "\x1b[D"
	keyRight = "\x1b[C"
	keyCtrlD = "\x04"
)

// TestTerminalLineEditing runs the console in a pseudo-terminal, as a
// person at a keyboard: Up brings back the last command, Left and Right
// move inside the line to fix it, Ctrl-D leaves.
func TestTerminalLineEditing(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	scr := &screen{ch: make(chan struct{}, 1)}
	go io.Copy(scr, ptmx) //nolint:errcheck // ends when the pty closes

	h := newHandler(t, dialogsim.New(), "U0BOSS")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, h, tty, tty, Options{UserID: "U0ASK", Approvers: []string{"U0BOSS"}}) }()

	typeKeys := func(keys string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}
	scr.waitFor(t, "U0ASK> ", 1)

	// A command, then Up brings it back and Enter runs it again.
	typeKeys("whoami\r")
	scr.waitFor(t, "You are U0ASK;", 1)
	scr.waitFor(t, "U0ASK> ", 2)
	typeKeys(keyUp + "\r")
	scr.waitFor(t, "You are U0ASK;", 2)
	scr.waitFor(t, "U0ASK> ", 3)

	// "as U0BSS": Left twice, type the missing O, Right back to the end.
	typeKeys("as U0BSS" + keyLeft + keyLeft + "O" + keyRight + keyRight + "\r")
	scr.waitFor(t, "You are U0BOSS, an approver.", 1)
	if strings.Contains(scr.String(), "control character") || strings.Contains(scr.String(), "not something dialogbot knows") {
		t.Fatalf("an arrow key reached the command line:\n%q", scr.String())
	}
	scr.waitFor(t, "U0BOSS> ", 1)

	// Up after that: the last command is the as line, fixed.
	before := strings.Count(scr.String(), "as U0BOSS")
	typeKeys(keyUp)
	scr.waitFor(t, "as U0BOSS", before+1)

	// Tab separates words, as a space does (Ctrl-U clears the recalled line).
	typeKeys("\x15as\tU0ASK\r")
	scr.waitFor(t, "You are U0ASK;", 3)
	scr.waitFor(t, "U0ASK> ", 4)

	// Ctrl-D on an empty line leaves.
	typeKeys(keyCtrlD)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after Ctrl-D: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Ctrl-D did not leave; the terminal shows:\n%q", scr.String())
	}
	// The prompt Ctrl-D left is on a finished line.
	scr.waitFor(t, "U0ASK> \r\n", 1)
	// The terminal is given back as it was: not raw any more.
	if raw, err := isRaw(tty); err != nil || raw {
		t.Errorf("the terminal was left in raw mode (%v)", err)
	}
}

// isRaw reports whether the terminal reads keys one by one, without echo.
func isRaw(f *os.File) (bool, error) {
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return false, err
	}
	return tio.Lflag&(unix.ICANON|unix.ECHO) == 0, nil
}
