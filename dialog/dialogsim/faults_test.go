package dialogsim

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var orderThree = []string{"action", "numbers.order", "type", "local", "search", "312", "quantity", "3", "fill_quantity", "1"}

func TestFaultStatusAnswersWithoutExecuting(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("addons.purchase", Fault{Status: http.StatusServiceUnavailable, Times: 1})
	addOns := e.sim.AddOns()

	resp, body, err := e.do(context.Background(), query("action", "addons.purchase", "item_id", "6", "qty", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || body != "Service Unavailable\n" {
		t.Errorf("got %d %q, want 503 Service Unavailable", resp.StatusCode, body)
	}
	if diff := cmp.Diff(addOns, e.sim.AddOns()); diff != "" {
		t.Errorf("purchase carried out behind a 503 (-before +after):\n%s", diff)
	}
	if got := e.sim.Calls()[0].Fault; got != "status=503" {
		t.Errorf("call log fault %q", got)
	}
	// Times: 1 — the next call goes through.
	if r := e.result("action", "addons.purchase", "item_id", "6", "qty", "1"); r.Result != "success" {
		t.Errorf("second call: %q %q", r.Result, r.Description.Text)
	}
}

func TestFaultFailResultAnswersWithoutExecuting(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("numbers.order", Fault{FailResult: "inventory service unavailable"})
	wantFailed(t, e.result(orderThree...), "inventory service unavailable")
	if got := e.sim.Ordered(); len(got) != 0 {
		t.Errorf("handed out %v behind a failed result", got)
	}
}

func TestFaultDropAfterRead(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("numbers.order", Fault{DropAfterRead: true})
	stock, addOns := e.sim.Available("312"), e.sim.AddOns()

	if _, _, err := e.do(context.Background(), query(orderThree...)); err == nil {
		t.Fatal("the client got an answer from a dropped connection")
	}
	calls := e.sim.Calls()
	if len(calls) != 1 || calls[0].Action != "numbers.order" || calls[0].Fault != "drop_after_read" {
		t.Errorf("calls %+v, want the one dropped order", calls)
	}
	if got := e.sim.Ordered(); len(got) != 0 {
		t.Errorf("handed out %v", got)
	}
	if diff := cmp.Diff(stock, e.sim.Available("312")); diff != "" {
		t.Errorf("inventory changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(addOns, e.sim.AddOns()); diff != "" {
		t.Errorf("add-ons changed (-before +after):\n%s", diff)
	}
}

func TestFaultDropAfterExecute(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("numbers.order", Fault{DropAfterExecute: true})
	changed := make(chan struct{}, 1)
	e.sim.OnChange(func() { changed <- struct{}{} })
	before := addOn(t, e.sim, 6)

	if _, _, err := e.do(context.Background(), query(orderThree...)); err == nil {
		t.Fatal("the client got an answer from a dropped connection")
	}
	if n := e.sim.CallCount(""); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	ordered := e.sim.Ordered()
	if len(ordered) != 3 {
		t.Errorf("handed out %v, want the 3 ordered numbers", ordered)
	}
	for _, n := range ordered {
		for _, a := range e.sim.Available("312") {
			if a.Number == n.Number {
				t.Errorf("%s is both handed out and in stock", n.Number)
			}
		}
	}
	if got := addOn(t, e.sim, 6).InUse; got != before.InUse+3 {
		t.Errorf("Local Number in_use %d, want %d", got, before.InUse+3)
	}
	select {
	case <-changed:
	default:
		t.Error("OnChange not called for an order whose answer was lost")
	}
}

func TestFaultDropAfterExecutePurchase(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("addons.purchase", Fault{DropAfterExecute: true})
	if _, _, err := e.do(context.Background(), query("action", "addons.purchase", "item_id", "6", "qty", "2")); err == nil {
		t.Fatal("the client got an answer from a dropped connection")
	}
	if got := addOn(t, e.sim, 6).TotalQty; got != 196 {
		t.Errorf("Local Number total_qty %d, want 196: the purchase is carried out", got)
	}
}

func TestFaultLatencyThenAnswer(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("", Fault{Latency: time.Millisecond, Times: 1})
	if r := e.result("action", "addons.list"); r.Result != "success" {
		t.Errorf("%q %q", r.Result, r.Description.Text)
	}
	if got := e.sim.Calls()[0].Fault; got != "latency=1ms" {
		t.Errorf("call log fault %q", got)
	}
}

func TestFaultScope(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("numbers.order", Fault{FailResult: "order fault", Times: 2})
	e.sim.InjectFault("", Fault{FailResult: "any fault"})

	steps := []struct {
		kv   []string
		want string // failed description; empty: success
	}{
		{orderThree, "order fault"},
		{[]string{"action", "addons.list"}, "any fault"},
		{orderThree, "order fault"},
		{orderThree, "any fault"}, // the order fault is used up
	}
	for i, s := range steps {
		wantFailed(t, e.result(s.kv...), s.want)
		if t.Failed() {
			t.Fatalf("step %d", i)
		}
	}
	e.sim.ClearFaults()
	if r := e.result("action", "addons.list"); r.Result != "success" {
		t.Errorf("after ClearFaults: %q %q", r.Result, r.Description.Text)
	}
	var faults []string
	for _, c := range e.sim.Calls() {
		faults = append(faults, c.Fault)
	}
	if diff := cmp.Diff([]string{"fail_result", "fail_result", "fail_result", "fail_result", ""}, faults); diff != "" {
		t.Errorf("call log faults (-want +got):\n%s", diff)
	}
}

func TestFaultsApplyWhateverTheKeys(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("", Fault{Status: http.StatusBadGateway})
	resp, _, err := e.do(context.Background(), query("action", "addons.list", "secret_access_key", "wrong"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
}

func TestFaultStatusOutsideHTTPRangeAnswers500(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault("", Fault{Status: 42})
	resp, _, err := e.do(context.Background(), query("action", "addons.list"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
}

func TestCallLogKeepsTheLatestCalls(t *testing.T) {
	sim := New(WithSeed(1))
	for i := range maxCalls + 5 {
		sim.ServeHTTP(newRecorder(), getRequest(fmt.Sprintf("action=call-%d", i)))
	}
	calls := sim.Calls()
	if len(calls) != maxCalls || calls[0].Action != "call-5" || calls[len(calls)-1].Action != fmt.Sprintf("call-%d", maxCalls+4) {
		t.Errorf("log holds %d calls from %q to %q", len(calls), calls[0].Action, calls[len(calls)-1].Action)
	}
}
