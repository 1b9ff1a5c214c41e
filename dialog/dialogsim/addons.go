package dialogsim

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrUnknownItem: no add-on with that item_id exists on the account.
var ErrUnknownItem = errors.New("dialogsim: unknown item_id")

// Item ids of the add-ons whose slots numbers.order uses.
const (
	itemTollfree      = 3
	itemLocal         = 6
	itemCanadianLocal = 17
	itemTrue800       = 18
)

// AddOn is one line of addons.list.
type AddOn struct {
	ItemID         int    `json:"item_id"`
	Name           string `json:"name"`           // limit_item_name
	PurchasePrice  string `json:"purchase_price"` // decimal text; empty reads as "0.00"
	MaxQtyPurchase int    `json:"max_qty_purchase"`
	IncludedQty    int    `json:"included_qty"`
	TotalQty       int    `json:"total_qty"`
	InUse          int    `json:"in_use"`
}

// defaultAddOns is the vendor's addons.list example, line for line.
func defaultAddOns() []AddOn {
	return []AddOn{
		{ItemID: 1, Name: "Smart Click-to-Calls", PurchasePrice: "0.00", MaxQtyPurchase: 1000, IncludedQty: 25, TotalQty: 25, InUse: 2},
		{ItemID: 2, Name: "Voice Mailboxes", PurchasePrice: "0.00", MaxQtyPurchase: 50, IncludedQty: 10, TotalQty: 10, InUse: 2},
		{ItemID: 3, Name: "Tollfree Numbers", PurchasePrice: "0.00", MaxQtyPurchase: 200, IncludedQty: 3, TotalQty: 198, InUse: 36},
		{ItemID: 4, Name: "Smart Voice Broadcast Ports", PurchasePrice: "0.00", MaxQtyPurchase: 30, IncludedQty: 9, TotalQty: 9, InUse: 0},
		{ItemID: 5, Name: "Basic Voice Broadcast Ports", PurchasePrice: "0.00", MaxQtyPurchase: 50, IncludedQty: 25, TotalQty: 75, InUse: 0},
		{ItemID: 6, Name: "Local Number", PurchasePrice: "0.00", MaxQtyPurchase: 500, IncludedQty: 3, TotalQty: 194, InUse: 79},
		{ItemID: 8, Name: "Simultaneous Find Me Ports", PurchasePrice: "0.00", MaxQtyPurchase: 12, IncludedQty: 3, TotalQty: 10, InUse: 0},
		{ItemID: 9, Name: "Queue Slot", PurchasePrice: "0.00", MaxQtyPurchase: 50, IncludedQty: 5, TotalQty: 33, InUse: 0},
		{ItemID: 10, Name: "Queues", PurchasePrice: "0.00", MaxQtyPurchase: 25, IncludedQty: 5, TotalQty: 8, InUse: 0},
		{ItemID: 14, Name: "Campaign Guest Logins", PurchasePrice: "0.00", MaxQtyPurchase: 25, IncludedQty: 1, TotalQty: 1, InUse: 1},
		{ItemID: 17, Name: "Canadian Local Number", PurchasePrice: "0.00", MaxQtyPurchase: 100, IncludedQty: 0, TotalQty: 0, InUse: 0},
		{ItemID: 18, Name: "True 800 Numbers", PurchasePrice: "0.00", MaxQtyPurchase: 100, IncludedQty: 0, TotalQty: 0, InUse: 0},
	}
}

// AddOns returns the account's add-ons in addons.list order.
func (s *Sim) AddOns() []AddOn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AddOn(nil), s.addOns...)
}

// SetAddOn replaces the add-on with a.ItemID, or appends a when there is
// none.
func (s *Sim) SetAddOn(a AddOn) {
	s.mu.Lock()
	if i := s.addOnIndex(a.ItemID); i >= 0 {
		s.addOns[i] = a
	} else {
		s.addOns = append(s.addOns, a)
	}
	s.mu.Unlock()
	s.changed()
}

