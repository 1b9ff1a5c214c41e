package command

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/dialog"
)

// MaxInput is the longest command text read. Valid commands are far
// shorter; anything longer is refused before it is parsed.
const MaxInput = 500

// UsageError is a mistake in what a person typed: Problem says what was
// wrong, Usage shows the right form. Its text is safe to show.
type UsageError struct {
	Problem string
	Usage   string
}

func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Problem
	}
	return e.Problem + ". Usage: " + e.Usage
}

func usageErr(usage, format string, args ...any) error {
	return &UsageError{Problem: fmt.Sprintf(format, args...), Usage: usage}
}

// Tokenize splits command text into words after refusing text that no
// valid command contains: too long, invalid UTF-8, control characters.
func Tokenize(text, usage string) ([]string, error) {
	if !utf8.ValidString(text) {
		return nil, usageErr(usage, "That text is not valid UTF-8")
	}
	// Characters, not bytes: 300 × "é" is 300 characters.
	if n := utf8.RuneCountInString(text); n > MaxInput {
		return nil, usageErr(usage, "That is too long (%d characters; a command is at most %d)", n, MaxInput)
	}
	for _, r := range text {
		// Any white space separates words (a tab, a no-break space).
		if unicode.IsSpace(r) {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return nil, usageErr(usage, "That text contains a control character (%U)", r)
		}
	}
	return strings.Fields(text), nil
}

// quote shows a word a person typed, shortened, for an error message.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 20 {
		r := []rune(s)
		s = string(r[:20]) + "…"
	}
	return strconv.Quote(s)
}

