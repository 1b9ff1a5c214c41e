package secrettest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder stands in for *testing.T so that a failing assertion can be
// observed instead of failing this test.
type recorder struct {
	testing.TB
	errors, fatals int
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.errors++ }
func (r *recorder) Fatalf(format string, a ...any) { r.fatals++ }

func TestAssertNoSecret(t *testing.T) {
	const secret = "s3cr3t KEY/123"
	tests := []struct {
		name       string
		secrets    []string
		texts      []string
		wantErrors int
		wantFatals int
	}{
		{name: "clean", secrets: []string{secret}, texts: []string{"dial tcp: refused", "[REDACTED]"}},
		{name: "raw", secrets: []string{secret}, texts: []string{"ok", "key=" + secret}, wantErrors: 1},
		{name: "query escaped", secrets: []string{secret}, texts: []string{"?secret_access_key=s3cr3t+KEY%2F123"}, wantErrors: 1},
		{name: "path escaped", secrets: []string{secret}, texts: []string{"/s3cr3t%20KEY%2F123"}, wantErrors: 1},
		{name: "every text checked", secrets: []string{secret}, texts: []string{secret, secret}, wantErrors: 2},
		{name: "every secret checked", secrets: []string{"xoxb-1", "xapp-2"}, texts: []string{"xoxb-1 xapp-2"}, wantErrors: 2},
		{name: "empty secret", secrets: []string{""}, texts: []string{"anything"}, wantFatals: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			AssertNoSecret(r, tt.secrets, tt.texts...)
			if r.errors != tt.wantErrors || r.fatals != tt.wantFatals {
				t.Errorf("errors, fatals = %d, %d; want %d, %d", r.errors, r.fatals, tt.wantErrors, tt.wantFatals)
			}
		})
	}
}

type leaky struct{ URL string }

func (l leaky) Error() string { return "request failed" }

func TestErrorTexts(t *testing.T) {
	if got := ErrorTexts(nil); got != nil {
		t.Errorf("ErrorTexts(nil) = %q, want nil", got)
	}
	err := fmt.Errorf("wrapped: %w", leaky{URL: "https://x/?k=s3cr3t"})
	got := ErrorTexts(err)
	want := []string{
		"wrapped: request failed",
		"wrapped: request failed",
		`&fmt.wrapError{msg:"wrapped: request failed", err:secrettest.leaky{URL:"https://x/?k=s3cr3t"}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ErrorTexts mismatch (-want +got):\n%s", diff)
	}
	// Only the %#v form shows the field that Error() hides: the reason it
	// is among the texts.
	r := &recorder{TB: t}
	AssertNoSecret(r, []string{"s3cr3t"}, got...)
	if r.errors != 1 {
		t.Errorf("AssertNoSecret over ErrorTexts reported %d leaks, want 1 (the %%#v form)", r.errors)
	}
}
