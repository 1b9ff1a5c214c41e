package command

import (
	"errors"
	"strings"
	"testing"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/google/go-cmp/cmp"
)

func TestParseOrder(t *testing.T) {
	base := dialog.OrderRequest{Type: dialog.Local, Search: "312", Quantity: 5, AllOrNothing: true}
	with := func(f func(*dialog.OrderRequest)) dialog.OrderRequest { r := base; f(&r); return r }
	tests := []struct {
		text    string
		want    dialog.OrderRequest
		problem string // substring of the error; empty: must parse
	}{
		{text: "312 5", want: base},
		{text: "312 25", want: with(func(r *dialog.OrderRequest) { r.Quantity = 25 })},
		{text: "312 1", want: with(func(r *dialog.OrderRequest) { r.Quantity = 1 })},
		{text: "312555 2 --overlay", want: with(func(r *dialog.OrderRequest) { r.Search, r.Quantity, r.AllowOverlay = "312555", 2, true })},
		{text: "312 5 --partial --cleansed --sms --slots --distance 30", want: with(func(r *dialog.OrderRequest) {
			r.AllOrNothing, r.CleansedOnly, r.SMSSupported, r.OrderSlot, r.Distance = false, true, true, true, 30
		})},
		{text: "--type=canadian_local 416 3", want: dialog.OrderRequest{Type: dialog.CanadianLocal, Search: "416", Quantity: 3, AllOrNothing: true}},
		{text: "3 --type tollfree", want: dialog.OrderRequest{Type: dialog.TollFree, Quantity: 3, AllOrNothing: true}},
		{text: "2 --type TRUE800", want: dialog.OrderRequest{Type: dialog.True800, Quantity: 2, AllOrNothing: true}},
		{text: "312 5 --distance=0", want: base},
		{text: "312-555 2", want: with(func(r *dialog.OrderRequest) { r.Search, r.Quantity = "312555", 2 })},
		{text: "312-555 2 --overlay", want: with(func(r *dialog.OrderRequest) { r.Search, r.Quantity, r.AllowOverlay = "312555", 2, true })},
		{text: "312-5 2", problem: "3 digits (area code) or 6 digits"},
		{text: "312- 2", problem: "3 digits (area code) or 6 digits"},
		{text: "312--555 2", want: with(func(r *dialog.OrderRequest) { r.Search, r.Quantity = "312555", 2 })},
		{text: "", problem: "Give an area code"},
		{text: "31 5", problem: "3 digits (area code) or 6 digits"},
		{text: "3125 5", problem: "3 digits (area code) or 6 digits"},
		{text: "31a 5", problem: "3 digits (area code) or 6 digits"},
		{text: "３１２ 5", problem: "3 digits (area code) or 6 digits"},
		{text: "312 26", problem: "from 1 to 25"},
		{text: "312 0", problem: "from 1 to 25"},
		{text: "312 -3", problem: "from 1 to 25"},
		{text: "312 five", problem: "from 1 to 25"},
		{text: "312", problem: "Give both the search"},
		{text: "312 5 6", problem: "Too many words"},
		{text: "312 5 --bogus", problem: "Unknown flag"},
		{text: "312 5 --type fax", problem: "Unknown --type"},
		{text: "312 5 --type", problem: "--type needs a value"},
		{text: "312 5 --overlay", problem: "6-digit"},
		{text: "312555 5 --overlay --cleansed", problem: "cannot be combined with --cleansed"},
		{text: "312 5 --distance -1", problem: "--distance must be"},
		{text: "312 5 --distance far", problem: "--distance must be"},
		{text: "312 5 --sms=1", problem: "takes no value"},
		{text: "312 5 --type tollfree", problem: "cannot be searched by area"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseOrder(strings.Fields(tt.text))
			if tt.problem != "" {
				var ue *UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("ParseOrder(%q) error = %v, want a *UsageError", tt.text, err)
				}
				if !strings.Contains(err.Error(), tt.problem) || ue.Usage != UsageOrder {
					t.Errorf("ParseOrder(%q) error = %q, want it to contain %q and the usage", tt.text, err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrder(%q): %v", tt.text, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOrder(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseBuy(t *testing.T) {
	tests := []struct {
		text    string
		want    dialog.PurchaseRequest
		problem string
	}{
		{text: "6 2", want: dialog.PurchaseRequest{ItemID: 6, Qty: 2}},
		{text: "6 2 receipt", want: dialog.PurchaseRequest{ItemID: 6, Qty: 2, SendReceipt: true}},
		{text: "6 2 RECEIPT", want: dialog.PurchaseRequest{ItemID: 6, Qty: 2, SendReceipt: true}},
		{text: "", problem: "Give the add-on's item_id"},
		{text: "6", problem: "Give the add-on's item_id"},
		{text: "six 2", problem: "item_id must be a positive whole number"},
		{text: "0 2", problem: "item_id must be a positive whole number"},
		{text: "6 0", problem: "qty must be a whole number of at least 1"},
		{text: "6 -2", problem: "qty must be a whole number of at least 1"},
		{text: "6 2.5", problem: "qty must be a whole number of at least 1"},
		{text: "6 99999999999", problem: "qty must be a whole number of at least 1"},
		{text: "6 2 please", problem: "may only be `receipt`"},
		{text: "6 2 receipt now", problem: "Too many words"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseBuy(strings.Fields(tt.text))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("ParseBuy(%q) error = %v, want %q", tt.text, err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBuy(%q): %v", tt.text, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseBuy(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		text        string
		menu, phone string
		problem     string
	}{
		{text: "55443322 3125550100", menu: "55443322", phone: "3125550100"},
		{text: "1 +1 312 555 0100", menu: "1", phone: "3125550100"},
		{text: "1 13125550100", menu: "1", phone: "3125550100"},
		{text: "1 (312) 555-0100", menu: "1", phone: "3125550100"},
		{text: "", problem: "Give the Virtual Receptionist menu_id"},
		{text: "1", problem: "Give the Virtual Receptionist menu_id"},
		{text: "abc 3125550100", problem: "menu_id must be digits"},
		{text: "1 12345", problem: "it has 5 digits, not 10"},
		{text: "1 call-me-maybe", problem: "it may hold only digits"},
		{text: "1 +1-312-555-0100", menu: "1", phone: "3125550100"},
		{text: "1 312.555.0100", menu: "1", phone: "3125550100"},
		// Not North American: each refused with the right form.
		{text: "1 555-0100", problem: `"555-0100" is not a North American phone number: it has no area code. Write the 10 digits with the area code, e.g. 3125550100, (312) 555-0100 or +1 312 555 0100`},
		{text: "1 +44 20 7946 0958", problem: "only +1 (North America) can be called. Write the 10 digits with the area code, e.g. 3125550100"},
		{text: "1 442079460958", problem: "it has 12 digits, not 10"},
		{text: "1 0005550100", problem: "the area code 000 cannot start with 0. Write the 10 digits with the area code"},
		{text: "1 1234567890", problem: "the area code 123 cannot start with 1. Write the 10 digits"},
		{text: "1 3121550100", problem: "the exchange 155 cannot start with 1"},
		{text: "1 3120550100", problem: "the exchange 055 cannot start with 0"},
		{text: "1 23125550100", problem: "it has 11 digits, not 10"},
		{text: "1 +3125550100", problem: "only +1 (North America) can be called"},
		{text: "1 12345678901234567", problem: "it has 17 digits, not 10"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			menu, phone, err := ParseCall(strings.Fields(tt.text))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("ParseCall(%q) error = %v, want %q", tt.text, err, tt.problem)
				}
				return
			}
			if err != nil || menu != tt.menu || phone != tt.phone {
				t.Errorf("ParseCall(%q) = %q, %q, %v; want %q, %q", tt.text, menu, phone, err, tt.menu, tt.phone)
			}
		})
	}
}

func TestTokenizeRefuses(t *testing.T) {
	tests := []struct{ name, text, problem string }{
		{"too long", strings.Repeat("9", 10_000), "too long"},
		{"nul", "312\x00 5", "control character"},
		{"escape", "312 5 \x1b[31m", "control character"},
		{"bidi override", "312 \u202e5", "control character"},
		{"invalid utf-8", "312 \xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Tokenize(tt.text, UsageOrder)
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("Tokenize error = %v, want %q", err, tt.problem)
			}
		})
	}
}

// The parsers must never panic, and whatever they accept must be a request
// DialogTech's documented rules accept too.
func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{"312 5", "312555 2 --overlay", "3 --type tollfree", "312 5 --distance=3 --sms", "--type", "312 5 --distance", "-1 -1", "312 25 --partial --slots"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Tokenize(text, UsageOrder)
		if err != nil {
			return
		}
		r, err := ParseOrder(words)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseOrder(%q) error %v is not a *UsageError", text, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseOrder(%q) accepted %+v that DialogTech refuses: %v", text, r, err)
		}
		if r.Quantity < 1 || r.Quantity > MaxOrderQuantity {
			t.Fatalf("ParseOrder(%q) accepted quantity %d", text, r.Quantity)
		}
	})
}

