package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/internal/slacktest"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
	"github.com/shopspring/decimal"
	"github.com/slack-go/slack"
)

// hostile is text built to break a renderer: multi-byte characters, emoji,
// what mrkdwn reads as markup (& < > <!channel> *_~), a forged mention
// marker, n characters long.
func hostile(n int) string {
	const piece = "Ünïcødé 📞🇺🇸 & <b>x</b> > <!channel> *bold*_it_~s~ <@U0FAKE> \uE000U0FORGED\uE001 "
	var b strings.Builder
	for utf8.RuneCountInString(b.String()) < n {
		b.WriteString(piece)
	}
	return string([]rune(b.String())[:n])
}

// checkMessage validates m, rendered for chat.postMessage, against the
// emulator's rules.
func checkMessage(t *testing.T, name string, m reply.Message) {
	t.Helper()
	blocks, err := json.Marshal(Blocks(m))
	if err != nil {
		t.Fatal(err)
	}
	text := Text(m)
	for _, v := range slacktest.CheckMessage(text, blocks) {
		t.Errorf("%s: Slack would refuse it: %s (%s)", name, v, v.Rule)
	}
	if !utf8.ValidString(text) || strings.ContainsRune(string(blocks), utf8.RuneError) {
		t.Errorf("%s: invalid UTF-8 (a cut through a character)", name)
	}
	checkMarkup(t, name, text)
	checkRendered(t, name, blocks)
}

// mrkdwnTexts collects the text of every mrkdwn object.
func mrkdwnTexts(v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "mrkdwn" {
			if s, ok := v["text"].(string); ok {
				out = append(out, s)
			}
		}
		for _, x := range v {
			out = mrkdwnTexts(x, out)
		}
	case []any:
		for _, x := range v {
			out = mrkdwnTexts(x, out)
		}
	}
	return out
}

var (
	badEntity  = regexp.MustCompile(`&(?:amp|lt|gt);|&`)
	badAngle   = regexp.MustCompile(`<@U[A-Z0-9]+>|<|>`)
	markerRune = regexp.MustCompile(`[\x{E000}\x{E001}]`)
)

// checkMarkup fails when mrkdwn text s has markup a person did not mean:
// an & that is not a whole entity (a cut through &amp;), a < or > that is
// not part of a whole mention (a cut through <@U…>, or unescaped text such
// as <!channel>), or a mention marker left over.
func checkMarkup(t *testing.T, name, s string) {
	t.Helper()
	for _, m := range badEntity.FindAllString(s, -1) {
		if m == "&" {
			t.Errorf("%s: a bare & (a cut entity?) in %q", name, tail(s))
			break
		}
	}
	for _, m := range badAngle.FindAllString(s, -1) {
		if m == "<" || m == ">" {
			t.Errorf("%s: markup < or > not part of a mention in %q", name, tail(s))
			break
		}
	}
	if strings.Contains(s, "U0FORGED>") {
		t.Errorf("%s: a mention forged in DialogTech's or a person's text became real: %q", name, tail(s))
	}
	if markerRune.MatchString(s) {
		t.Errorf("%s: a mention marker left in %q", name, tail(s))
	}
}

func tail(s string) string {
	r := []rune(s)
	return string(r[max(0, len(r)-60):])
}

func checkView(t *testing.T, name string, view any) {
	t.Helper()
	raw, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range slacktest.CheckView(raw) {
		t.Errorf("%s: Slack would refuse it: %s (%s)", name, v, v.Rule)
	}
	checkRendered(t, name, raw)
}

// checkRendered checks every text of a rendered payload: mrkdwn for
// markup a person did not mean, and every text (plain_text too) for a
// mention forged from data and for a cut through a character.
func checkRendered(t *testing.T, name string, raw []byte) {
	t.Helper()
	if strings.ContainsRune(string(raw), utf8.RuneError) || !utf8.Valid(raw) {
		t.Errorf("%s: invalid UTF-8 (a cut through a character)", name)
	}
	var decoded any
	_ = json.Unmarshal(raw, &decoded)
	for _, s := range mrkdwnTexts(decoded, nil) {
		checkMarkup(t, name, s)
	}
	for _, s := range allTexts(decoded, nil) {
		if strings.Contains(s, "@U0FORGED") || markerRune.MatchString(s) {
			t.Errorf("%s: a mention forged in data became real (or its marker was left) in %q", name, tail(s))
		}
	}
}

// allTexts collects every string of a decoded payload.
func allTexts(v any, out []string) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case map[string]any:
		for _, x := range v {
			out = allTexts(x, out)
		}
	case []any:
		for _, x := range v {
			out = allTexts(x, out)
		}
	}
	return out
}

type hostileAccount struct{ addOns []dialog.AddOn }

