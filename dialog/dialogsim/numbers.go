package dialogsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
)

// Number is a tracking number in the inventory or handed out by
// numbers.order.
type Number struct {
	Number   string `json:"number"`             // 10 digits: NPA, NXX, line
	SMS      bool   `json:"sms,omitempty"`      // can be enabled for SMS
	Cleansed bool   `json:"cleansed,omitempty"` // passed DialogTech's own cleansing, not only the carrier's
	Overlay  bool   `json:"overlay,omitempty"`  // made by a carrier overlay (allow_overlay=1), never in inventory
}

// Toll-free numbers come from these prefixes; "True 800" numbers from 800
// only. A local search in any of them finds nothing.
var (
	tollfreePrefixes = []string{"888", "877", "866", "855", "844", "833"}
	true800Prefixes  = []string{"800"}
)

// overlayStream separates the overlay generator from the per-area ones,
// which use the area code as their stream.
const overlayStream = 1 << 32

type orderParams struct {
	typ          string
	search       string
	quantity     int
	allOrNothing bool // fill_quantity=1
	cleansedOnly bool
	sms          bool
	orderSlot    bool
	overlay      bool
}

func (p orderParams) local() bool { return p.typ == "local" || p.typ == "canadian_local" }

// slotItem is the add-on whose slots a type of number occupies; 0 for a
// type that is not one.
func slotItem(typ string) int {
	switch typ {
	case "local":
		return itemLocal
	case "canadian_local":
		return itemCanadianLocal
	case "tollfree":
		return itemTollfree
	case "true800":
		return itemTrue800
	}
	return 0
}

// validDistance reports whether d is a distance as the vendor writes it:
// 1 to 6 digits, then optionally a point and 1 to 6 more
// (^[0-9]{1,6}(\.[0-9]{1,6})?$).
func validDistance(d string) bool {
	whole, frac, point := strings.Cut(d, ".")
	upTo6 := func(s string) bool { return s != "" && len(s) <= 6 && allDigits(s) }
	return upTo6(whole) && (!point || upTo6(frac))
}

// parseOrder applies the vendor's parameter table, in its order.
func parseOrder(params url.Values) (orderParams, string) {
	var p orderParams
	p.typ = params.Get("type")
	switch p.typ {
	case "":
		return p, "type is required"
	case "local", "tollfree", "true800", "canadian_local":
	default:
		return p, "type must be local, tollfree, true800 or canadian_local"
	}

	p.search = params.Get("search")
	switch {
	case p.local() && p.search == "":
		return p, "search is required for type " + p.typ
	case !p.local() && p.search != "":
		return p, "search is not supported for type " + p.typ
	case p.local() && (len(p.search) != 3 && len(p.search) != 6 || !allDigits(p.search)):
		return p, "search must be 3 digits (NPA) or 6 digits (NPA-NXX)"
	}

	q := params.Get("quantity")
	if q == "" {
		return p, "quantity is required"
	}
	n, ok := digits(q, 3)
	if !ok || n > 25 {
		return p, "quantity must be a whole number from 0 to 25"
	}
	p.quantity = n

	switch params.Get("fill_quantity") {
	case "":
		return p, "fill_quantity is required"
	case "0":
	case "1":
		p.allOrNothing = true
	default:
		return p, "fill_quantity must be 0 or 1"
	}

	if msg := flagParam(params, "cleansed_only", &p.cleansedOnly); msg != "" {
		return p, msg
	}
	// distance is checked but has no effect: the simulator has no geography,
	// and every number it offers lies in the searched area anyway.
	if d := params.Get("distance"); d != "" && !validDistance(d) {
		return p, "distance must be a number of miles, 0 or more"
	}
	if msg := flagParam(params, "sms_supported", &p.sms); msg != "" {
		return p, msg
	}
	if msg := flagParam(params, "order_slot", &p.orderSlot); msg != "" {
		return p, msg
	}
	if msg := flagParam(params, "allow_overlay", &p.overlay); msg != "" {
		return p, msg
	}
	if p.overlay && len(p.search) != 6 {
		return p, "allow_overlay=1 needs a 6-digit NPA-NXX search"
	}
	if p.overlay && p.cleansedOnly {
		return p, "allow_overlay=1 is not supported with cleansed_only=1"
	}
	return p, ""
}

// ref points at one number of an area's inventory.
type ref struct {
	area string
	i    int
}

