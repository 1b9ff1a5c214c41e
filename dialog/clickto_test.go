package dialog

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePhone(t *testing.T) {
	refused := &ValidationError{Param: "phone_to_call", Rule: "must be a phone number of 7 to 15 digits, e.g. 3125550100"}
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"3125550100", "3125550100", nil},
		{"+1 (312) 555-0100", "3125550100", nil},
		{"1-312-555-0100", "3125550100", nil},
		{"13125550100", "3125550100", nil},
		{"(312) 555.0100", "3125550100", nil},
		{"  312 555 0100 ", "3125550100", nil},
		{"+44 20 7946 0958", "442079460958", nil},
		{"+49 30 1234567", "49301234567", nil},
		{"5550100", "5550100", nil},                 // 7 digits: shortest accepted
		{"123456789012345", "123456789012345", nil}, // 15 digits: E.164's longest
		{"23125550100", "23125550100", nil},         // 11 digits not starting with 1 stay
		{"555010", "", refused},                     // 6 digits
		{"1234567890123456", "", refused},           // 16 digits
		{"1555010", "1555010", nil},                 // only an 11-digit number loses its 1
		{"", "", refused},
		{"+", "", refused},
		{"++13125550100", "", refused},
		{"312+5550100", "", refused},
		{"312-555-010O", "", refused}, // letter O
		{"312 555 0100 ext 2", "", refused},
		{"٣١٢٥٥٥٠١٠٠", "", refused}, // Arabic-Indic digits
		{"312/555/0100", "", refused},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if diff := cmp.Diff(tt.wantErr, err); diff != "" {
			t.Errorf("NormalizePhone(%q) error mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestValidateCall(t *testing.T) {
	errMenu := &ValidationError{Param: "menu_id", Rule: "must be a Virtual Receptionist id (digits only)"}
	errPhone := &ValidationError{Param: "phone_to_call", Rule: "must be a phone number of 7 to 15 digits, e.g. 3125550100"}
	tests := []struct {
		menuID, phone string
		want          error
	}{
		{"55443322", "5551112222", nil},
		{"1", "5550100", nil},
		{"", "5551112222", errMenu},
		{"5544-3322", "5551112222", errMenu},
		{"menu", "5551112222", errMenu},
		{"55443322", "", errPhone},
		{"55443322", "555 111 2222", errPhone},
		{"55443322", "+15551112222", errPhone},
		{"55443322", "555010", errPhone},
		{"55443322", "1234567890123456", errPhone},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ValidateCall(tt.menuID, tt.phone)); diff != "" {
			t.Errorf("ValidateCall(%q, %q) mismatch (-want +got):\n%s", tt.menuID, tt.phone, diff)
		}
	}
}

func TestCallVR(t *testing.T) {
	c, s, _, obs := setup(t)
	s.handle(ActionClickToVR, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testFormValues(t, r, values{"action": "clickto.vr", "access_key": testAccessKey, "secret_access_key": testSecret, "menu_id": "55443322", "phone_to_call": "5551112222"})
		testQueryOrder(t, r, "action", "access_key", "secret_access_key", "menu_id", "phone_to_call")
		testHeader(t, r, "User-Agent", "dialogbot/dev")
		w.Write(readTestdata(t, "clickto-vr-success.txt"))
	})
	if err := c.CallVR(t.Context(), "55443322", "5551112222"); err != nil {
		t.Fatalf("CallVR: %v", err)
	}
	if diff := cmp.Diff([]observation{{ActionClickToVR, OutcomeSuccess}}, obs.all()); diff != "" {
		t.Errorf("observations mismatch (-want +got):\n%s", diff)
	}
}

