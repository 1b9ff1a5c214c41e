package dialogsim

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAddOnsListIsTheVendorExample(t *testing.T) {
	e := newEnv(t)
	body := e.call("action", "addons.list")
	golden := readTestdata(t, "addons-list.xml")
	if diff := cmp.Diff(golden, body); diff != "" {
		t.Fatalf("addons.list differs from the vendor's example (-vendor +sim):\n%s", diff)
	}

	r := parse(t, body)
	if r.Result != "success" {
		t.Fatalf("result %q", r.Result)
	}
	var ids []int
	for _, a := range r.AddOns {
		ids = append(ids, a.ItemID)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 8, 9, 10, 14, 17, 18}, ids); diff != "" {
		t.Errorf("item ids (-want +got):\n%s", diff)
	}
	// The parsed list and AddOns agree line for line.
	var fromXML []AddOn
	for _, a := range r.AddOns {
		fromXML = append(fromXML, AddOn{ItemID: a.ItemID, Name: a.Name, PurchasePrice: a.PurchasePrice,
			MaxQtyPurchase: a.MaxQtyPurchase, IncludedQty: a.IncludedQty, TotalQty: a.TotalQty, InUse: a.InUse})
	}
	if diff := cmp.Diff(e.sim.AddOns(), fromXML); diff != "" {
		t.Errorf("AddOns and addons.list disagree (-AddOns +XML):\n%s", diff)
	}
}

func TestPurchaseRaisesTotalQty(t *testing.T) {
	e := newEnv(t)
	want := e.sim.AddOns()
	r := e.result("action", "addons.purchase", "item_id", "6", "qty", "2")
	if r.Result != "success" || r.Description.Text != "Purchased 2 of Local Number" {
		t.Fatalf("got %q %q", r.Result, r.Description.Text)
	}
	for i := range want {
		if want[i].ItemID == 6 {
			want[i].TotalQty += 2
		}
	}
	if diff := cmp.Diff(want, e.sim.AddOns()); diff != "" {
		t.Errorf("AddOns (-want +got):\n%s", diff)
	}
	list := e.result("action", "addons.list")
	for _, a := range list.AddOns {
		if a.ItemID == 6 && (a.TotalQty != 196 || a.InUse != 79) {
			t.Errorf("addons.list shows Local Number total %d in use %d, want 196 and 79", a.TotalQty, a.InUse)
		}
	}
}

