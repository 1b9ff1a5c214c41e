package dialog

import (
	"time"

	"github.com/shopspring/decimal"
)

// Actions, as DialogTech names them in the `action` parameter.
const (
	ActionAddOnsList     = "addons.list"
	ActionAddOnsPurchase = "addons.purchase"
	ActionNumbersOrder   = "numbers.order"
	ActionClickToVR      = "clickto.vr"
)

// IsBuying reports whether action spends money. Buying actions are never
// retried or replayed.
func IsBuying(action string) bool {
	return action == ActionAddOnsPurchase || action == ActionNumbersOrder
}

// AddOn is one line of addons.list: a capacity the account has bought or
// was given, and how much of it is in use.
type AddOn struct {
	ItemID             int
	Name               string // limit_item_name, trimmed
	SpecialFlag        int
	PromoFootnote      string // trimmed; empty when DialogTech sends only whitespace
	PurchasePrice      decimal.Decimal
	MaxQtyPurchase     int
	IncludedQty        int
	StartDate          time.Time // zero when DialogTech sends 0000-00-00 00:00:00
	EndDate            time.Time // zero when unset
	NonRecurringCharge decimal.Decimal
	TotalQty           int
	InUse              int
}

// Available is the capacity left: total_qty - in_use, never negative.
func (a AddOn) Available() int {
	if a.TotalQty <= a.InUse {
		return 0
	}
	return a.TotalQty - a.InUse
}

// Usage is in_use / total_qty, 0 when total_qty is 0.
func (a AddOn) Usage() float64 {
	if a.TotalQty <= 0 {
		return 0
	}
	return float64(a.InUse) / float64(a.TotalQty)
}

// PurchaseRequest is the input of addons.purchase.
type PurchaseRequest struct {
	ItemID      int  `json:"item_id"`
	Qty         int  `json:"qty"`
	SendReceipt bool `json:"send_receipt,omitempty"`
}

// PurchaseResult is DialogTech's answer to a successful purchase.
type PurchaseResult struct {
	Description string // result_description, trimmed
}

// NumberType is the `type` parameter of numbers.order.
type NumberType string

// The number types DialogTech accepts.
const (
	Local         NumberType = "local"
	TollFree      NumberType = "tollfree"
	True800       NumberType = "true800"
	CanadianLocal NumberType = "canadian_local"
)

// NumberTypes lists every accepted type, in the vendor's order.
var NumberTypes = []NumberType{Local, TollFree, True800, CanadianLocal}

// OrderRequest is the input of numbers.order. The zero value of every
// optional field is DialogTech's default.
type OrderRequest struct {
	Type         NumberType `json:"type"`
	Search       string     `json:"search,omitempty"` // 3 (NPA) or 6 (NPA-NXX) digits; required for local and canadian_local
	Quantity     int        `json:"quantity"`         // 0..25
	AllOrNothing bool       `json:"all_or_nothing"`   // fill_quantity=1
	CleansedOnly bool       `json:"cleansed_only,omitempty"`
	Distance     int        `json:"distance,omitempty"` // miles; 0 ignores it
	SMSSupported bool       `json:"sms_supported,omitempty"`
	OrderSlot    bool       `json:"order_slot,omitempty"`
	AllowOverlay bool       `json:"allow_overlay,omitempty"`
}

// OrderResult is DialogTech's answer to a successful numbers.order.
type OrderResult struct {
	Quantity int
	Numbers  []string // 10 digits each
}
