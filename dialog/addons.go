package dialog

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ListAddOns calls addons.list. It is the one action that is retried (see
// WithRetry): reading twice costs nothing.
func (c *Client) ListAddOns(ctx context.Context) ([]AddOn, error) {
	var addOns []AddOn
	err := c.call(ctx, ActionAddOnsList, nil, func(body []byte) error {
		var err error
		addOns, err = decodeAddOns(body, c.scrub())
		return err
	})
	if err != nil {
		return nil, err
	}
	return addOns, nil
}

// PurchaseAddOn calls addons.purchase, which spends money. It is sent at
// most once; when its answer is lost the error satisfies
// errors.Is(err, ErrUnknownOutcome) and must not be retried blindly.
func (c *Client) PurchaseAddOn(ctx context.Context, r PurchaseRequest) (*PurchaseResult, error) {
	if err := r.Validate(); err != nil {
		return nil, c.invalid(ctx, ActionAddOnsPurchase, err)
	}
	var res *PurchaseResult
	err := c.call(ctx, ActionAddOnsPurchase, r.params(), func(body []byte) error {
		desc, err := decodeResult(ActionAddOnsPurchase, body, c.scrub())
		res = &PurchaseResult{Description: desc}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Validate checks r against the vendor's rules for addons.purchase. Whether
// item_id exists and qty is within its max_qty_purchase is for the caller
// to check against ListAddOns: the list, not a fixed table, is the truth.
func (r PurchaseRequest) Validate() error {
	if r.ItemID <= 0 {
		return &ValidationError{Param: "item_id", Rule: "must be a whole number above 0"}
	}
	if r.Qty <= 0 {
		return &ValidationError{Param: "qty", Rule: "must be a whole number above 0"}
	}
	return nil
}

// params sends send_receipt only as 1: 0 is DialogTech's default, and
// leaving it out keeps the query the vendor's minimal example.
func (r PurchaseRequest) params() []param {
	p := []param{
		{"item_id", strconv.Itoa(r.ItemID)},
		{"qty", strconv.Itoa(r.Qty)},
	}
	if r.SendReceipt {
		p = append(p, param{"send_receipt", "1"})
	}
	return p
}

// xmlAddOn holds an <addon> as text; pointers tell a missing element from
// an empty one.
type xmlAddOn struct {
	SpecialFlag        *string `xml:"special_flag"`
	Name               *string `xml:"limit_item_name"`
	PromoFootnote      *string `xml:"promo_footnote"`
	PurchasePrice      *string `xml:"purchase_price"`
	MaxQtyPurchase     *string `xml:"max_qty_purchase"`
	ItemID             *string `xml:"item_id"`
	IncludedQty        *string `xml:"included_qty"`
	StartDate          *string `xml:"start_date"`
	EndDate            *string `xml:"end_date"`
	NonRecurringCharge *string `xml:"non_recurring_charge"`
	TotalQty           *string `xml:"total_qty"`
	InUse              *string `xml:"in_use"`
}

// DecodeAddOns decodes an addons.list answer.
//
// The fields the product acts on (item_id, limit_item_name,
// max_qty_purchase, total_qty, in_use) must be present and valid; the
// others default to their zero value when missing or empty, so that a
// cosmetic change on DialogTech's side does not stop capacity alerts.
func DecodeAddOns(body []byte) ([]AddOn, error) {
	return decodeAddOns(body, keep)
}

func decodeAddOns(body []byte, sc scrubber) ([]AddOn, error) {
	env, err := decodeEnvelope(ActionAddOnsList, body, sc)
	if err != nil {
		return nil, err
	}
	if env.Data == nil {
		return nil, &MalformedResponseError{Action: ActionAddOnsList, Reason: "no <data> element"}
	}
	addOns := make([]AddOn, 0, len(env.Data.AddOns))
	for i, x := range env.Data.AddOns {
		f := fields{n: i + 1, sc: sc}
		a := AddOn{
			ItemID:             f.int("item_id", x.ItemID, true, 1),
			Name:               f.name(x.Name),
			SpecialFlag:        f.int("special_flag", x.SpecialFlag, false, math.MinInt),
			PromoFootnote:      f.optText(x.PromoFootnote),
			PurchasePrice:      f.price("purchase_price", x.PurchasePrice),
			MaxQtyPurchase:     f.int("max_qty_purchase", x.MaxQtyPurchase, true, 0),
			IncludedQty:        f.int("included_qty", x.IncludedQty, false, 0),
			StartDate:          f.date("start_date", x.StartDate),
			EndDate:            f.date("end_date", x.EndDate),
			NonRecurringCharge: f.price("non_recurring_charge", x.NonRecurringCharge),
			TotalQty:           f.int("total_qty", x.TotalQty, true, 0),
			InUse:              f.int("in_use", x.InUse, true, 0),
		}
		if f.err != nil {
			return nil, f.err
		}
		addOns = append(addOns, a)
	}
	return addOns, nil
}

// fields parses the elements of one <addon>, keeping the first problem.
type fields struct {
	n   int // 1-based position in <data>
	sc  scrubber
	err error
}

func (f *fields) fail(name, problem string) {
	if f.err == nil {
		f.err = &MalformedResponseError{Action: ActionAddOnsList, Reason: fmt.Sprintf("addon %d: %s: %s", f.n, name, problem)}
	}
}

// int parses a whole number of at least min; an optional element that is
// missing or empty is 0.
func (f *fields) int(name string, v *string, required bool, min int) int {
	if v == nil || strings.TrimSpace(*v) == "" {
		if required {
			f.fail(name, "missing")
		}
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(*v))
	if err != nil {
		f.fail(name, f.sc.quoted(*v)+" is not a whole number")
		return 0
	}
	if n < min {
		f.fail(name, fmt.Sprintf("%d is below %d", n, min))
		return 0
	}
	return n
}

func (f *fields) name(v *string) string {
	if v == nil || strings.TrimSpace(*v) == "" {
		f.fail("limit_item_name", "missing")
		return ""
	}
	return f.sc.text(*v)
}

func (f *fields) optText(v *string) string {
	if v == nil {
		return ""
	}
	return f.sc.text(*v)
}

// price accepts the documented plain decimal ("0.00"). Exponent forms are
// refused: "1e2000000000" parses, and printing it would build a 2 GB string.
func (f *fields) price(name string, v *string) decimal.Decimal {
	if v == nil || strings.TrimSpace(*v) == "" {
		return decimal.Decimal{}
	}
	s := strings.TrimSpace(*v)
	if !plainDecimal(s) {
		f.fail(name, f.sc.quoted(s)+" is not a decimal amount")
		return decimal.Decimal{}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		f.fail(name, f.sc.quoted(s)+" is not a decimal amount")
		return decimal.Decimal{}
	}
	return d
}

// plainDecimal is -?digits(.digits)?, at most 32 bytes.
func plainDecimal(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(s, ".")
	return allDigits(whole) && (!hasDot || allDigits(frac))
}

const (
	dateTimeLayout = "2006-01-02 15:04:05"
	unsetDateTime  = "0000-00-00 00:00:00"
)

// date reads DialogTech's "2006-01-02 15:04:05" as UTC (the vendor names no
// zone); "0000-00-00 00:00:00", "0000-00-00" or nothing means unset.
func (f *fields) date(name string, v *string) time.Time {
	if v == nil {
		return time.Time{}
	}
	s := strings.TrimSpace(*v)
	if s == "" || s == unsetDateTime || s == unsetDateTime[:10] {
		return time.Time{}
	}
	layout := dateTimeLayout
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		f.fail(name, f.sc.quoted(s)+" is not a date")
		return time.Time{}
	}
	return t
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
