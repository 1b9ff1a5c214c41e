package app_test

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
)

// totalShown reads "in_use/total" of item_id item from an /addons reply.
func totalShown(t *testing.T, text string, item int) int {
	t.Helper()
	// A usage line: "Name  in_use/total ... item_id N · ..."
	re := regexp.MustCompile(`(\d+)/(\d+)[^\n]*\n?[^\n]*item_id ` + strconv.Itoa(item) + ` `)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no total for item_id %d in:\n%s", item, text)
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

// /addons right after an approved /addons buy shows the new total, though
// the reading before the purchase is younger than ADDONS_CACHE_TTL; before
// the purchase, /addons answers from that reading.
func TestAddOnsAfterApprovedBuy(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{"ADDONS_CACHE_TTL": "1h"}})
	before := totalShown(t, responseText(w.slash(requester, "/addons")), 6)
	if err := w.sim.SetUsage(6, 1, before+10); err != nil {
		t.Fatal(err)
	}
	if got := totalShown(t, responseText(w.slash(requester, "/addons")), 6); got != before {
		t.Fatalf("within the TTL /addons showed %d; want the cached %d", got, before)
	}
	lists := w.sim.CallCount(dialog.ActionAddOnsList)
	m := w.ask(requester, "/addons buy 6 2")
	w.click(approver, m, "Approve")
	w.updated(m.TS, "bought")
	if got, want := totalShown(t, responseText(w.slash(requester, "/addons")), 6), before+10+2; got != want {
		t.Errorf("/addons after the approved purchase showed total %d; want %d", got, want)
	}
	if got := w.sim.CallCount(dialog.ActionAddOnsList); got <= lists {
		t.Errorf("addons.list calls %d → %d: /addons after the purchase did not read DialogTech", lists, got)
	}
	body := w.metrics()
	for _, series := range []string{`dialogbot_addons_reads_total{source="cache"}`, `dialogbot_addons_reads_total{source="dialogtech"}`} {
		if metricValue(t, body, series) < 1 {
			t.Errorf("%s not counted", series)
		}
	}
	if got, want := metricValue(t, body, `dialogbot_dialogtech_calls_total{action="addons.list",outcome="success"}`), float64(w.sim.CallCount(dialog.ActionAddOnsList)); got != want {
		t.Errorf("DialogTech calls metric says %v addons.list calls; the simulator counted %v", got, want)
	}
}

// Concurrent /addons share addons.list calls.
func TestAddOnsBurstSpared(t *testing.T) {
	w := newWorld(t, options{})
	const n = 200
	var wg sync.WaitGroup
	ds := make([]*slacktest.Delivery, n)
	for i := range n {
		wg.Go(func() {
			d, err := w.slack.SendSlashCommand(w.ctx(), slackCommand("/addons", ""))
			if err != nil {
				t.Error(err)
				return
			}
			ds[i] = d
		})
	}
	wg.Wait()
	for _, d := range ds {
		if d == nil {
			t.FailNow()
		}
		rs, err := w.slack.WaitForResponse(w.ctx(), d, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(responseText(rs[0]), "fullest first") {
			t.Fatalf("answer %q; want the add-ons", responseText(rs[0]))
		}
	}
	if got := w.sim.CallCount(dialog.ActionAddOnsList); got > 5 {
		t.Errorf("%d concurrent /addons made %d addons.list calls; want at most 5", n, got)
	}
}
