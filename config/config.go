// Package config reads dialogbot's settings from the environment and checks
// them before anything starts.
//
// The struct tags follow github.com/kelseyhightower/envconfig (`envconfig`,
// `default`, `desc`), so envconfig's own tooling lists the settings. Loading
// goes through a lookup function rather than envconfig.Process for two
// reasons: tests supply their own environment without touching the process
// one, and a variable that is set but empty must fall back to its default,
// which envconfig does not do.
//
// Errors name the variable and never contain the value of a Secret.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is every setting of dialogbot. Field order is the order in which
// `dialogbot env` lists them.
//
// Tags: `envconfig` names the variable, `default` is applied when the
// variable is unset or empty, `unset` says in words what happens when there
// is no default, `desc` is its meaning, and `empty:"keep"` marks a setting
// for which an empty value means something of its own instead of "use the
// default".
type Config struct {
	SlackBotToken Secret `envconfig:"SLACK_BOT_TOKEN" unset:"required for serve" desc:"Slack bot token, xoxb-..."`
	SlackAppToken Secret `envconfig:"SLACK_APP_TOKEN" unset:"required for serve" desc:"Slack app-level token with connections:write, xapp-..."`
	SlackAPIURL   string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/" desc:"Slack Web API base URL (tests point it at a local Slack)"`

	DialogTechAccessKey       string        `envconfig:"DIALOGTECH_ACCESS_KEY" unset:"required unless sandbox" desc:"DialogTech API access key"`
	DialogTechSecretAccessKey Secret        `envconfig:"DIALOGTECH_SECRET_ACCESS_KEY" unset:"required unless sandbox" desc:"DialogTech API secret access key (a secret)"`
	DialogTechBaseURL         string        `envconfig:"DIALOGTECH_BASE_URL" default:"https://secure.dialogtech.com/ibp_api.php" desc:"DialogTech API endpoint"`
	DialogTechSandbox         bool          `envconfig:"DIALOGTECH_SANDBOX" default:"false" desc:"true: talk to the built-in DialogTech simulator instead of the real API; no keys needed, nothing is bought"`
	AddOnsCacheTTL            time.Duration `envconfig:"ADDONS_CACHE_TTL" default:"5s" desc:"how long one addons.list reading answers /addons and App Home (a buying call ends it sooner); 0s: only reads at the same moment share a call"`

	Approvers           []string          `envconfig:"APPROVERS" unset:"empty" desc:"comma-separated Slack user ids who may approve purchases and orders"`
	ApproverGroups      []string          `envconfig:"APPROVER_GROUPS" unset:"empty" desc:"comma-separated Slack user group ids (S...) whose members also approve; read with usergroups.users.list"`
	AllowSelfApproval   bool              `envconfig:"ALLOW_SELF_APPROVAL" default:"false" desc:"whether an approver may approve a request they made themselves"`
	ApprovalTTL         time.Duration     `envconfig:"APPROVAL_TTL" default:"24h" desc:"how long a pending request may wait for a decision before it expires"`
	SecondApprovalAbove ApprovalThreshold `envconfig:"SECOND_APPROVAL_ABOVE" unset:"empty (never)" desc:"above this estimated amount (e.g. 500), or quantity (qty:10), two different approvers must approve, neither the requester"`
	ApprovalRemindAfter time.Duration     `envconfig:"APPROVAL_REMIND_AFTER" default:"4h" desc:"one reminder in the request's thread, mentioning who can decide, when nobody decided by then; 0 turns it off"`
	GroupRefresh        time.Duration     `envconfig:"GROUP_REFRESH_INTERVAL" default:"10m" desc:"how often the members of APPROVER_GROUPS and of groups in CALLERS are read again (also on subteam_members_changed)"`
	Callers             []string          `envconfig:"CALLERS" unset:"empty (anyone)" desc:"comma-separated Slack user ids or user group ids (S...) allowed to use /call vr; empty: anyone"`

	AlertChannel           string        `envconfig:"ALERT_CHANNEL" unset:"empty (alerts off)" desc:"Slack channel id for capacity alerts"`
	AlertSchedule          string        `envconfig:"ALERT_SCHEDULE" default:"*/15 * * * *" desc:"robfig/cron spec for capacity checks (descriptors such as @every 30s work)"`
	AlertThreshold         float64       `envconfig:"ALERT_THRESHOLD" default:"0.9" desc:"an add-on alerts when in_use >= threshold * total_qty and total_qty > 0"`
	AlertRepeatInterval    time.Duration `envconfig:"ALERT_REPEAT_INTERVAL" default:"24h" desc:"how soon a still-firing alert may be posted again"`
	AlertCriticalThreshold float64       `envconfig:"ALERT_CRITICAL_THRESHOLD" default:"1.0" desc:"an alert is critical when in_use >= this * total_qty, or nothing is left"`
	AlertResolveMargin     float64       `envconfig:"ALERT_RESOLVE_MARGIN" default:"0.05" desc:"an alert resolves only when use falls this far under its threshold"`
	AlertThresholds        Thresholds    `envconfig:"ALERT_THRESHOLDS" unset:"empty" desc:"per-add-on thresholds as item_id:threshold pairs, e.g. 6:0.8,3:0.95"`
	AlertForecastHorizon   time.Duration `envconfig:"ALERT_FORECAST_HORIZON" default:"168h" desc:"how far ahead capacity alerts look when forecasting that an add-on will run out"`
	AlertErrorAfter        int           `envconfig:"ALERT_ERROR_AFTER" default:"3" desc:"how many consecutive failed reads of addons.list before an error is posted to the alert channel"`
	AlertLeaseTTL          time.Duration `envconfig:"ALERT_LEASE_TTL" default:"1m" desc:"with several replicas, one runs the alert schedule; another takes over when it has missed a check by this long"`

	DatabaseURL string `envconfig:"DATABASE_URL" default:"sqlite:dialogbot.db" desc:"where approvals, the audit log and alert state live; postgres://... for several replicas"`
	HTTPAddr    string `envconfig:"HTTP_ADDR" default:"127.0.0.1:9090" empty:"keep" desc:"address for /healthz, /readyz and /metrics; empty turns it off"`

	Workers         int           `envconfig:"WORKERS" default:"8" desc:"how many Slack events are handled at once"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"how long work in flight may take to finish on SIGINT/SIGTERM"`
	LogLevelName    string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"auto" desc:"auto, json or text; auto is json when stderr is not a terminal"`

	// mode is set by Validate; UseSandbox depends on it.
	mode Mode
	// set records which variables were given a value (IsSet).
	set map[string]bool
}

// Thresholds maps an add-on's item_id to an alert threshold of its own,
// overriding ALERT_THRESHOLD for that add-on. It is written as
// "item_id:threshold" pairs separated by commas: "6:0.8,3:0.95".
type Thresholds map[int]float64

var _ envconfig.Decoder = (*Thresholds)(nil)

// Decode implements envconfig.Decoder. It checks the form only; Validate
// checks the range, which depends on other settings.
func (t *Thresholds) Decode(value string) error {
	m := Thresholds{}
	for _, pair := range strings.Split(value, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, level, ok := strings.Cut(pair, ":")
		if !ok {
			return fmt.Errorf("%q is not item_id:threshold (e.g. \"6:0.8,3:0.95\")", pair)
		}
		n, err := strconv.Atoi(strings.TrimSpace(id))
		if err != nil || n <= 0 {
			return fmt.Errorf("%q: item_id must be a positive whole number", pair)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(level), 64)
		if err != nil {
			return fmt.Errorf("%q: threshold must be a number", pair)
		}
		if _, dup := m[n]; dup {
			return fmt.Errorf("item_id %d is listed twice", n)
		}
		m[n] = f
	}
	*t = m
	return nil
}

// String writes t back in the form Decode reads, item_ids in order.
func (t Thresholds) String() string {
	ids := sortedIDs(t)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id) + ":" + strconv.FormatFloat(t[id], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Load reads the settings from the process environment. It does not
// validate them: call Validate with the mode the program runs in.
func Load() (*Config, error) {
	return LoadFrom(os.LookupEnv)
}

// LoadFrom reads the settings through lookup, which has the contract of
// os.LookupEnv. A variable that is unset or empty gets its default (except
// HTTP_ADDR, where empty means off). A value that cannot be read as its type
// gives a *SettingError.
//
// Every value that cannot be read is reported, not only the first: the
// error joins one *SettingError per variable, in the order of the
// settings, and the Config returned beside it holds the default for each
// of them (so that Validate does not report them a second time). The
// Config is nil only when a default itself cannot be read.
func LoadFrom(lookup func(string) (string, bool)) (*Config, error) {
	c := &Config{set: map[string]bool{}}
	v := reflect.ValueOf(c).Elem()
	var errs []error
	for _, f := range settingFields() {
		value, ok := lookup(f.key)
		if value == "" && !f.keepEmpty {
			ok = false
		}
		if !ok {
			value = f.def
		}
		c.set[f.key] = ok
		if err := decode(v.Field(f.index), value); err != nil {
			errs = append(errs, parseError(f, value, err))
			if derr := decode(v.Field(f.index), f.def); derr != nil {
				return nil, fmt.Errorf("config: default of %s: %w", f.key, derr)
			}
		}
	}
	c.Approvers = cleanList(c.Approvers)
	c.ApproverGroups = cleanList(c.ApproverGroups)
	c.Callers = cleanList(c.Callers)
	return c, errors.Join(errs...)
}

// IsSet reports whether the variable key was set to a value (not empty)
// rather than left to its default.
func (c *Config) IsSet(key string) bool { return c.set[key] }

// field is what LoadFrom needs to know about one setting.
type field struct {
	index     int
	key       string
	def       string
	keepEmpty bool
	secret    bool
	typ       reflect.Type
}

var secretType = reflect.TypeOf(Secret(""))

func settingFields() []field {
	t := reflect.TypeOf(Config{})
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("envconfig")
		if key == "" {
			continue
		}
		fs = append(fs, field{
			index:     i,
			key:       key,
			def:       sf.Tag.Get("default"),
			keepEmpty: sf.Tag.Get("empty") == "keep",
			secret:    sf.Type == secretType,
			typ:       sf.Type,
		})
	}
	return fs
}

var durationType = reflect.TypeOf(time.Duration(0))

// decode stores value in v the way envconfig.Process would for the kinds
// Config uses.
func decode(v reflect.Value, value string) error {
	if d, ok := v.Addr().Interface().(envconfig.Decoder); ok {
		return d.Decode(value)
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(value)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(value)
	case reflect.Bool:
		// Only the two words the meaning of every setting uses: "1",
		// "t" or "yes" would be accepted by strconv.ParseBool although
		// the error for a wrong value says true or false.
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return errors.New("not true or false")
		}
	case reflect.Int:
		n, err := strconv.ParseInt(value, 0, 0)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported type %s", v.Type())
		}
		var items []string
		if strings.TrimSpace(value) != "" {
			items = strings.Split(value, ",")
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// parseError words a failure to read value as f's type. The value is quoted
// only when it is not a secret.
func parseError(f field, value string, err error) *SettingError {
	got := ""
	if !f.secret {
		got = fmt.Sprintf(" (got %q)", value)
	}
	if w := want(f.key); w != "" {
		return &SettingError{Var: f.key, Problem: "must be " + w + got}
	}
	switch {
	case f.typ == durationType:
		return &SettingError{Var: f.key, Problem: `must be a duration such as "24h", "90m" or "30s"` + got}
	case f.typ.Kind() == reflect.Bool:
		return &SettingError{Var: f.key, Problem: "must be true or false" + got}
	case f.typ.Kind() == reflect.Int:
		return &SettingError{Var: f.key, Problem: "must be a whole number" + got}
	case f.typ.Kind() == reflect.Float64:
		return &SettingError{Var: f.key, Problem: "must be a number" + got}
	}
	// A Decoder's own message says what is wrong and quotes only the part
	// that is; Thresholds are not secret.
	return &SettingError{Var: f.key, Problem: oneLine(err.Error())}
}

// cleanList trims the items of a comma-separated list and drops empty ones,
// so "U1, U2," means what it looks like.
func cleanList(items []string) []string {
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// UseSandbox reports whether DialogTech calls go to the built-in simulator:
// when DIALOGTECH_SANDBOX is true, or in console mode when no keys are set.
func (c *Config) UseSandbox() bool {
	if c.DialogTechSandbox {
		return true
	}
	return c.mode == ModeConsole && c.DialogTechAccessKey == "" && c.DialogTechSecretAccessKey == ""
}

// LogLevel is LOG_LEVEL as a slog.Level; info when it is not one of the
// four names (Validate reports that).
func (c *Config) LogLevel() slog.Level {
	switch strings.ToLower(c.LogLevelName) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogJSON reports whether logs should be JSON, given whether stderr is a
// terminal: LOG_FORMAT=json or text decides, and auto means JSON for
// machines and text for people.
func (c *Config) LogJSON(stderrIsTerminal bool) bool {
	switch strings.ToLower(c.LogFormat) {
	case "json":
		return true
	case "text":
		return false
	}
	return !stderrIsTerminal
}

// ThresholdFor is the alert threshold of the add-on itemID: its entry in
// ALERT_THRESHOLDS, or ALERT_THRESHOLD.
func (c *Config) ThresholdFor(itemID int) float64 {
	if t, ok := c.AlertThresholds[itemID]; ok {
		return t
	}
	return c.AlertThreshold
}

// Secrets returns every non-empty secret value in c, including the password
// of DATABASE_URL, so that logs and tests can check that none of them leaks.
func (c *Config) Secrets() []string {
	var out []string
	v := reflect.ValueOf(c).Elem()
	for _, f := range settingFields() {
		if !f.secret {
			continue
		}
		if s := v.Field(f.index).String(); s != "" {
			out = append(out, s)
		}
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}

// LogValue implements slog.LogValuer: every setting under its variable's
// name, with secrets redacted and DATABASE_URL's password masked, so that the
// settings in force can be logged at start-up.
func (c *Config) LogValue() slog.Value {
	v := reflect.ValueOf(c).Elem()
	fs := settingFields()
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		var value slog.Value
		switch x := v.Field(f.index).Interface().(type) {
		case Secret:
			value = x.LogValue()
		case time.Duration:
			value = slog.StringValue(x.String())
		case Thresholds:
			value = slog.StringValue(x.String())
		case ApprovalThreshold:
			value = slog.StringValue(x.String())
		case []string:
			value = slog.StringValue(strings.Join(x, ","))
		default:
			value = slog.AnyValue(x)
		}
		if f.key == "DATABASE_URL" {
			value = slog.StringValue(RedactDatabaseURL(c.DatabaseURL))
		}
		attrs = append(attrs, slog.Attr{Key: f.key, Value: value})
	}
	return slog.GroupValue(attrs...)
}

// RedactDatabaseURL is DATABASE_URL as it may be shown: a sqlite: file
// name as it is, a postgres:// URL with its password (in the user info or
// in a password= parameter) masked, and anything else not at all, since
// it may hold a password in a form that cannot be told apart.
func RedactDatabaseURL(raw string) string {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		return raw
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return redacted
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return redacted
}

// SettingError is a setting that is missing or wrong. Its text is one line
// that starts with the variable's name and never contains a secret.
type SettingError struct {
	Var     string // the environment variable, e.g. "ALERT_THRESHOLD"
	Problem string // what is wrong and what would be right
}

func (e *SettingError) Error() string { return e.Var + ": " + e.Problem }

// oneLine keeps an error on one line whatever a library put in it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Groups lists every Slack user group whose members dialogbot must know:
// those of APPROVER_GROUPS and the group ids in CALLERS, each once.
func (c *Config) Groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range append(slices.Clone(c.ApproverGroups), c.Callers...) {
		if isGroupID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
