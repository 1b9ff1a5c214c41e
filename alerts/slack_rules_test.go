package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
)

// TestAlertMessagesSlackTakes renders every alert message (warning,
// critical, full, forecast, resolved, missing, snoozed, read error and its
// resolution, and every thread notice) from hostile data and checks each
// against the Slack emulator's rules: one refused alert is an alert nobody
// sees.
func TestAlertMessagesSlackTakes(t *testing.T) {
	const piece = "Ünïcødé 📞 & <b> > <!channel> *_~ \uE000U0FORGED\uE001 "
	name := strings.Repeat(piece, 30)
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	base := State{Key: "addon:6", Level: LevelWarning, Episode: 3, Rev: 2, Since: t0, ChannelID: "C1", MessageTS: "1.1",
		Reading: Reading{ItemID: 6, Name: name, InUse: 95, Total: 100, MaxQtyPurchase: 500, Threshold: 0.9}}
	s := Settings{Channel: "C1"}
	states := map[string]func(*State){
		"warning":  func(*State) {},
		"critical": func(st *State) { st.Level, st.Reading.InUse = LevelCritical, 99 },
		"full":     func(st *State) { st.Level, st.Reading.InUse = LevelCritical, 100 },
		"resolved": func(st *State) { st.Level, st.Reading.InUse = LevelResolved, 10 },
		"missing":  func(st *State) { st.Level, st.Reading.Missing = LevelResolved, true },
		"snoozed":  func(st *State) { st.SnoozedBy, st.SnoozedUntil = "U0SNOOZER", t0.Add(24*time.Hour) },
		"error": func(st *State) {
			st.Key, st.Level, st.Failures, st.Reason = ReadErrorKey, LevelError, 12, strings.Repeat(piece, 100)
		},
		"error snoozed": func(st *State) {
			st.Key, st.Level, st.Failures, st.Reason = ReadErrorKey, LevelError, 3, name
			st.SnoozedBy, st.SnoozedUntil = "U0SNOOZER", t0.Add(time.Hour)
		},
		"error resolved": func(st *State) { st.Key, st.Level = ReadErrorKey, LevelResolved },
	}
	for label, mod := range states {
		st := base
		mod(&st)
		msgs := map[string]reply.Message{"message": alertMessage(st, s)}
		for _, n := range []Notice{NoticeEscalate, NoticeRepeat, NoticeResolve} {
			msgs["thread "+string(n)] = threadMessage(st, n)
		}
		for kind, m := range msgs {
			blocks, err := json.Marshal(bot.Blocks(m))
			if err != nil {
				t.Fatal(err)
			}
			text := bot.Text(m)
			for _, v := range slacktest.CheckMessage(text, blocks) {
				t.Errorf("%s %s: Slack would refuse it: %s (%s)", label, kind, v, v.Rule)
			}
			if strings.Contains(string(blocks)+text, "<@U0FORGED>") {
				t.Errorf("%s %s: a mention forged in a name became real", label, kind)
			}
			if strings.ContainsRune(string(blocks)+text, utf8.RuneError) {
				t.Errorf("%s %s: a cut through a character", label, kind)
			}
		}
	}
}

// TestSnoozeRepliesSlackTakes: the ephemeral answer to each Snooze press
// (a warning, a critical alert, the read error, and the refusals) and the
// alert message it redraws, from a hostile add-on name and error, pass
// Slack's rules and forge no mention.
func TestSnoozeRepliesSlackTakes(t *testing.T) {
	const piece = "Ünïcødé 📞 & <b> > <!channel> *_~ \uE000U0FORGED\uE001 "
	name := strings.Repeat(piece, 30)
	check := func(label string, m reply.Message) {
		t.Helper()
		blocks, err := json.Marshal(bot.Blocks(m))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range slacktest.CheckMessage(bot.Text(m), blocks) {
			t.Errorf("%s: Slack would refuse it: %s (%s)", label, v, v.Rule)
		}
		if s := string(blocks) + bot.Text(m); strings.Contains(s, "<@U0FORGED>") || strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("%s: a forged mention or a cut character: %s", label, s)
		}
	}
	for label, inUse := range map[string]int{"warning": 95, "critical": 100} {
		h := newHarness(newMemStore())
		h.reader.set(nil, dialog.AddOn{ItemID: 6, Name: name, InUse: inUse, TotalQty: 100, MaxQtyPurchase: 500})
		r := h.runner()
		h.mustTick(t, r)
		m, err := r.Snooze(t.Context(), AddOnKey(6), "U0SNOOZER", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		check("snooze "+label, m)
		if len(h.poster.all()) < 2 {
			t.Errorf("snooze %s: %d calls, want the alert posted and redrawn", label, len(h.poster.all()))
		}
		for i, c := range h.poster.all() {
			check(fmt.Sprintf("snooze %s: call %d (%s)", label, i, c.Op), c.Msg)
		}
		for _, d := range []time.Duration{-time.Hour, 90 * 24 * time.Hour} {
			m, _ := r.Snooze(t.Context(), AddOnKey(6), "U0SNOOZER", d)
			check("snooze refused", m)
		}
		m, _ = r.Snooze(t.Context(), "addon:99", "U0SNOOZER", time.Hour)
		check("snooze of no alert", m)
	}
	h := newHarness(newMemStore())
	h.reader.set(errors.New(name))
	r := h.runner()
	for range DefaultErrorAfter {
		_ = h.tick(t, r)
		h.clock.Advance(15 * time.Minute)
	}
	m, err := r.Snooze(t.Context(), ReadErrorKey, "U0SNOOZER", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Snoozed this alert") {
		t.Errorf("read error snooze answered %q", m.Text)
	}
	check("snooze read error", m)
	if len(h.poster.all()) < 2 {
		t.Errorf("read error: %d calls, want the alert posted and redrawn", len(h.poster.all()))
	}
	for i, c := range h.poster.all() {
		check(fmt.Sprintf("read error: call %d (%s)", i, c.Op), c.Msg)
	}
}
