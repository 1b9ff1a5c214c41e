package dialog

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// exampleAddOns is testdata/addons-list.xml (the vendor's example response)
// decoded by hand, field by field in the vendor's order.
var exampleAddOns = []AddOn{
	{
		SpecialFlag:        0,
		Name:               "Smart Click-to-Calls",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     1000,
		ItemID:             1,
		IncludedQty:        25,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           25,
		InUse:              2,
	},
	{
		SpecialFlag:        0,
		Name:               "Voice Mailboxes",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     50,
		ItemID:             2,
		IncludedQty:        10,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           10,
		InUse:              2,
	},
	{
		SpecialFlag:        0,
		Name:               "Tollfree Numbers",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     200,
		ItemID:             3,
		IncludedQty:        3,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           198,
		InUse:              36,
	},
	{
		SpecialFlag:        0,
		Name:               "Smart Voice Broadcast Ports",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     30,
		ItemID:             4,
		IncludedQty:        9,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           9,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "Basic Voice Broadcast Ports",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     50,
		ItemID:             5,
		IncludedQty:        25,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           75,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "Local Number",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     500,
		ItemID:             6,
		IncludedQty:        3,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           194,
		InUse:              79,
	},
	{
		SpecialFlag:        0,
		Name:               "Simultaneous Find Me Ports",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     12,
		ItemID:             8,
		IncludedQty:        3,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           10,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "Queue Slot",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     50,
		ItemID:             9,
		IncludedQty:        5,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           33,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "Queues",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     25,
		ItemID:             10,
		IncludedQty:        5,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           8,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "Campaign Guest Logins",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     25,
		ItemID:             14,
		IncludedQty:        1,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           1,
		InUse:              1,
	},
	{
		SpecialFlag:        0,
		Name:               "Canadian Local Number",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     100,
		ItemID:             17,
		IncludedQty:        0,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           0,
		InUse:              0,
	},
	{
		SpecialFlag:        0,
		Name:               "True 800 Numbers",
		PromoFootnote:      "",
		PurchasePrice:      decimal.RequireFromString("0.00"),
		MaxQtyPurchase:     100,
		ItemID:             18,
		IncludedQty:        0,
		StartDate:          time.Time{},
		EndDate:            time.Time{},
		NonRecurringCharge: decimal.RequireFromString("0.00"),
		TotalQty:           0,
		InUse:              0,
	},
}

func TestDecodeAddOnsExample(t *testing.T) {
	got, err := DecodeAddOns(readTestdata(t, "addons-list.xml"))
	if err != nil {
		t.Fatalf("DecodeAddOns: %v", err)
	}
	if diff := cmp.Diff(exampleAddOns, got); diff != "" {
		t.Errorf("DecodeAddOns mismatch (-want +got):\n%s", diff)
	}
}

