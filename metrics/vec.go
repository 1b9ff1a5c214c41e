package metrics

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync/atomic"
)

// A label is one label of a vector: its name and the fixed set of values it
// takes. A value outside the set is recorded under Other, in a slot of its
// own after the known values (or in the known "other" if the set has one).
type label struct {
	name   string
	values []string // known values, then Other unless a known value is Other
	other  int      // the position of Other in values
}

func newLabel(name string, known []string) label {
	values := slices.Clone(known)
	other := slices.Index(values, Other)
	if other < 0 {
		other = len(values)
		values = append(values, Other)
	}
	return label{name: name, values: values, other: other}
}

// pos is the position of v in the label's values: its own when known, else
// Other's. A linear scan of a few strings: no map, no lock, no allocation.
func (l *label) pos(v string) int {
	for i, k := range l.values {
		if k == v {
			return i
		}
	}
	return l.other
}

// series lays out the series of a vector: one per combination of label
// values, at index pos(label 0)*stride(0) + pos(label 1)*stride(1) + ...
type series struct {
	labels  []label
	byName  []int  // label indexes in name order, as the exposition lists them
	created []bool // series shown even before anything is recorded in them
}

func newSeries(labels ...label) series {
	n := 1
	for _, l := range labels {
		n *= len(l.values)
	}
	byName := make([]int, len(labels))
	for i := range byName {
		byName[i] = i
	}
	slices.SortFunc(byName, func(a, b int) int { return cmp.Compare(labels[a].name, labels[b].name) })
	return series{labels: labels, byName: byName, created: make([]bool, n)}
}

func (s *series) len() int { return len(s.created) }

// at is the index of the series with the given value positions, one per
// label.
func (s *series) at(pos ...int) int {
	i := 0
	for j, p := range pos {
		i = i*len(s.labels[j].values) + p
	}
	return i
}

// value is the value of label j in series i.
func (s *series) value(i, j int) string {
	for k := len(s.labels) - 1; k > j; k-- {
		i /= len(s.labels[k].values)
	}
	l := &s.labels[j]
	return l.values[i%len(l.values)]
}

// create makes the series with these label values shown at zero.
func (s *series) create(values ...string) {
	pos := make([]int, len(values))
	for j, v := range values {
		pos[j] = s.labels[j].pos(v)
	}
	s.created[s.at(pos...)] = true
}

