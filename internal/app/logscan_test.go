package app_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/secrettest"
	"github.com/dialogbot/dialogbot/store"
)

// Everything serve logs at debug level, without the redacting handler,
// across approvals, denials and every way DialogTech fails (HTTP 500, a
// failed result that echoes the key, connections dropped before and after
// the call, calls still hanging at shutdown), holds neither the DialogTech
// secret nor a Slack token. Nor do /metrics and /readyz.
func TestNoSecretInLogs(t *testing.T) {
	w := newWorld(t, options{env: map[string]string{"SHUTDOWN_TIMEOUT": "1s"}})
	st := w.openStore()

	approved := w.ask(requester, "/numbers order 312 1")
	w.click(approver, approved, "Approve")
	w.updated(approved.TS, "ordered:")

	denied := w.ask(requester, "/addons buy 6 1")
	w.deny(approver, denied, "not this quarter")
	w.updated(denied.TS, "Denied")

	cancelled := w.ask(requester, "/numbers order 312 2")
	w.slash(requester, "/addons cancel "+requestID(t, cancelled))
	w.updated(cancelled.TS, "Cancelled")

	faults := []struct {
		name  string
		fault dialogsim.Fault
	}{
		{"http 500", dialogsim.Fault{Status: 500}},
		{"failed result echoing the key", dialogsim.Fault{FailResult: "bad request secret_access_key=" + dtSecret + "&access_key=" + dtAccess}},
		{"dropped before the call", dialogsim.Fault{DropAfterRead: true}},
		{"dropped after the call", dialogsim.Fault{DropAfterExecute: true}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			w.sim.ClearFaults()
			m := w.ask(requester, "/numbers order 312 1")
			w.sim.InjectFault("", f.fault)
			w.slash(requester, "/addons")
			w.slash(requester, "/call vr 1 3125550100")
			w.click(approver, m, "Approve")
			r := w.waitFinal(st, requestID(t, m))
			if r.State == store.StateSucceeded {
				t.Errorf("request %s succeeded despite %s", r.ID, f.name)
			}
			w.updated(m.TS, "Approved")
		})
	}
	w.sim.ClearFaults()

	_, metricsBody := w.get("/metrics")
	_, readyBody := w.get("/readyz")

	// Calls that never answer, cut short when the shutdown timeout runs out.
	w.sim.InjectFault(dialog.ActionAddOnsList, dialogsim.Fault{Latency: time.Minute})
	w.sim.InjectFault(dialog.ActionClickToVR, dialogsim.Fault{Latency: time.Minute})
	before := w.sim.CallCount("")
	for _, text := range []string{"/addons", "/call vr 1 3125550100"} {
		cmd, rest, _ := strings.Cut(text, " ")
		if _, err := w.slack.SendSlashCommand(w.ctx(), slackCommand(cmd, rest)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.sim.CallCount("") < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("the hanging calls never reached DialogTech")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.stop()
	w.sim.ClearFaults()

	logs := w.logs.String()
	secrettest.AssertNoSecret(t, []string{dtSecret, botToken, appToken}, logs, metricsBody, readyBody)

	// The failures and the shutdown really happened and were logged.
	for _, want := range []string{"request executed", "shutdown: in-flight work did not finish in time", "command failed"} {
		if !strings.Contains(logs, `"msg":"`+want+`"`) {
			t.Errorf("no %q line in the logs", want)
		}
	}

	// One line per command and per decision, with who, what and how it
	// ended.
	lines := logLines(t, logs)
	wantLine(t, lines, map[string]string{"msg": "command", "command": "/numbers order", "user_id": requester, "outcome": "ok", "request_id": requestID(t, approved)})
	wantLine(t, lines, map[string]string{"msg": "action", "action": "request.approve", "user_id": approver, "outcome": "ok", "request_id": requestID(t, approved)})
	wantLine(t, lines, map[string]string{"msg": "request approved", "user_id": approver, "request_id": requestID(t, approved)})
	wantLine(t, lines, map[string]string{"msg": "request executed", "outcome": "succeeded", "request_id": requestID(t, approved)})
	wantLine(t, lines, map[string]string{"msg": "deny", "user_id": approver, "outcome": "ok", "request_id": requestID(t, denied)})
	wantLine(t, lines, map[string]string{"msg": "request denied", "user_id": approver, "request_id": requestID(t, denied)})
	wantLine(t, lines, map[string]string{"msg": "command", "command": "/addons cancel", "user_id": requester, "outcome": "ok", "request_id": requestID(t, cancelled)})
	wantLine(t, lines, map[string]string{"msg": "request cancelled", "user_id": requester, "request_id": requestID(t, cancelled)})
	wantLine(t, lines, map[string]string{"msg": "command", "command": "/call vr", "user_id": requester, "outcome": "error"})
	if code := readyCode(w); code != 0 {
		t.Errorf("ops server still up after shutdown (GET /readyz = %d)", code)
	}
}

func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// wantLine fails unless some line has every field of want.
func wantLine(t *testing.T, lines []map[string]any, want map[string]string) {
	t.Helper()
next:
	for _, l := range lines {
		for k, v := range want {
			if s, ok := l[k].(string); !ok || s != v {
				continue next
			}
		}
		return
	}
	t.Errorf("no log line with %v", want)
}

// readyCode is /readyz's status, 0 when nothing answers.
func readyCode(w *world) int {
	resp, err := http.Get(w.opsURL + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