func TestPurchase(t *testing.T) {
	tests := []struct {
		name        string
		kv          []string
		wantSuccess string // result_description on success
		wantFailure string
		wantTotal   map[int]int // item → total_qty after, for the items that change
	}{
		{name: "one voicemail box", kv: []string{"item_id", "2", "qty", "1"},
			wantSuccess: "Purchased 1 of Voice Mailboxes", wantTotal: map[int]int{2: 11}},
		{name: "exactly max_qty_purchase", kv: []string{"item_id", "6", "qty", "500"},
			wantSuccess: "Purchased 500 of Local Number", wantTotal: map[int]int{6: 694}},
		{name: "with receipt", kv: []string{"item_id", "17", "qty", "3", "send_receipt", "1"},
			wantSuccess: "Purchased 3 of Canadian Local Number", wantTotal: map[int]int{17: 3}},
		{name: "receipt off", kv: []string{"item_id", "18", "qty", "1", "send_receipt", "0"},
			wantSuccess: "Purchased 1 of True 800 Numbers", wantTotal: map[int]int{18: 1}},
		{name: "over max_qty_purchase", kv: []string{"item_id", "6", "qty", "501"},
			wantFailure: "qty 501 is more than max_qty_purchase 500 for Local Number"},
		{name: "over a small max", kv: []string{"item_id", "8", "qty", "13"},
			wantFailure: "qty 13 is more than max_qty_purchase 12 for Simultaneous Find Me Ports"},
		{name: "unknown item", kv: []string{"item_id", "7", "qty", "1"}, wantFailure: "unknown item_id"},
		{name: "no item_id", kv: []string{"qty", "1"}, wantFailure: "item_id is required"},
		{name: "item_id zero", kv: []string{"item_id", "0", "qty", "1"}, wantFailure: "item_id must be a positive whole number"},
		{name: "item_id word", kv: []string{"item_id", "six", "qty", "1"}, wantFailure: "item_id must be a positive whole number"},
		{name: "item_id negative", kv: []string{"item_id", "-6", "qty", "1"}, wantFailure: "item_id must be a positive whole number"},
		{name: "no qty", kv: []string{"item_id", "6"}, wantFailure: "qty is required"},
		{name: "qty zero", kv: []string{"item_id", "6", "qty", "0"}, wantFailure: "qty must be a positive whole number"},
		{name: "qty signed", kv: []string{"item_id", "6", "qty", "+2"}, wantFailure: "qty must be a positive whole number"},
		{name: "qty fraction", kv: []string{"item_id", "6", "qty", "1.5"}, wantFailure: "qty must be a positive whole number"},
		{name: "qty exponent", kv: []string{"item_id", "6", "qty", "1e2"}, wantFailure: "qty must be a positive whole number"},
		{name: "qty huge", kv: []string{"item_id", "6", "qty", "99999999999999999999"}, wantFailure: "qty must be a positive whole number"},
		{name: "send_receipt 2", kv: []string{"item_id", "6", "qty", "1", "send_receipt", "2"}, wantFailure: "send_receipt must be 0 or 1"},
		{name: "send_receipt yes", kv: []string{"item_id", "6", "qty", "1", "send_receipt", "yes"}, wantFailure: "send_receipt must be 0 or 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			want := e.sim.AddOns()
			for i := range want {
				if total, ok := tt.wantTotal[want[i].ItemID]; ok {
					want[i].TotalQty = total
				}
			}
			r := e.result(append([]string{"action", "addons.purchase"}, tt.kv...)...)
			if tt.wantFailure != "" {
				wantFailed(t, r, tt.wantFailure)
			} else if r.Result != "success" || r.Description.Text != tt.wantSuccess {
				t.Errorf("got %q %q, want success %q", r.Result, r.Description.Text, tt.wantSuccess)
			}
			if diff := cmp.Diff(want, e.sim.AddOns()); diff != "" {
				t.Errorf("AddOns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetAddOnAndSetUsage(t *testing.T) {
	e := newEnv(t)
	fax := AddOn{ItemID: 40, Name: "Fax & SMS <beta>", PurchasePrice: "1.50", MaxQtyPurchase: 5, IncludedQty: 1, TotalQty: 2, InUse: 1}
	e.sim.SetAddOn(fax)
	e.sim.SetAddOn(AddOn{ItemID: 2, Name: "Voice Mailboxes", MaxQtyPurchase: 60, IncludedQty: 10, TotalQty: 12, InUse: 11})
	if err := e.sim.SetUsage(6, 193, 194); err != nil {
		t.Fatal(err)
	}

	want := e.result("action", "addons.list").AddOns
	if n := len(want); n != 13 {
		t.Fatalf("%d add-ons listed, want 13", n)
	}
	got := map[int]xmlAddOn{}
	for _, a := range want {
		got[a.ItemID] = a
	}
	if a := got[40]; a.Name != fax.Name || a.PurchasePrice != "1.50" || a.TotalQty != 2 || want[12].ItemID != 40 {
		t.Errorf("new add-on listed as %+v, last of the list", a)
	}
	if a := got[2]; a.MaxQtyPurchase != 60 || a.TotalQty != 12 || a.InUse != 11 || a.PurchasePrice != "0.00" || want[1].ItemID != 2 {
		t.Errorf("replaced add-on listed as %+v, in place", a)
	}
	if a := got[6]; a.TotalQty != 194 || a.InUse != 193 {
		t.Errorf("Local Number listed as %+v after SetUsage", a)
	}

	if err := e.sim.SetUsage(99, 1, 1); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("SetUsage of an unknown item: %v, want ErrUnknownItem", err)
	}
	if err := e.sim.SetUsage(6, -1, 1); err == nil {
		t.Error("SetUsage accepted a negative in_use")
	}
}
