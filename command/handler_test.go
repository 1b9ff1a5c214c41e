package command_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/command"
	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/reply"
	"github.com/dialogbot/dialogbot/store"
)

const (
	requester = "U0REQUEST"
	approver  = "U0APPROVE"
	outsider  = "U0OUTSIDE"
	channel   = "C0CHANNEL"
)

type world struct {
	h   *command.Handler
	svc *approval.Service
	sim *dialogsim.Sim
	st  store.Store
}

// newWorld is the command layer over the real DialogTech client, talking
// to the simulator over HTTP, and real approvals in SQLite.
func newWorld(t *testing.T, opts ...command.Option) *world {
	t.Helper()
	sim := dialogsim.New()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := dialog.NewClient(dialog.WithCredentials(dialogsim.DefaultAccessKey, dialogsim.DefaultSecretKey), dialog.WithBaseURL(srv.URL+"/ibp_api.php"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	quiet := slog.New(slog.DiscardHandler)
	svc := approval.New(st, client, approval.Policy{Approvers: []string{approver}, TTL: time.Hour}, approval.WithLogger(quiet))
	opts = append([]command.Option{command.WithLogger(quiet)}, opts...)
	return &world{h: command.New(client, svc, opts...), svc: svc, sim: sim, st: st}
}

// say runs a command as user and returns the text of the reply to them.
func (w *world) say(t *testing.T, user, cmd, text string) command.Result {
	t.Helper()
	return w.h.Handle(t.Context(), command.Invocation{Command: cmd, Text: text, UserID: user, ChannelID: channel})
}

func replyText(res command.Result) string {
	if res.Reply == nil {
		return ""
	}
	return messageText(*res.Reply)
}

func messageText(m reply.Message) string {
	var b strings.Builder
	b.WriteString(m.Text + "\n")
	for _, blk := range m.Blocks {
		switch blk := blk.(type) {
		case reply.Header:
			b.WriteString(blk.Text + "\n")
		case reply.Section:
			b.WriteString(blk.Text + "\n")
		case reply.Context:
			b.WriteString(blk.Text + "\n")
		case reply.Fields:
			for _, f := range blk.Fields {
				b.WriteString(f.Label + ": " + f.Value + "\n")
			}
		case reply.Usage:
			b.WriteString(blk.Label + " " + blk.Note + "\n")
		case reply.Actions:
			for _, btn := range blk.Buttons {
				b.WriteString("[" + btn.Text + "]\n")
			}
		}
	}
	return b.String()
}

func buttons(m *reply.Message) []reply.Button {
	var out []reply.Button
	if m == nil {
		return nil
	}
	for _, blk := range m.Blocks {
		if a, ok := blk.(reply.Actions); ok {
			out = append(out, a.Buttons...)
		}
	}
	return out
}

// TestMistakesAreAnsweredPrecisely: each of these inputs was answered
// wrongly once (bytes called characters, the list's usage for a buy, an
// unknown subcommand for a word after list, no suggestion for a slip).
func TestMistakesAreAnsweredPrecisely(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, cmd, text string
		want            []string
		not             []string
	}{
		{name: "300 é are 300 characters", cmd: "/addons", text: "buy " + strings.Repeat("é", 300),
			not: []string{"too long"}},
		{name: "501 é are 501 characters", cmd: "/addons", text: strings.Repeat("é", 501),
			want: []string{"That is too long (501 characters; a command is at most 500)"}},
		{name: "too long buy shows the buy form", cmd: "/addons", text: "buy 6 " + strings.Repeat("9", 500),
			want: []string{"too long", "Usage: " + command.UsageBuy}},
		{name: "control character in buy shows the buy form", cmd: "/addons", text: "buy 6\x1b[A 2",
			want: []string{"control character (U+001B)", "Usage: " + command.UsageBuy}},
		{name: "too long order shows the order form", cmd: "/numbers", text: "order " + strings.Repeat("1", 600),
			want: []string{"too long", "Usage: /numbers order <search>"}},
		{name: "a word after list", cmd: "/addons", text: "list extra",
			want: []string{`/addons list takes no more words (got "extra")`, "Usage: " + command.UsageList}, not: []string{"subcommand"}},
		{name: "unknown subcommand", cmd: "/addons", text: "extra",
			want: []string{`Unknown /addons subcommand "extra"`}},
		{name: "command slip", cmd: "/adons", text: "",
			want: []string{`Unknown command "/adons" (did you mean /addons?)`}},
		{name: "subcommand slip", cmd: "/addons", text: "bye 6 2",
			want: []string{`Unknown /addons subcommand "bye" (did you mean /addons buy?)`}},
		{name: "subcommand of another command", cmd: "/numbers", text: "buy 312 2",
			want: []string{`Unknown /numbers subcommand "buy" (did you mean /numbers order or /addons buy?)`}},
		{name: "flag slip", cmd: "/numbers", text: "order 312 2 --partail",
			want: []string{`Unknown flag "--partail" (did you mean --partial?)`}},
		{name: "type slip", cmd: "/numbers", text: "order 3 --type tolfree",
			want: []string{`Unknown --type "tolfree" (did you mean tollfree?)`}},
		{name: "nothing close", cmd: "/addons", text: "frobnicate",
			not: []string{"did you mean"}},
		{name: "pending takes nothing more", cmd: "/addons", text: "pending now",
			want: []string{`/addons pending takes no more words (got "now")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.say(t, requester, tt.cmd, tt.text)
			got := replyText(res)
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("%s %q answered\n%s\nwant it to contain %q", tt.cmd, tt.text, got, want)
				}
			}
			for _, not := range tt.not {
				if strings.Contains(got, not) {
					t.Errorf("%s %q answered\n%s\nwant no %q", tt.cmd, tt.text, got, not)
				}
			}
			if res.Post != nil {
				t.Errorf("%s %q opened a request", tt.cmd, tt.text)
			}
		})
	}
}

// TestAnyWhiteSpaceSeparatesWords: a tab or a no-break space between words
// is a space.
func TestAnyWhiteSpaceSeparatesWords(t *testing.T) {
	for _, text := range []string{"buy\t6\t2", "buy\u00a06\u00a02", "buy \t 6\u2003 2"} {
		w := newWorld(t)
		res := w.say(t, requester, "/addons", text)
		if res.Post == nil || res.Post.RequestID == "" {
			t.Errorf("/addons %q opened no request; reply:\n%s", text, replyText(res))
		}
	}
}

// TestOneRefusalStyle: a person who is not an approver gets the same
// words from Deny as from Approve.
func TestOneRefusalStyle(t *testing.T) {
	w := newWorld(t)
	res := w.say(t, requester, "/addons", "buy 6 2")
	id := res.Post.RequestID
	approve := replyText(w.h.Act(t.Context(), command.Action{ActionID: command.ActionApprove, Value: id, UserID: outsider, ChannelID: channel}))
	deny := replyText(w.h.Act(t.Context(), command.Action{ActionID: command.ActionDeny, Value: id, UserID: outsider, ChannelID: channel}))
	want := "Only approvers can decide on purchases. Nothing was changed."
	if !strings.Contains(approve, want) || !strings.Contains(deny, want) {
		t.Errorf("refusals differ:\nApprove: %s\nDeny: %s\nwant both to say %q", approve, deny, want)
	}
	if strings.Contains(deny, "..") || strings.Contains(approve, "..") {
		t.Errorf("a refusal ends with two full stops: %q / %q", approve, deny)
	}
}

// TestLateDenyOnDecidedRequest: Deny on a request already approved says so
// in one sentence, with one full stop.
func TestLateDenyOnDecidedRequest(t *testing.T) {
	w := newWorld(t)
	id := w.say(t, requester, "/addons", "buy 6 2").Post.RequestID
	w.h.Act(t.Context(), command.Action{ActionID: command.ActionApprove, Value: id, UserID: approver, ChannelID: channel})
	got := replyText(w.h.Act(t.Context(), command.Action{ActionID: command.ActionDeny, Value: id, UserID: approver, ChannelID: channel}))
	want := "Request " + id + " was already approved by"
	if !strings.Contains(got, want) || !strings.Contains(got, " and bought.") || strings.Contains(got, "..") {
		t.Errorf("late Deny answered %q, want %q … and bought.", got, want)
	}
}

// TestThreadNotesSayWhatHappened: every note in a request's thread is a
// sentence with its verb, and says the outcome once.
func TestThreadNotesSayWhatHappened(t *testing.T) {
	tests := []struct {
		name   string
		decide func(w *world, id string) command.Result
		fault  *dialogsim.Fault
		want   string
	}{
		{name: "bought", want: "request <ID> was approved by <@U0APPROVE> and bought.",
			decide: func(w *world, id string) command.Result { return w.approve(id) }},
		{name: "refused", fault: &dialogsim.Fault{FailResult: "card declined"},
			want:   "request <ID> was approved by <@U0APPROVE>, but DialogTech refused it; nothing was bought.",
			decide: func(w *world, id string) command.Result { return w.approve(id) }},
		{name: "denied", want: "request <ID> was denied by <@U0APPROVE>.",
			decide: func(w *world, id string) command.Result {
				return w.h.Deny(context.Background(), id, approver, "")
			}},
		{name: "cancelled", want: "you cancelled request <ID>; nothing was bought.",
			decide: func(w *world, id string) command.Result {
				return w.h.Act(context.Background(), command.Action{ActionID: command.ActionCancel, Value: id, UserID: requester, ChannelID: channel})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.fault != nil {
				w.sim.InjectFault(dialog.ActionAddOnsPurchase, *tt.fault)
			}
			id := w.say(t, requester, "/addons", "buy 6 2").Post.RequestID
			if err := w.h.Posted(t.Context(), id, channel, "1700000000.000100"); err != nil {
				t.Fatal(err)
			}
			res := tt.decide(w, id)
			if len(res.Threads) != 1 {
				t.Fatalf("%d thread notes, want 1; reply %s", len(res.Threads), replyText(res))
			}
			got := mentions(messageText(res.Threads[0].Message))
			want := strings.ReplaceAll(tt.want, "<ID>", id)
			if !strings.Contains(got, "<@U0REQUEST>: "+want) {
				t.Errorf("thread note:\n%s\nwant %q", got, want)
			}
			for _, repeated := range []string{"(approved", "(denied", "(cancelled", "failed: dialogtech"} {
				if strings.Contains(got, repeated) {
					t.Errorf("thread note repeats its outcome (%q):\n%s", repeated, got)
				}
			}
		})
	}
}

// TestAuditSaysARefusalOnce: the audit entry of a refused buying call
// names the outcome once and gives DialogTech's reason, not the error
// chain ("failed: dialogtech addons.purchase: failed: …").
func TestAuditSaysARefusalOnce(t *testing.T) {
	w := newWorld(t)
	w.sim.InjectFault(dialog.ActionAddOnsPurchase, dialogsim.Fault{FailResult: "card declined"})
	id := w.say(t, requester, "/addons", "buy 6 2").Post.RequestID
	w.approve(id)
	audit := replyText(w.say(t, approver, "/addons", "audit"))
	if !strings.Contains(audit, "dialogtech.result: failed: card declined") || strings.Count(audit, "failed") != 1 {
		t.Errorf("audit log:\n%s\nwant one %q", audit, "dialogtech.result: failed: card declined")
	}
}

func (w *world) approve(id string) command.Result {
	return w.h.Act(context.Background(), command.Action{ActionID: command.ActionApprove, Value: id, UserID: approver, ChannelID: channel, MessageTS: "1700000000.000100"})
}

// mentions writes reply mentions as <@U…>.
func mentions(s string) string {
	return reply.ExpandMentions(s, func(s string) string { return s }, func(id string) string { return "<@" + id + ">" })
}

// TestOrderedNumbersAsPeopleWriteThem: (312) 555-0100, not 3125550100,
// in the message, the thread and the audit log.
func TestOrderedNumbersAsPeopleWriteThem(t *testing.T) {
	w := newWorld(t)
	id := w.say(t, requester, "/numbers", "order 312 1").Post.RequestID
	if err := w.h.Posted(t.Context(), id, channel, "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	res := w.approve(id)
	ordered := w.sim.Ordered()
	if len(ordered) != 1 {
		t.Fatalf("ordered %d numbers", len(ordered))
	}
	n := ordered[0].Number
	shown := "(" + n[:3] + ") " + n[3:6] + "-" + n[6:]
	audit := replyText(w.say(t, approver, "/addons", "audit"))
	for where, text := range map[string]string{
		"message": messageText(res.Edits[0].Message), "thread": messageText(res.Threads[0].Message), "audit": audit,
	} {
		if !strings.Contains(text, shown) || strings.Contains(text, n) {
			t.Errorf("%s shows the number not as %s:\n%s", where, shown, text)
		}
	}
}

func TestFormatPhone(t *testing.T) {
	for in, want := range map[string]string{
		"3124393025": "(312) 439-3025", "8005550100": "(800) 555-0100",
		"312439302": "312439302", "31243930250": "31243930250", "31243930x5": "31243930x5", "": "",
	} {
		if got := dialog.FormatPhone(in); got != want {
			t.Errorf("FormatPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHelpExampleIDLooksReal: the id in the help is as long as the ids
// requests get.
func TestHelpExampleIDLooksReal(t *testing.T) {
	w := newWorld(t)
	for _, c := range w.h.Commands() {
		for _, ex := range c.Examples {
			if !strings.HasPrefix(ex, "/addons cancel ") {
				continue
			}
			id := strings.TrimPrefix(ex, "/addons cancel ")
			if got, want := utf8.RuneCountInString(id), len(approval.NewID()); got != want {
				t.Errorf("help's example id %q has %d characters, real ids %d", id, got, want)
			}
			return
		}
	}
	t.Fatal("no /addons cancel example in the help")
}

// TestPendingList: a heading with the count, when each expires, and the
// buttons the person may press; one entry apart from the next.
func TestPendingList(t *testing.T) {
	w := newWorld(t)
	first := w.say(t, requester, "/addons", "buy 6 2").Post.RequestID
	second := w.say(t, requester, "/numbers", "order 312 1").Post.RequestID

	res := w.say(t, approver, "/addons", "pending")
	got := replyText(res)
	for _, want := range []string{"Pending requests (2)", first, second, "Expires: "} {
		if !strings.Contains(got, want) {
			t.Errorf("pending list lacks %q:\n%s", want, got)
		}
	}
	var ids []string
	for _, b := range buttons(res.Reply) {
		ids = append(ids, b.ActionID+" "+b.Value)
	}
	want := []string{command.ActionApprove + " " + second, command.ActionDeny + " " + second, command.ActionApprove + " " + first, command.ActionDeny + " " + first}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("approver's buttons = %v, want %v", ids, want)
	}
	dividers := 0
	for _, blk := range res.Reply.Blocks {
		if _, ok := blk.(reply.Divider); ok {
			dividers++
		}
	}
	if dividers != 1 {
		t.Errorf("%d dividers between 2 entries, want 1", dividers)
	}

	mine := buttons(w.say(t, requester, "/addons", "pending").Reply)
	if len(mine) != 2 || mine[0].ActionID != command.ActionCancel {
		t.Errorf("requester's buttons = %+v, want Cancel request on each", mine)
	}
	if b := buttons(w.say(t, outsider, "/addons", "pending").Reply); len(b) != 0 {
		t.Errorf("someone else sees buttons %+v", b)
	}
	if got := replyText(w.say(t, outsider, "/addons", "pending")); !strings.Contains(got, "Pending requests (2)") {
		t.Errorf("someone else's list: %s", got)
	}
}

// TestHomeSaysAlertsAreOff: with no alerts configured the App Home does
// not claim that no alert is firing.
func TestHomeSaysAlertsAreOff(t *testing.T) {
	w := newWorld(t)
	m, err := w.h.Home(t.Context(), requester)
	if err != nil {
		t.Fatal(err)
	}
	got := messageText(m)
	if !strings.Contains(got, "Capacity alerts are off (ALERT_CHANNEL is not set).") || strings.Contains(got, "No alert is firing") {
		t.Errorf("App Home with alerts off:\n%s", got)
	}
}

// TestForecastIsLabelled: a forecast in the list says it is one.
func TestForecastIsLabelled(t *testing.T) {
	m := command.AddOnsMessage([]dialog.AddOn{{ItemID: 6, Name: "Local Number", InUse: 79, TotalQty: 194}}, map[int]string{6: "not enough data yet"})
	if got := messageText(m); !strings.Contains(got, "· forecast: not enough data yet") {
		t.Errorf("list:\n%s", got)
	}
}
