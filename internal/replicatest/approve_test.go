package replicatest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

var requestIDPattern = regexp.MustCompile(`Request (R[A-Z0-9]+)`)

// askAs runs a buying command by user through connection conn and
// returns the request message it opened.
func (c *cluster) askAs(conn int, user, text string) slacktest.Message {
	c.t.Helper()
	cmd, rest, _ := strings.Cut(text, " ")
	d, err := c.slack.SendSlashCommand(c.ctx(30*time.Second), slacktest.SlashCommand{Command: cmd, Text: rest, UserID: user, ChannelID: requestChannel, Conn: conn})
	if err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
	rs, err := c.slack.WaitForResponse(c.ctx(30*time.Second), d, 1)
	if err != nil {
		c.t.Fatalf("reply to %q: %v", text, err)
	}
	match := requestIDPattern.FindStringSubmatch(slacktest.TextOf(slacktest.Message{Text: rs[0].Text, Blocks: rs[0].Blocks}))
	if match == nil {
		c.t.Fatalf("%q opened no request: %s", text, rs[0].Text)
	}
	m, err := c.slack.WaitForMessage(c.ctx(30*time.Second), func(m slacktest.Message) bool {
		return m.Channel == requestChannel && m.ThreadTS == "" && m.EphemeralTo == "" &&
			strings.Contains(slacktest.TextOf(m), match[1]) && len(slacktest.ButtonsOf(m)) > 0
	})
	if err != nil {
		c.t.Fatalf("no request message for %s: %v", match[1], err)
	}
	return m
}

// TestReplicasApproveOnce approves every request through both replicas at
// the same moment, by two approvers: each request must order its number
// exactly once, whichever replica's click wins.
func TestReplicasApproveOnce(t *testing.T) {
	c := newCluster(t)
	c.start(2)
	conns := c.slack.ConnIDs()
	if len(conns) != 2 {
		t.Fatalf("connections %v, want 2", conns)
	}

	const requests = 50
	msgs := make([]slacktest.Message, requests)
	for i := range msgs {
		// Requests are opened through both replicas too, each by its own
		// requester (one person's identical requests are one request).
		msgs[i] = c.askAs(conns[i%2], fmt.Sprintf("U0REQ%03d", i), "/numbers order 312 1")
	}

	// Both clicks on every request go out together; all at once.
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2*requests)
	for _, m := range msgs {
		if _, ok := slacktest.FindButton(m, "Approve"); !ok {
			t.Fatalf("request message has no Approve button: %+v", slacktest.ButtonsOf(m))
		}
		for i, user := range []string{approverA, approverB} {
			wg.Go(func() {
				<-start
				if _, err := c.slack.PressOn(c.ctx(60*time.Second), conns[i], user, m, "Approve"); err != nil {
					errs <- fmt.Errorf("approve %s as %s on connection %d: %w", m.TS, user, conns[i], err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st := c.openStore()
	reqs := waitDecided(t, st, requests, 2*time.Minute)
	ordered := c.sim.Ordered()
	if n := c.sim.CallCount(dialog.ActionNumbersOrder); n != requests {
		t.Errorf("numbers.order calls = %d, want %d (one per request)", n, requests)
	}
	if len(ordered) != requests {
		t.Errorf("the simulator handed out %d numbers, want %d", len(ordered), requests)
	}
	for _, call := range c.sim.Calls() {
		if call.Action == dialog.ActionNumbersOrder && (call.Params.Get("search") != "312" || call.Params.Get("quantity") != "1") {
			t.Errorf("numbers.order with %v, want search=312 quantity=1", call.Params)
		}
	}

	audit, err := st.ListAudit(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, e := range audit {
		if e.Event == "dialogtech.call" {
			calls[e.RequestID]++
		}
	}

	// Every number handed out belongs to exactly one request, and that
	// request's Slack message shows it.
	owner := map[string]string{}
	for _, r := range reqs {
		if r.State != store.StateSucceeded {
			t.Errorf("request %s is %s, want %s", r.ID, r.State, store.StateSucceeded)
			continue
		}
		if r.DecidedBy != approverA && r.DecidedBy != approverB {
			t.Errorf("request %s approved by %q", r.ID, r.DecidedBy)
		}
		if calls[r.ID] != 1 {
			t.Errorf("request %s: %d DialogTech calls in the audit log, want 1", r.ID, calls[r.ID])
		}
		nums := approval.DecodeOutcome(r).Numbers
		if len(nums) != 1 {
			t.Errorf("request %s ordered %v, want one number", r.ID, nums)
			continue
		}
		if prev, dup := owner[nums[0]]; dup {
			t.Errorf("number %s ordered for both %s and %s", nums[0], prev, r.ID)
		}
		owner[nums[0]] = r.ID
		msg, err := c.slack.WaitForMessage(c.ctx(30*time.Second), func(m slacktest.Message) bool {
			return m.TS == r.MessageTS && strings.Contains(slacktest.TextOf(m), "ordered:")
		})
		if err != nil {
			cur, _ := c.slack.Message(requestChannel, r.MessageTS)
			t.Errorf("request %s: message never says its numbers were ordered: %v\nnow: %s", r.ID, err, slacktest.TextOf(cur))
			continue
		}
		if !strings.Contains(slacktest.TextOf(msg), dialog.FormatPhone(nums[0])) {
			t.Errorf("request %s: message lacks its number %s:\n%s", r.ID, nums[0], slacktest.TextOf(msg))
		}
	}
	for _, n := range ordered {
		if _, ok := owner[n.Number]; !ok {
			t.Errorf("number %s was handed out for no request", n.Number)
		}
	}
	if un := c.slack.Unacked(); len(un) != 0 {
		t.Errorf("envelopes never acknowledged: %v", un)
	}
}

// waitDecided waits until n requests exist and none is pending or
// executing, and returns them.
func waitDecided(t *testing.T, st store.Store, n int, d time.Duration) []*store.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	for {
		reqs, err := st.ListRequests(ctx, "", 0)
		if err != nil {
			t.Fatalf("list requests: %v", err)
		}
		open := slices.ContainsFunc(reqs, func(r *store.Request) bool { return !r.State.Final() })
		if len(reqs) == n && !open {
			return reqs
		}
		select {
		case <-ctx.Done():
			states := map[store.State]int{}
			for _, r := range reqs {
				states[r.State]++
			}
			t.Fatalf("after %s: %d requests, by state %v; want %d, all decided", d, len(reqs), states, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
