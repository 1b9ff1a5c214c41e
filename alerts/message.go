package alerts

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
)

// Button action ids of the alert message. The bot routes them: Request
// more opens a purchase request for the add-on (Value is RequestMoreValue:
// its item_id and the alert's episode, so that one episode opens one
// request however often it is pressed), the Snooze buttons call
// Runner.Snooze (Value is SnoozeValue). Slack refuses two buttons of one
// block sharing an action_id, so each snooze length has its own;
// ActionSnooze is what earlier messages carried.
const (
	ActionRequestMore = "alert.request_more"
	ActionSnooze      = "alert.snooze"
	ActionSnoozeDay   = "alert.snooze_day"
	ActionSnoozeWeek  = "alert.snooze_week"
)

// RequestMoreValue is the Request more button's value: "6|e3" for item 6
// in episode 3.
func RequestMoreValue(itemID int, episode int64) string {
	return strconv.Itoa(itemID) + "|e" + strconv.FormatInt(episode, 10)
}

// MaxSnooze is the longest snooze: past it, the alert should be fixed, not
// silenced.
const MaxSnooze = 30 * 24 * time.Hour

// SnoozeValue is the button value of a snooze: "<key>|<hours>h".
func SnoozeValue(key string, d time.Duration) string {
	return key + "|" + strconv.FormatInt(int64(d/time.Hour), 10) + "h"
}

