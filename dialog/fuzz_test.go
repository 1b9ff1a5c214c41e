package dialog

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds are in testdata/fuzz/<FuzzName>/. Beyond "no panic", each target
// checks what a caller relies on when no error is returned.

// checkDecodeError fails unless err is one of the two errors a decoder may
// return, with its text bounded.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var ae *APIError
	var me *MalformedResponseError
	switch {
	case errors.As(err, &ae):
		if ae.Result == "" || len(ae.Result) > maxErrorTextBytes+len("…") || len(ae.Description) > maxErrorTextBytes+len("…") {
			t.Fatalf("APIError fields out of bounds: %q, %d bytes", ae.Result, len(ae.Description))
		}
	case errors.As(err, &me):
		if me.Reason == "" {
			t.Fatal("MalformedResponseError without a reason")
		}
	default:
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

func FuzzDecodeAddOns(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		addOns, err := DecodeAddOns(body)
		if err != nil {
			checkDecodeError(t, err)
			if addOns != nil {
				t.Fatalf("add-ons returned with an error: %v", addOns)
			}
			return
		}
		for _, a := range addOns {
			if a.ItemID < 1 || a.MaxQtyPurchase < 0 || a.TotalQty < 0 || a.InUse < 0 || a.IncludedQty < 0 {
				t.Fatalf("add-on out of range: %+v", a)
			}
			if a.Name == "" || a.Name != strings.TrimSpace(a.Name) || a.PromoFootnote != strings.TrimSpace(a.PromoFootnote) {
				t.Fatalf("text not trimmed: %+v", a)
			}
			if av := a.Available(); av < 0 || av > a.TotalQty {
				t.Fatalf("Available() = %d for %+v", av, a)
			}
			if u := a.Usage(); u < 0 {
				t.Fatalf("Usage() = %v for %+v", u, a)
			}
			// Prices are plain decimals: printing them stays small.
			if s := a.PurchasePrice.String() + a.NonRecurringCharge.String(); len(s) > 80 {
				t.Fatalf("prices print as %d bytes", len(s))
			}
		}
	})
}

func FuzzDecodeOrder(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeOrder(body)
		if err != nil {
			checkDecodeError(t, err)
			if res != nil {
				t.Fatalf("result returned with an error: %+v", res)
			}
			return
		}
		if res.Quantity < 0 {
			t.Fatalf("quantity %d", res.Quantity)
		}
		for _, n := range res.Numbers {
			if len(n) != 10 || !allDigits(n) {
				t.Fatalf("number %q is not 10 digits", n)
			}
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		desc, err := DecodeResult(action, body)
		if err != nil {
			checkDecodeError(t, err)
			if desc != "" {
				t.Fatalf("description %q returned with an error", desc)
			}
			return
		}
		if action == ActionClickToVR && desc != "Call Connected" {
			t.Fatalf("clickto.vr succeeded with %q", desc)
		}
		if desc != strings.TrimSpace(desc) {
			t.Fatalf("description not trimmed: %q", desc)
		}
	})
}

func FuzzOrderValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, typ, search string, quantity int, allOrNothing, cleansed bool, distance int, sms, slot, overlay bool) {
		r := OrderRequest{
			Type: NumberType(typ), Search: search, Quantity: quantity, AllOrNothing: allOrNothing,
			CleansedOnly: cleansed, Distance: distance, SMSSupported: sms, OrderSlot: slot, AllowOverlay: overlay,
		}
		err := r.Validate()
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Param == "" || ve.Rule == "" {
				t.Fatalf("Validate() = %#v, want a *ValidationError", err)
			}
			if !utf8.ValidString(ve.Error()) {
				t.Fatalf("error text is not UTF-8: %q", ve.Error())
			}
			return
		}
		// Accepted: every documented rule holds.
		switch r.Type {
		case Local, CanadianLocal:
			if len(search) != 3 && len(search) != 6 || !allDigits(search) {
				t.Fatalf("accepted search %q for %s", search, typ)
			}
		case TollFree, True800:
			if search != "" {
				t.Fatalf("accepted search %q for %s", search, typ)
			}
		default:
			t.Fatalf("accepted type %q", typ)
		}
		if quantity < 0 || quantity > 25 || distance < 0 {
			t.Fatalf("accepted quantity %d, distance %d", quantity, distance)
		}
		if overlay && (cleansed || len(search) != 6) {
			t.Fatalf("accepted overlay with cleansed=%v search=%q", cleansed, search)
		}
		// What is sent is plain: nothing needs escaping, and fill_quantity
		// is always there.
		var fill bool
		for _, p := range r.params() {
			if p.key == "fill_quantity" {
				fill = true
			}
			for _, c := range p.value {
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_') {
					t.Fatalf("param %s=%q needs escaping", p.key, p.value)
				}
			}
		}
		if !fill {
			t.Fatal("fill_quantity not sent")
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Param != "phone_to_call" || got != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %#v", s, got, err)
			}
			return
		}
		if err := ValidateCall("1", got); err != nil {
			t.Fatalf("NormalizePhone(%q) = %q, which ValidateCall refuses: %v", s, got, err)
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("NormalizePhone not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