func (s *Sim) order(params url.Values) (reply, bool) {
	p, msg := parseOrder(params)
	if msg != "" {
		return failed(msg), false
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	item := slotItem(p.typ)
	ai := s.addOnIndex(item)
	if ai < 0 {
		return failed(fmt.Sprintf("no %s number slots on this account (item_id=%d)", p.typ, item)), false
	}

	cands := s.candidates(p)
	var overlays []Number
	if len(cands) < p.quantity && p.overlay {
		overlays = s.overlayNumbers(p.search, p.quantity-len(cands), p.sms)
	}
	give := min(p.quantity, len(cands)+len(overlays))
	if p.quantity > 0 && give == 0 {
		if p.local() {
			return failed("no numbers available for search " + p.search), false
		}
		return failed("no " + p.typ + " numbers available"), false
	}
	if p.allOrNothing && give < p.quantity {
		return failed(fmt.Sprintf("only %d numbers available, %d asked (fill_quantity=1 orders all or nothing)", give, p.quantity)), false
	}

	a := &s.addOns[ai]
	if !p.orderSlot {
		free := max(a.TotalQty-a.InUse, 0)
		switch {
		case free >= give:
		case free == 0:
			return failed(fmt.Sprintf("no free %s slots: buy more with addons.purchase item_id=%d, or order with order_slot=1", a.Name, a.ItemID)), false
		case p.allOrNothing:
			return failed(fmt.Sprintf("only %d free %s slots for %d numbers: buy more with addons.purchase item_id=%d, or order with order_slot=1", free, a.Name, give, a.ItemID)), false
		default:
			give = free
		}
	}

	fromInventory := min(give, len(cands))
	numbers := s.take(cands[:fromInventory])
	for _, n := range overlays[:give-fromInventory] {
		s.known[n.Number] = true
		numbers = append(numbers, n)
	}
	s.ordered = append(s.ordered, numbers...)
	if p.orderSlot {
		a.TotalQty += give
	}
	a.InUse += give
	return orderReply(numbers), give > 0
}

// candidates lists the available numbers matching p, DialogTech-cleansed
// ones first as the vendor prefers them even when cleansed_only=0. It needs
// s.mu held.
func (s *Sim) candidates(p orderParams) []ref {
	var areas []string
	prefix := ""
	switch p.typ {
	case "tollfree":
		areas = tollfreePrefixes
	case "true800":
		areas = true800Prefixes
	default:
		if !localNPA(p.search[:3]) {
			return nil
		}
		areas = []string{p.search[:3]}
		prefix = p.search
	}
	var cleansed, other []ref
	for _, area := range areas {
		for i, n := range s.inventory(area) {
			switch {
			case !strings.HasPrefix(n.Number, prefix),
				p.sms && !n.SMS,
				p.cleansedOnly && !n.Cleansed:
			case n.Cleansed:
				cleansed = append(cleansed, ref{area, i})
			default:
				other = append(other, ref{area, i})
			}
		}
	}
	return append(cleansed, other...)
}

// take removes the referenced numbers from inventory and returns them, in
// the order of refs. It needs s.mu held.
func (s *Sim) take(refs []ref) []Number {
	out := make([]Number, 0, len(refs))
	gone := map[string]map[int]bool{}
	for _, r := range refs {
		out = append(out, s.areas[r.area][r.i])
		if gone[r.area] == nil {
			gone[r.area] = map[int]bool{}
		}
		gone[r.area][r.i] = true
	}
	for area, idx := range gone {
		kept := make([]Number, 0, len(s.areas[area])-len(idx))
		for i, n := range s.areas[area] {
			if !idx[i] {
				kept = append(kept, n)
			}
		}
		s.areas[area] = kept
	}
	return out
}

// overlayNumbers makes up to n new numbers in the NPA-NXX block, as a
// carrier overlay would. They are not marked known until ordered. It needs
// s.mu held.
func (s *Sim) overlayNumbers(npanxx string, n int, sms bool) []Number {
	if len(npanxx) != 6 || !localNPA(npanxx[:3]) || !plausibleNXX(npanxx[3:]) {
		return nil
	}
	seen := map[string]bool{}
	var out []Number
	for tries := 0; len(out) < n && tries < 1000*n; tries++ {
		num := fmt.Sprintf("%s%04d", npanxx, s.rng.IntN(10000))
		if s.known[num] || seen[num] {
			continue
		}
		seen[num] = true
		out = append(out, Number{Number: num, SMS: sms || s.rng.IntN(10) < 7, Overlay: true})
	}
	return out
}

// inventory returns an area's available numbers, generating them on first
// use. It needs s.mu held.
func (s *Sim) inventory(npa string) []Number {
	nums, ok := s.areas[npa]
	if !ok && !plausibleNPA(npa) {
		return nil
	}
	if !ok {
		nums = s.generate(npa)
		s.areas[npa] = nums
	}
	return nums
}

// generate fills an area with s.perArea numbers spread over a few
// exchanges. Its generator depends only on the seed and the area, so an
// area looks the same whatever was searched before it. It needs s.mu held.
func (s *Sim) generate(npa string) []Number {
	if s.perArea == 0 {
		return []Number{}
	}
	area, _ := strconv.Atoi(npa)
	rng := rand.New(rand.NewPCG(uint64(s.seed), uint64(area)))
	exchanges := make([]string, 0, 8)
	for len(exchanges) < min(max((s.perArea+9)/10, 1), 8) {
		nxx := strconv.Itoa(200 + rng.IntN(800))
		if plausibleNXX(nxx) && !contains(exchanges, nxx) {
			exchanges = append(exchanges, nxx)
		}
	}
	nums := make([]Number, 0, s.perArea)
	for tries := 0; len(nums) < s.perArea && tries < 1000*s.perArea; tries++ {
		num := fmt.Sprintf("%s%s%04d", npa, exchanges[len(nums)%len(exchanges)], rng.IntN(10000))
		if s.known[num] {
			continue
		}
		s.known[num] = true
		nums = append(nums, Number{Number: num, SMS: rng.IntN(10) < 7, Cleansed: rng.IntN(10) < 6})
	}
	return nums
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// plausibleNPA: a North American area code starts with 2-9 and is not an
// N11 service code.
func plausibleNPA(npa string) bool {
	return len(npa) == 3 && allDigits(npa) && npa[0] >= '2' && npa[1:] != "11"
}

// plausibleNXX: an exchange follows the same rule as an area code.
func plausibleNXX(nxx string) bool { return plausibleNPA(nxx) }

// localNPA: an area code a local search can find numbers in.
func localNPA(npa string) bool {
	return plausibleNPA(npa) && !contains(tollfreePrefixes, npa) && !contains(true800Prefixes, npa)
}

func orderReply(numbers []Number) reply {
	var b strings.Builder
	b.WriteString(resultHeader)
	fmt.Fprintf(&b, "<response>\n<result>success</result>\n<result_description>\n <quantity>%d</quantity>\n <numbers>\n", len(numbers))
	for _, n := range numbers {
		fmt.Fprintf(&b, " <number>%s</number>\n", n.Number)
	}
	b.WriteString(" </numbers>\n</result_description>\n</response>")
	return reply{contentType: xmlContentType, body: b.String()}
}

// Available returns the numbers still in inventory for a 3-digit (NPA) or
// 6-digit (NPA-NXX) search, generating the area's inventory if it was never
// searched. Toll-free prefixes (888, 877, ..., 800) are areas too. It
// returns nil for any other search.
func (s *Sim) Available(search string) []Number {
	if len(search) != 3 && len(search) != 6 || !allDigits(search) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Number
	for _, n := range s.inventory(search[:3]) {
		if strings.HasPrefix(n.Number, search) {
			out = append(out, n)
		}
	}
	return out
}

// Ordered returns every number handed out, oldest first.
func (s *Sim) Ordered() []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Number(nil), s.ordered...)
}