// A call rings a real phone: like a purchase it is sent once, whatever
// the failure, though its outcome is not "unknown" in the money sense.
func TestCallVRFailures(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name         string
		handler      func(*server) http.HandlerFunc
		phone        string
		wantRequests int
		wantErr      error
		wantOutcome  string
	}{
		{
			name:         "other text",
			handler:      func(*server) http.HandlerFunc { return respond("  Invalid menu_id for key " + testSecret + "\n") },
			wantRequests: 1,
			wantErr:      &APIError{Action: ActionClickToVR, Result: "failed", Description: "Invalid menu_id for key [REDACTED]"},
			wantOutcome:  OutcomeAPIError,
		},
		{
			name:         "long text clipped on a character boundary",
			handler:      func(*server) http.HandlerFunc { return respond(long) },
			wantRequests: 1,
			wantErr:      &APIError{Action: ActionClickToVR, Result: "failed", Description: strings.Repeat("é", 100) + "…"},
			wantOutcome:  OutcomeAPIError,
		},
		{
			name:         "XML failure",
			handler:      func(*server) http.HandlerFunc { return respond(apiFailure("failed", "Invalid phone_to_call")) },
			wantRequests: 1,
			wantErr:      &APIError{Action: ActionClickToVR, Result: "failed", Description: "Invalid phone_to_call"},
			wantOutcome:  OutcomeAPIError,
		},
		{
			name:         "empty answer",
			handler:      func(*server) http.HandlerFunc { return respond("") },
			wantRequests: 1,
			wantErr:      &APIError{Action: ActionClickToVR, Result: "failed"},
			wantOutcome:  OutcomeAPIError,
		},
		{
			name:         "500 not retried",
			handler:      func(*server) http.HandlerFunc { return echoQuery(500) },
			wantRequests: 1,
			wantOutcome:  OutcomeHTTPError,
		},
		{
			name:         "dropped not retried",
			handler:      func(*server) http.HandlerFunc { return drop },
			wantRequests: 1,
			wantOutcome:  OutcomeTransportError,
		},
		{
			name:        "invalid phone",
			handler:     func(*server) http.HandlerFunc { return respond(callConnected) },
			phone:       "+1 312 555 0100",
			wantErr:     &ValidationError{Param: "phone_to_call", Rule: "must be a phone number of 7 to 15 digits, e.g. 3125550100"},
			wantOutcome: OutcomeInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, logs, obs := setup(t, WithTimeout(time.Second))
			s.handle(ActionClickToVR, tt.handler(s))
			phone := tt.phone
			if phone == "" {
				phone = "5551112222"
			}
			err := c.CallVR(t.Context(), "55443322", phone)
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, err); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
			}
			if errors.Is(err, ErrUnknownOutcome) {
				t.Errorf("clickto.vr error is ErrUnknownOutcome: %v", err)
			}
			if n := s.waitCount(ActionClickToVR, tt.wantRequests); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
			if diff := cmp.Diff([]observation{{ActionClickToVR, tt.wantOutcome}}, obs.all()); diff != "" {
				t.Errorf("observations mismatch (-want +got):\n%s", diff)
			}
			assertNoSecret(t, err, logs)
		})
	}
}

func TestDecodeResultClickTo(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    string
		wantErr error
	}{
		{"vendor example", string(readTestdata(t, "clickto-vr-success.txt")), "Call Connected", nil},
		{"surrounding whitespace", "\r\n Call Connected \n", "Call Connected", nil},
		{"other case", "call connected", "", &APIError{Action: ActionClickToVR, Result: "failed", Description: "call connected"}},
		{"more words", "Call Connected later", "", &APIError{Action: ActionClickToVR, Result: "failed", Description: "Call Connected later"}},
		{"XML failure", apiFailure("failed", " Invalid menu_id "), "", &APIError{Action: ActionClickToVR, Result: "failed", Description: "Invalid menu_id"}},
		{"XML bad login", apiFailure("INVALID ACCOUNT", ""), "", &APIError{Action: ActionClickToVR, Result: "INVALID ACCOUNT"}},
		{"XML success", apiFailure("success", "ok"), "", &MalformedResponseError{Action: ActionClickToVR, Reason: `XML success instead of the documented text "Call Connected"`}},
		{"HTML", "<html>Bad Gateway</html>", "", &APIError{Action: ActionClickToVR, Result: "failed", Description: "<html>Bad Gateway</html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResult(ActionClickToVR, []byte(tt.body))
			if got != tt.want {
				t.Errorf("DecodeResult = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantErr, err); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
