package alerts

import (
	"strconv"
	"testing"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/reply"
)

// TestNoMargin: ALERT_RESOLVE_MARGIN=0 reaches the runner as NoMargin and
// must mean no hysteresis, through New's defaults and Decide's (both apply
// withDefaults), where a plain zero would become DefaultMargin.
func TestNoMargin(t *testing.T) {
	tests := []struct {
		name         string
		margin       float64
		use          int // after the alert fired at 95/100
		wantResolved bool
	}{
		{"default margin holds just under the threshold", 0, 89, false},
		{"default margin resolves under threshold minus margin", 0, 84, true},
		{"no margin resolves just under the threshold", NoMargin, 89, true},
		{"no margin holds at the threshold", NoMargin, 90, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(newMemStore())
			h.settings.Margin = tt.margin
			r := h.runner()
			h.reader.set(nil, numbers(95, 100))
			h.mustTick(t, r)
			h.reader.set(nil, numbers(tt.use, 100))
			h.mustTick(t, r)
			got := h.store.(*memStore).alert(AddOnKey(6)).Level == LevelResolved
			if got != tt.wantResolved {
				t.Errorf("margin %v, use %d/100: resolved = %v, want %v", tt.margin, tt.use, got, tt.wantResolved)
			}
		})
	}
}

func TestSettingsValidateMargin(t *testing.T) {
	for _, m := range []float64{0, NoMargin, 0.05, 0.89} {
		if err := (Settings{Channel: "C1", Threshold: 0.9, Margin: m}).Validate(); err != nil {
			t.Errorf("Margin %v: %v", m, err)
		}
	}
	if err := (Settings{Channel: "C1", Threshold: 0.9, Margin: 0.9}).Validate(); err == nil {
		t.Error("Margin equal to Threshold accepted")
	}
}

// TestRunnerSuggestMatchesMessage: the Request more button asks for what
// the alert message suggests, whatever the margin and thresholds.
func TestRunnerSuggestMatchesMessage(t *testing.T) {
	tests := []struct {
		name   string
		s      Settings
		inUse  int
		total  int
		maxQty int
	}{
		{"defaults", Settings{}, 95, 100, 500},
		{"no margin", Settings{Margin: NoMargin}, 95, 100, 500},
		{"wide margin", Settings{Margin: 0.2}, 95, 100, 500},
		{"override", Settings{Overrides: map[int]float64{6: 0.7}}, 75, 100, 500},
		{"capped by max_qty_purchase", Settings{}, 190, 200, 5},
		{"full", Settings{}, 100, 100, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(newMemStore())
			tt.s.Channel = "C1"
			h.settings = tt.s
			r := h.runner()
			a := dialog.AddOn{ItemID: 6, Name: "Local Numbers", InUse: tt.inUse, TotalQty: tt.total, MaxQtyPurchase: tt.maxQty}
			h.reader.set(nil, a)
			h.mustTick(t, r)
			posts := h.poster.all()
			if len(posts) != 1 || posts[0].Op != "post" {
				t.Fatalf("want one post, got %+v", posts)
			}
			shown := suggestedField(posts[0].Msg)
			if got := strconv.Itoa(r.Suggest(a)); got != shown {
				t.Errorf("Suggest = %s, the message suggests %s", got, shown)
			}
			// It is also what SuggestQty gives for the add-on's threshold:
			// the message is not wrong in the same way.
			th := tt.s.withDefaults().threshold(6)
			if want := SuggestQty(a, th, tt.s.withDefaults().margin()); r.Suggest(a) != want {
				t.Errorf("Suggest = %d, SuggestQty = %d", r.Suggest(a), want)
			}
		})
	}
}

func suggestedField(m reply.Message) string {
	for _, b := range m.Blocks {
		if f, ok := b.(reply.Fields); ok {
			for _, x := range f.Fields {
				if x.Label == "Suggested purchase" {
					return x.Value
				}
			}
		}
	}
	return ""
}
