package metrics_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/metrics"
)

// recorders are the calls made per envelope, with values in and outside
// their label sets.
var recorders = []struct {
	name   string
	record func(m *metrics.Metrics)
}{
	{"Envelope", func(m *metrics.Metrics) { m.Envelope("interactive") }},
	{"Acked", func(m *metrics.Metrics) { m.Acked("slash_commands", 300*time.Microsecond) }},
	{"AckedOther", func(m *metrics.Metrics) { m.Acked("hello", 300*time.Microsecond) }},
	{"Handled", func(m *metrics.Metrics) { m.Handled("command", "/numbers order", "ok", time.Millisecond) }},
	{"HandledOther", func(m *metrics.Metrics) { m.Handled("action", "forged", "made-up", time.Millisecond) }},
	{"DialogTechCall", func(m *metrics.Metrics) { m.DialogTechCall("addons.list", "success", 40*time.Millisecond) }},
	{"Busy", func(m *metrics.Metrics) { m.Busy("events_api", true) }},
	{"AddOnsRead", func(m *metrics.Metrics) { m.AddOnsRead("cache") }},
	{"Transition", func(m *metrics.Metrics) { m.Transition("pending", "executing") }},
	{"StoreError", func(m *metrics.Metrics) { m.StoreError("ping") }},
}

// Recording allocates nothing.
func TestRecordingDoesNotAllocate(t *testing.T) {
	m := metrics.New(known)
	for _, r := range recorders {
		if n := testing.AllocsPerRun(100, func() { r.record(m) }); n != 0 {
			t.Errorf("%s: %v allocations a call", r.name, n)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	m := metrics.New(known)
	for _, r := range recorders {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.record(m)
			}
		})
	}
}

// BenchmarkAckedParallel: acks recorded from every P at once, in one
// series.
func BenchmarkAckedParallel(b *testing.B) {
	m := metrics.New(known)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Acked("slash_commands", 300*time.Microsecond)
		}
	})
}

func BenchmarkScrape(b *testing.B) {
	m := metrics.New(known)
	recordAll(m)
	m.WatchSocket(time.Now)
	m.WatchRequests(func(context.Context) (map[string]metrics.Waiting, error) {
		return map[string]metrics.Waiting{"pending": {Count: 3, Oldest: time.Now()}}, nil
	})
	b.ReportAllocs()
	for b.Loop() {
		if err := m.WriteText(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
