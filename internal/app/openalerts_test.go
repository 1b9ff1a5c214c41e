package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/alerts"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
)

// TestOpenAlertLinesForgeNoMention: the App Home's open-alert lines carry
// DialogTech's add-on names as text, so a name holding a mention marker
// shows as text, while the snoozer's mention stays a mention; and Slack
// takes the section they make.
func TestOpenAlertLinesForgeNoMention(t *testing.T) {
	now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	name := strings.Repeat("Ünïcødé 📞 & <b> <!channel> *_~ \uE000U0FORGED\uE001 ", 10)
	reading := alerts.Reading{ItemID: 6, Name: name, InUse: 95, Total: 100, Threshold: 0.9}
	for label, st := range map[string]alerts.State{
		"warning":    {Key: "addon:6", Level: alerts.LevelWarning, Reading: reading},
		"snoozed":    {Key: "addon:6", Level: alerts.LevelCritical, Reading: reading, SnoozedBy: "U0SNOOZER", SnoozedUntil: now.Add(time.Hour)},
		"read error": {Key: alerts.ReadErrorKey, Level: alerts.LevelError, Failures: 3, Reason: name},
	} {
		line := app.OpenAlertLine(st, now)
		m := reply.Message{Text: line, Blocks: []reply.Block{reply.Section{Text: line}}}
		blocks, err := json.Marshal(bot.Blocks(m))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range slacktest.CheckMessage(bot.Text(m), blocks) {
			t.Errorf("%s: Slack would refuse it: %s", label, v)
		}
		var decoded []struct {
			Text struct{ Text string } `json:"text"`
		}
		if err := json.Unmarshal(blocks, &decoded); err != nil {
			t.Fatal(err)
		}
		text := decoded[0].Text.Text
		if strings.Contains(text, "<@U0FORGED>") {
			t.Errorf("%s: a mention forged in an add-on name became real: %q", label, text)
		}
		if strings.Contains(text, "<!channel>") {
			t.Errorf("%s: <!channel> from an add-on name survived: %q", label, text)
		}
		if st.SnoozedBy != "" && !strings.Contains(text, "<@U0SNOOZER>") {
			t.Errorf("%s: the snoozer is not mentioned: %q", label, text)
		}
	}
}
