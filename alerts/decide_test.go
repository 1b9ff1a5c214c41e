package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/dialog"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

const key6 = "addon:6"

func addOn(inUse, total int) dialog.AddOn {
	return dialog.AddOn{ItemID: 6, Name: "Local Numbers", InUse: inUse, TotalQty: total, MaxQtyPurchase: 500}
}

func reading(inUse, total int) Reading {
	return Reading{ItemID: 6, Name: "Local Numbers", InUse: inUse, Total: total, MaxQtyPurchase: 500, Threshold: 0.9}
}

func with(s State, change func(*State)) State {
	change(&s)
	return s
}

func fullIn(d time.Duration, at time.Time) Prediction {
	return Prediction{Trend: TrendFilling, PerDay: 3, FullAt: at.Add(d), At: at}
}

func TestDecide(t *testing.T) {
	base := Settings{Channel: "C1"}
	// A warning posted at t0 whose message is in the channel.
	firing := State{
		Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
		MessageTS: "100.1", Posts: 1, LastPostedAt: t0, Reading: reading(95, 100),
	}
	critical := with(firing, func(s *State) { s.Level, s.Reading = LevelCritical, reading(98, 100) })
	resolved := with(firing, func(s *State) { s.Level, s.Rev, s.Reading = LevelResolved, 3, reading(80, 100) })
	snoozed := with(firing, func(s *State) { s.SnoozedBy, s.SnoozedUntil = "U123ABC", t0.Add(48*time.Hour) })
	forecastWarning := with(firing, func(s *State) {
		s.Reading = reading(65, 100)
		s.Reading.Forecast = fullIn(3*24*time.Hour, t0)
	})
	readFailing := State{
		Key: ReadErrorKey, Level: LevelError, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
		MessageTS: "200.1", Posts: 1, LastPostedAt: t0, Failures: 3, Reason: "dialogtech addons.list: timeout",
	}
	const leaky = `Get "https://secure.dialogtech.com/ibp_api.php?action=addons.list&access_key=AK&secret_access_key=s3cr3t": dial tcp: p4ss refused`

	tests := []struct {
		name     string
		prev     State
		in       Input
		settings func(*Settings)
		now      time.Time
		want     State
		notices  []Notice
	}{
		{
			name: "under the threshold stays quiet",
			prev: State{Key: key6}, in: Input{AddOn: addOn(50, 100)}, now: t0,
			want: State{Key: key6},
		},
		{
			name: "first breach posts",
			prev: State{Key: key6}, in: Input{AddOn: addOn(95, 100)}, now: t0,
			want: State{
				Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: reading(95, 100),
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "exactly at the threshold is a breach",
			prev: State{Key: key6}, in: Input{AddOn: addOn(90, 100)}, now: t0,
			want: State{
				Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: reading(90, 100),
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "a breach after a resolved episode starts a new one",
			prev: resolved, in: Input{AddOn: addOn(93, 100)}, now: t0.Add(72 * time.Hour),
			want: State{
				Key: key6, Level: LevelWarning, Episode: 2, Rev: 4, Since: t0.Add(72 * time.Hour), ChannelID: "C1",
				Posts: 1, LastPostedAt: t0.Add(72 * time.Hour), Reading: reading(93, 100),
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "still firing before the repeat interval stays quiet",
			prev: firing, in: Input{AddOn: addOn(95, 100)}, now: t0.Add(24*time.Hour - time.Minute),
			want: firing,
		},
		{
			name: "still firing after the repeat interval replies in the thread",
			prev: firing, in: Input{AddOn: addOn(95, 100)}, now: t0.Add(24 * time.Hour),
			want:    with(firing, func(s *State) { s.Rev, s.LastPostedAt = 2, t0.Add(24*time.Hour) }),
			notices: []Notice{NoticeRepeat},
		},
		{
			name: "a longer repeat interval holds the reminder back",
			prev: firing, in: Input{AddOn: addOn(95, 100)}, now: t0.Add(24 * time.Hour),
			settings: func(s *Settings) { s.RepeatInterval = 48 * time.Hour },
			want:     firing,
		},
		{
			name: "worse is edited in place",
			prev: firing, in: Input{AddOn: addOn(96, 100)}, now: t0.Add(time.Hour),
			want:    with(firing, func(s *State) { s.Rev, s.Reading = 2, reading(96, 100) }),
			notices: []Notice{NoticeUpdate},
		},
		{
			name: "better but still over stays quiet",
			prev: firing, in: Input{AddOn: addOn(91, 100)}, now: t0.Add(time.Hour),
			want: firing,
		},
		{
			name: "capacity bought but still over is edited in place",
			prev: firing, in: Input{AddOn: addOn(190, 200)}, now: t0.Add(time.Hour),
			want:    with(firing, func(s *State) { s.Rev, s.Reading = 2, reading(190, 200) }),
			notices: []Notice{NoticeUpdate},
		},
		{
			name: "no capacity left escalates to critical",
			prev: firing, in: Input{AddOn: addOn(100, 100)}, now: t0.Add(time.Hour),
			want: with(firing, func(s *State) {
				s.Level, s.Rev, s.LastPostedAt, s.Reading = LevelCritical, 2, t0.Add(time.Hour), reading(100, 100)
			}),
			notices: []Notice{NoticeUpdate, NoticeEscalate},
		},
		{
			name: "the critical threshold escalates",
			prev: firing, in: Input{AddOn: addOn(98, 100)}, now: t0.Add(time.Hour),
			want: with(firing, func(s *State) {
				s.Level, s.Rev, s.LastPostedAt, s.Reading = LevelCritical, 2, t0.Add(time.Hour), reading(98, 100)
			}),
			notices: []Notice{NoticeUpdate, NoticeEscalate},
		},
		{
			name: "a first breach straight to critical posts once",
			prev: State{Key: key6}, in: Input{AddOn: addOn(100, 100)}, now: t0,
			want: State{
				Key: key6, Level: LevelCritical, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: reading(100, 100),
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "critical holds within the margin",
			prev: critical, in: Input{AddOn: addOn(94, 100)}, now: t0.Add(time.Hour),
			want: critical,
		},
		{
			name: "critical eases to warning below its margin",
			prev: critical, in: Input{AddOn: addOn(92, 100)}, now: t0.Add(time.Hour),
			want:    with(critical, func(s *State) { s.Level, s.Rev, s.Reading = LevelWarning, 2, reading(92, 100) }),
			notices: []Notice{NoticeUpdate},
		},
		{
			name: "hysteresis: just under the threshold keeps firing",
			prev: firing, in: Input{AddOn: addOn(86, 100)}, now: t0.Add(time.Hour),
			want: firing,
		},
		{
			name: "hysteresis: at threshold minus margin keeps firing",
			prev: firing, in: Input{AddOn: addOn(85, 100)}, now: t0.Add(time.Hour),
			want: firing,
		},
		{
			name: "below threshold minus margin resolves",
			prev: firing, in: Input{AddOn: addOn(84, 100)}, now: t0.Add(2 * time.Hour),
			want:    with(firing, func(s *State) { s.Level, s.Rev, s.Reading = LevelResolved, 2, reading(84, 100) }),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},
		{
			name: "a wider margin holds the alert longer",
			prev: firing, in: Input{AddOn: addOn(84, 100)}, now: t0.Add(2 * time.Hour),
			settings: func(s *Settings) { s.Margin = 0.1 },
			want:     firing,
		},
		{
			name: "hysteresis: resolved and back just under the threshold stays quiet",
			prev: resolved, in: Input{AddOn: addOn(89, 100)}, now: t0.Add(3 * time.Hour),
			want: resolved,
		},
		{
			name: "resolving an alert nobody saw is silent",
			prev: with(firing, func(s *State) { s.MessageTS = "" }), in: Input{AddOn: addOn(50, 100)}, now: t0.Add(time.Hour),
			want: with(firing, func(s *State) { s.MessageTS, s.Level, s.Reading = "", LevelResolved, reading(50, 100) }),
		},
		{
			name: "a post that did not go out is not retried at once",
			prev: with(firing, func(s *State) { s.MessageTS = "" }), in: Input{AddOn: addOn(96, 100)}, now: t0.Add(5 * time.Minute),
			want: with(firing, func(s *State) { s.MessageTS = "" }),
		},
		{
			name: "a post that did not go out is retried later",
			prev: with(firing, func(s *State) { s.MessageTS = "" }), in: Input{AddOn: addOn(96, 100)}, now: t0.Add(15 * time.Minute),
			want: with(firing, func(s *State) {
				s.MessageTS, s.Posts, s.Rev, s.LastPostedAt, s.Reading = "", 2, 2, t0.Add(15*time.Minute), reading(96, 100)
			}),
			notices: []Notice{NoticePost},
		},
		{
			name: "an add-on no longer listed resolves",
			prev: firing, in: Input{Missing: true}, now: t0.Add(time.Hour),
			want: with(firing, func(s *State) {
				s.Level, s.Rev, s.Reading.Missing = LevelResolved, 2, true
			}),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},

		// Read errors.
		{
			name: "a failed read never resolves",
			prev: firing, in: Input{ReadErr: "dialogtech addons.list: timeout"}, now: t0.Add(48 * time.Hour),
			want: firing,
		},
		{
			name: "a failed read never starts an alert",
			prev: State{Key: key6}, in: Input{ReadErr: "dialogtech addons.list: timeout"}, now: t0,
			want: State{Key: key6},
		},
		{
			name: "the first failed reads are only counted",
			prev: State{Key: ReadErrorKey, Failures: 1}, in: Input{ReadErr: "timeout"}, now: t0,
			want: State{Key: ReadErrorKey, Failures: 2},
		},
		{
			name: "the Nth failed read alerts once, redacted",
			prev: State{Key: ReadErrorKey, Failures: 2}, in: Input{ReadErr: leaky}, now: t0,
			settings: func(s *Settings) {
				s.Redact = func(v string) string { return strings.ReplaceAll(v, "p4ss", "[hidden]") }
			},
			want: State{
				Key: ReadErrorKey, Level: LevelError, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Failures: 3,
				Reason: `Get "https://secure.dialogtech.com/ibp_api.php?action=addons.list&access_key=AK&secret_access_key=REDACTED": dial tcp: [hidden] refused`,
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "ErrorAfter sets how many failures alert",
			prev: State{Key: ReadErrorKey, Failures: 2}, in: Input{ReadErr: "timeout"}, now: t0,
			settings: func(s *Settings) { s.ErrorAfter = 5 },
			want:     State{Key: ReadErrorKey, Failures: 3},
		},
		{
			name: "still failing before the repeat interval is only counted",
			prev: readFailing, in: Input{ReadErr: "timeout"}, now: t0.Add(time.Hour),
			want: with(readFailing, func(s *State) { s.Failures = 4 }),
		},
		{
			name: "still failing after the repeat interval replies in the thread",
			prev: readFailing, in: Input{ReadErr: "refused"}, now: t0.Add(24 * time.Hour),
			want: with(readFailing, func(s *State) {
				s.Failures, s.Rev, s.LastPostedAt, s.Reason = 4, 2, t0.Add(24*time.Hour), "refused"
			}),
			notices: []Notice{NoticeRepeat},
		},
		{
			name: "reading works again: message edited and a note",
			prev: readFailing, in: Input{}, now: t0.Add(time.Hour),
			want:    with(readFailing, func(s *State) { s.Level, s.Failures, s.Rev = LevelResolved, 0, 2 }),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},
		{
			name: "reading works again before the alert: counter reset, silent",
			prev: State{Key: ReadErrorKey, Failures: 2}, in: Input{}, now: t0,
			want: State{Key: ReadErrorKey},
		},

		// Snooze.
		{
			name: "a snooze holds back the reminder",
			prev: snoozed, in: Input{AddOn: addOn(95, 100)}, now: t0.Add(30 * time.Hour),
			want: snoozed,
		},
		{
			name: "a snooze holds back edits",
			prev: snoozed, in: Input{AddOn: addOn(97, 100)}, now: t0.Add(2 * time.Hour),
			want: snoozed,
		},
		{
			name: "a snooze ends early when the add-on becomes critical",
			prev: snoozed, in: Input{AddOn: addOn(100, 100)}, now: t0.Add(2 * time.Hour),
			want: with(firing, func(s *State) {
				s.Level, s.Rev, s.LastPostedAt, s.Reading = LevelCritical, 2, t0.Add(2*time.Hour), reading(100, 100)
			}),
			notices: []Notice{NoticeUpdate, NoticeEscalate},
		},
		{
			name: "a snooze over: message redrawn and the reminder due",
			prev: snoozed, in: Input{AddOn: addOn(95, 100)}, now: t0.Add(49 * time.Hour),
			want:    with(firing, func(s *State) { s.Rev, s.LastPostedAt = 2, t0.Add(49*time.Hour) }),
			notices: []Notice{NoticeUpdate, NoticeRepeat},
		},
		{
			name: "a snoozed alert still resolves",
			prev: snoozed, in: Input{AddOn: addOn(10, 100)}, now: t0.Add(2 * time.Hour),
			want:    with(firing, func(s *State) { s.Level, s.Rev, s.Reading = LevelResolved, 2, reading(10, 100) }),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},

		// Capacity edge cases and overrides.
		{
			name: "total_qty 0 with nothing in use never alerts",
			prev: State{Key: key6}, in: Input{AddOn: addOn(0, 0)}, now: t0,
			want: State{Key: key6},
		},
		{
			name: "in use with no capacity at all is critical",
			prev: State{Key: key6}, in: Input{AddOn: addOn(3, 0)}, now: t0,
			want: State{
				Key: key6, Level: LevelCritical, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: reading(3, 0),
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "an override lowers the add-on's threshold",
			prev: State{Key: key6}, in: Input{AddOn: addOn(60, 100)}, now: t0,
			settings: func(s *Settings) { s.Overrides = map[int]float64{6: 0.5} },
			want: State{
				Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: with(State{Reading: reading(60, 100)}, func(s *State) { s.Reading.Threshold = 0.5 }).Reading,
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "an override raises the add-on's threshold",
			prev: State{Key: key6}, in: Input{AddOn: addOn(95, 100)}, now: t0,
			settings: func(s *Settings) { s.Overrides = map[int]float64{6: 0.99} },
			want:     State{Key: key6},
		},
		{
			name: "an override of another add-on changes nothing here",
			prev: State{Key: key6}, in: Input{AddOn: addOn(60, 100)}, now: t0,
			settings: func(s *Settings) { s.Overrides = map[int]float64{7: 0.5} },
			want:     State{Key: key6},
		},

		// Forecast.
		{
			name: "forecast full within the horizon warns early",
			prev: State{Key: key6}, in: Input{AddOn: addOn(65, 100), Forecast: fullIn(3*24*time.Hour, t0)}, now: t0,
			want: State{
				Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1",
				Posts: 1, LastPostedAt: t0, Reading: forecastWarning.Reading,
			},
			notices: []Notice{NoticePost},
		},
		{
			name: "forecast full beyond the horizon stays quiet",
			prev: State{Key: key6}, in: Input{AddOn: addOn(65, 100), Forecast: fullIn(10*24*time.Hour, t0)}, now: t0,
			want: State{Key: key6},
		},
		{
			name: "forecast under 60% use stays quiet",
			prev: State{Key: key6}, in: Input{AddOn: addOn(55, 100), Forecast: fullIn(2*24*time.Hour, t0)}, now: t0,
			want: State{Key: key6},
		},
		{
			name: "forecast warning holds while the add-on keeps filling",
			prev: forecastWarning, in: Input{AddOn: addOn(65, 100), Forecast: fullIn(9*24*time.Hour, t0.Add(time.Hour))}, now: t0.Add(time.Hour),
			want: forecastWarning,
		},
		{
			name: "forecast warning resolves when use drops",
			prev: forecastWarning, in: Input{AddOn: addOn(50, 100), Forecast: fullIn(3*24*time.Hour, t0.Add(time.Hour))}, now: t0.Add(time.Hour),
			want: with(forecastWarning, func(s *State) {
				s.Level, s.Rev, s.Reading = LevelResolved, 2, reading(50, 100)
				s.Reading.Forecast = fullIn(3*24*time.Hour, t0.Add(time.Hour))
			}),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},
		{
			name: "forecast warning resolves when filling stops",
			prev: forecastWarning, in: Input{AddOn: addOn(65, 100), Forecast: Prediction{Trend: TrendNotFilling, At: t0.Add(time.Hour)}}, now: t0.Add(time.Hour),
			want: with(forecastWarning, func(s *State) {
				s.Level, s.Rev = LevelResolved, 2
				s.Reading.Forecast = Prediction{Trend: TrendNotFilling, At: t0.Add(time.Hour)}
			}),
			notices: []Notice{NoticeUpdate, NoticeResolve},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			if tt.settings != nil {
				tt.settings(&s)
			}
			got, notices := Decide(tt.prev, tt.in, s, tt.now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notices, notices); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecideNoFlap feeds use that hovers around the threshold, a tick every
// 15 minutes, and counts what would reach Slack.
func TestDecideNoFlap(t *testing.T) {
	s := Settings{Channel: "C1"}
	uses := []int{91, 88, 90, 86, 89, 92, 87, 85, 90, 88, 84, 89, 86, 88, 85, 89, 90, 87}
	var got []Notice
	st := State{Key: key6}
	now := t0
	for _, u := range uses {
		var notices []Notice
		st, notices = Decide(st, Input{AddOn: addOn(u, 100)}, s, now)
		for _, n := range notices {
			if n == NoticePost {
				st.MessageTS = "100.1" // as the runner records it
			}
		}
		got = append(got, notices...)
		now = now.Add(15 * time.Minute)
	}
	// One episode from 91 until 84 (its message edited once, for the 92),
	// a second from the 90 after it; the dips to 85-89 say nothing.
	want := []Notice{NoticePost, NoticeUpdate, NoticeUpdate, NoticeResolve, NoticePost}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if st.Episode != 2 {
		t.Errorf("episode = %d, want 2", st.Episode)
	}
}
