package replicatest

import (
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// leaseTTL is ALERT_LEASE_TTL for the test: long enough that a busy
// machine does not make the holder miss it, short enough for a takeover.
const leaseTTL = 3 * time.Second

// alertPosts are the channel messages (not thread replies) about an add-on.
func (c *cluster) alertPosts(addOn string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range c.slack.Messages(alertChannel) {
		if m.ThreadTS == "" && strings.Contains(slacktest.TextOf(m), addOn) {
			out = append(out, m)
		}
	}
	return out
}

// waitAlert waits for the first post about addOn.
func (c *cluster) waitAlert(addOn string, d time.Duration) slacktest.Message {
	c.t.Helper()
	m, err := c.slack.WaitForMessage(c.ctx(d), func(m slacktest.Message) bool {
		return m.Channel == alertChannel && m.ThreadTS == "" && strings.Contains(slacktest.TextOf(m), addOn)
	})
	if err != nil {
		c.t.Fatalf("no alert about %s within %s: %v\nchannel: %+v", addOn, d, err, c.slack.Messages(alertChannel))
	}
	return m
}

// waitReads waits until DialogTech has been read n more times: n more
// ticks of whichever replica runs the schedule.
func (c *cluster) waitReads(n int, d time.Duration) {
	c.t.Helper()
	want := c.sim.CallCount(dialog.ActionAddOnsList) + n
	deadline := time.Now().Add(d)
	for c.sim.CallCount(dialog.ActionAddOnsList) < want {
		if time.Now().After(deadline) {
			c.t.Fatalf("DialogTech was read %d times, want %d within %s", c.sim.CallCount(dialog.ActionAddOnsList), want, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasAlertOnce runs the alert schedule every second on two
// replicas: one of them reads DialogTech and posts, each alert once; when
// it is killed, the other takes the schedule over and posts the next alert,
// once.
func TestReplicasAlertOnce(t *testing.T) {
	c := newCluster(t)
	// Nothing near its limit at first (the vendor's example has a full
	// add-on), and room for the alerts below.
	for _, a := range c.sim.AddOns() {
		if err := c.sim.SetUsage(a.ItemID, 0, max(a.TotalQty, 100)); err != nil {
			t.Fatal(err)
		}
	}
	c.start(2, "ALERT_CHANNEL="+alertChannel, "ALERT_SCHEDULE=@every 1s", "ALERT_LEASE_TTL="+leaseTTL.String())

	holder := c.leaseHolder(30 * time.Second)
	if err := c.sim.SetUsage(6, 95, 100); err != nil { // Local Number
		t.Fatal(err)
	}
	first := c.waitAlert("Local Number", 30*time.Second)
	if !strings.Contains(slacktest.TextOf(first), "95") {
		t.Errorf("alert does not show the usage:\n%s", slacktest.TextOf(first))
	}
	// Several more ticks: still the one post.
	c.waitReads(4, 30*time.Second)
	if posts := c.alertPosts("Local Number"); len(posts) != 1 {
		t.Fatalf("%d posts about Local Number, want 1: %+v", len(posts), posts)
	}
	if now := c.leaseHolder(time.Second); now != holder {
		t.Errorf("the schedule moved from %s to %s while both ran", holder.name, now.name)
	}
	// Only the holder ever ran the schedule; the other skipped its ticks.
	for _, r := range c.live() {
		took := logLines(r, "alerts: this replica runs the schedule")
		skipped := logLines(r, "alerts: another replica runs the schedule; tick skipped")
		switch {
		case r == holder && (took != 1 || skipped != 0):
			t.Errorf("holder %s took the schedule %d times and skipped %d ticks, want 1 and 0", r.name, took, skipped)
		case r != holder && (took != 0 || skipped == 0):
			t.Errorf("%s took the schedule %d times and skipped %d ticks, want 0 and some", r.name, took, skipped)
		}
	}

	holder.kill(t)
	if err := c.sim.SetUsage(5, 96, 100); err != nil { // Basic Voice Broadcast Ports
		t.Fatal(err)
	}
	// The lease runs to the dead holder's next tick and leaseTTL past it.
	c.waitAlert("Basic Voice Broadcast Ports", leaseTTL+20*time.Second)
	survivor := c.leaseHolder(time.Second)
	if survivor == holder {
		t.Fatalf("the killed %s still holds the schedule", holder.name)
	}
	if n := logLines(survivor, "alerts: this replica runs the schedule"); n != 1 {
		t.Errorf("survivor %s took the schedule %d times, want 1", survivor.name, n)
	}
	c.waitReads(4, 30*time.Second)
	if posts := c.alertPosts("Basic Voice Broadcast Ports"); len(posts) != 1 {
		t.Errorf("%d posts about Basic Voice Broadcast Ports, want 1: %+v", len(posts), posts)
	}
	// The survivor carries the first episode on without posting it again.
	if posts := c.alertPosts("Local Number"); len(posts) != 1 {
		t.Errorf("%d posts about Local Number after the takeover, want 1: %+v", len(posts), posts)
	}
}
