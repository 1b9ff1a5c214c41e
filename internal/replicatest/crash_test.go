package replicatest

import (
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// crashed waits for r to die by its own SIGKILL.
func (c *cluster) crashed(r *replica) {
	c.t.Helper()
	select {
	case <-r.done:
		r.killed = true
	case <-time.After(60 * time.Second):
		c.t.Fatalf("%s did not die at its crash point\n%s", r.name, r.stderr.String())
	}
}

// settled waits until request id is in an end state and its Slack message
// shows its newest version, and returns both.
func (c *cluster) settled(id string) (*store.Request, slacktest.Message) {
	c.t.Helper()
	st := c.openStore()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := st.GetRequest(c.t.Context(), id)
		if err != nil {
			c.t.Fatal(err)
		}
		if r.State.Final() && r.DrawnVersion == r.Version {
			m, _ := c.slack.Message(requestChannel, r.MessageTS)
			return r, m
		}
		if time.Now().After(deadline) {
			m, _ := c.slack.Message(requestChannel, r.MessageTS)
			c.t.Fatalf("request %s is %s (version %d, message drawn at %d) after a minute:\n%s", id, r.State, r.Version, r.DrawnVersion, slacktest.TextOf(m))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashAtEachStep kills `serve` on Postgres with SIGKILL at each step of
// an approval (after the claim and its audit row, after the call's mark and
// its audit row, with the call sent and unanswered, after the answer, after
// the outcome was written) and starts it again: never a second buying
// call, never success without its numbers, and a message that says what is
// known.
func TestCrashAtEachStep(t *testing.T) {
	postgresURL(t)
	steps := []struct {
		name, crashAt string
		inFlight      bool        // kill while DialogTech holds the call
		want          store.State // where the request ends
		title         string      // what its message says
		calls         int         // numbers.order calls DialogTech saw
	}{
		{"after the claim", approval.StepClaimed, false, store.StateFailed, "Approved, but not carried out", 0},
		{"after the call's mark", approval.StepMarked, false, store.StateUnknown, "Outcome unknown", 0},
		{"with the call sent", "", true, store.StateUnknown, "Outcome unknown", 1},
		{"after the answer", approval.StepAnswered, false, store.StateUnknown, "Outcome unknown", 1},
		{"after the outcome write", approval.StepRecorded, false, store.StateSucceeded, "Approved and ordered", 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c := newCluster(t)
			c.bin = crashBinary(t)
			extra := []string{}
			if s.crashAt != "" {
				extra = append(extra, "DIALOGBOT_CRASH_AT="+s.crashAt)
			}
			c.start(1, extra...)
			first := c.replicas[0]
			m := c.askAs(0, requester, "/numbers order 312 2")
			st := c.openStore()
			reqs, err := st.ListRequests(t.Context(), "", 0)
			if err != nil || len(reqs) != 1 {
				t.Fatalf("requests = %v, %v", reqs, err)
			}
			if s.inFlight {
				c.sim.InjectFault(dialog.ActionNumbersOrder, dialogsim.Fault{Latency: time.Minute, Times: 1})
			}
			if _, err := c.slack.Press(c.ctx(30*time.Second), approverA, m, "Approve"); err != nil {
				t.Fatal(err)
			}
			if s.inFlight {
				deadline := time.Now().Add(30 * time.Second)
				for c.sim.CallCount(dialog.ActionNumbersOrder) == 0 {
					if time.Now().After(deadline) {
						t.Fatal("the call never reached DialogTech")
					}
					time.Sleep(20 * time.Millisecond)
				}
				first.kill(t)
			} else {
				c.crashed(first)
			}

			// Restarted, without a crash point.
			c.start(1)
			r, msg := c.settled(reqs[0].ID)

			text := slacktest.TextOf(msg)
			if r.State != s.want {
				t.Errorf("request ended %s, want %s", r.State, s.want)
			}
			if !strings.Contains(text, s.title) {
				t.Errorf("message does not say %q:\n%s", s.title, text)
			}
			o := approval.DecodeOutcome(r)
			if r.State == store.StateSucceeded {
				if len(o.Numbers) != 2 {
					t.Errorf("succeeded with numbers %v, want the 2 ordered", o.Numbers)
				}
				for _, n := range o.Numbers {
					if !strings.Contains(strings.NewReplacer("-", "", "(", "", ")", "", " ", "").Replace(text), n) {
						t.Errorf("message lacks number %s:\n%s", n, text)
					}
				}
			}
			if n := c.sim.CallCount(dialog.ActionNumbersOrder); n != s.calls {
				t.Errorf("%d numbers.order calls, want %d", n, s.calls)
			}
			// A click after the restart changes nothing and calls nothing.
			if _, err := c.slack.Press(c.ctx(30*time.Second), approverB, m, "Approve"); err != nil && !strings.Contains(err.Error(), "no button") {
				t.Logf("press after restart: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
			if n := c.sim.CallCount(dialog.ActionNumbersOrder); n != s.calls {
				t.Errorf("%d numbers.order calls after a click on the restarted bot, want %d", n, s.calls)
			}
			audit, err := st.ListAudit(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			marks := 0
			for _, e := range audit {
				if e.Event == "dialogtech.call" {
					marks++
				}
			}
			if marks < s.calls || marks > 1 {
				t.Errorf("%d dialogtech.call audit rows for %d calls", marks, s.calls)
			}
		})
	}
}
