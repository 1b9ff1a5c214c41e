package dialogsim

import (
	"encoding/json"
	"fmt"
	"slices"
)

const snapshotVersion = 1

// snapshot is the account state the sandbox keeps across restarts. The call
// log and injected faults are test instruments, not account state, and are
// left out.
type snapshot struct {
	Version   int                 `json:"version"`
	AddOns    []AddOn             `json:"addons"`
	Inventory map[string][]Number `json:"inventory"` // area code → numbers still available
	Ordered   []Number            `json:"ordered"`
	Menus     []string            `json:"menus"`
}

// Snapshot returns the account state as JSON: add-ons, the inventory of
// every area searched so far, the numbers handed out and the menus.
func (s *Sim) Snapshot() ([]byte, error) {
	s.mu.Lock()
	snap := snapshot{
		Version:   snapshotVersion,
		AddOns:    append([]AddOn{}, s.addOns...),
		Inventory: make(map[string][]Number, len(s.areas)),
		Ordered:   append([]Number{}, s.ordered...),
		Menus:     make([]string, 0, len(s.menus)),
	}
	for area, nums := range s.areas {
		snap.Inventory[area] = append([]Number{}, nums...)
	}
	for id := range s.menus {
		snap.Menus = append(snap.Menus, id)
	}
	s.mu.Unlock()
	slices.Sort(snap.Menus)
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("dialogsim: snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the account state with one taken by Snapshot. On error
// the state is left as it was. The call log, faults, keys and OnChange are
// kept.
func (s *Sim) Restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("dialogsim: restore: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("dialogsim: restore: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	items := map[int]bool{}
	for _, a := range snap.AddOns {
		if items[a.ItemID] {
			return fmt.Errorf("dialogsim: restore: item_id %d appears twice", a.ItemID)
		}
		items[a.ItemID] = true
	}

	known := map[string]bool{}
	claim := func(n Number, area string) error {
		if len(n.Number) != 10 || !allDigits(n.Number) || (area != "" && n.Number[:3] != area) {
			return fmt.Errorf("dialogsim: restore: %w: %q", ErrInvalidInventory, n.Number)
		}
		if known[n.Number] {
			return fmt.Errorf("dialogsim: restore: %w: %s appears twice", ErrInvalidInventory, n.Number)
		}
		known[n.Number] = true
		return nil
	}
	for _, n := range snap.Ordered {
		if err := claim(n, ""); err != nil {
			return err
		}
	}
	areas := make(map[string][]Number, len(snap.Inventory))
	for area, nums := range snap.Inventory {
		if !plausibleNPA(area) {
			return fmt.Errorf("dialogsim: restore: %w: %q is not an area code", ErrInvalidInventory, area)
		}
		for _, n := range nums {
			if err := claim(n, area); err != nil {
				return err
			}
		}
		areas[area] = append([]Number{}, nums...)
	}
	menus := make(map[string]bool, len(snap.Menus))
	for _, id := range snap.Menus {
		menus[id] = true
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.addOns = append([]AddOn{}, snap.AddOns...)
	s.areas = areas
	s.ordered = append([]Number{}, snap.Ordered...)
	s.known = known
	s.menus = menus
	return nil
}
