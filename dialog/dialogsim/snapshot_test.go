package dialogsim

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	a := newEnv(t, WithSeed(3), WithInventory(20))
	a.call("action", "addons.purchase", "item_id", "6", "qty", "4")
	a.order("type", "local", "search", "312", "quantity", "5", "fill_quantity", "1")
	a.order("type", "local", "search", "415777", "quantity", "2", "fill_quantity", "1", "allow_overlay", "1")
	a.order("type", "tollfree", "quantity", "2", "fill_quantity", "1", "sms_supported", "1")
	a.sim.AddMenu("9000")
	a.sim.SetAddOn(AddOn{ItemID: 40, Name: "Fax Lines", PurchasePrice: "2.00", MaxQtyPurchase: 5, TotalQty: 1})
	snap, err := a.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	// Another seed and inventory size: everything comes from the snapshot.
	b := newEnv(t, WithSeed(99), WithInventory(5))
	if err := b.sim.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.sim.AddOns(), b.sim.AddOns()); diff != "" {
		t.Errorf("AddOns (-saved +restored):\n%s", diff)
	}
	if diff := cmp.Diff(a.sim.Ordered(), b.sim.Ordered()); diff != "" {
		t.Errorf("Ordered (-saved +restored):\n%s", diff)
	}
	for _, area := range []string{"312", "415", "888"} {
		if diff := cmp.Diff(a.sim.Available(area), b.sim.Available(area)); diff != "" {
			t.Errorf("Available(%s) (-saved +restored):\n%s", area, diff)
		}
	}
	again, err := b.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(snap), string(again)); diff != "" {
		t.Errorf("snapshot of the restored simulator (-saved +again):\n%s", diff)
	}
	if body := b.call("action", "clickto.vr", "menu_id", "9000", "phone_to_call", "5551112222"); body != "Call Connected" {
		t.Errorf("restored menu: %q", body)
	}
	if len(b.sim.Ordered()) != 9 {
		t.Errorf("%d numbers handed out, want 9", len(b.sim.Ordered()))
	}
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	tests := map[string]string{
		"not JSON":      `{"version":`,
		"wrong version": `{"version":2}`,
		"item twice":    `{"version":1,"addons":[{"item_id":6},{"item_id":6}]}`,
		"number twice": `{"version":1,"ordered":[{"number":"3125550100"}],
			"inventory":{"312":[{"number":"3125550100"}]}}`,
		"number outside its area": `{"version":1,"inventory":{"312":[{"number":"4155550100"}]}}`,
		"short number":            `{"version":1,"ordered":[{"number":"312555010"}]}`,
		"not an area":             `{"version":1,"inventory":{"012":[]}}`,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.order("type", "local", "search", "312", "quantity", "2", "fill_quantity", "1")
			before, err := e.sim.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			err = e.sim.Restore([]byte(data))
			if err == nil {
				t.Fatal("accepted")
			}
			if name == "number twice" && !errors.Is(err, ErrInvalidInventory) {
				t.Errorf("error %v, want ErrInvalidInventory", err)
			}
			after, err := e.sim.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(before), string(after)); diff != "" {
				t.Errorf("a refused restore changed the state (-before +after):\n%s", diff)
			}
		})
	}
}
