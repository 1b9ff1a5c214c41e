package dialog_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/secrettest"
)

const (
	simAccess = "AK-sim-1"
	simSecret = "s3cr3t-KEY-123"
)

// newSimClient serves a fresh simulator and returns a client for it that
// logs at debug level into the returned buffer.
func newSimClient(t *testing.T, timeout time.Duration) (*dialogsim.Sim, *dialog.Client, *bytes.Buffer) {
	t.Helper()
	sim := dialogsim.New(dialogsim.WithCredentials(simAccess, simSecret))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	logs := new(bytes.Buffer)
	c, err := dialog.NewClient(
		dialog.WithCredentials(simAccess, simSecret),
		dialog.WithBaseURL(srv.URL+"/ibp_api.php"),
		dialog.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		dialog.WithTimeout(timeout),
		dialog.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, logs
}

// callCount waits, within a deadline, for the simulator to have logged
// want calls: a client that gave up may close the connection before the
// server has parsed the request it was sent.
func callCount(sim *dialogsim.Sim, action string, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := sim.CallCount(action)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var order = dialog.OrderRequest{Type: dialog.Local, Search: "312", Quantity: 2, AllOrNothing: true}

// The acceptance test of the unknown outcome, against the simulator: an
// order whose answer is lost is reported as such and sent exactly once.
func TestSimOrderUnknownOutcome(t *testing.T) {
	tests := []struct {
		name    string
		fault   dialogsim.Fault
		timeout time.Duration
	}{
		{"connection dropped after reading", dialogsim.Fault{DropAfterRead: true}, 10 * time.Second},
		{"connection dropped after ordering", dialogsim.Fault{DropAfterExecute: true}, 10 * time.Second},
		{"500", dialogsim.Fault{Status: http.StatusInternalServerError}, 10 * time.Second},
		{"latency beyond the client timeout", dialogsim.Fault{Latency: time.Minute}, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, logs := newSimClient(t, tt.timeout)
			sim.InjectFault(dialog.ActionNumbersOrder, tt.fault)
			res, err := c.OrderNumbers(t.Context(), order)
			if !errors.Is(err, dialog.ErrUnknownOutcome) {
				t.Errorf("OrderNumbers = %+v, %v; want ErrUnknownOutcome", res, err)
			}
			if n := callCount(sim, dialog.ActionNumbersOrder, 1); n != 1 {
				t.Errorf("CallCount(numbers.order) = %d, want 1", n)
			}
			secrettest.AssertNoSecret(t, []string{simSecret}, append(secrettest.ErrorTexts(err), logs.String())...)
		})
	}
}

func TestSimOrderRefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := dialog.NewClient(dialog.WithCredentials(simAccess, simSecret), dialog.WithBaseURL("http://"+addr+"/ibp_api.php"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.OrderNumbers(t.Context(), order)
	var te *dialog.TransportError
	if !errors.As(err, &te) || te.Sent {
		t.Errorf("err = %v, want a *TransportError with Sent=false", err)
	}
	if errors.Is(err, dialog.ErrUnknownOutcome) {
		t.Errorf("refused connection reported as unknown outcome: %v", err)
	}
	secrettest.AssertNoSecret(t, []string{simSecret}, secrettest.ErrorTexts(err)...)
}

// Every action round-trips through the simulator: what it writes, the
// client reads.
func TestSimRoundTrip(t *testing.T) {
	sim, c, _ := newSimClient(t, 10*time.Second)
	ctx := t.Context()

	addOns, err := c.ListAddOns(ctx)
	if err != nil {
		t.Fatalf("ListAddOns: %v", err)
	}
	if len(addOns) == 0 {
		t.Fatal("ListAddOns returned no add-ons")
	}
	if _, err := c.PurchaseAddOn(ctx, dialog.PurchaseRequest{ItemID: 6, Qty: 2}); err != nil {
		t.Fatalf("PurchaseAddOn: %v", err)
	}
	res, err := c.OrderNumbers(ctx, order)
	if err != nil {
		t.Fatalf("OrderNumbers: %v", err)
	}
	if res.Quantity != 2 || len(res.Numbers) != 2 {
		t.Errorf("OrderNumbers = %+v, want 2 numbers", res)
	}
	if err := c.CallVR(ctx, "55443322", "3125550100"); err != nil {
		t.Fatalf("CallVR: %v", err)
	}

	sim.InjectFault(dialog.ActionAddOnsPurchase, dialogsim.Fault{FailResult: "no such item", Times: 1})
	_, err = c.PurchaseAddOn(ctx, dialog.PurchaseRequest{ItemID: 6, Qty: 1})
	var ae *dialog.APIError
	if !errors.As(err, &ae) || errors.Is(err, dialog.ErrUnknownOutcome) {
		t.Errorf("PurchaseAddOn with a failed result = %v, want *APIError", err)
	}
	for action, want := range map[string]int{
		dialog.ActionAddOnsList: 1, dialog.ActionAddOnsPurchase: 2, dialog.ActionNumbersOrder: 1, dialog.ActionClickToVR: 1,
	} {
		if n := sim.CallCount(action); n != want {
			t.Errorf("CallCount(%s) = %d, want %d", action, n, want)
		}
	}
}
