package alerts

import (
	"strconv"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
)

// Level is where an alert stands.
type Level string

const (
	LevelOK       Level = "ok"
	LevelWarning  Level = "warning"
	LevelCritical Level = "critical"
	LevelResolved Level = "resolved"
	// LevelError: usage cannot be read (the ReadErrorKey alert only).
	LevelError Level = "error"
)

// Firing reports whether the alert is open.
func (l Level) Firing() bool {
	return l == LevelWarning || l == LevelCritical || l == LevelError
}

// ReadErrorKey is the key of the alert raised when addons.list keeps failing.
const ReadErrorKey = "read-error"

// AddOnKey is the key of an add-on's alert.
func AddOnKey(itemID int) string { return "addon:" + strconv.Itoa(itemID) }

// Reading is the add-on as the alert message last showed it.
type Reading struct {
	ItemID         int        `json:"item_id"`
	Name           string     `json:"name,omitempty"`
	InUse          int        `json:"in_use"`
	Total          int        `json:"total"`
	MaxQtyPurchase int        `json:"max_qty_purchase,omitempty"`
	Threshold      float64    `json:"threshold,omitempty"` // the add-on's warning threshold
	Forecast       Prediction `json:"forecast"`
	Missing        bool       `json:"missing,omitempty"` // no longer listed by addons.list
}

// Left is the capacity left, never negative.
func (r Reading) Left() int { return max(r.Total-r.InUse, 0) }

func (r Reading) usage() float64 {
	if r.Total <= 0 {
		return 0
	}
	return float64(r.InUse) / float64(r.Total)
}

// State is one alert's memory between runs: everything Decide needs, and
// everything the alert message is drawn from. It is comparable, so a
// caller can tell whether a run changed anything.
type State struct {
	Key     string
	Level   Level
	Episode int64 // increases with each new episode
	// Rev increases with every change that sends a notice; a notice is
	// claimed under (Key, Episode, notice-Rev), so no two runs send the same
	// one.
	Rev       int64
	Since     time.Time // start of the episode
	ChannelID string    // where the episode's message is
	MessageTS string    // the episode's message; empty until posted
	// Posts counts attempts to post the episode's message.
	Posts int
	// LastPostedAt is when the alert was last brought up: posted, escalated
	// or repeated. The repeat interval runs from here.
	LastPostedAt time.Time
	SnoozedBy    string
	SnoozedUntil time.Time
	Failures     int    // consecutive failed reads (ReadErrorKey)
	Reason       string // why reading failed, redacted (ReadErrorKey)
	Reading      Reading
}

// Snoozed reports whether a snooze holds at now.
func (s State) Snoozed(now time.Time) bool {
	return s.SnoozedBy != "" && now.Before(s.SnoozedUntil)
}

// Input is what one run learned about one alert.
type Input struct {
	// AddOn as addons.list returned it.
	AddOn dialog.AddOn
	// Forecast of the add-on; the zero Prediction when not computed.
	Forecast Prediction
	// Missing: the add-on is no longer listed.
	Missing bool
	// ReadErr is why addons.list failed this run; empty when it worked. It
	// is redacted before it is kept.
	ReadErr string
}

// Notice is something to say in Slack about an alert.
type Notice string

const (
	// NoticePost: post the episode's message in the channel.
	NoticePost Notice = "post"
	// NoticeUpdate: edit the episode's message in place (silent).
	NoticeUpdate Notice = "update"
	// NoticeEscalate: reply in the thread that the alert became critical.
	NoticeEscalate Notice = "escalate"
	// NoticeRepeat: reply in the thread that the alert still fires.
	NoticeRepeat Notice = "repeat"
	// NoticeResolve: reply in the thread that the alert is over.
	NoticeResolve Notice = "resolve"
)

// postRetry is how long a run waits before posting an episode's message
// again when the first post did not go out (Slack refused it, or the
// replica died). Shorter would risk a second message from a replica that
// is merely slow, paced behind other posts.
const postRetry = 10 * time.Minute

// epsilon absorbs float rounding in threshold comparisons, so 90/100
// against 0.9 counts as reached whichever way it is computed.
const epsilon = 1e-9

func atLeast(u, limit float64) bool { return u >= limit-epsilon }

// Decide is the alert state machine: given the alert's previous state,
// what this run learned, the settings and the time, it returns the next
// state and what to say in Slack. It does no I/O, so a table test covers
// every transition.
//
// A repeat is a reply in the episode's thread, not a new channel message:
// the channel keeps one message per episode, and the thread holds the
// history.
func Decide(prev State, in Input, s Settings, now time.Time) (State, []Notice) {
	s = s.withDefaults()
	if prev.Key == ReadErrorKey {
		return decideRead(prev, in, s, now)
	}
	return decideAddOn(prev, in, s, now)
}

