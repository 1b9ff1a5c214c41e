package slacktest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestButtonsOfAndTextOf(t *testing.T) {
	tests := []struct {
		name        string
		msg         Message
		wantButtons []Button
		wantText    string
	}{
		{
			name:     "text only",
			msg:      Message{Text: "Add-ons: 3"},
			wantText: "Add-ons: 3",
		},
		{
			name: "header, section with fields and accessory, context",
			msg: Message{Text: "fallback", Blocks: json.RawMessage(`[
				{"type":"header","text":{"type":"plain_text","text":"Capacity"}},
				{"type":"section","block_id":"s1","text":{"type":"mrkdwn","text":"*Local numbers*"},
				 "fields":[{"type":"mrkdwn","text":"in use"},{"type":"plain_text","text":"79/194"}],
				 "accessory":{"type":"button","action_id":"buy","value":"12","text":{"type":"plain_text","text":"Buy more"},
				   "confirm":{"title":{"type":"plain_text","text":"Sure?"},"text":{"type":"plain_text","text":"Costs money"}}}},
				{"type":"divider"},
				{"type":"context","elements":[{"type":"mrkdwn","text":"as of 12:00"},{"type":"image","image_url":"https://x/y.png","alt_text":"logo"}]}
			]`)},
			wantButtons: []Button{{BlockID: "s1", ActionID: "buy", Value: "12", Text: "Buy more", HasConfirm: true}},
			wantText:    "fallback\nCapacity\n*Local numbers*\nin use\n79/194\nBuy more\nas of 12:00",
		},
		{
			name: "actions with a select and buttons",
			msg: Message{Blocks: json.RawMessage(`[
				{"type":"actions","block_id":"a1","elements":[
					{"type":"static_select","action_id":"pick","placeholder":{"type":"plain_text","text":"Choose"},
					 "options":[{"text":{"type":"plain_text","text":"hidden option"},"value":"1"}]},
					{"type":"button","action_id":"approve","value":"r1","style":"primary","text":{"type":"plain_text","text":"Approve"},"confirm":null},
					{"type":"button","action_id":"deny","value":"r1","style":"danger","text":{"type":"plain_text","text":"Deny"}}
				]}
			]`)},
			wantButtons: []Button{
				{BlockID: "a1", ActionID: "approve", Value: "r1", Text: "Approve", Style: "primary"},
				{BlockID: "a1", ActionID: "deny", Value: "r1", Text: "Deny", Style: "danger"},
			},
			wantText: "Choose\nApprove\nDeny",
		},
		{
			name: "rich text",
			msg: Message{Blocks: json.RawMessage(`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[
				{"type":"text","text":"Ordered "},{"type":"link","url":"https://example.com/n"},{"type":"text","text":" numbers"}]}]}]`)},
			wantText: "Ordered \nhttps://example.com/n\n numbers",
		},
		{
			name:     "blocks that are not JSON",
			msg:      Message{Text: "t", Blocks: json.RawMessage(`{oops`)},
			wantText: "t",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.wantButtons, ButtonsOf(tt.msg)); diff != "" {
				t.Errorf("ButtonsOf (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantText, TextOf(tt.msg)); diff != "" {
				t.Errorf("TextOf (-want +got):\n%s", diff)
			}
		})
	}
}
