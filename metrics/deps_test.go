package metrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoMetricsLibraryInTheBinary: dialogbot does not link the Prometheus
// client library or protobuf, whose package initialisation and size cost
// its start-up; the test files may use them.
func TestNoMetricsLibraryInTheBinary(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), gotool, "list", "-deps", "github.com/dialogbot/dialogbot/cmd/dialogbot").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(pkgs), out)
	}
	for _, p := range pkgs {
		for _, banned := range []string{"github.com/prometheus/", "google.golang.org/protobuf/"} {
			if strings.HasPrefix(p, banned) {
				t.Errorf("cmd/dialogbot depends on %s", p)
			}
		}
	}
}
