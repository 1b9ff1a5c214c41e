package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/dialog"
	"github.com/dialogbot/dialogbot/dialog/dialogsim"
	"github.com/dialogbot/dialogbot/internal/app"
)

// TestShutdownBoundsAlertRun: SIGTERM (the context ending) while an alert
// run waits on a slow DialogTech: Serve returns within SHUTDOWN_TIMEOUT,
// not when the read ends.
func TestShutdownBoundsAlertRun(t *testing.T) {
	t.Parallel()
	w := newAlertWorld(t)
	const timeout = time.Second
	cfg := w.config(map[string]string{"SHUTDOWN_TIMEOUT": timeout.String()})
	// Every read of the add-ons hangs far longer than the shutdown may.
	w.sim.InjectFault(dialog.ActionAddOnsList, dialogsim.Fault{Latency: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, w.logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	deadline := time.Now().Add(alertWait)
	for w.sim.CallCount(dialog.ActionAddOnsList) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alert run started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		// The bound, and a margin for a busy machine far below the read's
		// minute.
		if took := time.Since(start); took > timeout+10*time.Second {
			t.Errorf("Serve returned %s after the shutdown began; SHUTDOWN_TIMEOUT is %s", took, timeout)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("Serve did not return within 45s of the shutdown; SHUTDOWN_TIMEOUT is 1s")
	}
}