// ParseSnoozeValue reads a SnoozeValue back. The value comes from a
// button payload, so it is checked like any other input.
func ParseSnoozeValue(v string) (key string, d time.Duration, err error) {
	i := strings.LastIndexByte(v, '|')
	if i <= 0 {
		return "", 0, errors.New("alerts: snooze value is not <key>|<duration>")
	}
	key = v[:i]
	d, err = time.ParseDuration(v[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("alerts: snooze duration: %w", err)
	}
	if d < time.Minute || d > MaxSnooze {
		return "", 0, fmt.Errorf("alerts: snooze duration %v is not between 1m and %v", d, MaxSnooze)
	}
	return key, d, nil
}

// SuggestQty is how much of an add-on to buy: the smallest quantity that
// brings in_use/(total_qty+qty) under threshold-margin (so the alert
// resolves), at least 1 and at most MaxQtyPurchase (when DialogTech gives
// one).
func SuggestQty(a dialog.AddOn, threshold, margin float64) int {
	target := threshold - margin
	limit := a.MaxQtyPurchase
	if target <= 0 {
		return max(limit, 1)
	}
	under := func(qty int) bool {
		return float64(a.InUse) < target*float64(a.TotalQty+qty)-epsilon
	}
	qty := int(math.Floor(float64(a.InUse)/target)) + 1 - a.TotalQty
	// The division above is a float estimate; settle on the exact smallest.
	for qty > 1 && under(qty-1) {
		qty--
	}
	for !under(qty) {
		qty++
	}
	qty = max(qty, 1)
	if limit > 0 && qty > limit {
		qty = limit
	}
	return qty
}

// suggest is the purchase an alert suggests for reading r: enough to get
// under the add-on's threshold by the margin, so the alert resolves.
func suggest(r Reading, s Settings) int {
	threshold, u := r.Threshold, r.usage()
	if !atLeast(u, threshold-s.margin()) && atLeast(u, s.ForecastFrom-s.margin()) {
		// Under the threshold, only the forecast can hold a warning up:
		// buying enough to end it means getting under the use a forecast
		// starts from.
		threshold = min(threshold, s.ForecastFrom)
	}
	return SuggestQty(dialog.AddOn{ItemID: r.ItemID, InUse: r.InUse, TotalQty: r.Total, MaxQtyPurchase: r.MaxQtyPurchase}, threshold, s.margin())
}

// timeLayout is how alert messages write a time. The reply model is
// plain text, so the zone is spelled out.
const timeLayout = "Mon 2 Jan 15:04 MST"

func name(r Reading) string {
	if n := reply.Clean(strings.TrimSpace(r.Name)); n != "" {
		return n
	}
	return fmt.Sprintf("add-on %d", r.ItemID)
}

func percent(r Reading) int {
	return int(math.Floor(r.usage()*100 + epsilon))
}

// alertMessage is the episode's channel message, drawn from the state
// alone, so any replica (or a snooze) can redraw it.
func alertMessage(st State, s Settings) reply.Message {
	if st.Key == ReadErrorKey {
		return readErrorMessage(st)
	}
	s = s.withDefaults()
	r := st.Reading
	n := name(r)
	use := fmt.Sprintf("%d/%d", r.InUse, r.Total)

	var title string
	switch {
	case st.Level == LevelResolved && r.Missing:
		title = fmt.Sprintf("Resolved: %s is no longer listed", n)
	case st.Level == LevelResolved:
		title = fmt.Sprintf("Resolved: %s is back to %d%%", n, percent(r))
	case r.Left() == 0:
		title = fmt.Sprintf("%s has no capacity left", n)
	case st.Level == LevelCritical:
		title = fmt.Sprintf("%s is almost full: %d%%", n, percent(r))
	case !atLeast(r.usage(), r.Threshold) && r.Forecast.FullWithin(2*s.Horizon):
		title = fmt.Sprintf("%s will be %s", n, r.Forecast)
	default:
		title = fmt.Sprintf("%s is %d%% full", n, percent(r))
	}

	fields := []reply.Field{
		{Label: "Add-on", Value: fmt.Sprintf("%s (item %d)", n, r.ItemID)},
		{Label: "In use", Value: use},
		{Label: "Capacity left", Value: strconv.Itoa(r.Left())},
	}
	firing := st.Level.Firing()
	if firing && r.Total > 0 {
		fields = append(fields, reply.Field{Label: "Suggested purchase", Value: strconv.Itoa(suggest(r, s))})
	}

	blocks := []reply.Block{
		reply.Header{Text: title},
		reply.Usage{Label: n, InUse: r.InUse, Total: r.Total, Note: "Forecast: " + r.Forecast.String()},
		reply.Fields{Fields: fields},
	}
	switch {
	case !firing:
		blocks = append(blocks, reply.Context{Text: fmt.Sprintf("Alert threshold %d%%.", int(math.Round(r.Threshold*100)))})
	case st.SnoozedBy != "":
		text := fmt.Sprintf("Snoozed by %s until %s.", reply.Mention(st.SnoozedBy), st.SnoozedUntil.UTC().Format(timeLayout))
		if st.Level == LevelWarning {
			text += " It still alerts if it becomes critical."
		}
		blocks = append(blocks, reply.Context{Text: text})
	default:
		blocks = append(blocks, reply.Context{Text: fmt.Sprintf("Alert threshold %d%%. Alerting since %s.",
			int(math.Round(r.Threshold*100)), st.Since.UTC().Format(timeLayout))})
	}
	if firing {
		blocks = append(blocks, reply.Actions{Buttons: []reply.Button{
			{ActionID: ActionRequestMore, Text: "Request more", Value: RequestMoreValue(r.ItemID, st.Episode), Style: reply.Primary},
			{ActionID: ActionSnoozeDay, Text: "Snooze 1 day", Value: SnoozeValue(st.Key, 24*time.Hour)},
			{ActionID: ActionSnoozeWeek, Text: "Snooze 7 days", Value: SnoozeValue(st.Key, 7*24*time.Hour)},
		}})
	}
	return reply.Message{
		Text:       fmt.Sprintf("%s (%s in use, %d left)", title, use, r.Left()),
		Blocks:     blocks,
		Visibility: reply.InChannel,
	}
}

func readErrorMessage(st State) reply.Message {
	if !st.Level.Firing() {
		text := "Resolved: add-on usage can be read again"
		return reply.Message{
			Text:       text,
			Blocks:     []reply.Block{reply.Header{Text: text}, reply.Context{Text: "Capacity alerts were blind from " + st.Since.UTC().Format(timeLayout) + "."}},
			Visibility: reply.InChannel,
		}
	}
	title := "Cannot read add-on usage"
	body := fmt.Sprintf("addons.list failed on %d runs in a row. Capacity alerts cannot see usage until it works again.\nLast error: %s",
		st.Failures, reply.Clean(st.Reason))
	blocks := []reply.Block{reply.Header{Text: title}, reply.Section{Text: body}}
	if st.SnoozedBy != "" {
		blocks = append(blocks, reply.Context{Text: fmt.Sprintf("Snoozed by %s until %s.", reply.Mention(st.SnoozedBy), st.SnoozedUntil.UTC().Format(timeLayout))})
	} else {
		blocks = append(blocks, reply.Context{Text: "Failing since " + st.Since.UTC().Format(timeLayout) + "."})
	}
	return reply.Message{Text: title + ": " + reply.Clean(st.Reason), Blocks: blocks, Visibility: reply.InChannel}
}

// threadMessage is the reply a notice puts in the episode's thread.
func threadMessage(st State, n Notice) reply.Message {
	var text string
	r := st.Reading
	switch {
	case st.Key == ReadErrorKey && n == NoticeResolve:
		text = "Add-on usage can be read again."
	case st.Key == ReadErrorKey:
		text = fmt.Sprintf("Still cannot read add-on usage (%d failed runs). Last error: %s", st.Failures, reply.Clean(st.Reason))
	case n == NoticeEscalate:
		text = fmt.Sprintf("Now critical: %s is at %d/%d, %d left.", name(r), r.InUse, r.Total, r.Left())
	case n == NoticeRepeat:
		text = fmt.Sprintf("Still open: %s is at %d/%d, %d left, %s.", name(r), r.InUse, r.Total, r.Left(), r.Forecast)
	case n == NoticeResolve && r.Missing:
		text = fmt.Sprintf("Resolved: %s is no longer listed.", name(r))
	default:
		text = fmt.Sprintf("Resolved: %s is back to %d/%d, %d left.", name(r), r.InUse, r.Total, r.Left())
	}
	return reply.Message{Text: text, Blocks: []reply.Block{reply.Section{Text: text}}, Visibility: reply.InChannel}
}