func decideAddOn(prev State, in Input, s Settings, now time.Time) (State, []Notice) {
	if in.ReadErr != "" {
		// A failed read says nothing about use: it never resolves or
		// escalates anything. The ReadErrorKey alert speaks for it.
		return prev, nil
	}
	var r Reading
	var lvl Level
	if in.Missing {
		r = prev.Reading
		r.Missing = true
		lvl = LevelOK
	} else {
		a := in.AddOn
		r = Reading{
			ItemID:         a.ItemID,
			Name:           a.Name,
			InUse:          a.InUse,
			Total:          a.TotalQty,
			MaxQtyPurchase: a.MaxQtyPurchase,
			Threshold:      s.threshold(a.ItemID),
			Forecast:       in.Forecast,
		}
		lvl = classify(prev.Level, r, s)
	}

	switch {
	case !prev.Level.Firing() && !lvl.Firing():
		return prev, nil
	case !prev.Level.Firing():
		return newEpisode(prev, lvl, r, "", s, now), []Notice{NoticePost}
	case !lvl.Firing():
		return resolve(prev, r)
	}

	next := prev
	next.Level = lvl
	escalated := lvl == LevelCritical && prev.Level != LevelCritical
	if escalated {
		// Getting worse to critical ends a snooze early: the snooze was
		// for a warning.
		next.SnoozedBy, next.SnoozedUntil = "", time.Time{}
	}
	if prev.MessageTS == "" {
		return retryPost(prev, next, r, now)
	}

	var notices []Notice
	snoozeOver := prev.SnoozedBy != "" && !prev.Snoozed(now)
	switch {
	case escalated:
		next.Reading = r
		next.LastPostedAt = now
		return bump(next, NoticeUpdate, NoticeEscalate)
	case prev.Snoozed(now):
		// Snoozed: the message keeps showing what it showed, and nothing
		// is said until the snooze ends or the add-on becomes critical.
		return next, nil
	case snoozeOver:
		next.SnoozedBy, next.SnoozedUntil = "", time.Time{}
		next.Reading = r
		notices = append(notices, NoticeUpdate)
	case worse(prev.Reading, r) || lvl != prev.Level:
		next.Reading = r
		notices = append(notices, NoticeUpdate)
	}
	if now.Sub(prev.LastPostedAt) >= s.RepeatInterval {
		next.Reading = r
		next.LastPostedAt = now
		notices = append(notices, NoticeRepeat)
	}
	return bump(next, notices...)
}

// classify is the level of an add-on's reading, given the level before it
// (which is where hysteresis comes from).
func classify(prev Level, r Reading, s Settings) Level {
	if r.Total <= 0 {
		if r.InUse > 0 {
			return LevelCritical // in use with no capacity at all
		}
		return LevelOK // nothing bought, nothing used
	}
	u := r.usage()
	crit := max(s.CriticalThreshold, r.Threshold)
	firing := prev.Firing()
	switch {
	case r.Left() == 0, atLeast(u, crit), prev == LevelCritical && atLeast(u, crit-s.margin()):
		return LevelCritical
	case atLeast(u, r.Threshold), firing && atLeast(u, r.Threshold-s.margin()):
		return LevelWarning
	case atLeast(u, s.ForecastFrom) && r.Forecast.FullWithin(s.Horizon):
		return LevelWarning
	case firing && atLeast(u, s.ForecastFrom-s.margin()) && r.Forecast.FullWithin(2*s.Horizon):
		// The forecast's own hysteresis: a warning raised by the forecast
		// stays while the add-on keeps filling about as fast.
		return LevelWarning
	}
	return LevelOK
}

// worse: less left, or a larger share in use; or capacity was bought,
// which the message should show too.
func worse(before, after Reading) bool {
	return after.Left() < before.Left() || after.usage() > before.usage() || after.Total != before.Total
}

func newEpisode(prev State, lvl Level, r Reading, reason string, s Settings, now time.Time) State {
	return State{
		Key:          prev.Key,
		Level:        lvl,
		Episode:      prev.Episode + 1,
		Rev:          prev.Rev + 1,
		Since:        now,
		ChannelID:    s.Channel,
		Posts:        1,
		LastPostedAt: now,
		Failures:     prev.Failures,
		Reason:       reason,
		Reading:      r,
	}
}

func resolve(prev State, r Reading) (State, []Notice) {
	next := prev
	next.Level = LevelResolved
	next.Reading = r
	next.SnoozedBy, next.SnoozedUntil = "", time.Time{}
	if prev.MessageTS == "" {
		// Nobody heard of this episode; a resolved note would be the
		// first and only thing they hear.
		return next, nil
	}
	return bump(next, NoticeUpdate, NoticeResolve)
}

// retryPost handles a firing alert whose message never went out.
func retryPost(prev, next State, r Reading, now time.Time) (State, []Notice) {
	if now.Sub(prev.LastPostedAt) < postRetry {
		return next, nil
	}
	next.Reading = r
	next.Posts++
	next.LastPostedAt = now
	return bump(next, NoticePost)
}

func bump(next State, notices ...Notice) (State, []Notice) {
	if len(notices) > 0 {
		next.Rev++
	}
	return next, notices
}

func decideRead(prev State, in Input, s Settings, now time.Time) (State, []Notice) {
	if in.ReadErr == "" {
		switch {
		case prev.Level == LevelError:
			next, notices := resolve(prev, prev.Reading)
			next.Failures = 0
			return next, notices
		case prev.Failures != 0:
			next := prev
			next.Failures = 0
			return next, nil
		}
		return prev, nil
	}

	failures := prev.Failures + 1
	if prev.Level != LevelError {
		next := prev
		next.Failures = failures
		if failures < s.ErrorAfter {
			return next, nil
		}
		return newEpisode(next, LevelError, Reading{}, s.redact(in.ReadErr), s, now), []Notice{NoticePost}
	}

	next := prev
	next.Failures = failures
	if prev.MessageTS == "" {
		return retryPost(prev, next, prev.Reading, now)
	}
	if prev.Snoozed(now) {
		return next, nil
	}
	var notices []Notice
	if prev.SnoozedBy != "" {
		next.SnoozedBy, next.SnoozedUntil = "", time.Time{}
		notices = append(notices, NoticeUpdate)
	}
	if now.Sub(prev.LastPostedAt) >= s.RepeatInterval {
		next.Reason = s.redact(in.ReadErr)
		next.LastPostedAt = now
		notices = append(notices, NoticeRepeat)
	}
	return bump(next, notices...)
}
