package command

import (
	"testing"

	"github.com/dialogbot/dialogbot/dialog"
)

// The parse benchmarks start from the text Slack sends after the slash
// command, as route does: Tokenize, then the verb's parser on the words
// after the verb.

const (
	benchOrderText = "order 312555 5 --type local --partial --sms"
	benchBuyText   = "buy 6 10 receipt"
)

func BenchmarkTokenize(b *testing.B) {
	words, err := Tokenize(benchOrderText, UsageOrder)
	if err != nil || len(words) != 7 {
		b.Fatalf("Tokenize(%q) = %q, %v; want 7 words", benchOrderText, words, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Tokenize(benchOrderText, UsageOrder); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseOrder(b *testing.B) {
	benchParse(b, benchOrderText, UsageOrder, ParseOrder,
		dialog.OrderRequest{Type: dialog.Local, Search: "312555", Quantity: 5, SMSSupported: true})
}

func BenchmarkParseBuy(b *testing.B) {
	benchParse(b, benchBuyText, UsageBuy, ParseBuy, dialog.PurchaseRequest{ItemID: 6, Qty: 10, SendReceipt: true})
}

// benchParse times Tokenize and then parse on the words after the verb,
// after checking once that text parses to want.
func benchParse[T comparable](b *testing.B, text, usage string, parse func([]string) (T, error), want T) {
	run := func() (T, error) {
		words, err := Tokenize(text, usage)
		if err != nil {
			var zero T
			return zero, err
		}
		return parse(words[1:])
	}
	if got, err := run(); err != nil || got != want {
		b.Fatalf("parse %q = %+v, %v; want %+v", text, got, err, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := run(); err != nil {
			b.Fatal(err)
		}
	}
}