// wholeNumber parses an ASCII decimal number in [lo, hi].
func wholeNumber(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Usage lines, shown with every mistake.
const (
	UsageList   = "/addons [list]"
	UsageBuy    = "/addons buy <item_id> <qty> [receipt]"
	UsageOrder  = "/numbers order <search> <quantity> [--type local|tollfree|true800|canadian_local] [--partial] [--cleansed] [--distance N] [--sms] [--slots] [--overlay]"
	UsageCall   = "/call vr <menu_id> <phone>"
	UsageAudit  = "/addons audit"
	UsageCancel = "/addons cancel <request_id>"
	UsagePend   = "/addons pending"
	// UsageResolve records what a person found for an unknown outcome.
	UsageResolve = "/addons resolve <request_id> bought|not-bought [numbers...]"
)

// MaxOrderQuantity is the most numbers one order may ask for.
const MaxOrderQuantity = 25

// ParseResolve reads the words after "resolve": a request id, what was
// found (bought or not-bought), and for an order that was bought the
// numbers it got (10 digits each, at most MaxOrderQuantity).
func ParseResolve(args []string) (id string, bought bool, numbers []string, err error) {
	if len(args) < 2 {
		return "", false, nil, usageErr(UsageResolve, "Give the request id and what you found in DialogTech: bought or not-bought")
	}
	id = strings.ToUpper(args[0])
	if len(id) > 64 {
		return "", false, nil, usageErr(UsageResolve, "That is not a request id")
	}
	switch strings.ToLower(args[1]) {
	case "bought":
		bought = true
	case "not-bought", "not_bought", "notbought":
	default:
		return "", false, nil, usageErr(UsageResolve, "Say bought or not-bought (got %s)", quote(args[1]))
	}
	rest := args[2:]
	if !bought && len(rest) > 0 {
		return "", false, nil, usageErr(UsageResolve, "Numbers go with bought only (got %s)", quote(rest[0]))
	}
	if len(rest) > MaxOrderQuantity {
		return "", false, nil, usageErr(UsageResolve, "At most %d numbers (got %d)", MaxOrderQuantity, len(rest))
	}
	seen := map[string]bool{}
	for _, n := range rest {
		d := strings.TrimPrefix(strings.NewReplacer("-", "", "(", "", ")", "", ".", "").Replace(n), "+")
		if len(d) == 11 && d[0] == '1' {
			d = d[1:]
		}
		if len(d) != 10 || !isDigits(d) {
			return "", false, nil, usageErr(UsageResolve, "A number is 10 digits, e.g. 3125550100 (got %s)", quote(n))
		}
		if !seen[d] {
			seen[d] = true
			numbers = append(numbers, d)
		}
	}
	return id, bought, numbers, nil
}

// ParseBuy reads the words after "buy". It checks the form only; the item
// and the quantity's upper bound are checked against a fresh addons.list.
func ParseBuy(args []string) (dialog.PurchaseRequest, error) {
	var r dialog.PurchaseRequest
	if len(args) < 2 {
		return r, usageErr(UsageBuy, "Give the add-on's item_id and how many to buy")
	}
	if len(args) > 3 {
		return r, usageErr(UsageBuy, "Too many words: %s is not understood", quote(args[3]))
	}
	id, ok := wholeNumber(args[0], 1, 1<<30)
	if !ok {
		return r, usageErr(UsageBuy, "item_id must be a positive whole number (got %s); `/addons` lists them", quote(args[0]))
	}
	qty, ok := wholeNumber(args[1], 1, 1<<30)
	if !ok {
		return r, usageErr(UsageBuy, "qty must be a whole number of at least 1 (got %s)", quote(args[1]))
	}
	r.ItemID, r.Qty = id, qty
	if len(args) == 3 {
		if !strings.EqualFold(args[2], "receipt") {
			return r, usageErr(UsageBuy, "The third word may only be `receipt` (got %s)", quote(args[2]))
		}
		r.SendReceipt = true
	}
	return r, nil
}

// ParseOrder reads the words after "order".
func ParseOrder(args []string) (dialog.OrderRequest, error) {
	r := dialog.OrderRequest{Type: dialog.Local, AllOrNothing: true}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || isDigits(strings.TrimPrefix(a, "-")) {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = strings.ToLower(name)
		takesValue := name == "type" || name == "distance"
		if takesValue && !hasVal {
			if i+1 >= len(args) {
				return r, usageErr(UsageOrder, "--%s needs a value", name)
			}
			i++
			val = args[i]
		} else if !takesValue && hasVal {
			return r, usageErr(UsageOrder, "--%s takes no value", name)
		}
		switch name {
		case "type":
			t := dialog.NumberType(strings.ToLower(val))
			if !validType(t) {
				return r, usageErr(UsageOrder, "Unknown --type %s%s: use local, tollfree, true800 or canadian_local", quote(val), didYouMean(string(t), numberTypes(), ""))
			}
			r.Type = t
		case "partial":
			r.AllOrNothing = false
		case "cleansed":
			r.CleansedOnly = true
		case "distance":
			n, ok := wholeNumber(val, 0, 10000)
			if !ok {
				return r, usageErr(UsageOrder, "--distance must be a whole number of miles from 0 to 10000 (got %s)", quote(val))
			}
			r.Distance = n
		case "sms":
			r.SMSSupported = true
		case "slots":
			r.OrderSlot = true
		case "overlay":
			r.AllowOverlay = true
		default:
			return r, usageErr(UsageOrder, "Unknown flag %s%s", quote(a), didYouMean(name, orderFlags, "--"))
		}
	}
	needsSearch := r.Type == dialog.Local || r.Type == dialog.CanadianLocal
	switch {
	case len(pos) == 0:
		return r, usageErr(UsageOrder, "Give an area code (3 digits) or NPA-NXX (6 digits) and a quantity")
	case len(pos) == 1 && needsSearch:
		return r, usageErr(UsageOrder, "Give both the search (3 or 6 digits) and the quantity (1 to %d)", MaxOrderQuantity)
	case len(pos) == 1:
		pos = []string{"", pos[0]}
	case len(pos) > 2:
		return r, usageErr(UsageOrder, "Too many words: %s is not understood", quote(pos[2]))
	}
	search, qty := pos[0], pos[1]
	// Dashes are how phone prefixes are written: 312-555 is 312555.
	if d := strings.ReplaceAll(search, "-", ""); d != search && isDigits(d) && !strings.HasPrefix(search, "-") && !strings.HasSuffix(search, "-") {
		search = d
	}
	if search != "" {
		if !isDigits(search) || (len(search) != 3 && len(search) != 6) {
			return r, usageErr(UsageOrder, "search must be 3 digits (area code) or 6 digits (NPA-NXX, e.g. 312555 or 312-555), got %s", quote(search))
		}
		if !needsSearch {
			return r, usageErr(UsageOrder, "%s numbers cannot be searched by area: leave the search out", r.Type)
		}
	}
	n, ok := wholeNumber(qty, 1, MaxOrderQuantity)
	if !ok {
		return r, usageErr(UsageOrder, "quantity must be a whole number from 1 to %d (got %s)", MaxOrderQuantity, quote(qty))
	}
	r.Search, r.Quantity = search, n
	if r.AllowOverlay {
		if len(r.Search) != 6 {
			return r, usageErr(UsageOrder, "--overlay works only with a 6-digit (NPA-NXX) search")
		}
		if r.CleansedOnly {
			return r, usageErr(UsageOrder, "--overlay cannot be combined with --cleansed")
		}
	}
	if err := r.Validate(); err != nil {
		return r, usageErr(UsageOrder, "%s", err.Error())
	}
	return r, nil
}

// orderFlags are the flags of /numbers order, for suggestions.
var orderFlags = []string{"type", "partial", "cleansed", "distance", "sms", "slots", "overlay"}

func numberTypes() []string {
	out := make([]string, len(dialog.NumberTypes))
	for i, t := range dialog.NumberTypes {
		out[i] = string(t)
	}
	return out
}

func validType(t dialog.NumberType) bool {
	for _, v := range dialog.NumberTypes {
		if t == v {
			return true
		}
	}
	return false
}

// ParseCall reads the words after "vr": a menu id and a phone number,
// normalised to digits.
func ParseCall(args []string) (menuID, phone string, err error) {
	if len(args) < 2 {
		return "", "", usageErr(UsageCall, "Give the Virtual Receptionist menu_id and the phone to ring")
	}
	menuID = args[0]
	if !isDigits(menuID) || len(menuID) > 20 {
		return "", "", usageErr(UsageCall, "menu_id must be digits (got %s)", quote(menuID))
	}
	raw := strings.Join(args[1:], " ")
	phone, problem := NorthAmerican(raw)
	if problem != "" {
		return "", "", usageErr(UsageCall, "%s is not a North American phone number: %s. Write the 10 digits with the area code, e.g. 3125550100, (312) 555-0100 or +1 312 555 0100", quote(raw), problem)
	}
	return menuID, phone, nil
}

// NorthAmerican normalises a phone number to the 10 digits of a North
// American (NANP) number, or says what is wrong with it: after dropping
// spaces, dashes, dots, parentheses and a leading +1 or 1, 10 digits must
// remain, with an area code and an exchange that start with 2 to 9.
func NorthAmerican(raw string) (phone, problem string) {
	s := strings.TrimSpace(raw)
	if rest, ok := strings.CutPrefix(s, "+"); ok && !strings.HasPrefix(strings.TrimLeft(rest, " ("), "1") {
		return "", "only +1 (North America) can be called"
	}
	d, err := dialog.NormalizePhone(s)
	if err != nil {
		var b strings.Builder
		for _, r := range s {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		if len(b.String()) == 0 || strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789+ \t-.()", r) }) {
			return "", "it may hold only digits, spaces, dashes, dots, parentheses and a leading +1"
		}
		d = b.String()
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	switch {
	case len(d) == 7:
		return "", "it has no area code"
	case len(d) != 10:
		return "", fmt.Sprintf("it has %d digits, not 10", len(d))
	case d[0] < '2':
		return "", fmt.Sprintf("the area code %s cannot start with %c", d[:3], d[0])
	case d[3] < '2':
		return "", fmt.Sprintf("the exchange %s cannot start with %c", d[3:6], d[3])
	}
	return d, ""
}