// SetUsage sets in_use and total_qty of an add-on, as the account's own
// activity would.
func (s *Sim) SetUsage(itemID, inUse, totalQty int) error {
	if inUse < 0 || totalQty < 0 {
		return fmt.Errorf("dialogsim: in_use %d and total_qty %d must not be negative", inUse, totalQty)
	}
	s.mu.Lock()
	i := s.addOnIndex(itemID)
	if i >= 0 {
		s.addOns[i].InUse = inUse
		s.addOns[i].TotalQty = totalQty
	}
	s.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("item_id %d: %w", itemID, ErrUnknownItem)
	}
	s.changed()
	return nil
}

// addOnIndex needs s.mu held.
func (s *Sim) addOnIndex(itemID int) int {
	for i, a := range s.addOns {
		if a.ItemID == itemID {
			return i
		}
	}
	return -1
}

func (s *Sim) listAddOns() reply {
	s.mu.Lock()
	addOns := append([]AddOn(nil), s.addOns...)
	s.mu.Unlock()

	var b strings.Builder
	b.WriteString(listHeader)
	b.WriteString("<response>\n\t<result>success</result>\n\t<result_description>\n</result_description>\n\t<data>\n")
	for _, a := range addOns {
		price := a.PurchasePrice
		if price == "" {
			price = "0.00"
		}
		b.WriteString("\t\t<addon>\n\t\t\t<special_flag>0</special_flag>\n\t\t\t<limit_item_name>")
		escape(&b, a.Name)
		// The vendor's text fields carry a lone newline when empty.
		b.WriteString("</limit_item_name>\n\t\t\t<promo_footnote>\n</promo_footnote>\n\t\t\t<purchase_price>")
		escape(&b, price)
		fmt.Fprintf(&b, "</purchase_price>\n\t\t\t<max_qty_purchase>%d</max_qty_purchase>\n", a.MaxQtyPurchase)
		fmt.Fprintf(&b, "\t\t\t<item_id>%d</item_id>\n\t\t\t<included_qty>%d</included_qty>\n", a.ItemID, a.IncludedQty)
		b.WriteString("\t\t\t<start_date>0000-00-00 00:00:00</start_date>\n\t\t\t<end_date>0000-00-00 00:00:00</end_date>\n")
		b.WriteString("\t\t\t<non_recurring_charge>0.00</non_recurring_charge>\n")
		fmt.Fprintf(&b, "\t\t\t<total_qty>%d</total_qty>\n\t\t\t<in_use>%d</in_use>\n\t\t</addon>\n", a.TotalQty, a.InUse)
	}
	b.WriteString("\t</data>\n</response>")
	return reply{contentType: xmlContentType, body: b.String()}
}

func (s *Sim) purchase(params url.Values) (reply, bool) {
	itemID, msg := positiveParam(params, "item_id")
	if msg != "" {
		return failed(msg), false
	}
	qty, msg := positiveParam(params, "qty")
	if msg != "" {
		return failed(msg), false
	}
	if msg := flagParam(params, "send_receipt", nil); msg != "" {
		return failed(msg), false
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.addOnIndex(itemID)
	if i < 0 {
		return failed("unknown item_id"), false
	}
	a := &s.addOns[i]
	if qty > a.MaxQtyPurchase {
		return failed(fmt.Sprintf("qty %d is more than max_qty_purchase %d for %s", qty, a.MaxQtyPurchase, a.Name)), false
	}
	a.TotalQty += qty
	return result("success", fmt.Sprintf("Purchased %d of %s", qty, a.Name)), true
}

// positiveParam reads a required whole number of at least 1. A sign, a
// fraction or an exponent is refused rather than guessed at.
func positiveParam(params url.Values, name string) (int, string) {
	v := params.Get(name)
	if v == "" {
		return 0, name + " is required"
	}
	n, ok := digits(v, 9)
	if !ok || n < 1 {
		return 0, name + " must be a positive whole number"
	}
	return n, ""
}

// digits parses v when it is 1 to maxLen ASCII digits.
func digits(v string, maxLen int) (int, bool) {
	if len(v) == 0 || len(v) > maxLen || !allDigits(v) {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// flagParam checks an optional 0/1 parameter and stores it in *dst when dst
// is not nil. An empty value counts as absent.
func flagParam(params url.Values, name string, dst *bool) string {
	switch params.Get(name) {
	case "", "0":
		return ""
	case "1":
		if dst != nil {
			*dst = true
		}
		return ""
	default:
		return name + " must be 0 or 1"
	}
}
