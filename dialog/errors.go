package dialog

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrUnknownOutcome marks a buying call that may have reached DialogTech but
// whose answer was lost (timeout after sending, reset connection, truncated
// body, 5xx). It must never be resent automatically: a person checks.
var ErrUnknownOutcome = errors.New("dialogtech: outcome unknown")

// APIError: DialogTech answered, and `result` was not `success`.
type APIError struct {
	Action      string
	Result      string
	Description string // result_description, trimmed and redacted
}

func (e *APIError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("dialogtech %s: %s", e.Action, e.Result)
	}
	return fmt.Sprintf("dialogtech %s: %s: %s", e.Action, e.Result, e.Description)
}

// HTTPError: DialogTech answered with a non-2xx status.
type HTTPError struct {
	Action     string
	StatusCode int
	Body       string // trimmed, redacted, at most a few hundred bytes
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("dialogtech %s: HTTP %d %s", e.Action, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// MalformedResponseError: the body was not the documented shape.
type MalformedResponseError struct {
	Action string
	Reason string
}

func (e *MalformedResponseError) Error() string {
	return fmt.Sprintf("dialogtech %s: malformed response: %s", e.Action, e.Reason)
}

// ValidationError: the input broke a documented rule; nothing was sent.
// Param is DialogTech's parameter name; Rule is readable by a Slack user
// ("must be 3 or 6 digits").
type ValidationError struct {
	Param string
	Rule  string
}

// Error is "<param>: <rule>", short enough to show a Slack user as is.
func (e *ValidationError) Error() string {
	return e.Param + ": " + e.Rule
}

// TransportError: the call failed below HTTP (DNS, refused, reset,
// timeout). Its text never contains the URL. Sent tells whether the request
// may have reached the server.
type TransportError struct {
	Action string
	Op     string // e.g. "dial", "read response", "timeout"
	Sent   bool
	Err    error // redacted cause
}

func (e *TransportError) Error() string {
	sent := "request not sent"
	if e.Sent {
		sent = "request sent"
	}
	if e.Err == nil {
		return fmt.Sprintf("dialogtech %s: %s (%s)", e.Action, e.Op, sent)
	}
	return fmt.Sprintf("dialogtech %s: %s (%s): %v", e.Action, e.Op, sent, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// UnknownOutcomeError is returned by a buying call that may have reached
// DialogTech but whose answer was lost. errors.Is(err, ErrUnknownOutcome)
// holds, and Err (the *TransportError, *HTTPError or
// *MalformedResponseError that lost the answer) stays reachable through
// errors.As.
type UnknownOutcomeError struct {
	Action string
	Err    error
}

func (e *UnknownOutcomeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("dialogtech %s: outcome unknown", e.Action)
	}
	return "dialogtech: outcome unknown: " + e.Err.Error()
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnknownOutcome) true without hiding the cause.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }
