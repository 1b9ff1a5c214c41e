package replicatest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/store"
)

// waitRequests waits until the store holds n requests, and a moment more
// to see that no other appears.
func (c *cluster) waitRequests(n int) []*store.Request {
	c.t.Helper()
	st := c.openStore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		reqs, err := st.ListRequests(c.t.Context(), "", 0)
		if err != nil {
			c.t.Fatal(err)
		}
		if len(reqs) >= n {
			time.Sleep(500 * time.Millisecond)
			if reqs, err = st.ListRequests(c.t.Context(), "", 0); err != nil {
				c.t.Fatal(err)
			}
			return reqs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d requests after 30s, want %d", len(reqs), n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// requestPosts are the request messages in channel.
func (c *cluster) requestPosts(channel string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range c.slack.Messages(channel) {
		if m.ThreadTS == "" && strings.Contains(slacktest.TextOf(m), "Approval needed") {
			out = append(out, m)
		}
	}
	return out
}

// TestReplicasRedeliveredCommandOneRequest: Slack delivers a /numbers order
// to one replica and, its ack being late, again to the other: one request,
// one request message, and approving it orders once. Both the redelivery
// after the first replica answered and the two at once.
func TestReplicasRedeliveredCommandOneRequest(t *testing.T) {
	c := newCluster(t)
	c.start(2)
	conns := c.slack.ConnIDs()

	d, err := c.slack.SendSlashCommand(c.ctx(30*time.Second), slacktest.SlashCommand{Command: "/numbers", Text: "order 312 2", UserID: requester, ChannelID: requestChannel, Conn: conns[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.slack.WaitForResponse(c.ctx(30*time.Second), d, 1); err != nil {
		t.Fatal(err)
	}
	again, err := c.slack.Redeliver(c.ctx(30*time.Second), d)
	if err != nil {
		t.Fatal(err)
	}
	if again.Conn == d.Conn {
		t.Fatalf("the redelivery went to the same connection %d", d.Conn)
	}
	// At once: another command, delivered to both replicas together.
	d2, err := c.slack.SendSlashCommand(c.ctx(30*time.Second), slacktest.SlashCommand{Command: "/addons", Text: "buy 6 3", UserID: requester, ChannelID: requestChannel, Conn: conns[1]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.slack.Redeliver(c.ctx(30*time.Second), d2); err != nil {
		t.Fatal(err)
	}

	reqs := c.waitRequests(2)
	if len(reqs) != 2 {
		t.Fatalf("%d requests for two commands each delivered twice, want 2", len(reqs))
	}
	if posts := c.requestPosts(requestChannel); len(posts) != 2 {
		t.Errorf("%d request messages, want 2", len(posts))
	}
	var order *store.Request
	for _, r := range reqs {
		if r.Kind == store.KindOrder {
			order = r
		}
	}
	if order == nil {
		t.Fatal("no order request")
	}
	m, err := c.slack.WaitForMessage(c.ctx(30*time.Second), func(m slacktest.Message) bool {
		return m.TS == order.MessageTS && len(slacktest.ButtonsOf(m)) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.slack.PressOn(c.ctx(30*time.Second), conns[1], approverA, m, "Approve"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r, err := c.openStore().GetRequest(t.Context(), order.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.Final() {
			if r.State != store.StateSucceeded {
				t.Errorf("order is %s, want succeeded", r.State)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order still %s after a minute", r.State)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if n := c.sim.CallCount(dialog.ActionNumbersOrder); n != 1 {
		t.Errorf("%d numbers.order calls, want 1", n)
	}
}

// TestReplicasRequestMoreOncePerEpisode: Request more on one alert pressed
// by two people through both replicas at once, and pressed again: one
// request for the episode.
func TestReplicasRequestMoreOncePerEpisode(t *testing.T) {
	c := newCluster(t)
	for _, a := range c.sim.AddOns() {
		if err := c.sim.SetUsage(a.ItemID, 0, max(a.TotalQty, 100)); err != nil {
			t.Fatal(err)
		}
	}
	c.start(2, "ALERT_CHANNEL="+alertChannel, "ALERT_SCHEDULE=@every 1s", "ALERT_LEASE_TTL="+leaseTTL.String())
	if err := c.sim.SetUsage(6, 95, 100); err != nil {
		t.Fatal(err)
	}
	alert := c.waitAlert("Local Number", 30*time.Second)
	conns := c.slack.ConnIDs()
	var wg sync.WaitGroup
	for i, user := range []string{requester, approverA, requester} {
		wg.Go(func() {
			if _, err := c.slack.PressOn(c.ctx(30*time.Second), conns[i%2], user, alert, "Request more"); err != nil {
				t.Errorf("press Request more as %s: %v", user, err)
			}
		})
	}
	wg.Wait()
	reqs := c.waitRequests(1)
	if len(reqs) != 1 {
		t.Fatalf("%d requests from one alert episode's Request more, want 1", len(reqs))
	}
	if posts := c.requestPosts(alertChannel); len(posts) != 1 {
		t.Errorf("%d request messages, want 1", len(posts))
	}
	if !strings.HasPrefix(reqs[0].IdemKey, "more:addon:6:") {
		t.Errorf("request key %q, want the alert episode's", reqs[0].IdemKey)
	}
}
