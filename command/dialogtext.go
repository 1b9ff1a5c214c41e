package command

import (
	"regexp"
	"strings"
	"sync"
)

// DialogTech's answers speak of its API ("buy more with addons.purchase
// item_id=18, or order with order_slot=1"). People type the bot's
// commands, so what they are shown names those instead. The rules are
// built when the first such text is shown.
var apiWords = sync.OnceValue(func() (w struct {
	errorPrefix, purchaseItem, item *regexp.Regexp
	terms                           *strings.Replacer
}) {
	w.errorPrefix = regexp.MustCompile(`^dialogtech ([a-z]+\.[a-z]+): [^:]+: `)
	w.purchaseItem = regexp.MustCompile(`addons\.purchase(?: with)? item_id=(\d+)`)
	w.item = regexp.MustCompile(`\bitem_id=(\d+)`)
	w.terms = strings.NewReplacer(
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
	return w
})

// botTerms rewrites a DialogTech text in the bot's own commands.
func botTerms(s string) string {
	w := apiWords()
	s = w.errorPrefix.ReplaceAllString(s, "")
	s = w.purchaseItem.ReplaceAllString(s, "/addons buy $1 <qty>")
	s = w.item.ReplaceAllString(s, "item $1")
	return w.terms.Replace(s)
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
