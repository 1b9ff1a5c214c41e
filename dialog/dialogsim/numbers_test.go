package dialogsim

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func numbersOf(ns []Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Number
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestOrderIsTheVendorExample(t *testing.T) {
	e := newEnv(t)
	if err := e.sim.SetInventory("555", []Number{{Number: "5551112222"}, {Number: "5553334444"}, {Number: "5556667777"}}); err != nil {
		t.Fatal(err)
	}
	body := e.call("action", "numbers.order", "type", "local", "search", "555", "quantity", "3", "fill_quantity", "1")
	if diff := cmp.Diff(readTestdata(t, "numbers-order.xml"), body); diff != "" {
		t.Errorf("numbers.order differs from the vendor's example (-vendor +sim):\n%s", diff)
	}
}

func TestOrderFillQuantity(t *testing.T) {
	order := []string{"type", "local", "search", "312", "quantity", "5"}

	t.Run("all or nothing orders none", func(t *testing.T) {
		e := newEnv(t, WithInventory(3))
		stock, addOns := e.sim.Available("312"), e.sim.AddOns()
		wantFailed(t, e.order(append(order, "fill_quantity", "1")...),
			"only 3 numbers available, 5 asked (fill_quantity=1 orders all or nothing)")
		if diff := cmp.Diff(stock, e.sim.Available("312")); diff != "" {
			t.Errorf("inventory changed (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(addOns, e.sim.AddOns()); diff != "" {
			t.Errorf("add-ons changed (-before +after):\n%s", diff)
		}
		if got := e.sim.Ordered(); len(got) != 0 {
			t.Errorf("handed out %v", got)
		}
	})

	t.Run("partial orders what there is", func(t *testing.T) {
		e := newEnv(t, WithInventory(3))
		stock := e.sim.Available("312")
		if len(stock) != 3 {
			t.Fatalf("%d numbers in stock, want 3", len(stock))
		}
		r := e.order(append(order, "fill_quantity", "0")...)
		if r.Result != "success" || r.Description.Quantity != 3 {
			t.Fatalf("got %q quantity %d, want success with 3", r.Result, r.Description.Quantity)
		}
		if diff := cmp.Diff(sorted(numbersOf(stock)), sorted(r.Description.Numbers)); diff != "" {
			t.Errorf("numbers (-stock +ordered):\n%s", diff)
		}
		if diff := cmp.Diff(r.Description.Numbers, numbersOf(e.sim.Ordered())); diff != "" {
			t.Errorf("Ordered (-answer +Ordered):\n%s", diff)
		}
		if got := e.sim.Available("312"); len(got) != 0 {
			t.Errorf("still in stock: %v", got)
		}
		if a := addOn(t, e.sim, 6); a.InUse != 82 || a.TotalQty != 194 {
			t.Errorf("Local Number total %d in use %d, want 194 and 82", a.TotalQty, a.InUse)
		}
		wantFailed(t, e.order(append(order, "fill_quantity", "0")...), "no numbers available for search 312")
	})
}

// checkNumber reports what is implausible about n for a search.
func checkNumber(n, search string) string {
	switch {
	case len(n) != 10 || strings.Trim(n, "0123456789") != "":
		return "not 10 digits"
	case !strings.HasPrefix(n, search):
		return "outside the search " + search
	case n[3] < '2':
		return "exchange starts with 0 or 1"
	}
	return ""
}

func TestOrderedNumbersAreUniqueAndInTheSearchedArea(t *testing.T) {
	e := newEnv(t, WithInventory(40))
	seen := map[string]bool{}
	var all []string
	take := func(search string, kv ...string) {
		t.Helper()
		r := e.order(append([]string{"type", "local", "search", search, "quantity", "25", "fill_quantity", "0", "order_slot", "1"}, kv...)...)
		if r.Result != "success" || r.Description.Quantity != len(r.Description.Numbers) || len(r.Description.Numbers) == 0 {
			t.Fatalf("search %s: %q %q quantity %d numbers %v", search, r.Result, r.Description.Text, r.Description.Quantity, r.Description.Numbers)
		}
		for _, n := range r.Description.Numbers {
			if why := checkNumber(n, search); why != "" {
				t.Errorf("%s: %s", n, why)
			}
			if seen[n] {
				t.Errorf("%s handed out twice", n)
			}
			seen[n] = true
			all = append(all, n)
		}
	}
	for _, npa := range []string{"212", "312", "415", "617", "702", "917", "503", "206"} {
		take(npa) // 25 of 40
		take(npa) // the other 15
	}
	for _, npa := range []string{"404", "713"} {
		// Empty each exchange the area uses, then have carriers overlay it.
		exchanges := map[string]bool{}
		for _, n := range e.sim.Available(npa) {
			exchanges[n.Number[:6]] = true
		}
		for npanxx := range exchanges {
			take(npanxx)
			take(npanxx, "allow_overlay", "1")
		}
	}
	if len(all) < 200 {
		t.Errorf("only %d numbers ordered, want 200 or more", len(all))
	}
	if diff := cmp.Diff(all, numbersOf(e.sim.Ordered())); diff != "" {
		t.Errorf("Ordered (-answers +Ordered):\n%s", diff)
	}
}

func TestNumbersStayUniqueAcrossRestore(t *testing.T) {
	first := newEnv(t, WithSeed(7), WithInventory(30))
	r := first.order("type", "local", "search", "312", "quantity", "20", "fill_quantity", "1")
	if r.Result != "success" {
		t.Fatalf("first order: %q %q", r.Result, r.Description.Text)
	}
	snap, err := first.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	// The same seed offers the same numbers again: only the restored state
	// keeps them from being handed out twice.
	fresh := newEnv(t, WithSeed(7), WithInventory(30))
	if again := fresh.order("type", "local", "search", "312", "quantity", "20", "fill_quantity", "1"); !slices.Equal(again.Description.Numbers, r.Description.Numbers) {
		t.Fatalf("a fresh simulator with the same seed offered %v, want %v", again.Description.Numbers, r.Description.Numbers)
	}

	restored := newEnv(t, WithSeed(7), WithInventory(30))
	if err := restored.sim.Restore(snap); err != nil {
		t.Fatal(err)
	}
	next := restored.order("type", "local", "search", "312", "quantity", "25", "fill_quantity", "0", "allow_overlay", "0")
	if next.Result != "success" || next.Description.Quantity != 10 {
		t.Fatalf("order after restore: %q %q quantity %d, want the 10 left", next.Result, next.Description.Text, next.Description.Quantity)
	}
	for _, n := range next.Description.Numbers {
		if slices.Contains(r.Description.Numbers, n) {
			t.Errorf("%s handed out again after restore", n)
		}
	}
}

func TestOrderFilters(t *testing.T) {
	stock := []Number{
		{Number: "4152220001"},
		{Number: "4152220002", SMS: true},
		{Number: "4152220003", Cleansed: true},
		{Number: "4152220004", SMS: true, Cleansed: true},
		{Number: "4153330005", SMS: true},
		{Number: "4153330006", SMS: true, Cleansed: true},
	}
	tests := []struct {
		name string
		kv   []string
		want []string
	}{
		// DialogTech-cleansed numbers come first even when not required.
		{"no filter", nil, []string{"4152220003", "4152220004", "4153330006", "4152220001", "4152220002", "4153330005"}},
		{"sms", []string{"sms_supported", "1"}, []string{"4152220004", "4153330006", "4152220002", "4153330005"}},
		{"cleansed", []string{"cleansed_only", "1"}, []string{"4152220003", "4152220004", "4153330006"}},
		{"sms and cleansed", []string{"sms_supported", "1", "cleansed_only", "1"}, []string{"4152220004", "4153330006"}},
		{"exchange", []string{"search", "415333"}, []string{"4153330006", "4153330005"}},
		{"exchange and cleansed", []string{"search", "415222", "cleansed_only", "1"}, []string{"4152220003", "4152220004"}},
		{"explicit zeros", []string{"sms_supported", "0", "cleansed_only", "0", "distance", "0"}, []string{"4152220003", "4152220004", "4153330006", "4152220001", "4152220002", "4153330005"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.sim.SetInventory("415", stock); err != nil {
				t.Fatal(err)
			}
			r := e.order(append([]string{"type", "local", "search", "415", "quantity", "25", "fill_quantity", "0"}, tt.kv...)...)
			if r.Result != "success" {
				t.Fatalf("%q %q", r.Result, r.Description.Text)
			}
			if diff := cmp.Diff(tt.want, r.Description.Numbers); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrderFiltersGeneratedInventory(t *testing.T) {
	e := newEnv(t, WithInventory(200))
	r := e.order("type", "local", "search", "646", "quantity", "25", "fill_quantity", "1", "sms_supported", "1", "cleansed_only", "1")
	if r.Result != "success" || r.Description.Quantity != 25 {
		t.Fatalf("%q %q quantity %d", r.Result, r.Description.Text, r.Description.Quantity)
	}
	for _, n := range e.sim.Ordered() {
		if !n.SMS || !n.Cleansed {
			t.Errorf("%+v handed out for an SMS, cleansed-only order", n)
		}
	}
	var sms, cleansed int
	for _, n := range e.sim.Available("646") {
		if n.SMS {
			sms++
		}
		if n.Cleansed {
			cleansed++
		}
	}
	if left := len(e.sim.Available("646")); sms == left || cleansed == left {
		t.Errorf("generated inventory is uniform (%d left, %d SMS, %d cleansed): the filters test nothing", left, sms, cleansed)
	}
}

func TestOrderOverlay(t *testing.T) {
	newStocked := func(t *testing.T) *env {
		e := newEnv(t)
		if err := e.sim.SetInventory("415", []Number{{Number: "4152220001"}}); err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("refused without allow_overlay", func(t *testing.T) {
		e := newStocked(t)
		wantFailed(t, e.order("type", "local", "search", "415333", "quantity", "3", "fill_quantity", "1"),
			"no numbers available for search 415333")
	})

	t.Run("empty exchange", func(t *testing.T) {
		e := newStocked(t)
		r := e.order("type", "local", "search", "415333", "quantity", "3", "fill_quantity", "1", "allow_overlay", "1", "sms_supported", "1")
		if r.Result != "success" || r.Description.Quantity != 3 {
			t.Fatalf("%q %q quantity %d", r.Result, r.Description.Text, r.Description.Quantity)
		}
		for _, n := range e.sim.Ordered() {
			if why := checkNumber(n.Number, "415333"); why != "" || !n.Overlay || !n.SMS {
				t.Errorf("%+v: %s; want an SMS overlay number", n, why)
			}
		}
		if diff := cmp.Diff([]Number{{Number: "4152220001"}}, e.sim.Available("415")); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
	})

	t.Run("inventory first, overlay for the rest", func(t *testing.T) {
		e := newStocked(t)
		r := e.order("type", "local", "search", "415222", "quantity", "3", "fill_quantity", "1", "allow_overlay", "1")
		if r.Result != "success" || r.Description.Quantity != 3 {
			t.Fatalf("%q %q quantity %d", r.Result, r.Description.Text, r.Description.Quantity)
		}
		got := e.sim.Ordered()
		if got[0] != (Number{Number: "4152220001"}) || !got[1].Overlay || !got[2].Overlay {
			t.Errorf("ordered %+v, want the stocked number then two overlays", got)
		}
		if len(e.sim.Available("415")) != 0 {
			t.Errorf("the stocked number is still available")
		}
	})

	t.Run("no overlay for an impossible exchange", func(t *testing.T) {
		e := newStocked(t)
		wantFailed(t, e.order("type", "local", "search", "415011", "quantity", "1", "fill_quantity", "1", "allow_overlay", "1"),
			"no numbers available for search 415011")
	})
}

func TestOrderSlotBuysASlotPerNumber(t *testing.T) {
	e := newEnv(t)
	before := addOn(t, e.sim, 6)
	r := e.order("type", "local", "search", "312", "quantity", "4", "fill_quantity", "1", "order_slot", "1")
	if r.Result != "success" || r.Description.Quantity != 4 {
		t.Fatalf("%q %q", r.Result, r.Description.Text)
	}
	want := before
	want.TotalQty += 4
	want.InUse += 4
	if diff := cmp.Diff(want, addOn(t, e.sim, 6)); diff != "" {
		t.Errorf("Local Number (-want +got):\n%s", diff)
	}
}

func TestOrderNeedsFreeSlots(t *testing.T) {
	order := []string{"type", "local", "search", "312", "quantity", "5"}
	e := newEnv(t)
	if err := e.sim.SetUsage(6, 10, 10); err != nil {
		t.Fatal(err)
	}
	stock := e.sim.Available("312")
	wantFailed(t, e.order(append(order, "fill_quantity", "1")...),
		"no free Local Number slots: buy more with addons.purchase item_id=6, or order with order_slot=1")
	wantFailed(t, e.order(append(order, "fill_quantity", "0")...),
		"no free Local Number slots: buy more with addons.purchase item_id=6, or order with order_slot=1")

	if err := e.sim.SetUsage(6, 8, 10); err != nil {
		t.Fatal(err)
	}
	wantFailed(t, e.order(append(order, "fill_quantity", "1")...),
		"only 2 free Local Number slots for 5 numbers: buy more with addons.purchase item_id=6, or order with order_slot=1")
	if diff := cmp.Diff(stock, e.sim.Available("312")); diff != "" {
		t.Errorf("inventory changed by refused orders (-before +after):\n%s", diff)
	}

	// A partial order stops at the free slots.
	if r := e.order(append(order, "fill_quantity", "0")...); r.Description.Quantity != 2 {
		t.Errorf("partial order with 2 free slots gave %d numbers", r.Description.Quantity)
	}
	if a := addOn(t, e.sim, 6); a.InUse != 10 || a.TotalQty != 10 {
		t.Errorf("Local Number total %d in use %d, want 10 and 10", a.TotalQty, a.InUse)
	}

	// Buying slots unblocks the order.
	if r := e.result("action", "addons.purchase", "item_id", "6", "qty", "5"); r.Result != "success" {
		t.Fatalf("purchase: %q", r.Description.Text)
	}
	if r := e.order(append(order, "fill_quantity", "1")...); r.Result != "success" || r.Description.Quantity != 5 {
		t.Errorf("order after buying slots: %q %q", r.Result, r.Description.Text)
	}
}

func TestOrderUsesTheSlotsOfItsType(t *testing.T) {
	tests := []struct {
		typ      string
		search   string
		item     int
		prefixes []string
	}{
		{"local", "312", 6, []string{"312"}},
		{"canadian_local", "416", 17, []string{"416"}},
		{"tollfree", "", 3, []string{"888", "877", "866", "855", "844", "833"}},
		{"true800", "", 18, []string{"800"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			e := newEnv(t)
			kv := []string{"type", tt.typ, "quantity", "3", "fill_quantity", "1"}
			if tt.search != "" {
				kv = append(kv, "search", tt.search)
			}
			// The account starts with no free Canadian or True 800 slots.
			want := e.sim.AddOns()
			for i := range want {
				if want[i].ItemID == tt.item {
					want[i].InUse += 3
					if want[i].TotalQty-want[i].InUse < 0 {
						kv = append(kv, "order_slot", "1")
						want[i].TotalQty += 3
					}
				}
			}
			r := e.order(kv...)
			if r.Result != "success" || r.Description.Quantity != 3 {
				t.Fatalf("%q %q", r.Result, r.Description.Text)
			}
			for _, n := range r.Description.Numbers {
				if len(n) != 10 || !slices.Contains(tt.prefixes, n[:3]) {
					t.Errorf("%s is not a %s number", n, tt.typ)
				}
			}
			if diff := cmp.Diff(want, e.sim.AddOns()); diff != "" {
				t.Errorf("AddOns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanadianOrderWithoutSlotsFails(t *testing.T) {
	e := newEnv(t)
	wantFailed(t, e.order("type", "canadian_local", "search", "416", "quantity", "1", "fill_quantity", "1"),
		"no free Canadian Local Number slots: buy more with addons.purchase item_id=17, or order with order_slot=1")
}

func TestOrderValidation(t *testing.T) {
	valid := map[string]string{"type": "local", "search": "415", "quantity": "3", "fill_quantity": "1"}
	tests := []struct {
		name string
		set  map[string]string // absent removes the parameter
		want string
	}{
		{"no type", map[string]string{"type": absent}, "type is required"},
		{"unknown type", map[string]string{"type": "mobile"}, "type must be local, tollfree, true800 or canadian_local"},
		{"type in capitals", map[string]string{"type": "LOCAL"}, "type must be local, tollfree, true800 or canadian_local"},
		{"local without search", map[string]string{"search": absent}, "search is required for type local"},
		{"canadian without search", map[string]string{"type": "canadian_local", "search": absent}, "search is required for type canadian_local"},
		{"toll-free search", map[string]string{"type": "tollfree", "search": "800"}, "search is not supported for type tollfree"},
		{"true800 search", map[string]string{"type": "true800", "search": "800"}, "search is not supported for type true800"},
		{"search of 2 digits", map[string]string{"search": "41"}, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"},
		{"search of 4 digits", map[string]string{"search": "4155"}, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"},
		{"search of 7 digits", map[string]string{"search": "4155551"}, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"},
		{"search with letters", map[string]string{"search": "415abc"}, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"},
		{"formatted search", map[string]string{"search": "415-55"}, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"},
		{"no quantity", map[string]string{"quantity": absent}, "quantity is required"},
		{"quantity 26", map[string]string{"quantity": "26"}, "quantity must be a whole number from 0 to 25"},
		{"negative quantity", map[string]string{"quantity": "-1"}, "quantity must be a whole number from 0 to 25"},
		{"quantity in words", map[string]string{"quantity": "ten"}, "quantity must be a whole number from 0 to 25"},
		{"fractional quantity", map[string]string{"quantity": "2.5"}, "quantity must be a whole number from 0 to 25"},
		{"no fill_quantity", map[string]string{"fill_quantity": absent}, "fill_quantity is required"},
		{"fill_quantity 2", map[string]string{"fill_quantity": "2"}, "fill_quantity must be 0 or 1"},
		{"fill_quantity true", map[string]string{"fill_quantity": "true"}, "fill_quantity must be 0 or 1"},
		{"cleansed_only 2", map[string]string{"cleansed_only": "2"}, "cleansed_only must be 0 or 1"},
		{"negative distance", map[string]string{"distance": "-5"}, "distance must be a number of miles, 0 or more"},
		{"distance in words", map[string]string{"distance": "far"}, "distance must be a number of miles, 0 or more"},
		{"distance with unit", map[string]string{"distance": "10mi"}, "distance must be a number of miles, 0 or more"},
		{"distance of 7 digits", map[string]string{"distance": "1234567"}, "distance must be a number of miles, 0 or more"},
		{"distance with 7 decimals", map[string]string{"distance": "1.1234567"}, "distance must be a number of miles, 0 or more"},
		{"distance ending in a point", map[string]string{"distance": "1."}, "distance must be a number of miles, 0 or more"},
		{"distance starting with a point", map[string]string{"distance": ".5"}, "distance must be a number of miles, 0 or more"},
		{"distance with two points", map[string]string{"distance": "1.2.3"}, "distance must be a number of miles, 0 or more"},
		{"distance with a comma", map[string]string{"distance": "1,5"}, "distance must be a number of miles, 0 or more"},
		{"distance in other digits", map[string]string{"distance": "١٢"}, "distance must be a number of miles, 0 or more"},
		{"distance with a newline", map[string]string{"distance": "12\n"}, "distance must be a number of miles, 0 or more"},
		{"sms_supported yes", map[string]string{"sms_supported": "yes"}, "sms_supported must be 0 or 1"},
		{"order_slot 2", map[string]string{"order_slot": "2"}, "order_slot must be 0 or 1"},
		{"allow_overlay 2", map[string]string{"allow_overlay": "2", "search": "415333"}, "allow_overlay must be 0 or 1"},
		{"overlay on an area search", map[string]string{"allow_overlay": "1"}, "allow_overlay=1 needs a 6-digit NPA-NXX search"},
		{"overlay on toll-free", map[string]string{"allow_overlay": "1", "type": "tollfree", "search": absent}, "allow_overlay=1 needs a 6-digit NPA-NXX search"},
		{"overlay with cleansed only", map[string]string{"allow_overlay": "1", "search": "415333", "cleansed_only": "1"}, "allow_overlay=1 is not supported with cleansed_only=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			addOns := e.sim.AddOns()
			kv := []string{"action", "numbers.order"}
			for k, v := range valid {
				if _, ok := tt.set[k]; !ok {
					kv = append(kv, k, v)
				}
			}
			for k, v := range tt.set {
				kv = append(kv, k, v)
			}
			wantFailed(t, e.result(kv...), tt.want)
			if got := e.sim.Ordered(); len(got) != 0 {
				t.Errorf("handed out %v", got)
			}
			if diff := cmp.Diff(addOns, e.sim.AddOns()); diff != "" {
				t.Errorf("add-ons changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestOrderAcceptsTheEdgesOfTheTable(t *testing.T) {
	tests := []struct {
		name  string
		kv    []string
		wantN int
	}{
		{"quantity 0", []string{"quantity", "0"}, 0},
		{"quantity 25", []string{"quantity", "25"}, 25},
		{"distance 0", []string{"distance", "0"}, 3},
		{"fractional distance", []string{"distance", "12.5"}, 3},
		{"longest distance", []string{"distance", "123456.123456"}, 3},
		{"empty optional flags", []string{"cleansed_only", "", "sms_supported", "", "order_slot", "", "allow_overlay", ""}, 3},
		{"canadian exchange", []string{"type", "canadian_local", "search", "416555", "allow_overlay", "1", "order_slot", "1"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.order(append([]string{"type", "local", "search", "415", "quantity", "3", "fill_quantity", "1"}, tt.kv...)...)
			if r.Result != "success" || r.Description.Quantity != tt.wantN || len(r.Description.Numbers) != tt.wantN {
				t.Errorf("got %q %q quantity %d numbers %d, want success with %d", r.Result, r.Description.Text,
					r.Description.Quantity, len(r.Description.Numbers), tt.wantN)
			}
		})
	}
}

func TestLocalSearchFindsNothingOutsideLocalAreas(t *testing.T) {
	for _, search := range []string{"800", "888", "011", "155", "911", "415111"} {
		t.Run(search, func(t *testing.T) {
			e := newEnv(t)
			wantFailed(t, e.order("type", "local", "search", search, "quantity", "1", "fill_quantity", "0"),
				"no numbers available for search "+search)
		})
	}
}

func TestSetInventoryRefusesBadNumbers(t *testing.T) {
	e := newEnv(t)
	r := e.order("type", "local", "search", "312", "quantity", "1", "fill_quantity", "1")
	taken := r.Description.Numbers[0]
	tests := map[string]struct {
		area string
		nums []Number
	}{
		"not an area":      {"011", nil},
		"short number":     {"415", []Number{{Number: "415222000"}}},
		"other area":       {"415", []Number{{Number: "3122220001"}}},
		"twice":            {"415", []Number{{Number: "4152220001"}, {Number: "4152220001"}}},
		"already ordered":  {"312", []Number{{Number: taken}}},
		"letters":          {"415", []Number{{Number: "415222000x"}}},
		"ten digits, sign": {"415", []Number{{Number: "+415222000"}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := e.sim.SetInventory(tt.area, tt.nums); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestGeneratedInventoryIsDistinctAndPlausible(t *testing.T) {
	// 5000 numbers over at most 8 exchanges: random lines would repeat
	// unless the generator refuses repeats.
	e := newEnv(t, WithInventory(5000))
	stock := e.sim.Available("312")
	if len(stock) != 5000 {
		t.Fatalf("%d numbers in stock, want 5000", len(stock))
	}
	seen := map[string]bool{}
	for _, n := range stock {
		if why := checkNumber(n.Number, "312"); why != "" {
			t.Errorf("%s: %s", n.Number, why)
		}
		if n.Number[4:6] == "11" {
			t.Errorf("%s: N11 exchange", n.Number)
		}
		if seen[n.Number] {
			t.Errorf("%s generated twice", n.Number)
		}
		seen[n.Number] = true
	}
}
