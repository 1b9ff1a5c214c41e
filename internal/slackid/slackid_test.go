package slackid

import (
	"fmt"
	"regexp"
	"testing"
)

// shapes are the checks the program makes, each with the regular
// expression it stands for.
var shapes = []struct {
	lead     string
	min, max int
	re       string
}{
	{"UW", 2, 20, `^[UW][A-Z0-9]{2,20}$`},
	{"S", 2, 20, `^S[A-Z0-9]{2,20}$`},
	{"UW", 2, 0, `^[UW][A-Z0-9]{2,}$`},
	{"CGD", 2, 0, `^[CGD][A-Z0-9]{2,}$`},
	{"S", 2, 0, `^S[A-Z0-9]{2,}$`},
}

func TestMatch(t *testing.T) {
	tests := []struct {
		id       string
		lead     string
		min, max int
		want     bool
	}{
		{"U0123ABCD", "UW", 2, 20, true},
		{"W0123ABCD", "UW", 2, 20, true},
		{"S0FINANCE", "S", 2, 20, true},
		{"C0123ABCD", "CGD", 2, 0, true},
		{"UAB", "UW", 2, 20, true},                     // shortest
		{"UA", "UW", 2, 20, false},                     // one short
		{"U", "UW", 2, 20, false},                      // lead only
		{"", "UW", 2, 20, false},                       // empty
		{"U01234567890123456789", "UW", 2, 20, true},   // 20 after the lead
		{"U012345678901234567890", "UW", 2, 20, false}, // 21
		{"U012345678901234567890", "UW", 2, 0, true},   // no limit
		{"u0123ABCD", "UW", 2, 20, false},              // lower-case lead
		{"U0123abcd", "UW", 2, 20, false},              // lower-case rest
		{"S0123ABCD", "UW", 2, 20, false},              // another kind of id
		{"U0123ABCD\n", "UW", 2, 20, false},            // $ is the end of the text
		{" U0123ABCD", "UW", 2, 20, false},
		{"U0123-ABCD", "UW", 2, 20, false},
		{"U0123ÄBCD", "UW", 2, 20, false},
		{"U01\xffAB", "UW", 2, 20, false}, // not UTF-8
		{"<@U0123ABCD>", "UW", 2, 20, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q %s %d-%d", tt.id, tt.lead, tt.min, tt.max), func(t *testing.T) {
			if got := Match(tt.id, tt.lead, tt.min, tt.max); got != tt.want {
				t.Errorf("Match(%q, %q, %d, %d) = %v, want %v", tt.id, tt.lead, tt.min, tt.max, got, tt.want)
			}
		})
	}
}

// FuzzMatch checks Match against the regular expressions it replaces.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "U", "UA", "UAB", "U0123ABCD", "W0123ABCD\n", "S0FINANCE", "C0123", "D0", "G012345678901234567890", "U01\xffAB", "U0123ÄBCD", "u0123abcd"} {
		f.Add(s)
	}
	res := make([]*regexp.Regexp, len(shapes))
	for i, s := range shapes {
		res[i] = regexp.MustCompile(s.re)
	}
	f.Fuzz(func(t *testing.T, id string) {
		for i, s := range shapes {
			if got, want := Match(id, s.lead, s.min, s.max), res[i].MatchString(id); got != want {
				t.Errorf("Match(%q, %q, %d, %d) = %v; %s says %v", id, s.lead, s.min, s.max, got, s.re, want)
			}
		}
	})
}