// order returns the indexes of the series shown, in the exposition's order:
// by label values, labels taken in name order.
func (s *series) order(shown func(i int) bool) []int {
	var out []int
	for i := range s.len() {
		if s.created[i] || shown(i) {
			out = append(out, i)
		}
	}
	slices.SortFunc(out, func(a, b int) int {
		for _, j := range s.byName {
			if c := cmp.Compare(s.value(a, j), s.value(b, j)); c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

// writeLabels writes series i's label pairs.
func (s *series) writeLabels(w *textWriter, i int) {
	for _, j := range s.byName {
		w.label(s.labels[j].name, s.value(i, j))
	}
}

// counterVec is a counter family over fixed label sets: an array of atomic
// counts. A series is shown once it has counted something, or from the
// start when created.
type counterVec struct {
	desc
	series
	counts []atomic.Uint64
}

func newCounterVec(name, help string, labels ...label) *counterVec {
	s := newSeries(labels...)
	return &counterVec{desc: desc{name, help, "counter"}, series: s, counts: make([]atomic.Uint64, s.len())}
}

func (c *counterVec) inc(i int) { c.counts[i].Add(1) }

func (c *counterVec) write(w *textWriter, _ *snapshot) {
	for _, i := range c.order(func(i int) bool { return c.counts[i].Load() > 0 }) {
		w.series(c.name, "")
		c.writeLabels(w, i)
		w.value(float64(c.counts[i].Load()))
	}
}

// histogramVec is a histogram family over fixed label sets. Each series
// holds an atomic count per bucket and an atomic sum; its _count is the sum
// of its buckets, so that the +Inf bucket and _count always agree. A
// scrape during an observation may see the observation in _sum and not
// yet in the buckets, or the other way round.
type histogramVec struct {
	desc
	series
	upper  []float64       // bucket upper bounds, ascending, without +Inf
	counts []atomic.Uint64 // per series, len(upper)+1 non-cumulative counts
	sums   []atomic.Uint64 // per series, math.Float64bits of the sum
}

func newHistogramVec(name, help string, buckets []float64, labels ...label) *histogramVec {
	s := newSeries(labels...)
	return &histogramVec{
		desc:   desc{name, help, "histogram"},
		series: s,
		upper:  slices.Clone(buckets),
		counts: make([]atomic.Uint64, s.len()*(len(buckets)+1)),
		sums:   make([]atomic.Uint64, s.len()),
	}
}

// observe records v in series i: v falls in the first bucket whose upper
// bound is at least v.
func (h *histogramVec) observe(i int, v float64) {
	b := sort.SearchFloat64s(h.upper, v)
	h.counts[i*(len(h.upper)+1)+b].Add(1)
	sum := &h.sums[i]
	for {
		old := sum.Load()
		if sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (h *histogramVec) buckets(i int) []atomic.Uint64 {
	n := len(h.upper) + 1
	return h.counts[i*n : (i+1)*n]
}

func (h *histogramVec) write(w *textWriter, _ *snapshot) {
	shown := func(i int) bool {
		for b := range h.buckets(i) {
			if h.buckets(i)[b].Load() > 0 {
				return true
			}
		}
		return false
	}
	for _, i := range h.order(shown) {
		var total uint64
		for b := range h.buckets(i) {
			total += h.buckets(i)[b].Load()
			upper := math.Inf(1)
			if b < len(h.upper) {
				upper = h.upper[b]
			}
			w.series(h.name, "_bucket")
			h.writeLabels(w, i)
			w.labelFloat("le", upper)
			w.value(float64(total))
		}
		w.series(h.name, "_sum")
		h.writeLabels(w, i)
		w.value(math.Float64frombits(h.sums[i].Load()))
		w.series(h.name, "_count")
		h.writeLabels(w, i)
		w.value(float64(total))
	}
}

// counter is a counter without labels.
type counter struct {
	desc
	n atomic.Uint64
}

func newCounter(name, help string) *counter {
	return &counter{desc: desc{name, help, "counter"}}
}

func (c *counter) inc() { c.n.Add(1) }

func (c *counter) write(w *textWriter, _ *snapshot) {
	w.series(c.name, "")
	w.value(float64(c.n.Load()))
}

// gauge is a gauge without labels that is set.
type gauge struct {
	desc
	bits atomic.Uint64 // math.Float64bits of the value
}

func newGauge(name, help string) *gauge {
	return &gauge{desc: desc{name, help, "gauge"}}
}

func (g *gauge) set(v float64) { g.bits.Store(math.Float64bits(v)) }

func (g *gauge) write(w *textWriter, _ *snapshot) {
	w.series(g.name, "")
	w.value(math.Float64frombits(g.bits.Load()))
}

// valueFunc is a family of one series without labels whose value is read
// at scrape time; ok false leaves the family out of the scrape.
type valueFunc struct {
	desc
	f func(s *snapshot) (v float64, ok bool)
}

func (v *valueFunc) write(w *textWriter, s *snapshot) {
	if x, ok := v.f(s); ok {
		w.series(v.name, "")
		w.value(x)
	}
}

// inc1 counts one in the series of a one-label vector whose label has
// value v.
func (c *counterVec) inc1(v string) { c.inc(c.labels[0].pos(v)) }

// inc2 counts one in the series of a two-label vector whose labels have
// values a and b.
func (c *counterVec) inc2(a, b string) { c.inc(c.at2(c.labels[0].pos(a), c.labels[1].pos(b))) }

// at2 is the index of the series of a two-label vector with value
// positions a and b.
func (s *series) at2(a, b int) int { return a*len(s.labels[1].values) + b }
