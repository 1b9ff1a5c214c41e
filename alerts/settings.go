package alerts

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/dialogbot/dialogbot/reply"
)

// Defaults for the zero fields of Settings.
const (
	DefaultThreshold         = 0.9
	DefaultCriticalThreshold = 0.98
	DefaultMargin            = 0.05
	DefaultRepeatInterval    = 24 * time.Hour
	DefaultHorizon           = 7 * 24 * time.Hour
	DefaultForecastFrom      = 0.6
	DefaultErrorAfter        = 3
	DefaultSchedule          = "*/15 * * * *"
)

// NoMargin as Settings.Margin turns the hysteresis off: a firing alert
// resolves as soon as use is under its threshold. Any negative Margin
// means the same.
const NoMargin = -1.0

// Settings say when an add-on alerts and how loudly. A zero field takes its
// Default; zero is never a useful value for any of them but Margin, whose
// "none" is spelled NoMargin.
type Settings struct {
	// Channel is the Slack channel id that receives the alerts.
	Channel string
	// Threshold: an add-on warns when in_use >= Threshold * total_qty.
	Threshold float64
	// CriticalThreshold: an add-on is critical from here on (and always
	// when nothing is left). An override above it raises it for that
	// add-on, so critical never comes before warning.
	CriticalThreshold float64
	// Margin is the hysteresis: a firing alert resolves only when use falls
	// below Threshold - Margin, so use hovering at the threshold does not
	// post and resolve on every tick. Zero takes DefaultMargin; NoMargin
	// is none.
	Margin float64
	// Overrides holds per-add-on warning thresholds, by item_id.
	Overrides map[int]float64
	// RepeatInterval: a still-firing alert is brought up again (a reply in
	// its thread) no sooner than this after it was last brought up.
	RepeatInterval time.Duration
	// Horizon: the forecast warns when the add-on is expected to be full
	// within this, once use has reached ForecastFrom.
	Horizon time.Duration
	// ForecastFrom is the use (a fraction) below which a forecast never
	// warns: a steep line on a nearly empty add-on is mostly noise.
	ForecastFrom float64
	// ErrorAfter is how many consecutive failed reads raise the
	// "cannot read usage" alert.
	ErrorAfter int
	// Schedule is the robfig/cron spec of the runs.
	Schedule string
	// Redact removes secrets from error text before it is stored, logged
	// or posted. Nil keeps the built-in scrubbing only.
	Redact func(string) string
}

func (s Settings) withDefaults() Settings {
	s.Threshold = cmp.Or(s.Threshold, DefaultThreshold)
	s.CriticalThreshold = cmp.Or(s.CriticalThreshold, DefaultCriticalThreshold)
	s.Margin = cmp.Or(s.Margin, DefaultMargin)
	s.RepeatInterval = cmp.Or(s.RepeatInterval, DefaultRepeatInterval)
	s.Horizon = cmp.Or(s.Horizon, DefaultHorizon)
	s.ForecastFrom = cmp.Or(s.ForecastFrom, DefaultForecastFrom)
	s.ErrorAfter = cmp.Or(s.ErrorAfter, DefaultErrorAfter)
	s.Schedule = cmp.Or(s.Schedule, DefaultSchedule)
	return s
}

// Validate reports the first setting that cannot work, naming it. Zero
// fields are checked as their defaults.
func (s Settings) Validate() error {
	s = s.withDefaults()
	fraction := func(name string, v float64) error {
		if !(v > 0 && v <= 1) {
			return fmt.Errorf("alerts: %s must be in (0, 1], got %v", name, v)
		}
		return nil
	}
	switch {
	case strings.TrimSpace(s.Channel) == "":
		return errors.New("alerts: Channel is empty")
	case fraction("Threshold", s.Threshold) != nil:
		return fraction("Threshold", s.Threshold)
	case fraction("CriticalThreshold", s.CriticalThreshold) != nil:
		return fraction("CriticalThreshold", s.CriticalThreshold)
	case s.CriticalThreshold < s.Threshold:
		return fmt.Errorf("alerts: CriticalThreshold %v is below Threshold %v", s.CriticalThreshold, s.Threshold)
	case s.margin() >= s.Threshold:
		return fmt.Errorf("alerts: Margin must be less than Threshold %v, got %v", s.Threshold, s.Margin)
	case s.RepeatInterval < 0:
		return fmt.Errorf("alerts: RepeatInterval must be positive, got %v", s.RepeatInterval)
	case s.Horizon < 0:
		return fmt.Errorf("alerts: Horizon must be positive, got %v", s.Horizon)
	case fraction("ForecastFrom", s.ForecastFrom) != nil:
		return fraction("ForecastFrom", s.ForecastFrom)
	case s.ErrorAfter < 1:
		return fmt.Errorf("alerts: ErrorAfter must be at least 1, got %d", s.ErrorAfter)
	}
	for id, v := range s.Overrides {
		if err := fraction(fmt.Sprintf("Overrides[%d]", id), v); err != nil {
			return err
		}
	}
	if _, err := ParseSchedule(s.Schedule); err != nil {
		return err
	}
	return nil
}

// margin is the hysteresis in effect. Settings keep NoMargin as it is
// rather than turning it into 0, so that withDefaults stays idempotent.
func (s Settings) margin() float64 { return max(s.Margin, 0) }

// threshold is the warning threshold of one add-on.
func (s Settings) threshold(itemID int) float64 {
	if t, ok := s.Overrides[itemID]; ok && t > 0 {
		return t
	}
	return s.Threshold
}

// maxReason keeps a read error short enough for a Slack section and a log
// line; the first few hundred bytes say what went wrong.
const maxReason = 300

// redact runs the configured redactor and then the built-in scrubbing:
// the reason of a failed read comes from an HTTP client, and DialogTech's
// secret key travels in its query string.
func (s Settings) redact(text string) string {
	if s.Redact != nil {
		text = s.Redact(text)
	}
	text = scrub(text)
	if len(text) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return reply.Clean(text)
}

// secretPatterns are compiled when the first reason is scrubbed.
var secretPatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`(?i)(secret_access_key|secret|token|password)=[^&\s"']*`),
		regexp.MustCompile(`xox[a-z]-[A-Za-z0-9-]+`),
		regexp.MustCompile(`xapp-[A-Za-z0-9-]+`),
	}
})

func scrub(text string) string {
	patterns := secretPatterns()
	text = patterns[0].ReplaceAllString(text, "$1=REDACTED")
	for _, re := range patterns[1:] {
		text = re.ReplaceAllString(text, "REDACTED")
	}
	return text
}

// scheduleParser reads the standard five fields, CRON_TZ= prefixes and
// descriptors such as "@every 30s".
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses an ALERT_SCHEDULE spec. robfig/cron panics on a spec
// that is only a time-zone prefix ("CRON_TZ=UTC"); that panic becomes an
// error here, so a bad setting is a clear message at startup, not a crash.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			sched, err = nil, fmt.Errorf("alerts: invalid Schedule %q: no schedule after the time zone", spec)
		}
	}()
	sched, err = scheduleParser.Parse(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("alerts: invalid Schedule %q: %w", spec, err)
	}
	return sched, nil
}
