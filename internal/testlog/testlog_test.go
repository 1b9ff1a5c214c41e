package testlog_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dialogbot/dialogbot/internal/testlog"
)

// TestBufferKeepsEveryLineFromManyGoroutines writes from many goroutines at
// once (the race detector watches) and finds every line whole.
func TestBufferKeepsEveryLineFromManyGoroutines(t *testing.T) {
	var b testlog.Buffer
	const writers, lines = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
				_ = b.String() // reads run beside the writes
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		seen[sc.Text()] = true
	}
	if len(seen) != writers*lines {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*lines)
	}
	for w := range writers {
		for i := range lines {
			if line := fmt.Sprintf("writer %d line %d", w, i); !seen[line] {
				t.Errorf("line %q is missing", line)
			}
		}
	}
}

func TestLoggerWritesJSONAtDebugLevel(t *testing.T) {
	var b testlog.Buffer
	log := b.Logger()
	log.Debug("alerts: tick", "n", 1)
	log.Info("alerts: tick", "n", 2)
	log.Warn("alerts: cannot read add-on usage")

	var levels []string
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is no JSON: %v", sc.Text(), err)
		}
		levels = append(levels, line.Level+" "+line.Msg)
	}
	want := []string{"DEBUG alerts: tick", "INFO alerts: tick", "WARN alerts: cannot read add-on usage"}
	if strings.Join(levels, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines %q, want %q", levels, want)
	}

	tests := []struct {
		msg  string
		want int
	}{
		{"alerts: tick", 2},
		{"alerts: cannot read add-on usage", 1},
		{"alerts: cannot read", 0}, // a message is matched whole
		{"alerts: tock", 0},
	}
	for _, tt := range tests {
		if got := b.Count(tt.msg); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}
