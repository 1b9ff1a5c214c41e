package alerts

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialogbot/dialogbot/store"
)

// history is an hourly sample series of span ending at now, with in_use
// given by use(days before now).
func history(now time.Time, span time.Duration, use func(daysAgo float64) float64) []store.Sample {
	var out []store.Sample
	for at := now.Add(-span); !at.After(now); at = at.Add(time.Hour) {
		out = append(out, store.Sample{ItemID: 6, At: at, InUse: int(math.Round(use(now.Sub(at).Hours() / 24))), Total: 200})
	}
	return out
}

func TestForecast(t *testing.T) {
	now := t0
	noise := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		samples []store.Sample
		total   int
		trend   Trend
		days    float64 // expected days to full when filling
		tol     float64
		perDay  float64
		text    string
	}{
		{
			name:    "linear growth",
			samples: history(now, 3*24*time.Hour, func(d float64) float64 { return 130 - 10*d }),
			total:   200, trend: TrendFilling, days: 7, tol: 0.05, perDay: 10, text: "full in ~7 days",
		},
		{
			name:    "linear growth, a week of it",
			samples: history(now, 7*24*time.Hour, func(d float64) float64 { return 180 - 4*d }),
			total:   200, trend: TrendFilling, days: 5, tol: 0.05, perDay: 4, text: "full in ~5 days",
		},
		{
			name:    "noisy growth",
			samples: history(now, 7*24*time.Hour, func(d float64) float64 { return 150 - 5*d + noise.Float64()*8 - 4 }),
			total:   200, trend: TrendFilling, days: 10, tol: 1.5, perDay: 5,
		},
		{
			name:    "flat",
			samples: history(now, 5*24*time.Hour, func(float64) float64 { return 120 }),
			total:   200, trend: TrendNotFilling, text: "not filling",
		},
		{
			name:    "shrinking",
			samples: history(now, 5*24*time.Hour, func(d float64) float64 { return 100 + 6*d }),
			total:   200, trend: TrendNotFilling, perDay: -6, text: "not filling",
		},
		{
			name:    "less than a day of data",
			samples: history(now, 23*time.Hour, func(d float64) float64 { return 100 - 50*d }),
			total:   200, trend: TrendUnknown, text: "not enough data",
		},
		{
			name:    "one sample",
			samples: []store.Sample{{ItemID: 6, At: now, InUse: 5, Total: 10}},
			total:   10, trend: TrendUnknown, text: "not enough data",
		},
		{
			name:  "no samples",
			total: 10, trend: TrendUnknown, text: "not enough data",
		},
		{
			name:    "already full",
			samples: history(now, 2*24*time.Hour, func(d float64) float64 { return 200 - 5*d }),
			total:   200, trend: TrendFull, text: "full now",
		},
		{
			name: "samples older than the window are left out",
			samples: append(
				history(now.Add(-9*24*time.Hour), 24*time.Hour, func(d float64) float64 { return 10 }),
				history(now, 2*24*time.Hour, func(float64) float64 { return 120 })...),
			total: 200, trend: TrendNotFilling, text: "not filling",
		},
		{
			name:    "filling within a day",
			samples: history(now, 2*24*time.Hour, func(d float64) float64 { return 190 - 20*d }),
			total:   200, trend: TrendFilling, days: 0.5, tol: 0.05, perDay: 20, text: "full in less than a day",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Forecast(tt.samples, tt.total, now)
			if p.Trend != tt.trend {
				t.Fatalf("trend = %q, want %q (%+v)", p.Trend, tt.trend, p)
			}
			if !p.At.Equal(now) {
				t.Errorf("At = %v, want %v", p.At, now)
			}
			if tt.trend == TrendFilling {
				days := p.Until().Hours() / 24
				if math.Abs(days-tt.days) > tt.tol {
					t.Errorf("full in %.3f days, want %.3f ± %.2f", days, tt.days, tt.tol)
				}
			}
			if tt.perDay != 0 && math.Abs(p.PerDay-tt.perDay) > 0.05*math.Abs(tt.perDay) {
				t.Errorf("PerDay = %.3f, want %.3f", p.PerDay, tt.perDay)
			}
			if tt.text != "" && p.String() != tt.text {
				t.Errorf("String() = %q, want %q", p.String(), tt.text)
			}
		})
	}
}

func TestForecastIgnoresOrder(t *testing.T) {
	samples := history(t0, 3*24*time.Hour, func(d float64) float64 { return 130 - 10*d })
	reversed := make([]store.Sample, len(samples))
	for i, s := range samples {
		reversed[len(samples)-1-i] = s
	}
	if diff := cmp.Diff(Forecast(samples, 200, t0), Forecast(reversed, 200, t0)); diff != "" {
		t.Errorf("order changed the forecast (-sorted +reversed):\n%s", diff)
	}
}

func TestPredictionString(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		p    Prediction
		want string
	}{
		{Prediction{}, "not enough data"},
		{Prediction{Trend: TrendNotFilling, At: t0}, "not filling"},
		{Prediction{Trend: TrendFull, At: t0, FullAt: t0}, "full now"},
		{fullIn(6*time.Hour, t0), "full in less than a day"},
		{fullIn(day+time.Hour, t0), "full in ~1 day"},
		{fullIn(4*day+13*time.Hour, t0), "full in ~5 days"},
		{fullIn(400*day, t0), "full in over a year"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestPredictionFullWithin(t *testing.T) {
	week := 7 * 24 * time.Hour
	tests := []struct {
		p    Prediction
		want bool
	}{
		{Prediction{}, false},
		{Prediction{Trend: TrendNotFilling, At: t0}, false},
		{Prediction{Trend: TrendFull, At: t0, FullAt: t0}, true},
		{fullIn(week, t0), true},
		{fullIn(week+time.Minute, t0), false},
	}
	for _, tt := range tests {
		if got := tt.p.FullWithin(week); got != tt.want {
			t.Errorf("%+v.FullWithin(week) = %v, want %v", tt.p, got, tt.want)
		}
	}
}
