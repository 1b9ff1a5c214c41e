package alerts

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
)

func TestSuggestQty(t *testing.T) {
	tests := []struct {
		name              string
		inUse, total, max int
		threshold, margin float64
		want              int
	}{
		// 95/(100+q) < 0.85 needs 100+q > 111.8.
		{"over the threshold", 95, 100, 500, 0.9, 0.05, 12},
		// 85/(90+q) < 0.85 needs 90+q > 100: 100 itself lands exactly on 85%.
		{"landing exactly on the target is not under it", 85, 90, 500, 0.9, 0.05, 11},
		{"full", 194, 194, 500, 0.9, 0.05, 35},
		{"capped at max_qty_purchase", 95, 100, 5, 0.9, 0.05, 5},
		{"no max_qty_purchase: not capped", 95, 100, 0, 0.9, 0.05, 12},
		{"already under: at least one", 10, 100, 500, 0.9, 0.05, 1},
		{"nothing bought, nothing used", 0, 0, 500, 0.9, 0.05, 1},
		{"nothing bought, some used", 17, 0, 500, 0.9, 0.05, 21},
		{"per-add-on threshold", 60, 100, 500, 0.5, 0.05, 34},
		{"no margin", 90, 100, 500, 0.9, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := dialog.AddOn{ItemID: 6, InUse: tt.inUse, TotalQty: tt.total, MaxQtyPurchase: tt.max}
			got := SuggestQty(a, tt.threshold, tt.margin)
			if got != tt.want {
				t.Errorf("SuggestQty(%d/%d, %v, %v) = %d, want %d", tt.inUse, tt.total, tt.threshold, tt.margin, got, tt.want)
			}
			// Whatever it suggests (uncapped) must resolve the alert, and one
			// less must not.
			if tt.max == 0 || got < tt.max {
				target := tt.threshold - tt.margin
				if !(float64(tt.inUse) < target*float64(tt.total+got)) {
					t.Errorf("%d more leaves %d/%d, not under %v", got, tt.inUse, tt.total+got, target)
				}
				if got > 1 && float64(tt.inUse) < target*float64(tt.total+got-1) {
					t.Errorf("%d more would already do", got-1)
				}
			}
		})
	}
}

func TestSnoozeValue(t *testing.T) {
	for _, d := range []time.Duration{24 * time.Hour, 168 * time.Hour} {
		v := SnoozeValue("addon:6", d)
		key, got, err := ParseSnoozeValue(v)
		if err != nil || key != "addon:6" || got != d {
			t.Errorf("ParseSnoozeValue(%q) = %q, %v, %v", v, key, got, err)
		}
	}
	if v := SnoozeValue("addon:6", 24*time.Hour); v != "addon:6|24h" {
		t.Errorf("SnoozeValue = %q, want addon:6|24h", v)
	}
	for _, bad := range []string{"", "addon:6", "|24h", "addon:6|", "addon:6|-1h", "addon:6|0h", "addon:6|1000h", "addon:6|30s", "addon:6|soon"} {
		if _, _, err := ParseSnoozeValue(bad); err == nil {
			t.Errorf("ParseSnoozeValue(%q) accepted", bad)
		}
	}
}

