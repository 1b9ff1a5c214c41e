package dialogsim

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env is a simulator behind a real HTTP server, called with plain GETs as
// DialogTech's clients do.
type env struct {
	t      *testing.T
	sim    *Sim
	srv    *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	sim := New(append([]Option{WithSeed(1)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// One connection per call: when the simulator drops a reused keep-alive
	// connection, net/http would resend the GET by itself and blur what the
	// tests count.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, sim: sim, srv: srv, client: &http.Client{Transport: tr}}
}

// query builds the parameters of a call: the default keys, then kv pairs
// that add to or override them. A value of "<absent>" removes the key.
func query(kv ...string) url.Values {
	q := url.Values{
		"access_key":        {DefaultAccessKey},
		"secret_access_key": {DefaultSecretKey},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == absent {
			q.Del(kv[i])
			continue
		}
		q.Set(kv[i], kv[i+1])
	}
	return q
}

const absent = "<absent>"

func (e *env) do(ctx context.Context, q url.Values) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/ibp_api.php?"+q.Encode(), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// call sends one GET and fails the test unless it is answered 200.
func (e *env) call(kv ...string) string {
	e.t.Helper()
	resp, body, err := e.do(context.Background(), query(kv...))
	if err != nil {
		e.t.Fatalf("call %v: %v", kv, err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("call %v: status %d, body %q", kv, resp.StatusCode, body)
	}
	return body
}

// result sends one GET and parses its XML answer.
func (e *env) result(kv ...string) xmlResponse {
	e.t.Helper()
	return parse(e.t, e.call(kv...))
}

func (e *env) order(kv ...string) xmlResponse {
	e.t.Helper()
	return e.result(append([]string{"action", "numbers.order"}, kv...)...)
}

type xmlResponse struct {
	XMLName     xml.Name    `xml:"response"`
	Result      string      `xml:"result"`
	Description description `xml:"result_description"`
	AddOns      []xmlAddOn  `xml:"data>addon"`
}

type description struct {
	Text     string   `xml:",chardata"`
	Quantity int      `xml:"quantity"`
	Numbers  []string `xml:"numbers>number"`
}

type xmlAddOn struct {
	SpecialFlag        string `xml:"special_flag"`
	Name               string `xml:"limit_item_name"`
	PromoFootnote      string `xml:"promo_footnote"`
	PurchasePrice      string `xml:"purchase_price"`
	MaxQtyPurchase     int    `xml:"max_qty_purchase"`
	ItemID             int    `xml:"item_id"`
	IncludedQty        int    `xml:"included_qty"`
	StartDate          string `xml:"start_date"`
	EndDate            string `xml:"end_date"`
	NonRecurringCharge string `xml:"non_recurring_charge"`
	TotalQty           int    `xml:"total_qty"`
	InUse              int    `xml:"in_use"`
}

// parse checks the vendor's prologue and decodes the document.
func parse(t *testing.T, body string) xmlResponse {
	t.Helper()
	if !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<!DOCTYPE response [") {
		t.Fatalf("body lacks the vendor's XML prologue:\n%s", body)
	}
	var r xmlResponse
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("parse %q: %v", body, err)
	}
	r.Description.Text = strings.TrimSpace(r.Description.Text)
	return r
}

// wantFailed fails the test unless r is a failed result with description
// desc.
func wantFailed(t *testing.T, r xmlResponse, desc string) {
	t.Helper()
	if r.Result != "failed" || r.Description.Text != desc {
		t.Errorf("got result %q %q, want failed %q", r.Result, r.Description.Text, desc)
	}
}

func addOn(t *testing.T, s *Sim, itemID int) AddOn {
	t.Helper()
	for _, a := range s.AddOns() {
		if a.ItemID == itemID {
			return a
		}
	}
	t.Fatalf("no add-on %d", itemID)
	return AddOn{}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrongKeysRefusedForEveryAction(t *testing.T) {
	actions := map[string][]string{
		"addons.list":     {"action", "addons.list"},
		"addons.purchase": {"action", "addons.purchase", "item_id", "6", "qty", "1"},
		"numbers.order":   {"action", "numbers.order", "type", "local", "search", "312", "quantity", "1", "fill_quantity", "1"},
		"clickto.vr":      {"action", "clickto.vr", "menu_id", "1", "phone_to_call", "5551112222"},
		"unknown action":  {"action", "numbers.delete"},
		"no action":       {},
	}
	keys := map[string][]string{
		"wrong access key": {"access_key", "someone-else"},
		"wrong secret":     {"secret_access_key", "guess"},
		"no secret":        {"secret_access_key", absent},
		"no keys":          {"access_key", absent, "secret_access_key", absent},
		"empty keys":       {"access_key", "", "secret_access_key", ""},
		"swapped keys":     {"access_key", DefaultSecretKey, "secret_access_key", DefaultAccessKey},
	}
	e := newEnv(t)
	initial := e.sim.AddOns()
	n := 0
	for an, action := range actions {
		for kn, key := range keys {
			t.Run(an+"/"+kn, func(t *testing.T) {
				r := parse(t, e.call(append(append([]string{}, action...), key...)...))
				wantFailed(t, r, "invalid access_key or secret_access_key")
			})
			n++
		}
	}
	if diff := cmp.Diff(initial, e.sim.AddOns()); diff != "" {
		t.Errorf("add-ons changed (-before +after):\n%s", diff)
	}
	if got := e.sim.Ordered(); len(got) != 0 {
		t.Errorf("numbers handed out: %v", got)
	}
	if got := e.sim.CallCount(""); got != n {
		t.Errorf("CallCount = %d, want every one of the %d calls", got, n)
	}
	for _, c := range e.sim.Calls() {
		for _, v := range c.Params["secret_access_key"] {
			if v != "REDACTED" {
				t.Errorf("call log holds secret_access_key %q", v)
			}
		}
	}
}

func TestCustomCredentials(t *testing.T) {
	e := newEnv(t, WithCredentials("acct-1", "s3cret"))
	wantFailed(t, e.result("action", "addons.list"), "invalid access_key or secret_access_key")
	r := e.result("action", "addons.list", "access_key", "acct-1", "secret_access_key", "s3cret")
	if r.Result != "success" {
		t.Errorf("result %q %q with the configured keys", r.Result, r.Description.Text)
	}
}

func TestUnknownOrMissingAction(t *testing.T) {
	e := newEnv(t)
	wantFailed(t, e.result("action", "numbers.list"), "unknown action")
	wantFailed(t, e.result(), "action is required")
}

func TestPostFormIsAccepted(t *testing.T) {
	e := newEnv(t)
	form := query("action", "addons.purchase", "item_id", "6", "qty", "2")
	resp, err := e.client.PostForm(e.srv.URL+"/ibp_api.php", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r := parse(t, string(b)); r.Result != "success" {
		t.Fatalf("POST purchase: %q %q", r.Result, r.Description.Text)
	}
	if got := addOn(t, e.sim, 6).TotalQty; got != 196 {
		t.Errorf("Local Number total_qty = %d, want 196", got)
	}
}

func TestOtherMethodsRefusedWithoutExecuting(t *testing.T) {
	e := newEnv(t)
	for _, method := range []string{http.MethodHead, http.MethodPut, http.MethodDelete} {
		q := query("action", "addons.purchase", "item_id", "6", "qty", "2")
		req, err := http.NewRequest(method, e.srv.URL+"/ibp_api.php?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", method, resp.StatusCode)
		}
	}
	if got := addOn(t, e.sim, 6).TotalQty; got != 194 {
		t.Errorf("Local Number total_qty = %d, want 194: a refused method bought something", got)
	}
}

func TestCallLog(t *testing.T) {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, WithClock(func() time.Time { return at }))
	e.call("action", "addons.list")
	e.call("action", "addons.purchase", "item_id", "6", "qty", "1")
	e.call("action", "addons.list", "secret_access_key", "wrong")

	want := []Call{
		{Action: "addons.list", At: at, Params: url.Values{
			"action": {"addons.list"}, "access_key": {DefaultAccessKey}, "secret_access_key": {"REDACTED"},
		}},
		{Action: "addons.purchase", At: at, Params: url.Values{
			"action": {"addons.purchase"}, "access_key": {DefaultAccessKey}, "secret_access_key": {"REDACTED"},
			"item_id": {"6"}, "qty": {"1"},
		}},
		{Action: "addons.list", At: at, Params: url.Values{
			"action": {"addons.list"}, "access_key": {DefaultAccessKey}, "secret_access_key": {"REDACTED"},
		}},
	}
	if diff := cmp.Diff(want, e.sim.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}
	counts := map[string]int{
		"addons.list":     e.sim.CallCount("addons.list"),
		"addons.purchase": e.sim.CallCount("addons.purchase"),
		"numbers.order":   e.sim.CallCount("numbers.order"),
		"":                e.sim.CallCount(""),
	}
	if diff := cmp.Diff(map[string]int{"addons.list": 2, "addons.purchase": 1, "numbers.order": 0, "": 3}, counts); diff != "" {
		t.Errorf("CallCount (-want +got):\n%s", diff)
	}

	// The log hands out copies: editing them must not rewrite history.
	e.sim.Calls()[0].Params.Set("action", "edited")
	if got := e.sim.Calls()[0].Action; got != "addons.list" || e.sim.Calls()[0].Params.Get("action") != "addons.list" {
		t.Errorf("call log was edited through a returned copy")
	}

	e.sim.ResetCalls()
	if got := e.sim.CallCount(""); got != 0 {
		t.Errorf("CallCount after ResetCalls = %d", got)
	}
}

func TestOnChangeAfterStateChangingCalls(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	changes := 0
	e.sim.OnChange(func() {
		// The sandbox saves a snapshot here; it must not deadlock.
		if _, err := e.sim.Snapshot(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		changes++
		mu.Unlock()
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return changes
	}

	steps := []struct {
		name string
		kv   []string
		want int
	}{
		{"list", []string{"action", "addons.list"}, 0},
		{"refused purchase", []string{"action", "addons.purchase", "item_id", "99", "qty", "1"}, 0},
		{"purchase", []string{"action", "addons.purchase", "item_id", "6", "qty", "1"}, 1},
		{"order", []string{"action", "numbers.order", "type", "local", "search", "312", "quantity", "2", "fill_quantity", "1"}, 2},
		{"refused order", []string{"action", "numbers.order", "type", "local", "search", "31", "quantity", "2", "fill_quantity", "1"}, 2},
		{"click to call", []string{"action", "clickto.vr", "menu_id", "1", "phone_to_call", "5551112222"}, 2},
	}
	for _, s := range steps {
		e.call(s.kv...)
		if got := count(); got != s.want {
			t.Errorf("after %s: %d changes, want %d", s.name, got, s.want)
		}
	}
	e.sim.AddMenu("77")
	if err := e.sim.SetUsage(6, 1, 200); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Errorf("after AddMenu and SetUsage: %d changes, want 4", got)
	}
}

func TestConcurrentOrdersNeverShareANumber(t *testing.T) {
	e := newEnv(t, WithInventory(100))
	e.client = &http.Client{} // keep-alive is fine without faults
	before := addOn(t, e.sim, 6)

	var (
		mu   sync.Mutex
		got  []string
		wg   sync.WaitGroup
		errs = make(chan error, 40)
	)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				_, body, err := e.do(context.Background(), query("action", "numbers.order", "type", "local",
					"search", "312", "quantity", "5", "fill_quantity", "0", "order_slot", "1"))
				if err != nil {
					errs <- err
					return
				}
				var r xmlResponse
				if err := xml.Unmarshal([]byte(body), &r); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, r.Description.Numbers...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// 200 asked, 100 in stock: exactly the stock is handed out, once each.
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] {
			t.Errorf("%s handed out twice", n)
		}
		seen[n] = true
	}
	if len(got) != 100 {
		t.Errorf("%d numbers handed out, want the 100 in stock", len(got))
	}
	after := addOn(t, e.sim, 6)
	if after.InUse-before.InUse != len(got) || after.TotalQty-before.TotalQty != len(got) {
		t.Errorf("Local Number went from %+v to %+v for %d numbers", before, after, len(got))
	}
	if n := len(e.sim.Ordered()); n != len(got) {
		t.Errorf("Ordered has %d numbers, answers had %d", n, len(got))
	}
}

func TestCallConnectedOrFailed(t *testing.T) {
	tests := []struct {
		name, menu, phone string
		wantFailure       string // empty: success
	}{
		{"default menu 1", "1", "5551112222", ""},
		{"vendor example menu", "55443322", "5551112222", ""},
		{"added menu", "4242", "15551112222", ""},
		{"unknown menu", "99", "5551112222", "unknown menu_id"},
		{"no menu", absent, "5551112222", "menu_id is required"},
		{"no phone", "1", absent, "phone_to_call is required"},
		{"formatted phone", "1", "555-111-2222", "phone_to_call must be 7 to 15 digits"},
		{"short phone", "1", "555111", "phone_to_call must be 7 to 15 digits"},
		{"long phone", "1", "5551112222333444", "phone_to_call must be 7 to 15 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.sim.AddMenu("4242")
			resp, body, err := e.do(context.Background(), query("action", "clickto.vr", "menu_id", tt.menu, "phone_to_call", tt.phone))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantFailure == "" {
				if body != "Call Connected" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
					t.Errorf("got %q (%s), want plain text Call Connected", body, resp.Header.Get("Content-Type"))
				}
				return
			}
			wantFailed(t, parse(t, body), tt.wantFailure)
		})
	}
}

func TestLatencyRespectsTheClientGivingUp(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("numbers.order", Fault{Latency: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := e.do(ctx, query("action", "numbers.order", "type", "local", "search", "312", "quantity", "1", "fill_quantity", "1"))
		done <- err
	}()
	waitFor(t, func() bool { return e.sim.CallCount("numbers.order") == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	// Close waits for the handler: it returns only if the wait ended with
	// the request.
	e.srv.Close()
	if got := e.sim.Ordered(); len(got) != 0 {
		t.Errorf("numbers ordered after the client gave up: %v", got)
	}
	if got := e.sim.Calls()[0].Fault; got != "latency=1h0m0s" {
		t.Errorf("call log fault %q", got)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(time.Millisecond)
	}
}
