package metrics

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestTextAsExpfmtWritesIt: HELP and label value escaping and number
// formatting are those of the Prometheus text encoder, taken as the
// reference: the same family written by both reads the same.
func TestTextAsExpfmtWritesIt(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 2, 0.1, 0.0001, 1e-7, 5400, 123456789, 1700000000.5,
		1e21, 1e300, -3.25, math.MaxUint64, math.MaxInt64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN()}
	labelValues := []string{"plain", "", `back\slash`, `"quoted"`, "new\nline", `\n`, "ünï©ødé", `\"`, "tab\tand space"}
	help := "Help with a \\ backslash, a \"quote\" and a\nnewline."

	name := "example_total"
	typ := dto.MetricType_GAUGE
	mf := &dto.MetricFamily{Name: &name, Help: &help, Type: &typ}
	w := &textWriter{}
	w.begin(&desc{name, help, "gauge"})
	for i, v := range values {
		lv := labelValues[i%len(labelValues)]
		ln, ln2 := "a", "b"
		mf.Metric = append(mf.Metric, &dto.Metric{
			Label: []*dto.LabelPair{{Name: &ln, Value: &lv}, {Name: &ln2, Value: &lv}},
			Gauge: &dto.Gauge{Value: &v},
		})
		w.series(name, "")
		w.label("a", lv)
		w.label("b", lv)
		w.value(v)
	}
	var want strings.Builder
	if _, err := expfmt.MetricFamilyToText(&want, mf); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), string(w.buf)); diff != "" {
		t.Errorf("text (-expfmt +ours):\n%s", diff)
	}
}

// A family without samples leaves nothing, not even its HELP.
func TestEmptyFamilyLeavesNothing(t *testing.T) {
	w := &textWriter{}
	w.begin(&desc{"a_total", "A.", "counter"})
	w.begin(&desc{"b", "B.", "gauge"})
	w.series("b", "")
	w.value(1)
	if got, want := string(w.buf), "# HELP b B.\n# TYPE b gauge\nb 1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The families are listed sorted by name, each once.
func TestFamiliesSorted(t *testing.T) {
	m := New(Known{})
	var names []string
	for _, f := range m.families {
		names = append(names, f.describe().name)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("%s before %s", names[i-1], names[i])
		}
	}
}

// A known value "other" and the folding of unknown values are one series.
func TestKnownOtherIsTheOtherSeries(t *testing.T) {
	l := newLabel("x", []string{"a", Other, "b"})
	if got := len(l.values); got != 3 {
		t.Errorf("values %v: want no second %q", l.values, Other)
	}
	if l.pos("zzz") != l.pos(Other) || l.pos("b") != 2 {
		t.Errorf("pos(zzz) = %d, pos(other) = %d, pos(b) = %d", l.pos("zzz"), l.pos(Other), l.pos("b"))
	}
}
