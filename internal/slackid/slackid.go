// Package slackid checks the shape of Slack ids (U0123ABCD, S0FINANCE,
// C0123ABCD) without a regular expression, so that the packages that check
// them build nothing when the program starts.
package slackid

import "strings"

// Match reports whether id is one of the letters in lead followed by at
// least min and at most max characters from A–Z and 0–9; max 0 means no
// upper limit. Match(id, "UW", 2, 20) is id ~ ^[UW][A-Z0-9]{2,20}$.
func Match(id, lead string, min, max int) bool {
	if id == "" || strings.IndexByte(lead, id[0]) < 0 {
		return false
	}
	rest := id[1:]
	if len(rest) < min || (max > 0 && len(rest) > max) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
