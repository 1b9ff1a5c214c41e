// Package secrettest proves that secrets stay out of the text a program
// shows: error messages in every format a caller might print, and captured
// log output. Tests of the DialogTech client and of the bot share it so
// that "no secret leaks" means the same everywhere.
package secrettest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// AssertNoSecret fails t for every text that contains one of secrets,
// either as is or escaped as in a URL query or path.
func AssertNoSecret(t testing.TB, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			t.Fatalf("AssertNoSecret: empty secret (it would match every text)")
			return
		}
		forms := []string{s}
		for _, f := range []string{url.QueryEscape(s), url.PathEscape(s)} {
			if f != s {
				forms = append(forms, f)
			}
		}
		for i, text := range texts {
			for _, f := range forms {
				if at := strings.Index(text, f); at >= 0 {
					t.Errorf("text %d leaks secret %q at byte %d: %s", i, s, at, excerpt(text, at, len(f)))
				}
			}
		}
	}
}

// ErrorTexts returns every way err is commonly printed: Error(), "%+v" and
// "%#v". It returns nil for a nil error.
func ErrorTexts(err error) []string {
	if err == nil {
		return nil
	}
	return []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
}

// excerpt shows the leak in context, so a failure points at its source.
func excerpt(text string, at, n int) string {
	lo, hi := max(0, at-60), min(len(text), at+n+60)
	return "…" + text[lo:hi] + "…"
}
