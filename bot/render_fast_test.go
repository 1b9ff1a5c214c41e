package bot

import (
	"math"
	"strings"
	"testing"
)

// cutCases are texts for the two ways of rendering: fitting and not,
// with mentions, markers that form none, entities and bad UTF-8.
var cutCases = []struct {
	s     string
	limit int
}{
	{"", 10},
	{"plain", 5},
	{"plain", 4},
	{"a & b < c > d", 13},
	{"a & b < c > d", 17},
	{"a & b < c > d", 16},
	{"hi \ue000U0ABCDEF12\ue001, approve?", 100},
	{"hi \ue000U0ABCDEF12\ue001, approve?", 12},
	{"\ue000not-an-id\ue001 and \ue000U0ABC", 100},
	{"stray \ue001 close", 100},
	{"ünïcödé ☃ 🚀", 11},
	{"ünïcödé ☃ 🚀", 12},
	{"bad \xff\xfe bytes", 100},
	{"bad \xff\xfe bytes", 6},
	{strings.Repeat("&", 3001), 3000},
}

// TestCutFastPathMatchesUnits: rendering a text whole, when it fits, gives
// exactly what cutting its units gives.
func TestCutFastPathMatchesUnits(t *testing.T) {
	for _, c := range cutCases {
		if got, want := cutMrkdwn(c.s, c.limit), cut(mrkdwnUnits(c.s), c.limit); got != want {
			t.Errorf("cutMrkdwn(%q, %d) = %q, want %q", c.s, c.limit, got, want)
		}
		if got, want := cutPlain(c.s, c.limit), cut(plainUnits(c.s), c.limit); got != want {
			t.Errorf("cutPlain(%q, %d) = %q, want %q", c.s, c.limit, got, want)
		}
		if got, want := mrkdwn(c.s), strings.Join(mrkdwnUnits(c.s), ""); got != want {
			t.Errorf("mrkdwn(%q) = %q, want %q", c.s, got, want)
		}
	}
}

func FuzzCutFastPathMatchesUnits(f *testing.F) {
	for _, c := range cutCases {
		f.Add(c.s, c.limit)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = int(math.Abs(float64(limit%5000))) + 1
		if got, want := cutMrkdwn(s, limit), cut(mrkdwnUnits(s), limit); got != want {
			t.Fatalf("cutMrkdwn(%q, %d) = %q, want %q", s, limit, got, want)
		}
		if got, want := cutPlain(s, limit), cut(plainUnits(s), limit); got != want {
			t.Fatalf("cutPlain(%q, %d) = %q, want %q", s, limit, got, want)
		}
	})
}
