package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The driver hides passwords in the errors seen so far; these tests cover
// the store's own redaction, the guard against an error that does not.
func TestSecretsOf(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"postgres://bot:hunter2@db:5432/dialogbot", []string{"hunter2"}},
		{"postgres://bot:hun%40ter2@db/dialogbot", []string{"hun%40ter2", "hun@ter2"}},
		{"postgres://bot:p@ss@db/dialogbot", []string{"p@ss"}},
		{"postgres://db/dialogbot?user=bot&password=s3cret&sslmode=disable", []string{"s3cret"}},
		{"postgres://bot@db/dialogbot", nil},
		{"sqlite:/var/lib/dialogbot.db", nil},
		{"bot:hunter2@db", []string{"hunter2"}},
	}
	for _, tt := range tests {
		got := secretsOf(tt.url)
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("secretsOf(%s) (-want +got):\n%s", tt.url, diff)
		}
	}
}

func TestRedact(t *testing.T) {
	url := "postgres://bot:hun%40ter2@db/dialogbot"
	err := errors.New(`parse "postgres://bot:hun%40ter2@db/dialogbot": wrong password hun@ter2`)
	got := redact(err, secretsOf(url)).Error()
	for _, secret := range []string{"hun%40ter2", "hun@ter2", "ter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted error %q still contains %q", got, secret)
		}
	}
	if plain := errors.New("connection refused"); redact(plain, nil) != plain {
		t.Error("redact without secrets changed the error")
	}
}

func TestPostgresDSN(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	tests := []struct{ url, want string }{
		{"postgres://bot@db/dialogbot", "postgres://bot@db/dialogbot?application_name=dialogbot&binary_parameters=yes&sslmode=prefer"},
		{"postgres://bot@db/dialogbot?sslmode=disable", "postgres://bot@db/dialogbot?application_name=dialogbot&binary_parameters=yes&sslmode=disable"},
		{"postgresql://db/x?application_name=ops&search_path=s1", "postgresql://db/x?application_name=ops&binary_parameters=yes&search_path=s1&sslmode=prefer"},
	}
	for _, tt := range tests {
		got, err := postgresDSN(tt.url)
		if err != nil || got != tt.want {
			t.Errorf("postgresDSN(%s) = %q, %v; want %q", tt.url, got, err, tt.want)
		}
	}
	t.Setenv("PGSSLMODE", "verify-full")
	if got, _ := postgresDSN("postgres://db/x"); strings.Contains(got, "sslmode") {
		t.Errorf("with PGSSLMODE set, the DSN sets sslmode itself: %s", got)
	}
}
