package console

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

// TestRenderKindsFromHostileText renders each kind of message the console
// shows from text holding terminal control sequences, markup and mention
// markers: the terminal gets no control character but newlines, no
// marker, and no mention forged from data; every button is numbered.
func TestRenderKindsFromHostileText(t *testing.T) {
	const piece = "Ünïcødé 📞 & <b> <!channel> *_~ \x1b[2J\x1b]0;pwned\x07\r\t \uE000U0FORGED\uE001 "
	hostile := strings.Repeat(piece, 8)
	clean := reply.Clean(hostile) // as the command layer stores a summary
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	r := store.Request{ID: "RHOSTILE0001", Kind: store.KindPurchase, Summary: "buy 5 × " + clean, RequesterID: "U0REQUEST",
		ChannelID: "C0ORDERS", MessageTS: "1.2", CreatedAt: at, ExpiresAt: at.Add(time.Hour), DecidedBy: "U0APPROVE", DecidedAt: at}
	usage := dialog.AddOn{ItemID: 6, Name: hostile, InUse: 5, TotalQty: 10}
	outcome := func(o approval.Outcome) json.RawMessage { b, _ := json.Marshal(o); return b }
	failed := r
	failed.State, failed.Outcome = store.StateFailed, outcome(approval.Outcome{Error: hostile})
	bought := r
	bought.State, bought.Outcome = store.StateSucceeded, outcome(approval.Outcome{Description: hostile})
	denied := r
	denied.State, denied.Reason = store.StateDenied, clean
	kinds := map[string]reply.Message{
		"request":        command.RequestMessage(&r, &usage, "$1.00", []string{"U0APPROVE", "U0APPROV2"}, command.Progress{Needed: 2, ApprovedBy: []string{"U0APPROV2"}}),
		"decided failed": command.DecidedMessage(&failed),
		"decided bought": command.DecidedMessage(&bought),
		"decided denied": command.DecidedMessage(&denied, "U0APPROV2"),
		"reminder":       command.Reminder(&r, []string{"U0APPROVE"}),
		"add-ons":        command.AddOnsMessage([]dialog.AddOn{usage, {ItemID: 7, Name: hostile}}, map[int]string{6: clean}),
		"plain text":     {Text: clean},
	}
	for name, m := range kinds {
		buttons := 0
		out := render(m, "  ", func(reply.Button) int { buttons++; return buttons })
		for _, c := range out {
			if c != '\n' && unicode.IsControl(c) {
				t.Errorf("%s: control character %U reaches the terminal", name, c)
				break
			}
		}
		if strings.ContainsAny(out, "\uE000\uE001") {
			t.Errorf("%s: a mention marker reaches the terminal", name)
		}
		if strings.Contains(out, "@U0FORGED") {
			t.Errorf("%s: a mention forged in data is shown as one", name)
		}
		want := 0
		for _, b := range m.Blocks {
			if a, ok := b.(reply.Actions); ok {
				want += len(a.Buttons)
			}
		}
		for i := 1; i <= want; i++ {
			if !strings.Contains(out, fmt.Sprintf("[%d] ", i)) {
				t.Errorf("%s: button [%d] not shown", name, i)
			}
		}
	}
}
