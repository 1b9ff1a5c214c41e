package config

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kelseyhightower/envconfig"
)

// env is a test environment for LoadFrom.
type env map[string]string

func (e env) lookup(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

// with returns a copy of e with the given key/value pairs added.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// allowUnexported compares the mode too; which variables were set is
// IsSet's business (TestIsSet).
var allowUnexported = cmp.Options{cmp.AllowUnexported(Config{}), cmpopts.IgnoreFields(Config{}, "set")}

func defaults() *Config {
	return &Config{
		SlackAPIURL:            "https://slack.com/api/",
		DialogTechBaseURL:      "https://secure.dialogtech.com/ibp_api.php",
		AddOnsCacheTTL:         5 * time.Second,
		ApprovalTTL:            24 * time.Hour,
		ApprovalRemindAfter:    4 * time.Hour,
		GroupRefresh:           10 * time.Minute,
		AlertSchedule:          "*/15 * * * *",
		AlertThreshold:         0.9,
		AlertRepeatInterval:    24 * time.Hour,
		AlertCriticalThreshold: 1.0,
		AlertResolveMargin:     0.05,
		AlertThresholds:        Thresholds{},
		AlertForecastHorizon:   168 * time.Hour,
		AlertErrorAfter:        3,
		AlertLeaseTTL:          time.Minute,
		DatabaseURL:            "sqlite:dialogbot.db",
		HTTPAddr:               "127.0.0.1:9090",
		Workers:                8,
		ShutdownTimeout:        10 * time.Second,
		LogLevelName:           "info",
		LogFormat:              "auto",
	}
}

func TestLoadDefaults(t *testing.T) {
	got, err := LoadFrom(env{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaults(), got, allowUnexported); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// envconfig would keep "" for a variable that is set but empty; an empty
// line in an env file must not turn ALERT_THRESHOLD into 0 or WORKERS into
// a parse error.
func TestLoadEmptyMeansDefault(t *testing.T) {
	e := env{}
	for _, f := range settingFields() {
		e[f.key] = ""
	}
	got, err := LoadFrom(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.HTTPAddr = "" // empty HTTP_ADDR means off, not the default
	if diff := cmp.Diff(want, got, allowUnexported); diff != "" {
		t.Errorf("all set to empty (-want +got):\n%s", diff)
	}
}

var everySetting = env{
	"SLACK_BOT_TOKEN":              "xoxb-1-bot",
	"SLACK_APP_TOKEN":              "xapp-1-app",
	"SLACK_API_URL":                "http://127.0.0.1:8080/api/",
	"DIALOGTECH_ACCESS_KEY":        "access",
	"DIALOGTECH_SECRET_ACCESS_KEY": "secret",
	"DIALOGTECH_BASE_URL":          "http://127.0.0.1:8081/ibp_api.php",
	"DIALOGTECH_SANDBOX":           "true",
	"ADDONS_CACHE_TTL":             "2s",
	"APPROVERS":                    "U0001,W0002",
	"APPROVER_GROUPS":              "S0FIN,S0OPS",
	"ALLOW_SELF_APPROVAL":          "true",
	"APPROVAL_TTL":                 "2h",
	"SECOND_APPROVAL_ABOVE":        "qty:10",
	"APPROVAL_REMIND_AFTER":        "0",
	"GROUP_REFRESH_INTERVAL":       "1m",
	"CALLERS":                      "U0001,S0OPS",
	"ALERT_CHANNEL":                "C0ALERTS",
	"ALERT_SCHEDULE":               "@every 30s",
	"ALERT_THRESHOLD":              "0.8",
	"ALERT_REPEAT_INTERVAL":        "6h",
	"ALERT_CRITICAL_THRESHOLD":     "0.95",
	"ALERT_RESOLVE_MARGIN":         "0.1",
	"ALERT_THRESHOLDS":             "6:0.7,3:0.9",
	"ALERT_FORECAST_HORIZON":       "48h",
	"ALERT_ERROR_AFTER":            "5",
	"ALERT_LEASE_TTL":              "15s",
	"DATABASE_URL":                 "postgres://bot:pw@127.0.0.1/bot",
	"HTTP_ADDR":                    ":9191",
	"WORKERS":                      "4",
	"SHUTDOWN_TIMEOUT":             "30s",
	"LOG_LEVEL":                    "debug",
	"LOG_FORMAT":                   "json",
}

func everySettingConfig() *Config {
	return &Config{
		SlackBotToken:             "xoxb-1-bot",
		SlackAppToken:             "xapp-1-app",
		SlackAPIURL:               "http://127.0.0.1:8080/api/",
		DialogTechAccessKey:       "access",
		DialogTechSecretAccessKey: "secret",
		DialogTechBaseURL:         "http://127.0.0.1:8081/ibp_api.php",
		DialogTechSandbox:         true,
		AddOnsCacheTTL:            2 * time.Second,
		Approvers:                 []string{"U0001", "W0002"},
		ApproverGroups:            []string{"S0FIN", "S0OPS"},
		AllowSelfApproval:         true,
		ApprovalTTL:               2 * time.Hour,
		SecondApprovalAbove:       ApprovalThreshold{Qty: 10},
		GroupRefresh:              time.Minute,
		Callers:                   []string{"U0001", "S0OPS"},
		AlertChannel:              "C0ALERTS",
		AlertSchedule:             "@every 30s",
		AlertThreshold:            0.8,
		AlertRepeatInterval:       6 * time.Hour,
		AlertCriticalThreshold:    0.95,
		AlertResolveMargin:        0.1,
		AlertThresholds:           Thresholds{6: 0.7, 3: 0.9},
		AlertForecastHorizon:      48 * time.Hour,
		AlertErrorAfter:           5,
		AlertLeaseTTL:             15 * time.Second,
		DatabaseURL:               "postgres://bot:pw@127.0.0.1/bot",
		HTTPAddr:                  ":9191",
		Workers:                   4,
		ShutdownTimeout:           30 * time.Second,
		LogLevelName:              "debug",
		LogFormat:                 "json",
	}
}

func TestLoadEverySetting(t *testing.T) {
	got, err := LoadFrom(everySetting.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(everySettingConfig(), got, allowUnexported); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := got.Validate(ModeServe); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// The loader reads the same variables into the same fields as
// envconfig.Process does, so the struct tags mean what envconfig says.
func TestLoadAgreesWithEnvconfig(t *testing.T) {
	for k, v := range everySetting {
		t.Setenv(k, v)
	}
	var viaEnvconfig Config
	if err := envconfig.Process("", &viaEnvconfig); err != nil {
		t.Fatal(err)
	}
	got, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&viaEnvconfig, got, allowUnexported); diff != "" {
		t.Errorf("envconfig.Process (-) vs Load (+):\n%s", diff)
	}
}

func TestLoadTrimsApprovers(t *testing.T) {
	got, err := LoadFrom(env{"APPROVERS": " U0001, W0002,,"}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"U0001", "W0002"}, got.Approvers); diff != "" {
		t.Errorf("Approvers (-want +got):\n%s", diff)
	}
}

func TestLoadParseErrors(t *testing.T) {
	tests := []struct {
		key, value string
		want       string
	}{
		{"ALERT_THRESHOLD", "abc", `ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got "abc")`},
		{"ALERT_CRITICAL_THRESHOLD", "high", `ALERT_CRITICAL_THRESHOLD: must be a number from ALERT_THRESHOLD to 1 (got "high")`},
		{"ALERT_RESOLVE_MARGIN", "5%", `ALERT_RESOLVE_MARGIN: must be a number from 0 up to (not including) the lowest alert threshold (got "5%")`},
		{"DIALOGTECH_SANDBOX", "yes", `DIALOGTECH_SANDBOX: must be true or false (got "yes")`},
		{"ALLOW_SELF_APPROVAL", "2", `ALLOW_SELF_APPROVAL: must be true or false (got "2")`},
		{"APPROVAL_TTL", "1", `APPROVAL_TTL: must be a positive duration such as "24h", "90m" or "30s" (got "1")`},
		{"ALERT_REPEAT_INTERVAL", "1 day", `ALERT_REPEAT_INTERVAL: must be a positive duration such as "24h", "90m" or "30s" (got "1 day")`},
		{"ALERT_FORECAST_HORIZON", "7d", `ALERT_FORECAST_HORIZON: must be a positive duration such as "24h", "90m" or "30s" (got "7d")`},
		{"SHUTDOWN_TIMEOUT", "soon", `SHUTDOWN_TIMEOUT: must be a positive duration such as "24h", "90m" or "30s" (got "soon")`},
		{"ALERT_LEASE_TTL", "1 minute", `ALERT_LEASE_TTL: must be a positive duration such as "24h", "90m" or "30s" (got "1 minute")`},
		{"APPROVAL_REMIND_AFTER", "4 hours", `APPROVAL_REMIND_AFTER: must be a duration such as "4h" or "30m", or 0 to turn reminders off (got "4 hours")`},
		{"SECOND_APPROVAL_ABOVE", "lots", `SECOND_APPROVAL_ABOVE: must be an amount such as 500 or a quantity such as qty:10 (got "lots")`},
		{"SECOND_APPROVAL_ABOVE", "-5", `SECOND_APPROVAL_ABOVE: must be an amount such as 500 or a quantity such as qty:10 (got "-5")`},
		{"SECOND_APPROVAL_ABOVE", "qty:0", `SECOND_APPROVAL_ABOVE: must be an amount such as 500 or a quantity such as qty:10 (got "qty:0"): the quantity must be a whole number of at least 1`},
		{"SECOND_APPROVAL_ABOVE", "qty:ten", `SECOND_APPROVAL_ABOVE: must be an amount such as 500 or a quantity such as qty:10 (got "qty:ten"): the quantity must be a whole number of at least 1`},
		{"ADDONS_CACHE_TTL", "5", `ADDONS_CACHE_TTL: must be a duration of at least 0s such as "5s" or "0s" (got "5")`},
		{"WORKERS", "eight", `WORKERS: must be a whole number from 1 to 1024 (got "eight")`},
		{"ALERT_ERROR_AFTER", "1.5", `ALERT_ERROR_AFTER: must be a whole number of at least 1 (got "1.5")`},
		{"ALERT_THRESHOLDS", "6=0.8", `ALERT_THRESHOLDS: "6=0.8" is not item_id:threshold (e.g. "6:0.8,3:0.95")`},
		{"ALERT_THRESHOLDS", "x:0.8", `ALERT_THRESHOLDS: "x:0.8": item_id must be a positive whole number`},
		{"ALERT_THRESHOLDS", "0:0.8", `ALERT_THRESHOLDS: "0:0.8": item_id must be a positive whole number`},
		{"ALERT_THRESHOLDS", "6:high", `ALERT_THRESHOLDS: "6:high": threshold must be a number`},
		{"ALERT_THRESHOLDS", "6:0.8, 6:0.9", `ALERT_THRESHOLDS: item_id 6 is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := LoadFrom(env{tt.key: tt.value}.lookup)
			var se *SettingError
			if !errors.As(err, &se) {
				t.Fatalf("LoadFrom error = %v, want a *SettingError", err)
			}
			if se.Var != tt.key {
				t.Errorf("Var = %q, want %q", se.Var, tt.key)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestThresholdsDecode(t *testing.T) {
	var got Thresholds
	if err := got.Decode(" 6:0.8 , 3: 0.95,"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Thresholds{6: 0.8, 3: 0.95}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := got.String(); s != "3:0.95,6:0.8" {
		t.Errorf("String() = %q, want %q", s, "3:0.95,6:0.8")
	}
}

// validServe is the smallest environment that passes Validate(ModeServe).
var validServe = env{
	"SLACK_BOT_TOKEN":              "xoxb-1-bot",
	"SLACK_APP_TOKEN":              "xapp-1-app",
	"DIALOGTECH_ACCESS_KEY":        "access",
	"DIALOGTECH_SECRET_ACCESS_KEY": "secret",
}

// problems lists the messages of the joined errors Validate returned,
// checking that each is a *SettingError.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []string
	for _, e := range errs {
		var se *SettingError
		if !errors.As(e, &se) {
			t.Errorf("%v is a %T, want *SettingError", e, e)
		}
		if strings.Contains(e.Error(), "\n") {
			t.Errorf("%q is more than one line", e.Error())
		}
		out = append(out, e.Error())
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		env  env
		mode Mode
		want []string
	}{
		{name: "minimal serve", env: validServe, mode: ModeServe},
		{name: "console needs nothing", env: env{}, mode: ModeConsole},
		{name: "every setting", env: everySetting, mode: ModeServe},

		// Slack tokens
		{name: "serve without tokens", env: validServe.with("SLACK_BOT_TOKEN", "", "SLACK_APP_TOKEN", ""), mode: ModeServe, want: []string{
			`SLACK_BOT_TOKEN: required for serve (the bot token, "xoxb-...")`,
			`SLACK_APP_TOKEN: required for serve (an app-level token, "xapp-...")`,
		}},
		{name: "bot token of the wrong kind", env: validServe.with("SLACK_BOT_TOKEN", "xoxp-user"), mode: ModeServe, want: []string{
			`SLACK_BOT_TOKEN: must start with "xoxb-"`,
		}},
		{name: "tokens swapped", env: validServe.with("SLACK_BOT_TOKEN", "xapp-1", "SLACK_APP_TOKEN", "xoxb-1"), mode: ModeServe, want: []string{
			`SLACK_BOT_TOKEN: must start with "xoxb-"`,
			`SLACK_APP_TOKEN: must start with "xapp-"`,
		}},
		{name: "console ignores Slack tokens", env: env{"SLACK_BOT_TOKEN": "nonsense"}, mode: ModeConsole},

		// DialogTech keys
		{name: "serve without DialogTech keys", env: validServe.with("DIALOGTECH_ACCESS_KEY", "", "DIALOGTECH_SECRET_ACCESS_KEY", ""), mode: ModeServe, want: []string{
			`DIALOGTECH_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true`,
			`DIALOGTECH_SECRET_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true`,
		}},
		{name: "serve without secret key", env: validServe.with("DIALOGTECH_SECRET_ACCESS_KEY", ""), mode: ModeServe, want: []string{
			`DIALOGTECH_SECRET_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true`,
		}},
		{name: "serve in sandbox without keys", env: validServe.with("DIALOGTECH_ACCESS_KEY", "", "DIALOGTECH_SECRET_ACCESS_KEY", "", "DIALOGTECH_SANDBOX", "true"), mode: ModeServe},
		{name: "console with access key only", env: env{"DIALOGTECH_ACCESS_KEY": "a"}, mode: ModeConsole, want: []string{
			`DIALOGTECH_SECRET_ACCESS_KEY: required when DIALOGTECH_ACCESS_KEY is set (leave both unset to use the sandbox)`,
		}},
		{name: "console with secret key only", env: env{"DIALOGTECH_SECRET_ACCESS_KEY": "s"}, mode: ModeConsole, want: []string{
			`DIALOGTECH_ACCESS_KEY: required when DIALOGTECH_SECRET_ACCESS_KEY is set (leave both unset to use the sandbox)`,
		}},
		{name: "console with both keys", env: env{"DIALOGTECH_ACCESS_KEY": "a", "DIALOGTECH_SECRET_ACCESS_KEY": "s"}, mode: ModeConsole},

		// URLs
		{name: "Slack URL without scheme", env: validServe.with("SLACK_API_URL", "slack.com/api/"), mode: ModeServe, want: []string{
			`SLACK_API_URL: must be an http:// or https:// URL (got no scheme)`,
		}},
		{name: "Slack URL with another scheme", env: validServe.with("SLACK_API_URL", "ftp://slack.com/api/"), mode: ModeServe, want: []string{
			`SLACK_API_URL: must be an http:// or https:// URL (got scheme "ftp")`,
		}},
		{name: "Slack URL that does not parse", env: validServe.with("SLACK_API_URL", "http://[::1/api/"), mode: ModeServe, want: []string{
			`SLACK_API_URL: must be an http:// or https:// URL (this one does not parse)`,
		}},
		{name: "DialogTech URL", env: validServe.with("DIALOGTECH_BASE_URL", "/ibp_api.php"), mode: ModeServe, want: []string{
			`DIALOGTECH_BASE_URL: must be an http:// or https:// URL (got no scheme)`,
		}},
		{name: "DialogTech URL with a password", env: validServe.with("DIALOGTECH_BASE_URL", "gopher://u:hunter2@h/"), mode: ModeServe, want: []string{
			`DIALOGTECH_BASE_URL: must be an http:// or https:// URL (got scheme "gopher")`,
		}},

		// Approvers
		{name: "approvers", env: validServe.with("APPROVERS", "U0123ABCD,W0123ABCD"), mode: ModeServe},
		{name: "approver by name", env: validServe.with("APPROVERS", "U0123ABCD,@bob,u0123,U1"), mode: ModeServe, want: []string{
			`APPROVERS: "@bob" is not a Slack user id (ids look like U0123ABCD; names and @mentions do not work)`,
			`APPROVERS: "u0123" is not a Slack user id (ids look like U0123ABCD; names and @mentions do not work)`,
			`APPROVERS: "U1" is not a Slack user id (ids look like U0123ABCD; names and @mentions do not work)`,
		}},
		{name: "approver groups", env: validServe.with("APPROVER_GROUPS", "S0123ABCD,U0123ABCD,@finance"), mode: ModeServe, want: []string{
			`APPROVER_GROUPS: "U0123ABCD" is not a Slack user group id (ids look like S0123ABCD: a group's page → ⋮ → Copy group ID; handles such as @finance do not work)`,
			`APPROVER_GROUPS: "@finance" is not a Slack user group id (ids look like S0123ABCD: a group's page → ⋮ → Copy group ID; handles such as @finance do not work)`,
		}},
		{name: "callers", env: validServe.with("CALLERS", "U0123ABCD,S0123ABCD,C0123ABCD"), mode: ModeServe, want: []string{
			`CALLERS: "C0123ABCD" is neither a Slack user id (U0123ABCD) nor a user group id (S0123ABCD)`,
		}},
		{name: "reminders off", env: validServe.with("APPROVAL_REMIND_AFTER", "0"), mode: ModeServe},
		{name: "reminder negative", env: validServe.with("APPROVAL_REMIND_AFTER", "-1h"), mode: ModeServe, want: []string{
			`APPROVAL_REMIND_AFTER: must be a duration such as "4h" or "30m", or 0 to turn reminders off (got "-1h0m0s")`,
		}},
		{name: "group refresh zero", env: validServe.with("GROUP_REFRESH_INTERVAL", "0s"), mode: ModeServe, want: []string{
			`GROUP_REFRESH_INTERVAL: must be a positive duration such as "24h", "90m" or "30s" (got "0s")`,
		}},
		{name: "approval TTL zero", env: validServe.with("APPROVAL_TTL", "0s"), mode: ModeServe, want: []string{
			`APPROVAL_TTL: must be a positive duration such as "24h", "90m" or "30s" (got "0s")`,
		}},

		// Alerts
		{name: "alert channel ids", env: validServe.with("ALERT_CHANNEL", "G0123"), mode: ModeServe},
		{name: "alert channel by name", env: validServe.with("ALERT_CHANNEL", "#alerts"), mode: ModeServe, want: []string{
			`ALERT_CHANNEL: must be a Slack channel id such as C0123ABCD, not a channel name (got "#alerts")`,
		}},
		{name: "schedule descriptor", env: validServe.with("ALERT_SCHEDULE", "@hourly"), mode: ModeServe},
		{name: "schedule with time zone", env: validServe.with("ALERT_SCHEDULE", "CRON_TZ=Europe/Paris 0 9 * * *"), mode: ModeServe},
		{name: "schedule with six fields", env: validServe.with("ALERT_SCHEDULE", "0 */15 * * * *"), mode: ModeServe, want: []string{
			`ALERT_SCHEDULE: must be a cron spec such as "*/15 * * * *" or "@every 30s" (got "0 */15 * * * *"): expected exactly 5 fields, found 6: [0 */15 * * * *]`,
		}},
		{name: "schedule that is only a time zone", env: validServe.with("ALERT_SCHEDULE", "CRON_TZ=UTC"), mode: ModeServe, want: []string{
			`ALERT_SCHEDULE: must be a cron spec such as "*/15 * * * *" or "@every 30s" (got "CRON_TZ=UTC"): a time zone needs a schedule after it`,
		}},
		{name: "threshold 1", env: validServe.with("ALERT_THRESHOLD", "1"), mode: ModeServe},
		{name: "threshold over 1", env: validServe.with("ALERT_THRESHOLD", "1.5"), mode: ModeServe, want: []string{
			`ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got "1.5")`,
		}},
		{name: "threshold 0", env: validServe.with("ALERT_THRESHOLD", "0"), mode: ModeServe, want: []string{
			`ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got "0")`,
		}},
		{name: "threshold NaN", env: validServe.with("ALERT_THRESHOLD", "NaN"), mode: ModeServe, want: []string{
			`ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got "NaN")`,
		}},
		{name: "repeat interval negative", env: validServe.with("ALERT_REPEAT_INTERVAL", "-1h"), mode: ModeServe, want: []string{
			`ALERT_REPEAT_INTERVAL: must be a positive duration such as "24h", "90m" or "30s" (got "-1h0m0s")`,
		}},
		{name: "critical equal to threshold", env: validServe.with("ALERT_CRITICAL_THRESHOLD", "0.9"), mode: ModeServe},
		{name: "critical under threshold", env: validServe.with("ALERT_CRITICAL_THRESHOLD", "0.8"), mode: ModeServe, want: []string{
			`ALERT_CRITICAL_THRESHOLD: must be at least ALERT_THRESHOLD (0.9) and at most 1 (got "0.8")`,
		}},
		{name: "critical over 1", env: validServe.with("ALERT_CRITICAL_THRESHOLD", "1.1"), mode: ModeServe, want: []string{
			`ALERT_CRITICAL_THRESHOLD: must be a number greater than 0 and at most 1 (got "1.1")`,
		}},
		{name: "margin 0", env: validServe.with("ALERT_RESOLVE_MARGIN", "0"), mode: ModeServe},
		{name: "margin negative", env: validServe.with("ALERT_RESOLVE_MARGIN", "-0.1"), mode: ModeServe, want: []string{
			`ALERT_RESOLVE_MARGIN: must be a number of at least 0 (got "-0.1")`,
		}},
		{name: "margin as large as the threshold", env: validServe.with("ALERT_RESOLVE_MARGIN", "0.9"), mode: ModeServe, want: []string{
			`ALERT_RESOLVE_MARGIN: must be at least 0 and less than ALERT_THRESHOLD (0.9) (got "0.9")`,
		}},
		{name: "margin as large as an add-on threshold", env: validServe.with("ALERT_THRESHOLDS", "6:0.5,3:0.05"), mode: ModeServe, want: []string{
			`ALERT_RESOLVE_MARGIN: must be at least 0 and less than ALERT_THRESHOLDS for item_id 3 (0.05) (got "0.05")`,
		}},
		{name: "add-on thresholds", env: validServe.with("ALERT_THRESHOLDS", "6:0.8,3:1"), mode: ModeServe},
		{name: "add-on thresholds out of range", env: validServe.with("ALERT_THRESHOLDS", "6:1.5,3:0"), mode: ModeServe, want: []string{
			`ALERT_THRESHOLDS: threshold of item_id 3 must be greater than 0 and at most ALERT_CRITICAL_THRESHOLD (1) (got "0")`,
			`ALERT_THRESHOLDS: threshold of item_id 6 must be greater than 0 and at most ALERT_CRITICAL_THRESHOLD (1) (got "1.5")`,
		}},
		{name: "add-on threshold over critical", env: validServe.with("ALERT_THRESHOLDS", "6:1", "ALERT_CRITICAL_THRESHOLD", "0.95"), mode: ModeServe, want: []string{
			`ALERT_THRESHOLDS: threshold of item_id 6 must be greater than 0 and at most ALERT_CRITICAL_THRESHOLD (0.95) (got "1")`,
		}},
		{name: "forecast horizon zero", env: validServe.with("ALERT_FORECAST_HORIZON", "0s"), mode: ModeServe, want: []string{
			`ALERT_FORECAST_HORIZON: must be a positive duration such as "24h", "90m" or "30s" (got "0s")`,
		}},
		{name: "error after zero", env: validServe.with("ALERT_ERROR_AFTER", "0"), mode: ModeServe, want: []string{
			`ALERT_ERROR_AFTER: must be a whole number of at least 1 (got "0")`,
		}},
		{name: "lease ttl negative", env: validServe.with("ALERT_LEASE_TTL", "-5s"), mode: ModeServe, want: []string{
			`ALERT_LEASE_TTL: must be a positive duration such as "24h", "90m" or "30s" (got "-5s")`,
		}},

		// Store and HTTP
		{name: "sqlite path", env: validServe.with("DATABASE_URL", "sqlite:/var/lib/dialogbot/bot.db"), mode: ModeServe},
		{name: "postgres", env: validServe.with("DATABASE_URL", "postgres://bot:pw@db:5432/bot?sslmode=disable"), mode: ModeServe},
		{name: "postgresql", env: validServe.with("DATABASE_URL", "postgresql:///bot?host=/run/postgresql"), mode: ModeServe},
		{name: "sqlite without a file", env: validServe.with("DATABASE_URL", "sqlite:"), mode: ModeServe, want: []string{
			`DATABASE_URL: sqlite: needs a file name, e.g. "sqlite:dialogbot.db"`,
		}},
		{name: "bare file name", env: validServe.with("DATABASE_URL", "dialogbot.db"), mode: ModeServe, want: []string{
			`DATABASE_URL: must start with "sqlite:", "postgres://" or "postgresql://"`,
		}},
		{name: "another database", env: validServe.with("DATABASE_URL", "mysql://bot:hunter2@db/bot"), mode: ModeServe, want: []string{
			`DATABASE_URL: must start with "sqlite:", "postgres://" or "postgresql://"`,
		}},
		{name: "HTTP off", env: validServe.with("HTTP_ADDR", ""), mode: ModeServe},
		{name: "HTTP on every interface", env: validServe.with("HTTP_ADDR", ":9090"), mode: ModeServe},
		{name: "HTTP on IPv6", env: validServe.with("HTTP_ADDR", "[::1]:9090"), mode: ModeServe},
		{name: "HTTP without port", env: validServe.with("HTTP_ADDR", "localhost"), mode: ModeServe, want: []string{
			`HTTP_ADDR: must be host:port such as 127.0.0.1:9090, or empty to turn it off (got "localhost")`,
		}},
		{name: "HTTP port out of range", env: validServe.with("HTTP_ADDR", "127.0.0.1:99999"), mode: ModeServe, want: []string{
			`HTTP_ADDR: must be host:port such as 127.0.0.1:9090, or empty to turn it off (got "127.0.0.1:99999")`,
		}},

		// Process
		{name: "addons cache TTL negative", env: validServe.with("ADDONS_CACHE_TTL", "-1s"), mode: ModeServe, want: []string{
			`ADDONS_CACHE_TTL: must be a duration of at least 0s such as "5s" or "0s" (got "-1s")`,
		}},
		{name: "workers zero", env: validServe.with("WORKERS", "0"), mode: ModeServe, want: []string{
			`WORKERS: must be a whole number from 1 to 1024 (got "0")`,
		}},
		{name: "workers too many", env: validServe.with("WORKERS", "1025"), mode: ModeServe, want: []string{
			`WORKERS: must be a whole number from 1 to 1024 (got "1025")`,
		}},
		{name: "shutdown timeout zero", env: validServe.with("SHUTDOWN_TIMEOUT", "0s"), mode: ModeServe, want: []string{
			`SHUTDOWN_TIMEOUT: must be a positive duration such as "24h", "90m" or "30s" (got "0s")`,
		}},
		{name: "log level in capitals", env: validServe.with("LOG_LEVEL", "WARN"), mode: ModeServe},
		{name: "log level unknown", env: validServe.with("LOG_LEVEL", "verbose"), mode: ModeServe, want: []string{
			`LOG_LEVEL: must be debug, info, warn or error (got "verbose")`,
		}},
		{name: "log format unknown", env: validServe.with("LOG_FORMAT", "xml"), mode: ModeServe, want: []string{
			`LOG_FORMAT: must be auto, json or text (got "xml")`,
		}},

		{name: "several problems in settings order", env: env{"LOG_LEVEL": "loud", "ALERT_THRESHOLD": "2", "SLACK_APP_TOKEN": "xapp-1"}, mode: ModeServe, want: []string{
			`SLACK_BOT_TOKEN: required for serve (the bot token, "xoxb-...")`,
			`DIALOGTECH_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true`,
			`DIALOGTECH_SECRET_ACCESS_KEY: required unless DIALOGTECH_SANDBOX=true`,
			`ALERT_THRESHOLD: must be a number greater than 0 and at most 1 (got "2")`,
			`LOG_LEVEL: must be debug, info, warn or error (got "loud")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFrom(tt.env.lookup)
			if err != nil {
				t.Fatal(err)
			}
			got := problems(t, c.Validate(tt.mode))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateFirstProblemIsFoundWithErrorsAs(t *testing.T) {
	c, err := LoadFrom(env{"WORKERS": "0"}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	var se *SettingError
	if !errors.As(c.Validate(ModeServe), &se) {
		t.Fatal("errors.As found no *SettingError")
	}
	want := &SettingError{Var: "SLACK_BOT_TOKEN", Problem: `required for serve (the bot token, "xoxb-...")`}
	if diff := cmp.Diff(want, se); diff != "" {
		t.Errorf("first problem (-want +got):\n%s", diff)
	}
}

func TestValidateUnknownMode(t *testing.T) {
	c, err := LoadFrom(validServe.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(Mode(7)); err == nil {
		t.Error("Validate(Mode(7)) = nil, want an error")
	}
}

func TestValidateAddsSlashToSlackURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:3000/api", "http://127.0.0.1:3000/api/"},
		{"http://127.0.0.1:3000/api/", "http://127.0.0.1:3000/api/"},
		{"https://slack.com", "https://slack.com/"},
	}
	for _, tt := range tests {
		c, err := LoadFrom(validServe.with("SLACK_API_URL", tt.in).lookup)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(ModeServe); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if c.SlackAPIURL != tt.want {
			t.Errorf("SLACK_API_URL %q became %q, want %q", tt.in, c.SlackAPIURL, tt.want)
		}
	}
}

// A wrong secret is still a secret: no error, from loading or validating,
// may repeat it.
func TestErrorsNeverContainSecrets(t *testing.T) {
	const (
		bot    = "xoxp-BOTSECRET-1234"
		app    = "xoxb-APPSECRET-5678"
		key    = "DTSECRET-9999"
		dbPass = "DBSECRET-0000"
	)
	envs := []env{
		{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "DIALOGTECH_SECRET_ACCESS_KEY": key},
		{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "DIALOGTECH_ACCESS_KEY": "a", "DIALOGTECH_SECRET_ACCESS_KEY": key, "DATABASE_URL": "mysql://u:" + dbPass + "@h/db"},
		{"SLACK_BOT_TOKEN": bot, "DATABASE_URL": "mongodb://u:" + dbPass + "@h/db", "DIALOGTECH_BASE_URL": "ftp://u:" + dbPass + "@h/"},
		{"SLACK_API_URL": "http://u:" + dbPass + "@[::1/", "SLACK_APP_TOKEN": app, "WORKERS": "x"},
	}
	for i, e := range envs {
		for _, mode := range []Mode{ModeServe, ModeConsole} {
			c, err := LoadFrom(e.lookup)
			if err == nil {
				err = c.Validate(mode)
			}
			if err == nil {
				t.Fatalf("env %d, %v: no error; the test needs one", i, mode)
			}
			for _, s := range []string{bot, app, key, dbPass} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("env %d, %v: error contains a secret:\n%v", i, mode, err)
				}
			}
		}
	}
}

func TestUseSandbox(t *testing.T) {
	tests := []struct {
		name string
		env  env
		mode Mode
		want bool
	}{
		{"serve with keys", validServe, ModeServe, false},
		{"serve with sandbox", validServe.with("DIALOGTECH_SANDBOX", "true"), ModeServe, true},
		{"console without keys", env{}, ModeConsole, true},
		{"console with keys", env{"DIALOGTECH_ACCESS_KEY": "a", "DIALOGTECH_SECRET_ACCESS_KEY": "s"}, ModeConsole, false},
		{"console with keys and sandbox", env{"DIALOGTECH_ACCESS_KEY": "a", "DIALOGTECH_SECRET_ACCESS_KEY": "s", "DIALOGTECH_SANDBOX": "true"}, ModeConsole, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFrom(tt.env.lookup)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(tt.mode); err != nil {
				t.Fatal(err)
			}
			if got := c.UseSandbox(); got != tt.want {
				t.Errorf("UseSandbox() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		name string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"ERROR", slog.LevelError},
		{"", slog.LevelInfo},
	}
	for _, tt := range tests {
		c := &Config{LogLevelName: tt.name}
		if got := c.LogLevel(); got != tt.want {
			t.Errorf("LOG_LEVEL=%q: LogLevel() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLogJSON(t *testing.T) {
	tests := []struct {
		format   string
		terminal bool
		want     bool
	}{
		{"auto", true, false},
		{"auto", false, true},
		{"json", true, true},
		{"text", false, false},
	}
	for _, tt := range tests {
		c := &Config{LogFormat: tt.format}
		if got := c.LogJSON(tt.terminal); got != tt.want {
			t.Errorf("LOG_FORMAT=%s, terminal %v: LogJSON = %v, want %v", tt.format, tt.terminal, got, tt.want)
		}
	}
}

func TestThresholdFor(t *testing.T) {
	c := &Config{AlertThreshold: 0.9, AlertThresholds: Thresholds{6: 0.8}}
	if got := c.ThresholdFor(6); got != 0.8 {
		t.Errorf("ThresholdFor(6) = %v, want 0.8", got)
	}
	if got := c.ThresholdFor(3); got != 0.9 {
		t.Errorf("ThresholdFor(3) = %v, want 0.9", got)
	}
}

func TestSecrets(t *testing.T) {
	c, err := LoadFrom(everySetting.lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"xoxb-1-bot", "xapp-1-app", "secret", "pw"}
	if diff := cmp.Diff(want, c.Secrets()); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	empty, err := LoadFrom(env{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.Secrets(); len(got) != 0 {
		t.Errorf("Secrets of an empty environment = %q, want none", got)
	}
}

// TestLoadReadsProcessEnvironment covers Load itself; the other tests use
// LoadFrom.
func TestLoadReadsProcessEnvironment(t *testing.T) {
	t.Setenv("WORKERS", "3")
	t.Setenv("ALERT_THRESHOLD", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 3 || c.AlertThreshold != 0.9 {
		t.Errorf("Workers, AlertThreshold = %d, %v; want 3, 0.9", c.Workers, c.AlertThreshold)
	}
}

// TestDatabaseURLPasswordNeverShown: whatever form DATABASE_URL takes, its
// password is in neither the refusal nor the logged settings.
func TestDatabaseURLPasswordNeverShown(t *testing.T) {
	const password = "hunter2Secret"
	for _, raw := range []string{
		"postgres://bot:" + password + "@db/bot",
		"postgres://bot@db/bot?sslmode=disable&password=" + password,
		"host=db user=bot password=" + password + " dbname=bot",
		"jdbc:postgresql://bot:" + password + "@db/bot",
		"bot:" + password + "@db.example.com/bot",
		"mysql://bot:" + password + "@db/bot",
	} {
		t.Run(raw, func(t *testing.T) {
			cfg, err := LoadFrom(env{"DATABASE_URL": raw}.lookup)
			var shown []string
			if err != nil {
				shown = append(shown, err.Error())
			} else {
				shown = append(shown, RedactDatabaseURL(cfg.DatabaseURL))
				if verr := cfg.Validate(ModeConsole); verr != nil {
					shown = append(shown, verr.Error())
				}
				var logs strings.Builder
				slog.New(slog.NewTextHandler(&logs, nil)).Info("starting", "config", cfg)
				shown = append(shown, logs.String())
			}
			for _, s := range shown {
				if strings.Contains(s, password) {
					t.Errorf("password shown: %s", s)
				}
			}
		})
	}
}

func TestApprovalThreshold(t *testing.T) {
	tests := []struct {
		in          string
		qty         int
		amount      string
		shown       string
		isQty, isAm bool
	}{
		{in: "", shown: ""},
		{in: "qty:10", qty: 10, shown: "qty:10", isQty: true},
		{in: "QTY: 3", qty: 3, shown: "qty:3", isQty: true},
		{in: "500", amount: "500", shown: "500", isAm: true},
		{in: "$1250.50", amount: "1250.5", shown: "1250.5", isAm: true},
	}
	for _, tt := range tests {
		var th ApprovalThreshold
		if err := th.Decode(tt.in); err != nil {
			t.Fatalf("Decode(%q): %v", tt.in, err)
		}
		if th.Qty != tt.qty || th.IsQty() != tt.isQty || th.IsAmount() != tt.isAm || th.IsSet() != (tt.isQty || tt.isAm) || th.String() != tt.shown {
			t.Errorf("Decode(%q) = %+v (%q)", tt.in, th, th.String())
		}
		if tt.amount != "" && th.Amount.String() != tt.amount {
			t.Errorf("Decode(%q).Amount = %s, want %s", tt.in, th.Amount, tt.amount)
		}
	}
}

func TestGroups(t *testing.T) {
	c := &Config{ApproverGroups: []string{"S0FIN", "S0OPS"}, Callers: []string{"U0001", "S0OPS", "S0CALL"}}
	if diff := cmp.Diff([]string{"S0FIN", "S0OPS", "S0CALL"}, c.Groups()); diff != "" {
		t.Errorf("Groups (-want +got):\n%s", diff)
	}
}

// TestEveryProblemAtOnce: a run with several bad settings names each of
// them, one line each, and never a value of a secret.
func TestEveryProblemAtOnce(t *testing.T) {
	e := env{
		"SLACK_BOT_TOKEN":              "",
		"SLACK_APP_TOKEN":              "",
		"DIALOGTECH_SECRET_ACCESS_KEY": "",
		"ALERT_THRESHOLD":              "high",
		"WORKERS":                      "many",
		"APPROVAL_TTL":                 "-1h",
		"LOG_LEVEL":                    "loud",
	}
	c, err := LoadFrom(e.lookup)
	if c == nil {
		t.Fatalf("LoadFrom gave no Config beside %v", err)
	}
	err = errors.Join(err, c.Validate(ModeServe))
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		name, _, _ := strings.Cut(line, ":")
		got = append(got, name)
	}
	want := []string{"ALERT_THRESHOLD", "WORKERS", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DIALOGTECH_ACCESS_KEY", "DIALOGTECH_SECRET_ACCESS_KEY", "APPROVAL_TTL", "LOG_LEVEL"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
}

func TestIsSet(t *testing.T) {
	c, err := LoadFrom(env{"DIALOGTECH_SANDBOX": "false", "APPROVERS": ""}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsSet("DIALOGTECH_SANDBOX") || c.IsSet("APPROVERS") || c.IsSet("WORKERS") {
		t.Errorf("IsSet: DIALOGTECH_SANDBOX %v, APPROVERS (empty) %v, WORKERS (unset) %v", c.IsSet("DIALOGTECH_SANDBOX"), c.IsSet("APPROVERS"), c.IsSet("WORKERS"))
	}
}

// TestSandboxSettingsSayWhatTheyDo: DIALOGTECH_SANDBOX takes true or
// false only; false with the console and no keys is refused rather than
// quietly running the sandbox; true beside keys is run with a warning that
// the keys are not used.
func TestSandboxSettingsSayWhatTheyDo(t *testing.T) {
	for _, v := range []string{"1", "0", "yes", "t"} {
		_, err := LoadFrom(env{"DIALOGTECH_SANDBOX": v}.lookup)
		if err == nil || err.Error() != `DIALOGTECH_SANDBOX: must be true or false (got "`+v+`")` {
			t.Errorf("DIALOGTECH_SANDBOX=%s: %v", v, err)
		}
	}
	for _, v := range []string{"true", "TRUE", "False"} {
		if _, err := LoadFrom(env{"DIALOGTECH_SANDBOX": v}.lookup); err != nil {
			t.Errorf("DIALOGTECH_SANDBOX=%s: %v", v, err)
		}
	}

	c, _ := LoadFrom(env{"DIALOGTECH_SANDBOX": "false"}.lookup)
	err := c.Validate(ModeConsole)
	if err == nil || !strings.HasPrefix(err.Error(), "DIALOGTECH_SANDBOX: is false, but DIALOGTECH_ACCESS_KEY and DIALOGTECH_SECRET_ACCESS_KEY are not set") {
		t.Errorf("console with DIALOGTECH_SANDBOX=false and no keys: %v", err)
	}
	c, _ = LoadFrom(env{}.lookup)
	if err := c.Validate(ModeConsole); err != nil || !c.UseSandbox() {
		t.Errorf("console with nothing set: %v, sandbox %v", err, c.UseSandbox())
	}

	c, _ = LoadFrom(validServe.with("DIALOGTECH_SANDBOX", "true").lookup)
	if err := c.Validate(ModeServe); err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(warnings, "DIALOGTECH_SANDBOX is true, so the DialogTech keys that are set are not used") {
		t.Errorf("sandbox beside keys: warnings %q", warnings)
	}
	for _, s := range c.Secrets() {
		if strings.Contains(warnings, s) {
			t.Errorf("a warning holds a secret: %q", warnings)
		}
	}
}

// TestWarnsWhenNobodyCanApprove: serve with APPROVERS empty says so in one
// line; with approvers it says nothing.
func TestWarnsWhenNobodyCanApprove(t *testing.T) {
	c, _ := LoadFrom(validServe.with("APPROVERS", "").lookup)
	if err := c.Validate(ModeServe); err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0], "APPROVERS and APPROVER_GROUPS are empty: nobody can approve") {
		t.Errorf("warnings = %q", w)
	}
	for _, e := range []env{validServe.with("APPROVERS", "U0BOSS"), validServe.with("APPROVER_GROUPS", "S0BOSSES")} {
		c, _ = LoadFrom(e.lookup)
		if err := c.Validate(ModeServe); err != nil {
			t.Fatal(err)
		}
		if w := c.Warnings(); len(w) != 0 {
			t.Errorf("warnings with approvers = %q", w)
		}
	}
}

func FuzzApprovalThreshold(f *testing.F) {
	for _, s := range []string{"", "500", "qty:10", "$12.50", "qty:", "-1", "1e400", "qty:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var th ApprovalThreshold
		if err := th.Decode(s); err != nil {
			return
		}
		var again ApprovalThreshold
		if err := again.Decode(th.String()); err != nil || again.String() != th.String() || again.IsQty() != th.IsQty() {
			t.Fatalf("Decode(%q) = %q, which reads back as %q, %v", s, th.String(), again.String(), err)
		}
		if th.IsSet() != (strings.TrimSpace(s) != "") {
			t.Fatalf("Decode(%q): IsSet %v", s, th.IsSet())
		}
	})
}
