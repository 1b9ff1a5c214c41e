package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kelseyhightower/envconfig"
	"github.com/shopspring/decimal"
)

// ApprovalThreshold is SECOND_APPROVAL_ABOVE: the size of a request above
// which two approvers must approve. It is either an estimated amount in
// dollars ("500", "1250.50") or, with the "qty:" prefix, a quantity
// ("qty:10"). The zero value is "never".
type ApprovalThreshold struct {
	Amount decimal.Decimal // positive when the threshold is an amount
	Qty    int             // positive when the threshold is a quantity
}

var _ envconfig.Decoder = (*ApprovalThreshold)(nil)

// IsSet reports whether a threshold is configured.
func (t ApprovalThreshold) IsSet() bool { return t.IsQty() || t.IsAmount() }

// IsQty reports whether the threshold is a quantity.
func (t ApprovalThreshold) IsQty() bool { return t.Qty > 0 }

// IsAmount reports whether the threshold is an estimated amount.
func (t ApprovalThreshold) IsAmount() bool { return t.Qty <= 0 && t.Amount.IsPositive() }

// Decode implements envconfig.Decoder.
func (t *ApprovalThreshold) Decode(value string) error {
	v := strings.TrimSpace(value)
	if v == "" {
		*t = ApprovalThreshold{}
		return nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(v), "qty:"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n < 1 {
			return fmt.Errorf("must be an amount such as 500 or a quantity such as qty:10 (got %q): the quantity must be a whole number of at least 1", value)
		}
		*t = ApprovalThreshold{Qty: n}
		return nil
	}
	d, err := decimal.NewFromString(strings.TrimPrefix(v, "$"))
	if err != nil || !d.IsPositive() {
		return fmt.Errorf("must be an amount such as 500 or a quantity such as qty:10 (got %q)", value)
	}
	*t = ApprovalThreshold{Amount: d}
	return nil
}

// String writes t in the form Decode reads; empty for never.
func (t ApprovalThreshold) String() string {
	switch {
	case t.IsQty():
		return "qty:" + strconv.Itoa(t.Qty)
	case t.IsAmount():
		return t.Amount.String()
	}
	return ""
}
