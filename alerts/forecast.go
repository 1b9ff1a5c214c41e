package alerts

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dialogbot/dialogbot/store"
)

// Trend is what a forecast can say.
type Trend string

const (
	// TrendUnknown: less than a day of history; a line through a few
	// readings would be a guess. The zero Trend.
	TrendUnknown Trend = ""
	// TrendNotFilling: use is flat or shrinking.
	TrendNotFilling Trend = "not_filling"
	// TrendFilling: use grows; FullAt says when it reaches the total.
	TrendFilling Trend = "filling"
	// TrendFull: nothing is left already.
	TrendFull Trend = "full"
)

// Forecast window and the least history it needs.
const (
	ForecastWindow  = 7 * 24 * time.Hour
	ForecastMinSpan = 24 * time.Hour
	// SampleRetention is how long usage samples are kept: the window plus
	// a day, so a late run still sees a full week.
	SampleRetention = 8 * 24 * time.Hour
)

// Prediction is a forecast of one add-on. The zero value means "not enough
// data".
type Prediction struct {
	Trend Trend `json:"trend,omitempty"`
	// PerDay is the fitted growth of in_use per day.
	PerDay float64 `json:"per_day,omitempty"`
	// FullAt is when in_use is expected to reach total_qty (filling or
	// full).
	FullAt time.Time `json:"full_at,omitzero"`
	// At is when the forecast was made.
	At time.Time `json:"at,omitzero"`
}

// farFuture caps FullAt: beyond it the line says nothing useful, and the
// arithmetic would overflow a time.Duration.
const farFuture = 10 * 365 * 24 * time.Hour

// Forecast fits a least-squares line to in_use over the last
// ForecastWindow of samples and says when it reaches total. The rate comes
// from the fit; the starting point is the latest reading, which is known
// exactly, so noise in old samples does not shift "how much is left".
func Forecast(samples []store.Sample, total int, now time.Time) Prediction {
	p := Prediction{At: now}
	from := now.Add(-ForecastWindow)
	pts := make([]store.Sample, 0, len(samples))
	for _, s := range samples {
		if !s.At.Before(from) && !s.At.After(now) {
			pts = append(pts, s)
		}
	}
	slices.SortStableFunc(pts, func(a, b store.Sample) int { return a.At.Compare(b.At) })
	if len(pts) < 2 || pts[len(pts)-1].At.Sub(pts[0].At) < ForecastMinSpan || total <= 0 {
		return p
	}

	origin := pts[0].At
	day := func(t time.Time) float64 { return t.Sub(origin).Hours() / 24 }
	var mx, my float64
	for _, s := range pts {
		mx += day(s.At)
		my += float64(s.InUse)
	}
	n := float64(len(pts))
	mx, my = mx/n, my/n
	var sxx, sxy float64
	for _, s := range pts {
		dx := day(s.At) - mx
		sxx += dx * dx
		sxy += dx * (float64(s.InUse) - my)
	}
	p.PerDay = sxy / sxx
	if math.IsNaN(p.PerDay) || math.IsInf(p.PerDay, 0) {
		return Prediction{At: now}
	}

	last := pts[len(pts)-1]
	switch {
	case last.InUse >= total:
		p.Trend, p.FullAt = TrendFull, last.At
	case p.PerDay <= 1e-9:
		p.Trend = TrendNotFilling
	default:
		p.Trend = TrendFilling
		left := time.Duration(float64(total-last.InUse) / p.PerDay * 24 * float64(time.Hour))
		if left > farFuture || left < 0 {
			left = farFuture
		}
		p.FullAt = last.At.Add(left)
	}
	return p
}

// Until is the time from the forecast to full; zero unless filling or full.
func (p Prediction) Until() time.Duration {
	switch p.Trend {
	case TrendFilling:
		if d := p.FullAt.Sub(p.At); d > 0 {
			return d
		}
	}
	return 0
}

// FullWithin reports whether the forecast expects no capacity left within d.
func (p Prediction) FullWithin(d time.Duration) bool {
	switch p.Trend {
	case TrendFull:
		return true
	case TrendFilling:
		return p.Until() <= d
	}
	return false
}

// String is the forecast in a few words, as /addons, App Home and the
// alerts show it: "full in ~5 days", "not filling", "not enough data".
func (p Prediction) String() string {
	switch p.Trend {
	case TrendFull:
		return "full now"
	case TrendNotFilling:
		return "not filling"
	case TrendFilling:
		days := p.Until().Hours() / 24
		switch {
		case days < 1:
			return "full in less than a day"
		case days > 365:
			return "full in over a year"
		}
		n := int(math.Round(days))
		if n == 1 {
			return "full in ~1 day"
		}
		return fmt.Sprintf("full in ~%d days", n)
	}
	return "not enough data"
}
