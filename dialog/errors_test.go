package dialog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"

	"github.com/dialogbot/dialogbot/internal/secrettest"
)

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&APIError{Action: "numbers.order", Result: "failed", Description: "Not enough numbers"}, "dialogtech numbers.order: failed: Not enough numbers"},
		{&APIError{Action: "addons.list", Result: "INVALID ACCOUNT"}, "dialogtech addons.list: INVALID ACCOUNT"},
		{&HTTPError{Action: "addons.list", StatusCode: 503, Body: "busy"}, "dialogtech addons.list: HTTP 503 Service Unavailable: busy"},
		{&HTTPError{Action: "addons.list", StatusCode: 500}, "dialogtech addons.list: HTTP 500 Internal Server Error"},
		{&MalformedResponseError{Action: "numbers.order", Reason: "no <quantity> in result_description"}, "dialogtech numbers.order: malformed response: no <quantity> in result_description"},
		{&ValidationError{Param: "quantity", Rule: "must be a whole number from 0 to 25"}, "quantity: must be a whole number from 0 to 25"},
		{&TransportError{Action: "addons.purchase", Op: "dial", Err: errors.New("connection refused")}, "dialogtech addons.purchase: dial (request not sent): connection refused"},
		{&TransportError{Action: "addons.purchase", Op: "timeout", Sent: true}, "dialogtech addons.purchase: timeout (request sent)"},
		{&UnknownOutcomeError{Action: "numbers.order", Err: &HTTPError{Action: "numbers.order", StatusCode: 502}}, "dialogtech: outcome unknown: dialogtech numbers.order: HTTP 502 Bad Gateway"},
		{&UnknownOutcomeError{Action: "numbers.order"}, "dialogtech numbers.order: outcome unknown"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// An unknown outcome is both ErrUnknownOutcome and its cause.
func TestUnknownOutcomeError(t *testing.T) {
	cause := &HTTPError{Action: ActionNumbersOrder, StatusCode: 500}
	err := fmt.Errorf("approval 42: %w", &UnknownOutcomeError{Action: ActionNumbersOrder, Err: cause})
	if !errors.Is(err, ErrUnknownOutcome) {
		t.Error("errors.Is(err, ErrUnknownOutcome) = false")
	}
	var he *HTTPError
	if !errors.As(err, &he) || he != cause {
		t.Errorf("errors.As(*HTTPError) = %v, want the cause", he)
	}
	var ue *UnknownOutcomeError
	if !errors.As(err, &ue) || ue.Action != ActionNumbersOrder {
		t.Errorf("errors.As(*UnknownOutcomeError) = %v", ue)
	}
	for _, other := range []error{cause, &APIError{}, &TransportError{Sent: true}, context.DeadlineExceeded} {
		if errors.Is(other, ErrUnknownOutcome) {
			t.Errorf("errors.Is(%T, ErrUnknownOutcome) = true", other)
		}
	}
}

// A *url.Error prints the whole URL; the client keeps its cause and drops
// the URL, and still lets errors.Is/As reach the cause.
func TestTransportErrorDropsURL(t *testing.T) {
	c, err := NewClient(WithCredentials(testAccessKey, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	full := DefaultBaseURL + "?action=addons.list&access_key=" + testAccessKey + "&secret_access_key=" + testSecret
	dnsErr := &net.DNSError{Err: "no such host", Name: "secure.dialogtech.com", IsNotFound: true}
	tests := []struct {
		name    string
		cause   error
		sent    bool
		wantOp  string
		wantMsg string
		wantIs  error
	}{
		{"dns", &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr}, false, "dns", "dialogtech addons.list: dns (request not sent): dial tcp: lookup secure.dialogtech.com: no such host", nil},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, false, "dial", "dialogtech addons.list: dial (request not sent): dial tcp: connect: connection refused", nil},
		{"deadline", context.DeadlineExceeded, true, "timeout", "dialogtech addons.list: timeout (request sent): context deadline exceeded", context.DeadlineExceeded},
		{"eof", io.EOF, true, "read response", "dialogtech addons.list: read response (request sent): EOF", io.EOF},
		{"write", io.ErrClosedPipe, false, "send request", "dialogtech addons.list: send request (request not sent): io: read/write on closed pipe", io.ErrClosedPipe},
		{"secret in cause", errors.New("bad key " + testSecret), true, "read response", "dialogtech addons.list: read response (request sent): bad key [REDACTED]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.transportError(context.Background(), ActionAddOnsList, tt.sent, &url.Error{Op: "Get", URL: full, Err: tt.cause})
			if err.Op != tt.wantOp || err.Sent != tt.sent {
				t.Errorf("Op, Sent = %q, %v; want %q, %v", err.Op, err.Sent, tt.wantOp, tt.sent)
			}
			if got := err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantIs)
			}
			secrettest.AssertNoSecret(t, []string{testSecret}, secrettest.ErrorTexts(err)...)
		})
	}
	// The cause with the secret in it must not stay reachable.
	terr := c.transportError(context.Background(), ActionAddOnsList, true, errors.New("k="+testSecret))
	for e := error(terr); e != nil; e = errors.Unwrap(e) {
		secrettest.AssertNoSecret(t, []string{testSecret}, e.Error())
	}
	var dns *net.DNSError
	if e := c.transportError(context.Background(), ActionAddOnsList, false, &url.Error{Op: "Get", URL: full, Err: &net.OpError{Op: "dial", Err: dnsErr}}); !errors.As(e, &dns) {
		t.Error("errors.As(*net.DNSError) = false")
	}
}

func TestRedact(t *testing.T) {
	c, err := NewClient(WithCredentials(testAccessKey, "a b/c+d"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"key a b/c+d here", "key [REDACTED] here"},
		{"?secret_access_key=a+b%2Fc%2Bd&x=1", "?secret_access_key=[REDACTED]&x=1"},
		{"/a%20b%2Fc+d", "/[REDACTED]"},
		{"secret_access_key=other-value&amp;y", "secret_access_key=[REDACTED]&amp;y"},
		{`href="?secret_access_key=zzz"`, `href="?secret_access_key=[REDACTED]"`},
		{"secret_access_key=", "secret_access_key="},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := c.redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
