package bot_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
)

// simAddOns reads the simulator's default add-on inventory through the
// DialogTech client, as /addons does: the add-ons as the bot sees them.
func simAddOns(b *testing.B) []dialog.AddOn {
	b.Helper()
	sim := dialogsim.New(dialogsim.WithCredentials(dtAccess, dtSecret))
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	client, err := dialog.NewClient(dialog.WithCredentials(dtAccess, dtSecret), dialog.WithBaseURL(srv.URL+"/ibp_api.php"),
		dialog.WithTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	addOns, err := client.ListAddOns(b.Context())
	if err != nil {
		b.Fatalf("ListAddOns: %v", err)
	}
	if want := len(sim.AddOns()); len(addOns) != want || want == 0 {
		b.Fatalf("ListAddOns returned %d add-ons; the simulator has %d", len(addOns), want)
	}
	return addOns
}

// BenchmarkRenderAddOns is the work of one /addons reply once addons.list
// has answered: the reply, its Block Kit blocks and fallback text, and the
// JSON of the blocks that goes on the wire.
func BenchmarkRenderAddOns(b *testing.B) {
	addOns := simAddOns(b)
	render := func() (string, []byte, error) {
		m := command.AddOnsMessage(addOns, nil)
		text := bot.Text(m)
		body, err := json.Marshal(bot.Blocks(m))
		return text, body, err
	}
	text, body, err := render()
	if err != nil {
		b.Fatalf("marshal blocks: %v", err)
	}
	if want := fmt.Sprintf("%d add-ons", len(addOns)); text != want {
		b.Fatalf("Text = %q; want %q", text, want)
	}
	// A header, a usage block per add-on, the context line.
	var blocks []json.RawMessage
	if err := json.Unmarshal(body, &blocks); err != nil || len(blocks) != len(addOns)+2 {
		b.Fatalf("blocks: %d (%v); want %d", len(blocks), err, len(addOns)+2)
	}
	if !strings.Contains(string(body), "Local Number") {
		b.Fatalf("blocks lack the Local Number add-on: %s", body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := render(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(body)), "wire-bytes/op")
}