func (a hostileAccount) ListAddOns(context.Context) ([]dialog.AddOn, error) { return a.addOns, nil }
func (hostileAccount) CallVR(context.Context, string, string) error         { return nil }

type hostileAlerts struct{ lines []string }

func (a hostileAlerts) Forecasts(_ context.Context, addOns []dialog.AddOn) map[int]string {
	out := map[int]string{}
	for _, x := range addOns {
		out[x.ItemID] = "full in ~4 days " + hostile(40)
	}
	return out
}
func (hostileAlerts) Snooze(context.Context, string, string, time.Duration) (reply.Message, error) {
	return reply.Message{}, nil
}
func (hostileAlerts) Suggest(dialog.AddOn) int                       { return 1 }
func (a hostileAlerts) OpenAlerts(context.Context) ([]string, error) { return a.lines, nil }

// hostileStore opens a real SQLite store in the test's temporary directory.
func hostileStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hostileAddOns is an account of n add-ons with the longest hostile names.
func hostileAddOns(n int) []dialog.AddOn {
	var addOns []dialog.AddOn
	for i := range n {
		addOns = append(addOns, dialog.AddOn{ItemID: i + 1, Name: hostile(300), MaxQtyPurchase: 1000, TotalQty: 1000, InUse: i * 7,
			PurchasePrice: decimal.RequireFromString("12.50")})
	}
	return addOns
}

