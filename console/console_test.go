package console

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// newHandler is the command handler over a simulator and a SQLite store,
// with approvers.
func newHandler(t *testing.T, sim *dialogsim.Sim, approvers ...string) *command.Handler {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := dialog.NewClient(dialog.WithCredentials(dialogsim.DefaultAccessKey, dialogsim.DefaultSecretKey), dialog.WithBaseURL(srv.URL+"/ibp_api.php"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	approvals := approval.New(st, client, approval.Policy{Approvers: approvers, TTL: time.Hour}, approval.WithLogger(quiet))
	return command.New(client, approvals, command.WithLogger(quiet))
}

func runScript(t *testing.T, h *command.Handler, script string, opts Options) string {
	t.Helper()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := Run(ctx, h, strings.NewReader(script), &out, opts); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

// TestNoControlSequences: text from DialogTech or a person cannot move the
// cursor, recolour or clear the terminal.
func TestNoControlSequences(t *testing.T) {
	sim := dialogsim.New()
	for _, a := range sim.AddOns() {
		if a.ItemID == 6 {
			a.Name = "Local\x1b[2J\x1b]0;pwned\x07 Number\r"
			sim.SetAddOn(a)
		}
	}
	h := newHandler(t, sim, "U0BOSS")
	out := runScript(t, h, "/addons\n/addons buy 6 \x1b[31m2\n\x1b[1mwhoami\nas U0\x1bBOSS\n", Options{UserID: "U0ASK"})
	for _, c := range []string{"\x1b", "\x07", "\r"} {
		if strings.Contains(out, c) {
			t.Errorf("output holds %q:\n%q", c, out)
		}
	}
	if !strings.Contains(out, "Local\uFFFD[2J\uFFFD]0;pwned\uFFFD Number") {
		t.Errorf("the add-on's name is not shown with its control characters replaced:\n%s", out)
	}
}

// TestButtons: buttons are numbered in order; a button of a message that
// has been updated since no longer works; a number with no button says so.
func TestButtons(t *testing.T) {
	sim := dialogsim.New()
	h := newHandler(t, sim, "U0BOSS")
	out := runScript(t, h, strings.Join([]string{
		"/numbers order 312 1", // [1] Approve [2] Deny on m1, [3] Cancel request
		"as U0BOSS",
		"1", "n", // the confirmation refused: nothing happens
		"1", "y", // approved
		"2",  // Deny on m1, updated since
		"42", // no such button
	}, "\n")+"\n", Options{UserID: "U0ASK"})
	for _, want := range []string{
		"[1] Approve  [2] Deny",
		"[3] Cancel request",
		"Not pressed: Not yet.",
		"1 number ordered:",
		"Button [2] was on m1, which has been updated since; its buttons no longer work.",
		"There is no button [42].",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := len(sim.Ordered()); n != 1 {
		t.Errorf("%d numbers ordered, want 1", n)
	}
}

// TestAlertsThroughChannel: what others post (the capacity alerts) shows
// up with working buttons, and a closed console refuses posts.
func TestAlertsThroughChannel(t *testing.T) {
	h := newHandler(t, dialogsim.New(), "U0BOSS")
	var ch *Channel
	out := runScript(t, h, "", Options{UserID: "U0ASK", OnStart: func(c *Channel) {
		ch = c
		ts, err := c.Post(t.Context(), "C0ALERTS", reply.Message{Text: "Local Number is 95% full", Blocks: []reply.Block{
			reply.Section{Text: "Local Number is 95% full"},
			reply.Actions{Buttons: []reply.Button{{ActionID: command.ActionSnooze, Text: "Snooze 1 day", Value: "addon:6|24h"}}},
		}})
		if err != nil || ts == "" {
			t.Errorf("Post = %q, %v", ts, err)
		}
		if err := c.Update(t.Context(), "C0ALERTS", ts, reply.Message{Text: "Resolved"}); err != nil {
			t.Errorf("Update: %v", err)
		}
	}})
	for _, want := range []string{"dialogbot in #C0ALERTS (m1):", "[1] Snooze 1 day", "(m1, updated):", "Resolved"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := ch.Post(t.Context(), "C0ALERTS", reply.Message{Text: "late"}); err != ErrClosed {
		t.Errorf("Post after the console ended = %v, want ErrClosed", err)
	}
}

// TestLongLine: a line longer than maxLine is cut, not a crash.
func TestLongLine(t *testing.T) {
	h := newHandler(t, dialogsim.New())
	out := runScript(t, h, strings.Repeat("x", 3*maxLine)+"\nwhoami\n", Options{UserID: "U0ASK"})
	if !strings.Contains(out, "is not something dialogbot knows") || !strings.Contains(out, "You are U0ASK.") {
		t.Errorf("long line not refused, or the console stopped:\n%.500s", out)
	}
}

// TestEndOfInputAtReasonDeniesNothing: the deny dialog closed by the end
// of input (Ctrl-D) denies nothing, as closing Slack's dialog does.
func TestEndOfInputAtReasonDeniesNothing(t *testing.T) {
	h := newHandler(t, dialogsim.New(), "U0BOSS")
	out := runScript(t, h, "/addons buy 6 2\nas U0BOSS\n2\n", Options{UserID: "U0ASK"})
	if !strings.Contains(out, "Nothing was denied.") || strings.Contains(out, "Denied R") {
		t.Errorf("end of input at the reason prompt:\n%s", out)
	}
	if pending := countPending(t, h); pending != 1 {
		t.Errorf("%d pending requests, want the one still waiting", pending)
	}
}

// countPending counts the pending requests through /addons pending.
func countPending(t *testing.T, h *command.Handler) int {
	t.Helper()
	out := runScript(t, h, "/addons pending\n", Options{UserID: "U0ASK"})
	return strings.Count(out, "Requested by:")
}
