package command

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
)

// What DialogTech says is shown in the bot's own commands.
func TestBotTerms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no free True 800 Numbers slots: buy more with addons.purchase item_id=18, or order with order_slot=1",
			"no free True 800 Numbers slots: buy more with /addons buy 18 <qty>, or add --slots to the order"},
		{"only 1 free Local Number slots for 2 numbers: buy more with addons.purchase item_id=6, or order with order_slot=1",
			"only 1 free Local Number slots for 2 numbers: buy more with /addons buy 6 <qty>, or add --slots to the order"},
		{"no true800 number slots on this account (item_id=18)", "no true800 number slots on this account (item 18)"},
		{"dialogtech numbers.order: failed: try fill_quantity=0", "try --partial"},
		{"Invalid phone_to_call", "Invalid phone_to_call"},
	}
	for _, tt := range tests {
		if got := botTerms(tt.in); got != tt.want {
			t.Errorf("botTerms(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
	got := failureText(&dialog.APIError{Action: dialog.ActionNumbersOrder, Result: "failed", Description: "no free Local Number slots: buy more with addons.purchase item_id=6, or order with order_slot=1"})
	for _, api := range []string{"addons.purchase", "item_id=", "order_slot", "numbers.order"} {
		if strings.Contains(got, api) {
			t.Errorf("failureText names the API (%s): %q", api, got)
		}
	}
	if !strings.Contains(got, "/addons buy 6") || !strings.Contains(got, "--slots") || !strings.Contains(got, "/numbers order") {
		t.Errorf("failureText = %q, want the bot's commands", got)
	}
}

// A large approver group is named in part, so the message stays within
// Slack's limits.
func TestMentionsBounded(t *testing.T) {
	var users []string
	for i := range 500 {
		users = append(users, fmt.Sprintf("U%08d", i))
	}
	got := mentions(users)
	if !strings.HasSuffix(got, " and 480 more") || strings.Count(got, "U000000") != maxMentions || len(got) > 800 {
		t.Errorf("mentions of 500 = %q", got)
	}
	if got := mentions(users[:2]); got != reply.Mention("U00000000")+", "+reply.Mention("U00000001") {
		t.Errorf("mentions of 2 = %q", got)
	}
}