// TestEveryMessageSlackTakes builds every kind of message, modal and view
// dialogbot sends from hostile data (100 add-ons, 60 pending requests, 25
// ordered numbers, names and reasons of the longest length made of
// multi-byte characters and markup) and checks each against the
// emulator's rules: none may be refused, whatever the data.
func TestEveryMessageSlackTakes(t *testing.T) {
	ctx := context.Background()
	st := hostileStore(t)
	addOns := hostileAddOns(100)
	var alertLines []string
	for range 40 {
		// As the alerts make them: DialogTech's name cleaned, a real
		// mention of who snoozed.
		alertLines = append(alertLines, reply.Clean(hostile(400))+" (snoozed by "+reply.Mention("U0SNOOZER")+")")
	}
	approvers := []string{"U0APPROVE", "U0APPROV2", "U0APPROV3", "U0APPROV4", "U0APPROV5", "U0APPROV6", "U0APPROV7", "U0APPROV8", "U0APPROV9", "U0APPROVA"}
	approvals := approval.New(st, nil, approval.Policy{Approvers: approvers, TTL: time.Hour})
	h := command.New(hostileAccount{addOns}, approvals, command.WithAlerts(hostileAlerts{alertLines}))

	// Summaries are dialogbot's own text, made from cleaned names (as
	// runBuy makes them), so a forged mention cannot be in one.
	var pending []*store.Request
	for i := range 60 {
		r, err := approvals.Open(ctx, store.KindPurchase, dialog.PurchaseRequest{ItemID: i + 1, Qty: 1}, fmt.Sprintf("buy %d × %s", i, reply.Clean(hostile(300))), "U0REQUEST", "C0ORDERS")
		if err != nil {
			t.Fatal(err)
		}
		if err := approvals.Posted(ctx, r.ID, "C0ORDERS", fmt.Sprintf("1700000000.%06d", i)); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, r)
	}
	for i := range 30 {
		if err := st.AppendAudit(ctx, store.AuditEntry{RequestID: pending[i].ID, Actor: "U0APPROVE", Event: "request.denied", Detail: hostile(500)}); err != nil {
			t.Fatal(err)
		}
	}

	numbers := make([]string, 25)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("31255501%02d", i)
	}
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	base := store.Request{ID: "RHOSTILE0001", Kind: store.KindPurchase, Summary: "buy 5 × " + reply.Clean(hostile(1000)), RequesterID: "U0REQUEST",
		ChannelID: "C0ORDERS", MessageTS: "1.2", CreatedAt: at, ExpiresAt: at.Add(time.Hour), DecidedBy: "U0APPROVE", DecidedAt: at.Add(time.Minute),
		Reason: reply.Clean(hostile(command.MaxReason))} // Deny cleans a reason before storing it
	outcome := func(o approval.Outcome) json.RawMessage { b, _ := json.Marshal(o); return b }
	states := map[string]store.Request{}
	for name, mod := range map[string]func(*store.Request){
		"pending":   func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StatePending, "", "" },
		"executing": func(r *store.Request) { r.State = store.StateExecuting },
		"bought": func(r *store.Request) {
			r.State, r.Outcome = store.StateSucceeded, outcome(approval.Outcome{Description: hostile(2000)})
		},
		"ordered 25": func(r *store.Request) {
			r.Kind, r.State, r.Outcome = store.KindOrder, store.StateSucceeded, outcome(approval.Outcome{Numbers: numbers, Quantity: 25})
		},
		"ordered none": func(r *store.Request) {
			r.Kind, r.State, r.Outcome = store.KindOrder, store.StateSucceeded, outcome(approval.Outcome{})
		},
		"failed": func(r *store.Request) {
			r.State, r.Outcome = store.StateFailed, outcome(approval.Outcome{Error: hostile(3000)})
		},
		"not sent": func(r *store.Request) {
			r.State, r.Outcome = store.StateFailed, outcome(approval.Outcome{NotSent: true})
		},
		"unknown purchase":  func(r *store.Request) { r.State = store.StateUnknown },
		"unknown order":     func(r *store.Request) { r.Kind, r.State = store.KindOrder, store.StateUnknown },
		"denied":            func(r *store.Request) { r.State = store.StateDenied },
		"denied, no reason": func(r *store.Request) { r.State, r.Reason = store.StateDenied, "" },
		"cancelled":         func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StateCancelled, "U0REQUEST", "" },
		"expired":           func(r *store.Request) { r.State, r.DecidedBy, r.Reason = store.StateExpired, "", "" },
	} {
		r := base
		mod(&r)
		states[name] = r
	}

	usage := addOns[5]
	for name, r := range states {
		checkMessage(t, "request message ("+name+")", command.RequestMessage(&r, &usage, "$62.50 (5 × $12.50, pro-rated by DialogTech)", approvers))
		checkMessage(t, "decided message ("+name+")", command.DecidedMessage(&r))
		res := h.Expired([]*store.Request{&r})
		for _, e := range res.Edits {
			checkMessage(t, "redraw ("+name+")", e.Message)
		}
		for _, e := range res.Threads {
			checkMessage(t, "thread notice ("+name+")", e.Message)
		}
	}

	checkMessage(t, "/addons list", command.AddOnsMessage(addOns, hostileAlerts{}.Forecasts(ctx, addOns)))
	checkMessage(t, "help", h.Help())
	for _, c := range h.Commands() {
		checkMessage(t, "help "+c.Name(), command.HelpMessage([]*command.Command{c}))
	}
	for _, inv := range []command.Invocation{
		{Command: "/addons", Text: "", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "pending", UserID: "U0APPROVE", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "pending", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "audit", UserID: "U0APPROVE", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "audit", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "help", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: hostile(400), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "buy " + hostile(100), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "buy 6 2", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/addons", Text: "cancel " + hostile(60), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/numbers", Text: "order 312 25 --partial --sms --slots --overlay --cleansed --distance 50", UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/numbers", Text: "order " + hostile(200), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/call", Text: "vr " + hostile(100), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
		{Command: "/" + hostile(30), UserID: "U0REQUEST", ChannelID: "C0ORDERS"},
	} {
		res := h.Handle(ctx, inv)
		name := fmt.Sprintf("%s %.30q", inv.Command, inv.Text)
		if res.Reply != nil {
			checkMessage(t, name+" reply", *res.Reply)
		}
		if res.Post != nil {
			checkMessage(t, name+" post", res.Post.Message)
		}
	}
	for _, a := range []command.Action{
		{ActionID: command.ActionApprove, Value: hostile(30), UserID: "U0APPROVE", ChannelID: "C0ORDERS"},
		{ActionID: command.ActionDeny, Value: pending[0].ID, UserID: "U0OUTSIDE", ChannelID: "C0ORDERS"},
		{ActionID: hostile(40), Value: "x", UserID: "U0APPROVE"},
	} {
		res := h.Act(ctx, a)
		if res.Reply != nil {
			checkMessage(t, "action "+a.ActionID[:min(len(a.ActionID), 20)], *res.Reply)
		}
	}
	denied := h.Deny(ctx, pending[1].ID, "U0APPROVE", hostile(5000))
	if denied.Failed || len(denied.Edits) == 0 || len(denied.Threads) == 0 {
		t.Fatalf("deny: %+v", denied)
	}
	checkMessage(t, "denied message", denied.Edits[0].Message)
	checkMessage(t, "denied notice", denied.Threads[0].Message)
	checkMessage(t, "denied reply", *denied.Reply)

	for _, user := range []string{"U0APPROVE", "U0REQUEST"} {
		m, err := h.Home(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		checkView(t, "App Home for "+user, HomeTab(m))
	}
	checkView(t, "deny modal", denyModal(pending[2].ID, "C0ORDERS"))
	checkMessage(t, "internal error", internalError("/addons"))
	checkMessage(t, "internal error (click)", internalError(""))
	checkMessage(t, "deny again", denyAgain(pending[3].ID))
	checkMessage(t, "failed post", failedPost(slack.SlackErrorResponse{Err: "not_in_channel"}))
	checkMessage(t, "not withdrawn", notWithdrawn(pending[3].ID, &approval.DecidedError{Request: pending[3]}))
	checkMessage(t, "not withdrawn (store)", notWithdrawn(pending[3].ID, context.DeadlineExceeded))
}