func FuzzParseBuy(f *testing.F) {
	for _, s := range []string{"6 2", "6 2 receipt", "0 0", "6", "x y z w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Tokenize(text, UsageBuy)
		if err != nil {
			return
		}
		r, err := ParseBuy(words)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseBuy(%q) accepted %+v that DialogTech refuses: %v", text, r, err)
		}
	})
}

func FuzzParseCall(f *testing.F) {
	for _, s := range []string{"1 3125550100", "55443322 +1 (312) 555-0100", "1", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Tokenize(text, UsageCall)
		if err != nil {
			return
		}
		menu, phone, err := ParseCall(words)
		if err != nil {
			return
		}
		if err := dialog.ValidateCall(menu, phone); err != nil {
			t.Fatalf("ParseCall(%q) accepted %q %q that DialogTech refuses: %v", text, menu, phone, err)
		}
		if len(phone) != 10 || phone[0] < '2' || phone[3] < '2' {
			t.Fatalf("ParseCall(%q) accepted %q, which is not a North American number", text, phone)
		}
	})
}

func TestParseResolve(t *testing.T) {
	tests := []struct {
		text    string
		id      string
		bought  bool
		numbers []string
		bad     bool
	}{
		{text: "r7k2 not-bought", id: "R7K2"},
		{text: "R1 bought", id: "R1", bought: true},
		{text: "R1 bought 312-555-0100 +13125550101 (312)555-0100", id: "R1", bought: true, numbers: []string{"3125550100", "3125550101"}},
		{text: "R1", bad: true},
		{text: "R1 maybe", bad: true},
		{text: "R1 not-bought 3125550100", bad: true},
		{text: "R1 bought 555-0100", bad: true},
	}
	for _, tt := range tests {
		words, err := Tokenize(tt.text, UsageResolve)
		if err != nil {
			t.Fatalf("Tokenize(%q): %v", tt.text, err)
		}
		id, bought, numbers, err := ParseResolve(words)
		if tt.bad {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Errorf("ParseResolve(%q) = %v, want a usage error", tt.text, err)
			}
			continue
		}
		if err != nil || id != tt.id || bought != tt.bought || strings.Join(numbers, ",") != strings.Join(tt.numbers, ",") {
			t.Errorf("ParseResolve(%q) = %q, %v, %v, %v; want %q, %v, %v", tt.text, id, bought, numbers, err, tt.id, tt.bought, tt.numbers)
		}
	}
}

func FuzzParseResolve(f *testing.F) {
	for _, s := range []string{"R1 bought 3125550100", "R1 not-bought", "R1", "R1 bought (312)555-0100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Tokenize(text, UsageResolve)
		if err != nil {
			return
		}
		id, bought, numbers, err := ParseResolve(words)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseResolve(%q): %v is not a usage error", text, err)
			}
			return
		}
		if id == "" || len(id) > 64 || (!bought && len(numbers) > 0) || len(numbers) > MaxOrderQuantity {
			t.Fatalf("ParseResolve(%q) accepted id %q, bought %v, numbers %v", text, id, bought, numbers)
		}
		for _, n := range numbers {
			if len(n) != 10 || !isDigits(n) {
				t.Fatalf("ParseResolve(%q) accepted number %q", text, n)
			}
		}
	})
}
