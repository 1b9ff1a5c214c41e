package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialogbot/dialogbot/internal/slackid"
)

// Mode is how the program runs; some settings are required in one mode only.
type Mode int

const (
	// ModeServe is the Slack bot: Slack tokens are required, and DialogTech
	// keys unless DIALOGTECH_SANDBOX is true.
	ModeServe Mode = iota
	// ModeConsole is the terminal front end: no Slack, and without
	// DialogTech keys it talks to the sandbox.
	ModeConsole
)

func (m Mode) String() string {
	switch m {
	case ModeServe:
		return "serve"
	case ModeConsole:
		return "console"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Limits that are not in the variable's type.
const maxWorkers = 1024

// want says what a valid value looks like, for settings where the same
// words serve a value that cannot be parsed and one that is out of range;
// "" for the others.
func want(key string) string {
	switch key {
	case "ALERT_THRESHOLD":
		return "a number greater than 0 and at most 1"
	case "ALERT_CRITICAL_THRESHOLD":
		return "a number from ALERT_THRESHOLD to 1"
	case "ALERT_RESOLVE_MARGIN":
		return "a number from 0 up to (not including) the lowest alert threshold"
	case "ALERT_ERROR_AFTER":
		return "a whole number of at least 1"
	case "WORKERS":
		return "a whole number from 1 to " + strconv.Itoa(maxWorkers)
	case "APPROVAL_TTL", "GROUP_REFRESH_INTERVAL", "ALERT_REPEAT_INTERVAL",
		"ALERT_FORECAST_HORIZON", "ALERT_LEASE_TTL", "SHUTDOWN_TIMEOUT":
		return positiveDuration
	case "APPROVAL_REMIND_AFTER":
		return `a duration such as "4h" or "30m", or 0 to turn reminders off`
	case "ADDONS_CACHE_TTL":
		return `a duration of at least 0s such as "5s" or "0s"`
	}
	return ""
}

const positiveDuration = `a positive duration such as "24h", "90m" or "30s"`

// isUserID, isChannelID and isGroupID report whether s looks like a Slack
// user id (U0123ABCD), channel id (C0123ABCD) or user group id (S0123ABCD).
func isUserID(s string) bool    { return slackid.Match(s, "UW", 2, 0) }
func isChannelID(s string) bool { return slackid.Match(s, "CGD", 2, 0) }
func isGroupID(s string) bool   { return slackid.Match(s, "S", 2, 0) }

// Validate checks every setting for mode and returns nil or the problems
// found, each a *SettingError, joined with errors.Join in the order of the
// settings (errors.As finds the first). It also completes values that have an
// obvious fix: SLACK_API_URL gets its trailing "/". The mode is remembered
// for UseSandbox.
func (c *Config) Validate(mode Mode) error {
	if mode != ModeServe && mode != ModeConsole {
		return fmt.Errorf("config: unknown mode %v", mode)
	}
	c.mode = mode

	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &SettingError{Var: key, Problem: oneLine(fmt.Sprintf(format, args...))})
	}

	if mode == ModeServe {
		// The token's value is never quoted: a wrong token is still a token.
		for _, tok := range []struct {
			key, prefix, what string
			value             Secret
		}{
			{"SLACK_BOT_TOKEN", "xoxb-", "the bot token", c.SlackBotToken},
			{"SLACK_APP_TOKEN", "xapp-", "an app-level token", c.SlackAppToken},
		} {
			switch {
			case tok.value == "":
				bad(tok.key, "required for serve (%s, %q)", tok.what, tok.prefix+"...")
			case !strings.HasPrefix(tok.value.Value(), tok.prefix):
				bad(tok.key, "must start with %q", tok.prefix)
			}
		}
	}

	if u, ok := checkURL("SLACK_API_URL", c.SlackAPIURL, bad); ok && !strings.HasSuffix(u, "/") {
		// slack-go joins method names straight onto the base URL.
		c.SlackAPIURL = u + "/"
	}

	access, secret := c.DialogTechAccessKey != "", c.DialogTechSecretAccessKey != ""
	switch {
	case c.DialogTechSandbox:
	case mode == ModeServe:
		if !access {
			bad("DIALOGTECH_ACCESS_KEY", "required unless DIALOGTECH_SANDBOX=true")
		}
		if !secret {
			bad("DIALOGTECH_SECRET_ACCESS_KEY", "required unless DIALOGTECH_SANDBOX=true")
		}
	case mode == ModeConsole && c.IsSet("DIALOGTECH_SANDBOX") && !access && !secret:
		// Asked for the real API, but nothing to reach it with: running
		// the sandbox anyway would hide the mistake.
		bad("DIALOGTECH_SANDBOX", "is false, but DIALOGTECH_ACCESS_KEY and DIALOGTECH_SECRET_ACCESS_KEY are not set: set both to use the real API, or leave DIALOGTECH_SANDBOX unset to use the sandbox")
	case access && !secret:
		// Half a key pair is a mistake, not a request for the sandbox.
		bad("DIALOGTECH_SECRET_ACCESS_KEY", "required when DIALOGTECH_ACCESS_KEY is set (leave both unset to use the sandbox)")
	case secret && !access:
		bad("DIALOGTECH_ACCESS_KEY", "required when DIALOGTECH_SECRET_ACCESS_KEY is set (leave both unset to use the sandbox)")
	}
	checkURL("DIALOGTECH_BASE_URL", c.DialogTechBaseURL, bad)
	if c.AddOnsCacheTTL < 0 {
		bad("ADDONS_CACHE_TTL", "must be %s (got %q)", want("ADDONS_CACHE_TTL"), c.AddOnsCacheTTL.String())
	}

	for _, id := range c.Approvers {
		if !isUserID(id) {
			bad("APPROVERS", "%q is not a Slack user id (ids look like U0123ABCD; names and @mentions do not work)", id)
		}
	}
	for _, id := range c.ApproverGroups {
		if !isGroupID(id) {
			bad("APPROVER_GROUPS", "%q is not a Slack user group id (ids look like S0123ABCD: a group's page → ⋮ → Copy group ID; handles such as @finance do not work)", id)
		}
	}
	checkPositive("APPROVAL_TTL", c.ApprovalTTL, bad)
	if c.ApprovalRemindAfter < 0 {
		bad("APPROVAL_REMIND_AFTER", "must be %s (got %q)", want("APPROVAL_REMIND_AFTER"), c.ApprovalRemindAfter.String())
	}
	checkPositive("GROUP_REFRESH_INTERVAL", c.GroupRefresh, bad)
	for _, id := range c.Callers {
		if !isUserID(id) && !isGroupID(id) {
			bad("CALLERS", "%q is neither a Slack user id (U0123ABCD) nor a user group id (S0123ABCD)", id)
		}
	}

	if c.AlertChannel != "" && !isChannelID(c.AlertChannel) {
		bad("ALERT_CHANNEL", "must be a Slack channel id such as C0123ABCD, not a channel name (got %q)", c.AlertChannel)
	}
	if err := checkSchedule(c.AlertSchedule); err != nil {
		bad("ALERT_SCHEDULE", `must be a cron spec such as "*/15 * * * *" or "@every 30s" (got %q): %v`, c.AlertSchedule, err)
	}
	thresholdOK := c.AlertThreshold > 0 && c.AlertThreshold <= 1
	if !thresholdOK {
		bad("ALERT_THRESHOLD", "must be %s (got %q)", want("ALERT_THRESHOLD"), formatFloat(c.AlertThreshold))
	}
	checkPositive("ALERT_REPEAT_INTERVAL", c.AlertRepeatInterval, bad)
	critical := c.AlertCriticalThreshold
	switch {
	case !(critical > 0 && critical <= 1):
		bad("ALERT_CRITICAL_THRESHOLD", "must be a number greater than 0 and at most 1 (got %q)", formatFloat(critical))
	case thresholdOK && critical < c.AlertThreshold:
		bad("ALERT_CRITICAL_THRESHOLD", "must be at least ALERT_THRESHOLD (%s) and at most 1 (got %q)", formatFloat(c.AlertThreshold), formatFloat(critical))
	}
	lowest := c.AlertThreshold
	if !thresholdOK {
		lowest = math.NaN() // already reported; do not blame the margin for it
	}
	lowestFrom := "ALERT_THRESHOLD"
	for _, id := range sortedIDs(c.AlertThresholds) {
		t := c.AlertThresholds[id]
		if !(t > 0 && t <= 1 && t <= critical) {
			bad("ALERT_THRESHOLDS", "threshold of item_id %d must be greater than 0 and at most ALERT_CRITICAL_THRESHOLD (%s) (got %q)", id, formatFloat(critical), formatFloat(t))
			continue
		}
		if t < lowest {
			lowest, lowestFrom = t, fmt.Sprintf("ALERT_THRESHOLDS for item_id %d", id)
		}
	}
	switch m := c.AlertResolveMargin; {
	case !(m >= 0):
		bad("ALERT_RESOLVE_MARGIN", "must be a number of at least 0 (got %q)", formatFloat(m))
	case !math.IsNaN(lowest) && m >= lowest:
		// Resolving at threshold-margin <= 0 would never happen.
		bad("ALERT_RESOLVE_MARGIN", "must be at least 0 and less than %s (%s) (got %q)", lowestFrom, formatFloat(lowest), formatFloat(m))
	}
	checkPositive("ALERT_FORECAST_HORIZON", c.AlertForecastHorizon, bad)
	if c.AlertErrorAfter < 1 {
		bad("ALERT_ERROR_AFTER", "must be %s (got %q)", want("ALERT_ERROR_AFTER"), strconv.Itoa(c.AlertErrorAfter))
	}
	checkPositive("ALERT_LEASE_TTL", c.AlertLeaseTTL, bad)

	if problem := checkDatabaseURL(c.DatabaseURL); problem != "" {
		bad("DATABASE_URL", "%s", problem)
	}
	if c.HTTPAddr != "" && !validHostPort(c.HTTPAddr) {
		bad("HTTP_ADDR", "must be host:port such as 127.0.0.1:9090, or empty to turn it off (got %q)", c.HTTPAddr)
	}

	if c.Workers < 1 || c.Workers > maxWorkers {
		bad("WORKERS", "must be %s (got %q)", want("WORKERS"), strconv.Itoa(c.Workers))
	}
	checkPositive("SHUTDOWN_TIMEOUT", c.ShutdownTimeout, bad)
	switch strings.ToLower(c.LogLevelName) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error (got %q)", c.LogLevelName)
	}
	switch strings.ToLower(c.LogFormat) {
	case "auto", "json", "text":
	default:
		bad("LOG_FORMAT", "must be auto, json or text (got %q)", c.LogFormat)
	}

	return errors.Join(errs...)
}