func TestAlertMessage(t *testing.T) {
	s := Settings{Channel: "C1"}
	st := State{
		Key: key6, Level: LevelWarning, Episode: 1, Rev: 1, Since: t0, ChannelID: "C1", MessageTS: "100.1",
		Posts: 1, LastPostedAt: t0, Reading: reading(95, 100),
	}
	st.Reading.Forecast = fullIn(2*24*time.Hour, t0)
	buttons := reply.Actions{Buttons: []reply.Button{
		{ActionID: "alert.request_more", Text: "Request more", Value: "6|e1", Style: reply.Primary},
		{ActionID: "alert.snooze_day", Text: "Snooze 1 day", Value: "addon:6|24h"},
		{ActionID: "alert.snooze_week", Text: "Snooze 7 days", Value: "addon:6|168h"},
	}}
	fields := func(inUse, left, suggest string) reply.Fields {
		f := reply.Fields{Fields: []reply.Field{
			{Label: "Add-on", Value: "Local Numbers (item 6)"},
			{Label: "In use", Value: inUse},
			{Label: "Capacity left", Value: left},
		}}
		if suggest != "" {
			f.Fields = append(f.Fields, reply.Field{Label: "Suggested purchase", Value: suggest})
		}
		return f
	}
	usage := func(inUse int) reply.Usage {
		return reply.Usage{Label: "Local Numbers", InUse: inUse, Total: 100, Note: "Forecast: full in ~2 days"}
	}

	tests := []struct {
		name string
		st   State
		want reply.Message
	}{
		{
			name: "warning",
			st:   st,
			want: reply.Message{
				Text: "Local Numbers is 95% full (95/100 in use, 5 left)",
				Blocks: []reply.Block{
					reply.Header{Text: "Local Numbers is 95% full"},
					usage(95),
					fields("95/100", "5", "12"),
					reply.Context{Text: "Alert threshold 90%. Alerting since Mon 3 Mar 09:00 UTC."},
					buttons,
				},
				Visibility: reply.InChannel,
			},
		},
		{
			name: "critical and snoozed",
			st: with(st, func(s *State) {
				s.Level, s.Reading.InUse, s.SnoozedBy, s.SnoozedUntil = LevelCritical, 100, "U123ABC", t0.Add(24*time.Hour)
			}),
			want: reply.Message{
				Text: "Local Numbers has no capacity left (100/100 in use, 0 left)",
				Blocks: []reply.Block{
					reply.Header{Text: "Local Numbers has no capacity left"},
					usage(100),
					fields("100/100", "0", "18"),
					reply.Context{Text: "Snoozed by " + reply.Mention("U123ABC") + " until Tue 4 Mar 09:00 UTC."},
					buttons,
				},
				Visibility: reply.InChannel,
			},
		},
		{
			name: "forecast warning: the suggestion ends the forecast's warning",
			st:   with(st, func(s *State) { s.Reading.InUse = 63 }),
			want: reply.Message{
				Text: "Local Numbers will be full in ~2 days (63/100 in use, 37 left)",
				Blocks: []reply.Block{
					reply.Header{Text: "Local Numbers will be full in ~2 days"},
					usage(63),
					fields("63/100", "37", "15"), // 63/115 < 55%
					reply.Context{Text: "Alert threshold 90%. Alerting since Mon 3 Mar 09:00 UTC."},
					buttons,
				},
				Visibility: reply.InChannel,
			},
		},
		{
			name: "resolved: no buttons",
			st:   with(st, func(s *State) { s.Level, s.Reading.InUse = LevelResolved, 80 }),
			want: reply.Message{
				Text: "Resolved: Local Numbers is back to 80% (80/100 in use, 20 left)",
				Blocks: []reply.Block{
					reply.Header{Text: "Resolved: Local Numbers is back to 80%"},
					usage(80),
					fields("80/100", "20", ""),
					reply.Context{Text: "Alert threshold 90%."},
				},
				Visibility: reply.InChannel,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, alertMessage(tt.st, s)); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertMessageCleansNames(t *testing.T) {
	st := State{Key: key6, Level: LevelWarning, Reading: reading(95, 100)}
	st.Reading.Name = "Numbers \uE000U0FORGED\uE001"
	m := alertMessage(st, Settings{})
	if got := m.Blocks[0].(reply.Header).Text; got != "Numbers U0FORGED is 95% full" {
		t.Errorf("header = %q: a name must not carry a mention", got)
	}
}

func TestSettingsValidate(t *testing.T) {
	ok := Settings{Channel: "C1"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Settings)
	}{
		{"no channel", func(s *Settings) { s.Channel = "" }},
		{"threshold over 1", func(s *Settings) { s.Threshold = 1.5 }},
		{"negative threshold", func(s *Settings) { s.Threshold = -0.1 }},
		{"critical under threshold", func(s *Settings) { s.Threshold, s.CriticalThreshold = 0.9, 0.8 }},
		{"margin as big as the threshold", func(s *Settings) { s.Threshold, s.Margin = 0.5, 0.5 }},
		{"bad override", func(s *Settings) { s.Overrides = map[int]float64{6: 2} }},
		{"negative repeat", func(s *Settings) { s.RepeatInterval = -time.Hour }},
		{"bad schedule", func(s *Settings) { s.Schedule = "CRON_TZ=UTC" }},
	}
	for _, tt := range tests {
		s := ok
		tt.change(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		spec string
		ok   bool
	}{
		{"*/15 * * * *", true},
		{"@every 30s", true},
		{"@hourly", true},
		{"CRON_TZ=UTC 0 9 * * 1-5", true},
		{"CRON_TZ=America/Chicago */5 * * * *", true},
		{"CRON_TZ=UTC", false}, // robfig/cron panics on this one
		{"CRON_TZ=UTC ", false},
		{"CRON_TZ=Nowhere/Atlantis 0 9 * * *", false},
		{"", false},
		{"* * *", false},
		{"0 0 * * * *", false}, // six fields: seconds are not accepted
		{"@fortnightly", false},
	}
	for _, tt := range tests {
		_, err := ParseSchedule(tt.spec)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSchedule(%q) error = %v, want ok=%v", tt.spec, err, tt.ok)
		}
	}
}