// ErrInvalidInventory: SetInventory or Restore was given numbers that are
// malformed, repeated or already handed out.
var ErrInvalidInventory = errors.New("dialogsim: invalid inventory")

// SetInventory replaces the available numbers of one area code (a toll-free
// prefix such as 888 included). Every number must be 10 digits in that area,
// appear once, and never have been handed out.
func (s *Sim) SetInventory(npa string, nums []Number) error {
	if !plausibleNPA(npa) {
		return fmt.Errorf("%w: %q is not an area code", ErrInvalidInventory, npa)
	}
	s.mu.Lock()
	current := map[string]bool{}
	for _, n := range s.areas[npa] {
		current[n.Number] = true
	}
	seen := map[string]bool{}
	var err error
	for _, n := range nums {
		switch {
		case len(n.Number) != 10 || !allDigits(n.Number) || n.Number[:3] != npa:
			err = fmt.Errorf("%w: %q is not a 10-digit number in area %s", ErrInvalidInventory, n.Number, npa)
		case seen[n.Number]:
			err = fmt.Errorf("%w: %s appears twice", ErrInvalidInventory, n.Number)
		case s.known[n.Number] && !current[n.Number]:
			err = fmt.Errorf("%w: %s was already handed out", ErrInvalidInventory, n.Number)
		}
		if err != nil {
			s.mu.Unlock()
			return err
		}
		seen[n.Number] = true
	}
	for num := range current {
		delete(s.known, num)
	}
	for num := range seen {
		s.known[num] = true
	}
	s.areas[npa] = append([]Number{}, nums...)
	s.mu.Unlock()
	s.changed()
	return nil
}
