package dialogsim

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Fault describes how the simulator misbehaves on a call. Several fields may
// be set together: Latency comes first, then the first of DropAfterRead,
// Status, FailResult; DropAfterExecute applies only when none of those three
// is set.
type Fault struct {
	// Latency delays the answer; the wait ends early, with no answer, when
	// the client gives up on the request.
	Latency time.Duration
	// Status answers this HTTP status with a short plain-text body, without
	// carrying the action out. A code outside 200-999 answers 500.
	Status int
	// FailResult answers <result>failed</result> with this description,
	// without carrying the action out.
	FailResult string
	// DropAfterRead closes the connection once the request is read, without
	// carrying the action out.
	DropAfterRead bool
	// DropAfterExecute carries the action out (numbers are taken, add-ons
	// bought) and then closes the connection without answering: the answer
	// lost in transit, whose outcome the client cannot know.
	DropAfterExecute bool
	// Times limits the fault to the next Times matching calls; 0 keeps it
	// until ClearFaults.
	Times int
}

type faultEntry struct {
	action string
	fault  Fault
	left   int
}

// InjectFault makes calls of action (every action when action is "")
// misbehave as f describes. When several injected faults match a call, the
// earliest injected one applies.
func (s *Sim) InjectFault(action string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{action: action, fault: f, left: f.Times})
}

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault picks the fault for one call and uses up one of its Times. It
// returns the zero Fault when none matches, with a short description of the
// fault for the call log.
func (s *Sim) takeFault(action string) (Fault, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		if e.action != "" && e.action != action {
			continue
		}
		if e.fault.Times > 0 {
			e.left--
			if e.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return e.fault, describeFault(e.fault)
	}
	return Fault{}, ""
}

func describeFault(f Fault) string {
	var parts []string
	if f.Latency > 0 {
		parts = append(parts, "latency="+f.Latency.String())
	}
	switch {
	case f.DropAfterRead:
		parts = append(parts, "drop_after_read")
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("status=%d", f.Status))
	case f.FailResult != "":
		parts = append(parts, "fail_result")
	case f.DropAfterExecute:
		parts = append(parts, "drop_after_execute")
	}
	return strings.Join(parts, "+")
}

// Call is one request the simulator received, whatever became of it.
type Call struct {
	Action string
	Params url.Values // every parameter; secret_access_key reads "REDACTED"
	At     time.Time
	Fault  string // the injected fault applied, e.g. "drop_after_execute"; empty when none
}

func (s *Sim) record(action string, params url.Values, fault string) {
	p := cloneValues(params)
	if vs, ok := p["secret_access_key"]; ok {
		for i := range vs {
			vs[i] = "REDACTED"
		}
	}
	at := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) >= maxCalls {
		s.calls = append(s.calls[:0], s.calls[len(s.calls)-maxCalls+1:]...)
	}
	s.calls = append(s.calls, Call{Action: action, Params: p, At: at, Fault: fault})
}

// maxCalls bounds the call log, which would otherwise grow for as long as a
// sandbox runs. Tests stay far below it.
const maxCalls = 10000

// Calls returns the calls received since New or ResetCalls, oldest first;
// only the latest 10,000 are kept.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Params = cloneValues(c.Params)
		out[i] = c
	}
	return out
}

// CallCount counts the logged calls for action; "" counts every logged call.
func (s *Sim) CallCount(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		return len(s.calls)
	}
	n := 0
	for _, c := range s.calls {
		if c.Action == action {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}
