package store

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Open opens the store that databaseURL names and brings its schema up to
// date:
//
//	sqlite:<path>, sqlite://<path>    SQLite file (sqlite:///abs/path.db)
//	sqlite::memory:                   SQLite in memory (tests)
//	file:<path>[?<params>]            SQLite URI, see modernc.org/sqlite
//	postgres://..., postgresql://...  Postgres, see github.com/lib/pq
//
// A Postgres URL's query may set session parameters, e.g.
// search_path=dialogbot. Errors never contain a password from the URL.
func Open(ctx context.Context, databaseURL string) (Store, error) {
	var (
		s   Store
		err error
	)
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"):
		s, err = openSQLite(ctx, strings.TrimPrefix(databaseURL, "sqlite://"))
	case strings.HasPrefix(databaseURL, "sqlite:"):
		s, err = openSQLite(ctx, strings.TrimPrefix(databaseURL, "sqlite:"))
	case strings.HasPrefix(databaseURL, "file:"):
		s, err = openSQLite(ctx, databaseURL)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s, err = openPostgres(ctx, databaseURL)
	default:
		scheme, _, ok := strings.Cut(databaseURL, ":")
		if !ok || strings.ContainsAny(scheme, "/@") {
			scheme = ""
		}
		// Only the scheme: the rest may hold a password.
		return nil, fmt.Errorf("store: database URL scheme %q: want sqlite:, file: or postgres://", scheme)
	}
	if err != nil {
		return nil, redact(err, secretsOf(databaseURL))
	}
	return s, nil
}

// secretsOf finds the passwords in a database URL, also in one that does
// not parse (whose parse error may quote it whole): the user info's
// password and a password query parameter, raw and decoded.
func secretsOf(raw string) []string {
	var found []string
	add := func(v string) {
		forms := []string{v}
		if dec, err := url.PathUnescape(v); err == nil {
			forms = append(forms, dec)
		}
		if dec, err := url.QueryUnescape(v); err == nil {
			forms = append(forms, dec)
		}
		for _, f := range forms {
			if f != "" && !slices.Contains(found, f) {
				found = append(found, f)
			}
		}
	}
	rest := raw
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	beforeQuery, query, _ := strings.Cut(rest, "?")
	if at := strings.LastIndex(beforeQuery, "@"); at >= 0 {
		if _, pw, ok := strings.Cut(beforeQuery[:at], ":"); ok {
			add(pw)
		}
	}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "password") {
			add(v)
		}
	}
	return found
}

// redactedError is an Open error whose text had a password cut out. It
// does not unwrap: the wrapped error's own text still has the password.
type redactedError struct{ msg string }

func (e *redactedError) Error() string { return e.msg }

func redact(err error, secrets []string) error {
	if len(secrets) == 0 {
		return err
	}
	// Longest first, so that a decoded password inside its encoded form
	// does not leave the rest of the encoded one behind.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return &redactedError{msg: msg}
}