// addOnsBody wraps <addon> elements in the vendor's envelope.
func addOnsBody(addons ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE response [
<!ELEMENT response (result,result_description,data)>
<!ELEMENT addon (special_flag,limit_item_name,promo_footnote,purchase_price,max_qty_purchase,item_id,included_qty,start_date,end_date,non_recurring_charge,total_qty,in_use)>]>
<response><result>success</result><result_description>
</result_description><data>` + strings.Join(addons, "") + `</data></response>`
}

// addOn builds an <addon>; extra elements replace the defaults by name, and
// a value of "-" leaves the element out.
func addOn(set map[string]string) string {
	fields := []struct{ k, v string }{
		{"special_flag", "0"}, {"limit_item_name", "Local Number"}, {"promo_footnote", "\n"},
		{"purchase_price", "0.00"}, {"max_qty_purchase", "500"}, {"item_id", "6"},
		{"included_qty", "3"}, {"start_date", "0000-00-00 00:00:00"}, {"end_date", "0000-00-00 00:00:00"},
		{"non_recurring_charge", "0.00"}, {"total_qty", "194"}, {"in_use", "79"},
	}
	var b strings.Builder
	b.WriteString("<addon>")
	for _, f := range fields {
		v := f.v
		if s, ok := set[f.k]; ok {
			v = s
		}
		if v == "-" {
			continue
		}
		b.WriteString("<" + f.k + ">" + v + "</" + f.k + ">")
	}
	b.WriteString("</addon>")
	return b.String()
}

func TestDecodeAddOns(t *testing.T) {
	localNumber := AddOn{ItemID: 6, Name: "Local Number", MaxQtyPurchase: 500, IncludedQty: 3, TotalQty: 194, InUse: 79}
	with := func(f func(*AddOn)) []AddOn {
		a := localNumber
		f(&a)
		return []AddOn{a}
	}
	tests := []struct {
		name       string
		body       string
		want       []AddOn
		wantAPI    *APIError
		wantReason string // for *MalformedResponseError
	}{
		{name: "plain", body: addOnsBody(addOn(nil)), want: []AddOn{localNumber}},
		{name: "no DOCTYPE", body: `<response><result>success</result><data>` + addOn(nil) + `</data></response>`, want: []AddOn{localNumber}},
		{
			name: "whitespace around every value",
			body: addOnsBody(addOn(map[string]string{
				"item_id": " 6\n", "limit_item_name": "\n\t Local Number \n", "total_qty": "\t194 ", "in_use": " 79",
				"promo_footnote": "  First month free\n", "purchase_price": " 12.50 ", "non_recurring_charge": "\n1.25",
			})),
			want: with(func(a *AddOn) {
				a.PromoFootnote = "First month free"
				a.PurchasePrice = decimal.RequireFromString("12.5")
				a.NonRecurringCharge = decimal.RequireFromString("1.25")
			}),
		},
		{
			name: "dates",
			body: addOnsBody(addOn(map[string]string{"start_date": "2017-05-01 13:04:05", "end_date": "2018-05-01"})),
			want: with(func(a *AddOn) {
				a.StartDate = time.Date(2017, 5, 1, 13, 4, 5, 0, time.UTC)
				a.EndDate = time.Date(2018, 5, 1, 0, 0, 0, 0, time.UTC)
			}),
		},
		{
			name: "optional elements missing or empty",
			body: addOnsBody(addOn(map[string]string{"special_flag": "", "promo_footnote": "-", "purchase_price": "-", "included_qty": "", "start_date": "", "end_date": "-", "non_recurring_charge": " "})),
			want: with(func(a *AddOn) { a.IncludedQty = 0 }),
		},
		{name: "special flag kept", body: addOnsBody(addOn(map[string]string{"special_flag": "-1"})), want: with(func(a *AddOn) { a.SpecialFlag = -1 })},
		{name: "empty data", body: addOnsBody(), want: []AddOn{}},
		{name: "latin-1", body: `<?xml version="1.0" encoding="ISO-8859-1"?><response><result>success</result><data>` + addOn(map[string]string{"limit_item_name": "Caf\xe9"}) + `</data></response>`, want: with(func(a *AddOn) { a.Name = "Café" })},
		{name: "failure result", body: apiFailure("failed", "\n  Invalid key  \n"), wantAPI: &APIError{Action: ActionAddOnsList, Result: "failed", Description: "Invalid key"}},
		{name: "bad login word in result", body: apiFailure(" INVALID ACCOUNT ", ""), wantAPI: &APIError{Action: ActionAddOnsList, Result: "INVALID ACCOUNT"}},
		{name: "empty body", body: " \n", wantReason: "empty body"},
		{name: "plain text", body: "Service Unavailable", wantReason: "not the documented XML: EOF"},
		{name: "HTML", body: "<html><body>oops</body></html>", wantReason: "not the documented XML: expected element type <response> but have <html>"},
		{name: "truncated", body: addOnsBody(addOn(nil))[:300], wantReason: "not the documented XML: XML syntax error on line 5: unexpected EOF"},
		{name: "unknown entity", body: `<response><result>success</result><data><addon><limit_item_name>A&nbsp;B</limit_item_name></addon></data></response>`, wantReason: "not the documented XML: XML syntax error on line 1: invalid character entity &nbsp;"},
		{name: "no result", body: `<response><data/></response>`, wantReason: "no <result> element"},
		{name: "empty result", body: `<response><result> </result><data/></response>`, wantReason: "empty <result>"},
		{name: "no data", body: apiFailure("success", ""), wantReason: "no <data> element"},
		{name: "item_id missing", body: addOnsBody(addOn(nil), addOn(map[string]string{"item_id": "-"})), wantReason: "addon 2: item_id: missing"},
		{name: "item_id zero", body: addOnsBody(addOn(map[string]string{"item_id": "0"})), wantReason: "addon 1: item_id: 0 is below 1"},
		{name: "name missing", body: addOnsBody(addOn(map[string]string{"limit_item_name": "-"})), wantReason: "addon 1: limit_item_name: missing"},
		{name: "name blank", body: addOnsBody(addOn(map[string]string{"limit_item_name": "\n "})), wantReason: "addon 1: limit_item_name: missing"},
		{name: "total_qty not a number", body: addOnsBody(addOn(map[string]string{"total_qty": "lots"})), wantReason: `addon 1: total_qty: "lots" is not a whole number`},
		{name: "in_use negative", body: addOnsBody(addOn(map[string]string{"in_use": "-1"})), wantReason: "addon 1: in_use: -1 is below 0"},
		{name: "in_use missing", body: addOnsBody(addOn(map[string]string{"in_use": "-"})), wantReason: "addon 1: in_use: missing"},
		{name: "max_qty_purchase empty", body: addOnsBody(addOn(map[string]string{"max_qty_purchase": ""})), wantReason: "addon 1: max_qty_purchase: missing"},
		{name: "included_qty fraction", body: addOnsBody(addOn(map[string]string{"included_qty": "1.5"})), wantReason: `addon 1: included_qty: "1.5" is not a whole number`},
		{name: "price with exponent", body: addOnsBody(addOn(map[string]string{"purchase_price": "1e2000000000"})), wantReason: `addon 1: purchase_price: "1e2000000000" is not a decimal amount`},
		{name: "price with currency", body: addOnsBody(addOn(map[string]string{"non_recurring_charge": "$1.00"})), wantReason: `addon 1: non_recurring_charge: "$1.00" is not a decimal amount`},
		{name: "bad date", body: addOnsBody(addOn(map[string]string{"end_date": "05/01/2017"})), wantReason: `addon 1: end_date: "05/01/2017" is not a date`},
		{name: "long bad value clipped", body: addOnsBody(addOn(map[string]string{"total_qty": strings.Repeat("x", 500)})), wantReason: `addon 1: total_qty: "` + strings.Repeat("x", 40) + `…" is not a whole number`},
		{name: "unsupported encoding", body: `<?xml version="1.0" encoding="EBCDIC"?><response/>`, wantReason: `not the documented XML: xml: opening charset "EBCDIC": unsupported encoding "EBCDIC"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAddOns([]byte(tt.body))
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
				var me *MalformedResponseError
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want *MalformedResponseError", err)
				}
				if diff := cmp.Diff(&MalformedResponseError{Action: ActionAddOnsList, Reason: tt.wantReason}, me); diff != "" {
					t.Errorf("MalformedResponseError mismatch (-want +got):\n%s", diff)
				}
			default:
				if err != nil {
					t.Fatalf("DecodeAddOns: %v", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeAddOns mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The price is kept exactly as DialogTech wrote it, not as a float.
func TestDecodeAddOnsPriceExact(t *testing.T) {
	got, err := DecodeAddOns([]byte(addOnsBody(addOn(map[string]string{"purchase_price": "0.10", "non_recurring_charge": "19.99"}))))
	if err != nil {
		t.Fatal(err)
	}
	if s := got[0].PurchasePrice.Add(got[0].NonRecurringCharge).StringFixed(2); s != "20.09" {
		t.Errorf("0.10 + 19.99 = %s, want 20.09", s)
	}
}

func TestListAddOns(t *testing.T) {
	c, s, _, obs := setup(t)
	s.handle(ActionAddOnsList, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testFormValues(t, r, values{"action": "addons.list", "access_key": testAccessKey, "secret_access_key": testSecret})
		testQueryOrder(t, r, "action", "access_key", "secret_access_key")
		testHeader(t, r, "User-Agent", "dialogbot/dev")
		w.Write(readTestdata(t, "addons-list.xml"))
	})
	got, err := c.ListAddOns(t.Context())
	if err != nil {
		t.Fatalf("ListAddOns: %v", err)
	}
	if diff := cmp.Diff(exampleAddOns, got); diff != "" {
		t.Errorf("ListAddOns mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]observation{{ActionAddOnsList, OutcomeSuccess}}, obs.all()); diff != "" {
		t.Errorf("observations mismatch (-want +got):\n%s", diff)
	}
}

// The base URL's own query, if any, is kept in front of the call's.
func TestBaseURLQueryKept(t *testing.T) {
	s := newServer(t)
	c, _, _ := newTestClient(t, s.URL+"?tenant=7")
	s.handle(ActionAddOnsList, func(w http.ResponseWriter, r *http.Request) {
		testQueryOrder(t, r, "tenant", "action", "access_key", "secret_access_key")
		w.Write(readTestdata(t, "addons-list.xml"))
	})
	if _, err := c.ListAddOns(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestPurchaseAddOn(t *testing.T) {
	tests := []struct {
		name      string
		req       PurchaseRequest
		wantQuery values
		wantOrder []string
	}{
		{
			name:      "without receipt",
			req:       PurchaseRequest{ItemID: 6, Qty: 2},
			wantQuery: values{"action": "addons.purchase", "access_key": testAccessKey, "secret_access_key": testSecret, "item_id": "6", "qty": "2"},
			wantOrder: []string{"action", "access_key", "secret_access_key", "item_id", "qty"},
		},
		{
			name:      "with receipt",
			req:       PurchaseRequest{ItemID: 10, Qty: 25, SendReceipt: true},
			wantQuery: values{"action": "addons.purchase", "access_key": testAccessKey, "secret_access_key": testSecret, "item_id": "10", "qty": "25", "send_receipt": "1"},
			wantOrder: []string{"action", "access_key", "secret_access_key", "item_id", "qty", "send_receipt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _, obs := setup(t)
			s.handle(ActionAddOnsPurchase, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testFormValues(t, r, tt.wantQuery)
				testQueryOrder(t, r, tt.wantOrder...)
				testHeader(t, r, "User-Agent", "dialogbot/dev")
				w.Write(readTestdata(t, "purchase-success.xml"))
			})
			got, err := c.PurchaseAddOn(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("PurchaseAddOn: %v", err)
			}
			if diff := cmp.Diff(&PurchaseResult{Description: "Add-On Purchased"}, got); diff != "" {
				t.Errorf("PurchaseAddOn mismatch (-want +got):\n%s", diff)
			}
			if n := s.count(ActionAddOnsPurchase); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
			if diff := cmp.Diff([]observation{{ActionAddOnsPurchase, OutcomeSuccess}}, obs.all()); diff != "" {
				t.Errorf("observations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPurchaseRequestValidate(t *testing.T) {
	tests := []struct {
		req  PurchaseRequest
		want error
	}{
		{PurchaseRequest{ItemID: 1, Qty: 1}, nil},
		{PurchaseRequest{ItemID: 18, Qty: 1000, SendReceipt: true}, nil},
		{PurchaseRequest{ItemID: 0, Qty: 1}, &ValidationError{Param: "item_id", Rule: "must be a whole number above 0"}},
		{PurchaseRequest{ItemID: -6, Qty: 1}, &ValidationError{Param: "item_id", Rule: "must be a whole number above 0"}},
		{PurchaseRequest{ItemID: 6, Qty: 0}, &ValidationError{Param: "qty", Rule: "must be a whole number above 0"}},
		{PurchaseRequest{ItemID: 6, Qty: -2}, &ValidationError{Param: "qty", Rule: "must be a whole number above 0"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.req.Validate()); diff != "" {
			t.Errorf("%+v.Validate() mismatch (-want +got):\n%s", tt.req, diff)
		}
	}
}

func TestDecodeResultPurchase(t *testing.T) {
	got, err := DecodeResult(ActionAddOnsPurchase, readTestdata(t, "purchase-success.xml"))
	if err != nil || got != "Add-On Purchased" {
		t.Errorf("DecodeResult = %q, %v; want %q, nil", got, err, "Add-On Purchased")
	}
	_, err = DecodeResult(ActionAddOnsPurchase, []byte(apiFailure("failed", "Invalid item_id")))
	if diff := cmp.Diff(error(&APIError{Action: ActionAddOnsPurchase, Result: "failed", Description: "Invalid item_id"}), err); diff != "" {
		t.Errorf("DecodeResult failure mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkDecodeAddOns(b *testing.B) {
	body := readTestdata(b, "addons-list.xml")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAddOns(body); err != nil {
			b.Fatal(err)
		}
	}
}
