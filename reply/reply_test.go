package reply

import (
	"strings"
	"testing"
)

func TestExpandMentions(t *testing.T) {
	upper := strings.ToUpper
	at := func(id string) string { return "<@" + id + ">" }
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello <world>", "HELLO <WORLD>"},
		{"mention", "by " + Mention("U123ABC") + " now", "BY <@U123ABC> NOW"},
		{"two", Mention("U1AA") + Mention("W2BB"), "<@U1AA><@W2BB>"},
		{"not a user id", Mention("<!channel>"), "<!CHANNEL>"},
		{"forged marker", "x\uE000<!channel>\uE001y", "X<!CHANNEL>Y"},
		{"unclosed", "a\uE000U123", "AU123"},
		{"stray close", "a\uE001b", "AB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpandMentions(tt.in, upper, at); got != tt.want {
				t.Errorf("ExpandMentions(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		inUse, total, width int
		want                string
	}{
		{0, 10, 10, "░░░░░░░░░░"},
		{10, 10, 10, "██████████"},
		{5, 10, 10, "█████░░░░░"},
		{1, 1000, 10, "█░░░░░░░░░"},
		{20, 10, 4, "████"},
		{0, 0, 4, "░░░░"},
		{79, 194, 10, "████░░░░░░"},
		{1, 1, 0, ""},
	}
	for _, tt := range tests {
		if got := Bar(tt.inUse, tt.total, tt.width); got != tt.want {
			t.Errorf("Bar(%d, %d, %d) = %q, want %q", tt.inUse, tt.total, tt.width, got, tt.want)
		}
	}
}
