package command

import (
	"regexp"
	"strings"
)

// DialogTech's answers speak of its API ("buy more with addons.purchase
// item_id=18, or order with order_slot=1"). People type the bot's
// commands, so what they are shown names those instead.
var (
	apiPurchaseItem = regexp.MustCompile(`addons\.purchase(?: with)? item_id=(\d+)`)
	apiItem         = regexp.MustCompile(`\bitem_id=(\d+)`)
	apiError        = regexp.MustCompile(`^dialogtech ([a-z]+\.[a-z]+): [^:]+: `)
	apiTerms        = strings.NewReplacer(
		"order with order_slot=1", "add --slots to the order",
		"order_slot=1", "--slots",
		"fill_quantity=0", "--partial",
		"cleansed_only=1", "--cleansed",
		"allow_overlay=1", "--overlay",
		"sms_supported=1", "--sms",
		"addons.purchase", "/addons buy",
		"numbers.order", "/numbers order",
		"addons.list", "/addons",
		"clickto.vr", "/call vr",
	)
)

// botTerms rewrites a DialogTech text in the bot's own commands.
func botTerms(s string) string {
	s = apiError.ReplaceAllString(s, "")
	s = apiPurchaseItem.ReplaceAllString(s, "/addons buy $1 <qty>")
	s = apiItem.ReplaceAllString(s, "item $1")
	return apiTerms.Replace(s)
}

// commandFor is the bot command that makes a DialogTech action.
func commandFor(action string) string {
	switch action {
	case "addons.purchase":
		return "the purchase (/addons buy)"
	case "numbers.order":
		return "the order (/numbers order)"
	case "addons.list":
		return "the add-on list (/addons)"
	case "clickto.vr":
		return "the call (/call vr)"
	}
	return "the request"
}

// Refusal is a command that is understood but cannot go ahead; its text
// says why and how to fix it. Nothing was opened or sent.
type Refusal struct{ Text string }

func (r *Refusal) Error() string { return r.Text }
