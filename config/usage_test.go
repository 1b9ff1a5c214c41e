package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// settingsTable is the settings table of the interface, plus the settings
// added since, in the order `dialogbot env` prints them.
var settingsTable = []struct{ key, shown string }{
	{"SLACK_BOT_TOKEN", "required for serve"},
	{"SLACK_APP_TOKEN", "required for serve"},
	{"SLACK_API_URL", "https://slack.com/api/"},
	{"DIALOGTECH_ACCESS_KEY", "required unless sandbox"},
	{"DIALOGTECH_SECRET_ACCESS_KEY", "required unless sandbox"},
	{"DIALOGTECH_BASE_URL", "https://secure.dialogtech.com/ibp_api.php"},
	{"DIALOGTECH_SANDBOX", "false"},
	{"ADDONS_CACHE_TTL", "5s"},
	{"APPROVERS", "empty"},
	{"APPROVER_GROUPS", "empty"},
	{"ALLOW_SELF_APPROVAL", "false"},
	{"APPROVAL_TTL", "24h"},
	{"SECOND_APPROVAL_ABOVE", "empty (never)"},
	{"APPROVAL_REMIND_AFTER", "4h"},
	{"GROUP_REFRESH_INTERVAL", "10m"},
	{"CALLERS", "empty (anyone)"},
	{"ALERT_CHANNEL", "empty (alerts off)"},
	{"ALERT_SCHEDULE", `"*/15 * * * *"`},
	{"ALERT_THRESHOLD", "0.9"},
	{"ALERT_REPEAT_INTERVAL", "24h"},
	{"ALERT_CRITICAL_THRESHOLD", "1.0"},
	{"ALERT_RESOLVE_MARGIN", "0.05"},
	{"ALERT_THRESHOLDS", "empty"},
	{"ALERT_FORECAST_HORIZON", "168h"},
	{"ALERT_ERROR_AFTER", "3"},
	{"ALERT_LEASE_TTL", "1m"},
	{"DATABASE_URL", "sqlite:dialogbot.db"},
	{"HTTP_ADDR", "127.0.0.1:9090"},
	{"WORKERS", "8"},
	{"SHUTDOWN_TIMEOUT", "10s"},
	{"LOG_LEVEL", "info"},
	{"LOG_FORMAT", "auto"},
}

func TestUsageListsEverySetting(t *testing.T) {
	var buf bytes.Buffer
	if err := Usage(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if got := strings.Fields(lines[0]); !cmp.Equal(got, []string{"VARIABLE", "DEFAULT", "MEANING"}) {
		t.Errorf("header = %q", lines[0])
	}
	var keys, wantKeys []string
	for _, l := range lines[1:] {
		keys = append(keys, strings.Fields(l)[0])
	}
	for _, s := range settingsTable {
		wantKeys = append(wantKeys, s.key)
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Fatalf("variables (-want +got):\n%s", diff)
	}
	// The DEFAULT column starts where the header's does; MEANING is never
	// empty.
	defaultCol := strings.Index(lines[0], "DEFAULT")
	meaningCol := strings.Index(lines[0], "MEANING")
	for i, s := range settingsTable {
		l := lines[i+1]
		if got := strings.TrimSpace(l[defaultCol:meaningCol]); got != s.shown {
			t.Errorf("%s: default shown as %q, want %q", s.key, got, s.shown)
		}
		if strings.TrimSpace(l[meaningCol:]) == "" {
			t.Errorf("%s: no meaning", s.key)
		}
	}
}

// Usage (envconfig's view of the tags) and LoadFrom must agree on the
// variables, or `dialogbot env` would document a setting nobody reads.
func TestUsageMatchesLoadFrom(t *testing.T) {
	var read []string
	_, err := LoadFrom(func(key string) (string, bool) {
		read = append(read, key)
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range settingsTable {
		listed = append(listed, s.key)
	}
	if diff := cmp.Diff(listed, read); diff != "" {
		t.Errorf("variables read by LoadFrom (-listed +read):\n%s", diff)
	}
}
