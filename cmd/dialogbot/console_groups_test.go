package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// consoleGroupsScript: a team with an approver group, a second approver
// above qty:10 and callers limited to the group, tried in the console.
const consoleGroupsScript = `group S0FINANCE U0BOB U0CAROL
/addons buy 6 20
1
y
as U0ALICE
1
y
4
y
as U0BOB
4
y
as U0REQUESTER
/addons buy 6 30
as U0CAROL
6
y
as U0ALICE
10
enough for now
as U0REQUESTER
/numbers order 2 --type true800
/call vr 55443322 3125550100
as U0BOB
/call vr 55443322 555-0100
/call vr 55443322 +44 20 7946 0958
/call vr 55443322 (312) 555-0100
/addons audit
group S0FINANCE U0CAROL
whoami
as U0REQUESTER
/addons buy 6 11
as U0CAROL
/addons pending
14
y
quit
`

// TestConsoleGroupsTranscript is the two-approver flow and the approver
// group in the console, compared with testdata/console-groups.golden.
//
//	go test ./cmd/dialogbot/ -run TestConsoleGroupsTranscript -update
func TestConsoleGroupsTranscript(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "console.db")
	stdout, stderr := runConsoleScript(t, env{"DATABASE_URL": db, "APPROVERS": "U0ALICE,U0REQUESTER", "ALLOW_SELF_APPROVAL": "true", "APPROVER_GROUPS": "S0FINANCE",
		"SECOND_APPROVAL_ABOVE": "qty:10", "CALLERS": "S0FINANCE"}, consoleGroupsScript)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	got := normalise(strings.ReplaceAll(stdout, db, "<DATABASE_URL>"))
	checkGolden(t, "console-groups.golden", got)
	for _, want := range []string{
		"Group S0FINANCE now has 2 members: U0BOB, U0CAROL.",
		"You cannot approve your own request: it needs two approvers other than the requester. Nothing was changed.",
		"1 of 2: approved by @U0ALICE",
		"Final approval?",
		"You already approved this request",
		"Approved and bought",
		"Approved before the denial by: @U0CAROL",
		"Not enough free True 800 Numbers slots for 2 numbers",
		"`/addons buy 18 2`",
		"`--slots`",
		"Only the people listed in CALLERS may place calls",
		"it has no area code",
		"only +1 (North America) can be called",
		"DialogTech says the call is connected",
		"phone ******0100",
		"You are U0BOB; `as U0ALICE` to approve.",
		"Approvals: 0 of 2: 2 different approvers must approve, neither the requester\n  [14] Approve",
		"1 of 2: approved by @U0CAROL",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
}
