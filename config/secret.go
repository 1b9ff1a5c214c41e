package config

import (
	"fmt"
	"log/slog"
	"strconv"
)

// redacted is what a Secret shows wherever it is printed, logged or encoded.
const redacted = "[redacted]"

// Secret holds a token or key. Every way Go has of turning a value into text
// (fmt verbs, encoding.TextMarshaler, json.Marshaler, slog.LogValuer) shows
// "[redacted]" instead of the value, so a Secret that reaches a log line, an
// error or a struct dump does not leak. An empty Secret shows as empty, which
// tells a reader that the setting is missing without revealing anything.
//
// Only Value returns the real text; call it at the point of use.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer, so %#v of a struct holding a Secret
// does not reveal it either.
func (s Secret) GoString() string { return strconv.Quote(s.shown()) }

// Format implements fmt.Formatter. Without it verbs such as %x or %q would
// bypass String and print the bytes of the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, fmt.FormatString(f, 'q'), s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s.shown())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s.shown())
	}
}

// MarshalText implements encoding.TextMarshaler; slog's text handler and
// many encoders use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.shown())), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }
