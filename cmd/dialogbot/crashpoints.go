//go:build crashpoints

package main

// Built only with -tags crashpoints, for the tests that kill `serve` at
// each step of an approval (internal/replicatest): DIALOGBOT_CRASH_AT names
// the step (approval.StepClaimed, ...) at which the process kills itself
// with SIGKILL, as a crash or an OOM kill would. Such a build also sweeps
// every 250ms and takes a request left executing for 2s as interrupted, so
// that a restart shows its end at once. The program people run has none
// of this.

import (
	"os"
	"syscall"
	"time"

	"github.com/dialogbot/dialogbot/approval"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/internal/app"
)

func init() {
	at := os.Getenv("DIALOGBOT_CRASH_AT")
	hooks := app.Hooks{
		Approval: []approval.Option{
			approval.WithStaleExecuting(2 * time.Second),
			approval.WithStepHook(func(step string) {
				if step == at {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {} // the signal is on its way
				}
			}),
		},
		Bot: []bot.Option{bot.WithSweepInterval(250 * time.Millisecond)},
	}
	serveRunOptions = append(serveRunOptions, app.WithRunHooks(hooks))
}
