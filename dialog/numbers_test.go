package dialog

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOrderRequestValidate(t *testing.T) {
	local := func(f func(*OrderRequest)) OrderRequest {
		r := OrderRequest{Type: Local, Search: "312", Quantity: 5, AllOrNothing: true}
		if f != nil {
			f(&r)
		}
		return r
	}
	var (
		errType     = &ValidationError{Param: "type", Rule: "must be one of local, tollfree, true800, canadian_local"}
		errSearch   = &ValidationError{Param: "search", Rule: "must be 3 digits (area code) or 6 digits (area code and exchange)"}
		errNoSearch = &ValidationError{Param: "search", Rule: "is required for local and canadian_local numbers: an area code (3 digits) or area code and exchange (6 digits)"}
		errTollFree = &ValidationError{Param: "search", Rule: "must be left out for tollfree and true800 numbers (DialogTech does not search toll-free numbers)"}
		errQuantity = &ValidationError{Param: "quantity", Rule: "must be a whole number from 0 to 25"}
		errDistance = &ValidationError{Param: "distance", Rule: "must be a whole number of miles, 0 or more"}
		errOverlay6 = &ValidationError{Param: "allow_overlay", Rule: "needs a 6-digit search (area code and exchange)"}
		errOverlayC = &ValidationError{Param: "allow_overlay", Rule: "cannot be combined with cleansed_only"}
	)
	tests := []struct {
		name string
		req  OrderRequest
		want error
	}{
		{"local", local(nil), nil},
		{"tollfree without search", OrderRequest{Type: TollFree, Quantity: 1}, nil},
		{"true800 without search", OrderRequest{Type: True800, Quantity: 1}, nil},
		{"canadian_local", OrderRequest{Type: CanadianLocal, Search: "416", Quantity: 1}, nil},
		{"unknown type", local(func(r *OrderRequest) { r.Type = "mobile" }), errType},
		{"empty type", local(func(r *OrderRequest) { r.Type = "" }), errType},
		{"type in capitals", local(func(r *OrderRequest) { r.Type = "LOCAL" }), errType},
		{"search 3 digits", local(func(r *OrderRequest) { r.Search = "312" }), nil},
		{"search 6 digits", local(func(r *OrderRequest) { r.Search = "312555" }), nil},
		{"search 2 digits", local(func(r *OrderRequest) { r.Search = "31" }), errSearch},
		{"search 4 digits", local(func(r *OrderRequest) { r.Search = "3125" }), errSearch},
		{"search 5 digits", local(func(r *OrderRequest) { r.Search = "31255" }), errSearch},
		{"search 7 digits", local(func(r *OrderRequest) { r.Search = "3125550" }), errSearch},
		{"search letters", local(func(r *OrderRequest) { r.Search = "abc" }), errSearch},
		{"search with dash", local(func(r *OrderRequest) { r.Search = "312-55" }), errSearch},
		{"search with spaces", local(func(r *OrderRequest) { r.Search = " 312" }), errSearch},
		{"search non-ASCII digits", local(func(r *OrderRequest) { r.Search = "٣١٢" }), errSearch},
		{"search missing for local", local(func(r *OrderRequest) { r.Search = "" }), errNoSearch},
		{"search missing for canadian_local", OrderRequest{Type: CanadianLocal, Quantity: 1}, errNoSearch},
		{"search given for tollfree", OrderRequest{Type: TollFree, Search: "800", Quantity: 1}, errTollFree},
		{"search given for true800", OrderRequest{Type: True800, Search: "800555", Quantity: 1}, errTollFree},
		{"quantity 0", local(func(r *OrderRequest) { r.Quantity = 0 }), nil},
		{"quantity 25", local(func(r *OrderRequest) { r.Quantity = 25 }), nil},
		{"quantity 26", local(func(r *OrderRequest) { r.Quantity = 26 }), errQuantity},
		{"quantity -1", local(func(r *OrderRequest) { r.Quantity = -1 }), errQuantity},
		{"distance 0", local(func(r *OrderRequest) { r.Distance = 0 }), nil},
		{"distance 50", local(func(r *OrderRequest) { r.Distance = 50 }), nil},
		{"distance -1", local(func(r *OrderRequest) { r.Distance = -1 }), errDistance},
		{"overlay with 6 digits", local(func(r *OrderRequest) { r.Search, r.AllowOverlay = "312555", true }), nil},
		{"overlay with 3 digits", local(func(r *OrderRequest) { r.AllowOverlay = true }), errOverlay6},
		{"overlay for tollfree", OrderRequest{Type: TollFree, Quantity: 1, AllowOverlay: true}, errOverlay6},
		{"overlay with cleansed", local(func(r *OrderRequest) { r.Search, r.AllowOverlay, r.CleansedOnly = "312555", true, true }), errOverlayC},
		{"cleansed alone", local(func(r *OrderRequest) { r.CleansedOnly = true }), nil},
		{"every flag", local(func(r *OrderRequest) {
			r.Search, r.AllOrNothing, r.Distance, r.SMSSupported, r.OrderSlot, r.AllowOverlay = "312555", false, 10, true, true, true
		}), nil},
		{"first rule broken wins", OrderRequest{Type: "x", Search: "1", Quantity: 99}, errType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.req.Validate()); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, typ := range NumberTypes {
		r := OrderRequest{Type: typ, Quantity: 1}
		if typ == Local || typ == CanadianLocal {
			r.Search = "312"
		}
		if err := r.Validate(); err != nil {
			t.Errorf("type %q refused: %v", typ, err)
		}
	}
}

// Each request's exact query: required parameters always, optional ones
// only when set.
func TestOrderNumbersQuery(t *testing.T) {
	keys := []string{"action", "access_key", "secret_access_key"}
	base := values{"action": "numbers.order", "access_key": testAccessKey, "secret_access_key": testSecret}
	with := func(kv ...string) values {
		v := values{}
		for k, x := range base {
			v[k] = x
		}
		for i := 0; i < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return v
	}
	tests := []struct {
		name      string
		req       OrderRequest
		wantQuery values
		wantOrder []string
	}{
		{
			name:      "vendor example",
			req:       OrderRequest{Type: Local, Search: "555", Quantity: 3, AllOrNothing: true},
			wantQuery: with("type", "local", "search", "555", "quantity", "3", "fill_quantity", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity"),
		},
		{
			name:      "partial order",
			req:       OrderRequest{Type: CanadianLocal, Search: "416555", Quantity: 25},
			wantQuery: with("type", "canadian_local", "search", "416555", "quantity", "25", "fill_quantity", "0"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity"),
		},
		{
			name:      "tollfree leaves search out",
			req:       OrderRequest{Type: TollFree, Quantity: 0, AllOrNothing: true},
			wantQuery: with("type", "tollfree", "quantity", "0", "fill_quantity", "1"),
			wantOrder: append(keys, "type", "quantity", "fill_quantity"),
		},
		{
			name:      "true800",
			req:       OrderRequest{Type: True800, Quantity: 2},
			wantQuery: with("type", "true800", "quantity", "2", "fill_quantity", "0"),
			wantOrder: append(keys, "type", "quantity", "fill_quantity"),
		},
		{
			name:      "cleansed_only",
			req:       OrderRequest{Type: Local, Search: "312", Quantity: 1, CleansedOnly: true},
			wantQuery: with("type", "local", "search", "312", "quantity", "1", "fill_quantity", "0", "cleansed_only", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "cleansed_only"),
		},
		{
			name:      "distance",
			req:       OrderRequest{Type: Local, Search: "312", Quantity: 1, Distance: 30},
			wantQuery: with("type", "local", "search", "312", "quantity", "1", "fill_quantity", "0", "distance", "30"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "distance"),
		},
		{
			name:      "sms_supported",
			req:       OrderRequest{Type: Local, Search: "312", Quantity: 1, SMSSupported: true},
			wantQuery: with("type", "local", "search", "312", "quantity", "1", "fill_quantity", "0", "sms_supported", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "sms_supported"),
		},
		{
			name:      "order_slot",
			req:       OrderRequest{Type: Local, Search: "312", Quantity: 1, OrderSlot: true},
			wantQuery: with("type", "local", "search", "312", "quantity", "1", "fill_quantity", "0", "order_slot", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "order_slot"),
		},
		{
			name:      "allow_overlay",
			req:       OrderRequest{Type: Local, Search: "312555", Quantity: 1, AllowOverlay: true},
			wantQuery: with("type", "local", "search", "312555", "quantity", "1", "fill_quantity", "0", "allow_overlay", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "allow_overlay"),
		},
		{
			name: "every flag",
			req: OrderRequest{Type: Local, Search: "312555", Quantity: 7, AllOrNothing: true,
				Distance: 5, SMSSupported: true, OrderSlot: true, AllowOverlay: true},
			wantQuery: with("type", "local", "search", "312555", "quantity", "7", "fill_quantity", "1",
				"distance", "5", "sms_supported", "1", "order_slot", "1", "allow_overlay", "1"),
			wantOrder: append(keys, "type", "search", "quantity", "fill_quantity", "distance", "sms_supported", "order_slot", "allow_overlay"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _, obs := setup(t)
			s.handle(ActionNumbersOrder, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testFormValues(t, r, tt.wantQuery)
				testQueryOrder(t, r, tt.wantOrder...)
				testHeader(t, r, "User-Agent", "dialogbot/dev")
				w.Write(readTestdata(t, "numbers-order.xml"))
			})
			got, err := c.OrderNumbers(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("OrderNumbers: %v", err)
			}
			if diff := cmp.Diff(exampleOrder, got); diff != "" {
				t.Errorf("OrderNumbers mismatch (-want +got):\n%s", diff)
			}
			if n := s.count(ActionNumbersOrder); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
			if diff := cmp.Diff([]observation{{ActionNumbersOrder, OutcomeSuccess}}, obs.all()); diff != "" {
				t.Errorf("observations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// exampleOrder is testdata/numbers-order.xml, the vendor's example.
var exampleOrder = &OrderResult{Quantity: 3, Numbers: []string{"5551112222", "5553334444", "5556667777"}}

func TestDecodeOrderExample(t *testing.T) {
	got, err := DecodeOrder(readTestdata(t, "numbers-order.xml"))
	if err != nil {
		t.Fatalf("DecodeOrder: %v", err)
	}
	if diff := cmp.Diff(exampleOrder, got); diff != "" {
		t.Errorf("DecodeOrder mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeOrder(t *testing.T) {
	body := func(desc string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><response><result>success</result><result_description>` + desc + `</result_description></response>`
	}
	tests := []struct {
		name       string
		body       string
		want       *OrderResult
		wantAPI    *APIError
		wantReason string
	}{
		{name: "none available, partial allowed", body: body("<quantity>0</quantity><numbers></numbers>"), want: &OrderResult{}},
		{name: "zero without numbers element", body: body("<quantity>0</quantity>"), want: &OrderResult{}},
		{name: "whitespace", body: body("\n <quantity> 1 </quantity><numbers><number>\n3125550100 </number></numbers>"), want: &OrderResult{Quantity: 1, Numbers: []string{"3125550100"}}},
		{name: "count disagrees, kept as sent", body: body("<quantity>2</quantity><numbers><number>3125550100</number></numbers>"), want: &OrderResult{Quantity: 2, Numbers: []string{"3125550100"}}},
		{name: "failure", body: apiFailure("failed", "Not enough numbers in inventory"), wantAPI: &APIError{Action: ActionNumbersOrder, Result: "failed", Description: "Not enough numbers in inventory"}},
		{name: "no quantity", body: body("<numbers><number>3125550100</number></numbers>"), wantReason: "no <quantity> in result_description"},
		{name: "quantity not a number", body: body("<quantity>three</quantity>"), wantReason: `quantity "three" is not a whole number`},
		{name: "quantity negative", body: body("<quantity>-1</quantity>"), wantReason: `quantity "-1" is not a whole number`},
		{name: "numbers missing", body: body("<quantity>1</quantity>"), wantReason: "no <numbers> in result_description"},
		{name: "number too short", body: body("<quantity>1</quantity><numbers><number>555111222</number></numbers>"), wantReason: `number "555111222" is not 10 digits`},
		{name: "number formatted", body: body("<quantity>1</quantity><numbers><number>555-111-2222</number></numbers>"), wantReason: `number "555-111-2222" is not 10 digits`},
		{name: "empty number", body: body("<quantity>1</quantity><numbers><number/></numbers>"), wantReason: `number "" is not 10 digits`},
		{name: "not XML", body: "Call Connected", wantReason: "not the documented XML: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeOrder([]byte(tt.body))
			switch {
			case tt.wantAPI != nil:
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want *APIError", err)
				}
				if diff := cmp.Diff(tt.wantAPI, ae); diff != "" {
					t.Errorf("APIError mismatch (-want +got):\n%s", diff)
				}
			case tt.wantReason != "":
				if diff := cmp.Diff(error(&MalformedResponseError{Action: ActionNumbersOrder, Reason: tt.wantReason}), err); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
			default:
				if err != nil {
					t.Fatalf("DecodeOrder: %v", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeOrder mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
