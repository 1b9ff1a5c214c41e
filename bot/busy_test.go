package bot_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// heldAccount holds every read of the add-ons while hold is set, so a test
// can keep the workers busy for as long as it needs.
type heldAccount struct {
	command.Account
	hold    atomic.Bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func holding(a command.Account) *heldAccount {
	return &heldAccount{Account: a, entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (h *heldAccount) ListAddOns(ctx context.Context) ([]dialog.AddOn, error) {
	if h.hold.Load() {
		h.entered <- struct{}{}
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Account.ListAddOns(ctx)
}

func (h *heldAccount) let() { h.once.Do(func() { close(h.release) }) }

// busyCounter is an observer that counts busy notices.
type busyCounter struct {
	mu   sync.Mutex
	told map[string]int
}

func (c *busyCounter) Envelope(string)             {}
func (c *busyCounter) Acked(string, time.Duration) {}
func (c *busyCounter) Connection(string)           {}
func (c *busyCounter) Busy(kind string, told bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.told == nil {
		c.told = map[string]int{}
	}
	if told {
		c.told[kind]++
	} else {
		c.told[kind+" untold"]++
	}
}

func (c *busyCounter) get(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.told[kind]
}

// oneJob is a work queue budget that holds one slash command and not two.
const oneJob = 700

// busyWorld has one worker, a queue that holds one job, and an account
// whose reads can be held.
func busyWorld(t *testing.T) (*world, *heldAccount, *busyCounter) {
	t.Helper()
	var held *heldAccount
	obs := &busyCounter{}
	w := newWorld(t, options{workers: 1, queueMemory: oneJob, observer: obs, sweepInterval: 20 * time.Millisecond,
		account: func(a command.Account) command.Account { held = holding(a); return held }})
	t.Cleanup(held.let)
	return w, held, obs
}

// fill takes the one worker (held in a read) and the one queue slot.
func fill(t *testing.T, w *world, held *heldAccount) (running, queued *slacktest.Delivery) {
	t.Helper()
	held.hold.Store(true)
	send := func() *slacktest.Delivery {
		d, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/addons", UserID: requester, ChannelID: channel})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	running = send()
	select {
	case <-held.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker never took the first command")
	}
	queued = send()
	if _, err := w.slack.WaitAck(w.ctx(), queued.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	return running, queued
}

// A command or a click that finds the queue full is acked, not run, and
// the person is told so; a metric counts it. What was queued still runs.
func TestBusyTellsThePerson(t *testing.T) {
	w, held, obs := busyWorld(t)
	held.hold.Store(false)
	m := w.ask(requester, "/numbers order 312 1")
	running, queued := fill(t, w, held)

	over, err := w.slack.SendSlashCommand(w.ctx(), slacktest.SlashCommand{Command: "/addons", Text: "buy 6 1", UserID: requester, ChannelID: channel})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := w.slack.WaitForResponse(w.ctx(), over, 1)
	if err != nil {
		t.Fatalf("the command over the budget was never answered: %v", err)
	}
	if got := responseText(rs[0]); !strings.Contains(got, "dialogbot is busy, nothing was done, try again") {
		t.Errorf("reply to a command over the budget = %q; want the busy notice", got)
	}
	if rs[0].ResponseType != "" && rs[0].ResponseType != "ephemeral" {
		t.Errorf("busy notice response_type %q; want ephemeral", rs[0].ResponseType)
	}
	click := w.click(approver, m, "Approve")
	w.ephemeral(approver, "dialogbot is busy, nothing was done, try again")
	if _, err := w.slack.WaitAck(w.ctx(), click.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if got := obs.get("slash_commands"); got != 1 {
		t.Errorf("busy slash commands counted: %d; want 1", got)
	}
	if got := obs.get("interactive"); got != 1 {
		t.Errorf("busy clicks counted: %d; want 1", got)
	}

	held.hold.Store(false)
	held.let()
	for _, d := range []*slacktest.Delivery{running, queued} {
		rs, err := w.slack.WaitForResponse(w.ctx(), d, 1)
		if err != nil {
			t.Fatalf("queued command never answered: %v", err)
		}
		if got := responseText(rs[0]); !strings.Contains(got, "Add-ons, fullest first") {
			t.Errorf("queued /addons answered %q; want the list", got)
		}
	}
	// Nothing was done for the refused ones: no request opened, no order.
	time.Sleep(100 * time.Millisecond)
	if rs := w.slack.ResponsesFor(over); len(rs) != 1 {
		t.Errorf("the refused command got %d answers; want the busy notice only", len(rs))
	}
	if n := len(w.requests()); n != 1 {
		t.Errorf("%d requests in the store; want 1 (the refused /addons buy opened none)", n)
	}
	if n := buyingCalls(w.sim); n != 0 {
		t.Errorf("the refused Approve made %d buying calls", n)
	}
}

// The sweep does not wait in the work queue: with the one worker held and
// the queue full, an expired request is still closed.
func TestSweepRunsWhenQueueIsFull(t *testing.T) {
	w, held, _ := busyWorld(t)
	held.hold.Store(false)
	m := w.ask(requester, "/numbers order 312 2")
	fill(t, w, held)
	w.clock.Advance(2 * time.Hour) // TTL is one hour
	w.updated(m.TS, "Expired")
	held.hold.Store(false)
	held.let()
}
