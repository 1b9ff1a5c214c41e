package bot

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testRequest() *store.Request {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	return &store.Request{ID: "RTEST0000001", Kind: store.KindOrder, Summary: "order 5 local numbers in 312 (all or nothing)",
		RequesterID: "U0REQUEST", ChannelID: "C0ORDERS", MessageTS: "1.2", State: store.StatePending, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

// Block Kit output is checked against golden JSON files: what Slack is sent
// is what a reviewer approved.
func TestBlocksGolden(t *testing.T) {
	local := dialog.AddOn{ItemID: 6, Name: "Local Number", PurchasePrice: decimal.RequireFromString("0.00"), MaxQtyPurchase: 500, TotalQty: 194, InUse: 79}
	succeeded := testRequest()
	succeeded.State, succeeded.DecidedBy, succeeded.DecidedAt = store.StateSucceeded, "U0APPROVE", succeeded.CreatedAt.Add(time.Minute)
	succeeded.Outcome = json.RawMessage(`{"numbers":["3125550101","3125550102"],"quantity":2}`)
	tests := []struct {
		name string
		msg  reply.Message
	}{
		{"addons", command.AddOnsMessage([]dialog.AddOn{local, {ItemID: 14, Name: "Campaign Guest Logins", TotalQty: 1, InUse: 1, MaxQtyPurchase: 25}, {ItemID: 17, Name: "Canadian <!channel> Number", MaxQtyPurchase: 100}}, map[int]string{6: "full in ~12 days"})},
		{"request", command.RequestMessage(testRequest(), &local, "$0.00 (5 × $0.00)", []string{"U0APPROVE", "U0APPROV2"})},
		{"decided", command.DecidedMessage(succeeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.MarshalIndent(map[string]any{"text": Text(tt.msg), "blocks": Blocks(tt.msg)}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("%s blocks changed (-golden +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestBlocksWithinSlackLimits(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	m := reply.Message{Text: string(long)}
	for range 80 {
		m.Blocks = append(m.Blocks, reply.Section{Text: string(long)})
	}
	blocks := Blocks(m)
	if len(blocks) != maxBlocks {
		t.Errorf("%d blocks, want at most %d", len(blocks), maxBlocks)
	}
	raw, _ := json.Marshal(blocks[0])
	if len(raw) > maxSectionText+200 {
		t.Errorf("section of %d bytes; Slack allows %d characters of text", len(raw), maxSectionText)
	}
	if got := Text(m); utf8.RuneCountInString(got) > maxFallbackText {
		t.Errorf("fallback text %d characters", utf8.RuneCountInString(got))
	}
}

func TestEscape(t *testing.T) {
	tests := map[string]string{
		"<!channel>":             "&lt;!channel&gt;",
		"a & b":                  "a &amp; b",
		"<https://x.example|go>": "&lt;https://x.example|go&gt;",
		"plain":                  "plain",
		"&amp;":                  "&amp;amp;",
	}
	for in, want := range tests {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mrkdwn("by " + reply.Mention("U0ABC") + " <!here>"); got != "by <@U0ABC> &lt;!here&gt;" {
		t.Errorf("mrkdwn = %q", got)
	}
}
