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
	want := dialog.OrderRequest{Type: dialog.Local, Search: "312555", Quantity: 5, SMSSupported: true}
	parse := func() (dialog.OrderRequest, error) {
		words, err := Tokenize(benchOrderText, UsageOrder)
		if err != nil {
			return dialog.OrderRequest{}, err
		}
		return ParseOrder(words[1:])
	}
	if got, err := parse(); err != nil || got != want {
		b.Fatalf("parse %q = %+v, %v; want %+v", benchOrderText, got, err, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBuy(b *testing.B) {
	want := dialog.PurchaseRequest{ItemID: 6, Qty: 10, SendReceipt: true}
	parse := func() (dialog.PurchaseRequest, error) {
		words, err := Tokenize(benchBuyText, UsageBuy)
		if err != nil {
			return dialog.PurchaseRequest{}, err
		}
		return ParseBuy(words[1:])
	}
	if got, err := parse(); err != nil || got != want {
		b.Fatalf("parse %q = %+v, %v; want %+v", benchBuyText, got, err, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
	}
}
