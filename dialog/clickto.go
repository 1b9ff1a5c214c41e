package dialog

import (
	"context"
	"strings"
)

// CallVR calls clickto.vr: DialogTech rings phone and joins it to the
// Virtual Receptionist menuID. phone must already be digits only (see
// NormalizePhone). A real call is placed, so it is never retried nor sent
// on a connection that net/http could replay it on; it succeeds only on
// the documented answer "Call Connected".
func (c *Client) CallVR(ctx context.Context, menuID, phone string) error {
	if err := ValidateCall(menuID, phone); err != nil {
		return c.invalid(ctx, ActionClickToVR, err)
	}
	params := []param{{"menu_id", menuID}, {"phone_to_call", phone}}
	return c.call(ctx, ActionClickToVR, params, func(body []byte) error {
		_, err := decodeResult(ActionClickToVR, body, c.scrub())
		return err
	})
}

// ValidateCall checks clickto.vr's parameters: menu_id is a Virtual
// Receptionist id (digits), phone_to_call an unformatted number of 7 to 15
// digits.
func ValidateCall(menuID, phone string) error {
	if !allDigits(menuID) {
		return &ValidationError{Param: "menu_id", Rule: "must be a Virtual Receptionist id (digits only)"}
	}
	if !allDigits(phone) || len(phone) < minPhoneDigits || len(phone) > maxPhoneDigits {
		return &ValidationError{Param: "phone_to_call", Rule: phoneRule}
	}
	return nil
}

const (
	minPhoneDigits = 7
	maxPhoneDigits = 15 // E.164
	phoneRule      = "must be a phone number of 7 to 15 digits, e.g. 3125550100"
)

// NormalizePhone turns a phone number as people write it into the
// unformatted digits clickto.vr wants: spaces, dashes, dots and parentheses
// are dropped, as is a leading "+"; an 11-digit North American number loses
// its leading 1. The result has 10 digits, or 7 to 15 for other countries.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '\t' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", &ValidationError{Param: "phone_to_call", Rule: phoneRule}
		}
	}
	d := b.String()
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits {
		return "", &ValidationError{Param: "phone_to_call", Rule: phoneRule}
	}
	return d, nil
}

// FormatPhone writes a 10-digit North American number as people write it,
// (312) 439-3025; anything else is returned as it is.
func FormatPhone(n string) string {
	if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
		return n
	}
	return "(" + n[:3] + ") " + n[3:6] + "-" + n[6:]
}
