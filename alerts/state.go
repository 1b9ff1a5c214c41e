package alerts

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dialogbot/dialogbot/store"
)

// stateData is the part of State that store.AlertState has no column for.
type stateData struct {
	Rev     int64     `json:"rev"`
	Posts   int       `json:"posts,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Reason  string    `json:"reason,omitempty"`
	Reading Reading   `json:"reading"`
}

// FromStore reads an alert back from the store, e.g. to show open alerts
// with their figures. Data this package did not write is ignored: a row
// with unreadable details still alerts, with fewer details.
func FromStore(a store.AlertState) State {
	var d stateData
	_ = json.Unmarshal(a.Data, &d)
	return State{
		Key:          a.Key,
		Level:        Level(a.State),
		Episode:      a.Episode,
		Rev:          d.Rev,
		Since:        d.Since,
		ChannelID:    a.ChannelID,
		MessageTS:    a.MessageTS,
		Posts:        d.Posts,
		LastPostedAt: a.LastPostedAt,
		SnoozedBy:    a.SnoozedBy,
		SnoozedUntil: a.SnoozedUntil,
		Failures:     a.Failures,
		Reason:       d.Reason,
		Reading:      d.Reading,
	}
}

func toStore(s State) (*store.AlertState, error) {
	data, err := json.Marshal(stateData{Rev: s.Rev, Posts: s.Posts, Since: s.Since, Reason: s.Reason, Reading: s.Reading})
	if err != nil {
		return nil, fmt.Errorf("alerts: encode %s: %w", s.Key, err)
	}
	return &store.AlertState{
		Key:          s.Key,
		State:        string(s.Level),
		Episode:      s.Episode,
		ChannelID:    s.ChannelID,
		MessageTS:    s.MessageTS,
		LastPostedAt: s.LastPostedAt,
		SnoozedBy:    s.SnoozedBy,
		SnoozedUntil: s.SnoozedUntil,
		Failures:     s.Failures,
		Data:         data,
	}, nil
}

// nextUpdatedAt is the version stamp of a write that follows prev. It must
// differ from prev even within one clock tick (a fake clock, or two writes
// in one run), and survive a store that keeps only milliseconds.
func nextUpdatedAt(now, prev time.Time) time.Time {
	t := now.UTC().Truncate(time.Millisecond)
	if !t.After(prev) {
		t = prev.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	}
	return t
}