// Warnings are settings that work but may not do what was meant, one line
// each, never with a value: keys set beside DIALOGTECH_SANDBOX=true, and
// (in serve) nobody able to approve. Call it after Validate.
func (c *Config) Warnings() []string {
	var out []string
	if c.DialogTechSandbox && (c.DialogTechAccessKey != "" || c.DialogTechSecretAccessKey != "") {
		out = append(out, "DIALOGTECH_SANDBOX is true, so the DialogTech keys that are set are not used: nothing is bought; unset DIALOGTECH_SANDBOX to use the real API")
	}
	if c.mode == ModeServe && len(c.Approvers) == 0 && len(c.ApproverGroups) == 0 {
		out = append(out, "APPROVERS and APPROVER_GROUPS are empty: nobody can approve, so /addons buy and /numbers order will say so instead of opening a request")
	}
	return out
}

func checkPositive(key string, d time.Duration, bad func(string, string, ...any)) {
	if d <= 0 {
		bad(key, "must be %s (got %q)", positiveDuration, d.String())
	}
}

// checkURL reports a URL that is not absolute http(s). Only the redacted
// form of a URL is ever quoted, in case it carries a password.
func checkURL(key, raw string, bad func(string, string, ...any)) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		bad(key, "must be an http:// or https:// URL (this one does not parse)")
		return "", false
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		got := "no scheme"
		if u.Scheme != "" {
			got = fmt.Sprintf("scheme %q", u.Scheme)
		}
		// Only the scheme is quoted: the rest may carry a password.
		bad(key, "must be an http:// or https:// URL (got %s)", got)
		return "", false
	}
	return raw, true
}

// checkSchedule parses spec as the alert scheduler will. The cron parser
// panics on some input (a spec that is only "CRON_TZ=UTC"), so the panic is
// turned into an error here rather than at start-up.
func checkSchedule(spec string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("a time zone needs a schedule after it")
		}
	}()
	_, err = cron.ParseStandard(spec)
	return err
}

func checkDatabaseURL(raw string) string {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		if strings.TrimPrefix(raw, "sqlite:") == "" {
			return `sqlite: needs a file name, e.g. "sqlite:dialogbot.db"`
		}
		return ""
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "is not a valid postgres:// URL"
		}
		return ""
	}
	// The value is not quoted: a libpq "host=… password=…" string or a
	// jdbc: URL would carry its password into the message.
	return `must start with "sqlite:", "postgres://" or "postgresql://"`
}

func validHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

func sortedIDs(t Thresholds) []int {
	ids := make([]int, 0, len(t))
	for id := range t {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
