package dialog

import (
	"context"
	"strconv"
	"strings"
)

// MaxOrderQuantity is the largest quantity numbers.order accepts.
const MaxOrderQuantity = 25

// OrderNumbers calls numbers.order, which takes numbers (and, with
// OrderSlot, buys slots). It is sent at most once; when its answer is lost
// the error satisfies errors.Is(err, ErrUnknownOutcome) and must not be
// retried blindly.
func (c *Client) OrderNumbers(ctx context.Context, r OrderRequest) (*OrderResult, error) {
	if err := r.Validate(); err != nil {
		return nil, c.invalid(ctx, ActionNumbersOrder, err)
	}
	var res *OrderResult
	err := c.call(ctx, ActionNumbersOrder, r.params(), func(body []byte) error {
		var err error
		res, err = decodeOrder(body, c.scrub())
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Validate checks r against the vendor's parameter table for
// numbers.order and returns the first rule broken.
//
// The vendor says a toll-free search is not supported, so a search with
// tollfree or true800 is refused rather than sent and silently ignored:
// the person would otherwise get a number they did not ask for.
func (r OrderRequest) Validate() error {
	switch r.Type {
	case Local, TollFree, True800, CanadianLocal:
	default:
		return &ValidationError{Param: "type", Rule: "must be one of local, tollfree, true800, canadian_local"}
	}
	switch {
	case r.Type == TollFree || r.Type == True800:
		if r.Search != "" {
			return &ValidationError{Param: "search", Rule: "must be left out for tollfree and true800 numbers (DialogTech does not search toll-free numbers)"}
		}
	case r.Search == "":
		return &ValidationError{Param: "search", Rule: "is required for local and canadian_local numbers: an area code (3 digits) or area code and exchange (6 digits)"}
	case !allDigits(r.Search) || (len(r.Search) != 3 && len(r.Search) != 6):
		return &ValidationError{Param: "search", Rule: "must be 3 digits (area code) or 6 digits (area code and exchange)"}
	}
	if r.Quantity < 0 || r.Quantity > MaxOrderQuantity {
		return &ValidationError{Param: "quantity", Rule: "must be a whole number from 0 to 25"}
	}
	if r.Distance < 0 {
		return &ValidationError{Param: "distance", Rule: "must be a whole number of miles, 0 or more"}
	}
	if r.AllowOverlay {
		if r.CleansedOnly {
			return &ValidationError{Param: "allow_overlay", Rule: "cannot be combined with cleansed_only"}
		}
		if len(r.Search) != 6 {
			return &ValidationError{Param: "allow_overlay", Rule: "needs a 6-digit search (area code and exchange)"}
		}
	}
	return nil
}

// params encodes r for the query. Required parameters (type, quantity,
// fill_quantity) are always sent, fill_quantity as 1 for all-or-nothing and
// 0 otherwise. search is left out when empty (tollfree, true800). The
// optional flags and distance are sent only when set: their zero value is
// DialogTech's documented default (distance=0 "is ignored"), and leaving
// them out keeps the query to what the person asked for.
func (r OrderRequest) params() []param {
	p := make([]param, 0, 9)
	p = append(p, param{"type", string(r.Type)})
	if r.Search != "" {
		p = append(p, param{"search", r.Search})
	}
	p = append(p, param{"quantity", strconv.Itoa(r.Quantity)}, param{"fill_quantity", flag(r.AllOrNothing)})
	if r.CleansedOnly {
		p = append(p, param{"cleansed_only", "1"})
	}
	if r.Distance > 0 {
		p = append(p, param{"distance", strconv.Itoa(r.Distance)})
	}
	if r.SMSSupported {
		p = append(p, param{"sms_supported", "1"})
	}
	if r.OrderSlot {
		p = append(p, param{"order_slot", "1"})
	}
	if r.AllowOverlay {
		p = append(p, param{"allow_overlay", "1"})
	}
	return p
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// DecodeOrder decodes a numbers.order answer: result_description holds
// <quantity> and one <number> (10 digits) per number ordered.
//
// A count that disagrees with the list is returned as DialogTech sent it:
// the numbers are real and the person sees both.
func DecodeOrder(body []byte) (*OrderResult, error) {
	return decodeOrder(body, keep)
}

func decodeOrder(body []byte, sc scrubber) (*OrderResult, error) {
	env, err := decodeEnvelope(ActionNumbersOrder, body, sc)
	if err != nil {
		return nil, err
	}
	d := env.Description
	if d.Quantity == nil {
		return nil, &MalformedResponseError{Action: ActionNumbersOrder, Reason: "no <quantity> in result_description"}
	}
	q, err := strconv.Atoi(strings.TrimSpace(*d.Quantity))
	if err != nil || q < 0 {
		return nil, &MalformedResponseError{Action: ActionNumbersOrder, Reason: "quantity " + sc.quoted(*d.Quantity) + " is not a whole number"}
	}
	res := &OrderResult{Quantity: q}
	if d.Numbers == nil {
		if q > 0 {
			return nil, &MalformedResponseError{Action: ActionNumbersOrder, Reason: "no <numbers> in result_description"}
		}
		return res, nil
	}
	for _, n := range d.Numbers.Number {
		n = strings.TrimSpace(n)
		if len(n) != 10 || !allDigits(n) {
			return nil, &MalformedResponseError{Action: ActionNumbersOrder, Reason: "number " + sc.quoted(n) + " is not 10 digits"}
		}
		res.Numbers = append(res.Numbers, n)
	}
	return res, nil
}
