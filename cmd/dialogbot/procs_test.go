package main

import (
	"runtime"
	"testing"
)

// TestOneProcPutsBack: serve starts on one P and gets back what the
// GOMAXPROCS variable says, or else the runtime's own default (with its
// updates), not a number frozen at start.
func TestOneProcPutsBack(t *testing.T) {
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	custom := def + 1
	tests := []struct {
		name string
		env  env
		want int
	}{
		{name: "GOMAXPROCS set", env: env{"GOMAXPROCS": "3"}, want: custom},
		// The runtime ignores a value that is not a positive number.
		{name: "GOMAXPROCS not a number", env: env{"GOMAXPROCS": "abc"}, want: def},
		{name: "GOMAXPROCS zero", env: env{"GOMAXPROCS": "0"}, want: def},
		// Whatever it was at start, the default comes back.
		{name: "GOMAXPROCS unset", env: env{}, want: def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As the runtime would have it at start with the variable
			// set (or after some other call).
			runtime.GOMAXPROCS(custom)
			restore := oneProc(tt.env.lookup)
			if n := runtime.GOMAXPROCS(0); n != 1 {
				t.Fatalf("GOMAXPROCS %d while starting, want 1", n)
			}
			restore()
			restore() // once only
			if n := runtime.GOMAXPROCS(0); n != tt.want {
				t.Errorf("GOMAXPROCS %d after start, want %d", n, tt.want)
			}
		})
	}
}
