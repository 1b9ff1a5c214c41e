package metrics_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
	"github.com/google/go-cmp/cmp"
)

// TestAlertRunsLastSeenAndWaiting: the series the alerting rules read for
// the capacity checks, a silent socket and waiting requests.
func TestAlertRunsLastSeenAndWaiting(t *testing.T) {
	m := metrics.New(known)
	m.AlertRun("ok")
	m.AlertRun("error")
	m.AlertRun("error")
	m.AlertRun("bogus")
	if diff := cmp.Diff([]string{
		`dialogbot_alert_runs_total{outcome="error"} 2`,
		`dialogbot_alert_runs_total{outcome="ok"} 1`,
		`dialogbot_alert_runs_total{outcome="other"} 1`,
		`dialogbot_alert_runs_total{outcome="skipped"} 0`,
	}, scrape(t, m, "dialogbot_alert_runs_total{")); diff != "" {
		t.Errorf("alert runs (-want +got):\n%s", diff)
	}

	seen := time.Unix(1700000000, 500_000_000)
	m.WatchSocket(func() time.Time { return seen })
	if got := scrape(t, m, "dialogbot_socket_last_seen_timestamp_seconds "); !cmp.Equal(got, []string{"dialogbot_socket_last_seen_timestamp_seconds 1.7000000005e+09"}) {
		t.Errorf("last seen: %v", got)
	}

	if got := scrape(t, m, "dialogbot_requests_waiting"); len(got) != 0 {
		t.Errorf("waiting requests shown before anything reports them: %v", got)
	}
	oldest := time.Now().Add(-90 * time.Minute)
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) {
		return map[string]metrics.Waiting{"pending": {Count: 3, Oldest: oldest}}, nil
	})
	if diff := cmp.Diff([]string{`dialogbot_requests_waiting{state="pending"} 3`, `dialogbot_requests_waiting{state="unknown"} 0`},
		scrape(t, m, "dialogbot_requests_waiting{")); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	age := scrape(t, m, `dialogbot_request_oldest_waiting_seconds{state="pending"} `)
	if len(age) != 1 || !strings.HasPrefix(age[0], `dialogbot_request_oldest_waiting_seconds{state="pending"} 540`) {
		t.Errorf("oldest pending age: %v, want about 5400 s", age)
	}
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) { return nil, errors.New("store down") })
	if got := scrape(t, m, "dialogbot_requests_waiting"); len(got) != 0 {
		t.Errorf("a failed read still shows values: %v", got)
	}
}

var rulesDir = filepath.Join("..", "deploy", "prometheus")

// TestRulesReadExportedSeries: every dialogbot_* series the alerting
// rules read is one dialogbot exports, so that no rule waits on a series
// that never comes.
func TestRulesReadExportedSeries(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(rulesDir, "dialogbot.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(known)
	m.WatchSocket(time.Now)
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) { return nil, nil })
	var exported []string
	for name := range parse(t, scrapeBody(t, m)) {
		exported = append(exported, name)
	}
	slices.Sort(exported)
	used := regexp.MustCompile(`\bdialogbot_[a-z_]+`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("the rules read no dialogbot series")
	}
	for _, name := range used {
		if !slices.Contains(exported, name) {
			t.Errorf("the rules read %s, which dialogbot does not export (it exports %v)", name, exported)
		}
	}
}

// TestEveryRuleHasAFiringTest: each alert of the rules file is fired by a
// test in the promtool test file (an alert_rule_test with exp_alerts).
func TestEveryRuleHasAFiringTest(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(rulesDir, "dialogbot.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(rulesDir, "dialogbot.rules.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) == 0 {
		t.Fatal("no alerts in the rules file")
	}
	fired := regexp.MustCompile(`(?m)^\s*alertname: (\S+)\n\s*exp_alerts:\n\s*- exp_labels`).FindAllStringSubmatch(string(tests), -1)
	var firing []string
	for _, f := range fired {
		firing = append(firing, f[1])
	}
	for _, a := range alerts {
		if !slices.Contains(firing, a[1]) {
			t.Errorf("no test fires %s", a[1])
		}
	}
}

// TestPromtool runs promtool on the rules when it is installed (.ci/run
// installs it): the rules are valid and their tests pass.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus); .ci/run runs it")
	}
	for _, args := range [][]string{{"check", "rules", "dialogbot.rules.yml"}, {"test", "rules", "dialogbot.rules.test.yml"}} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
