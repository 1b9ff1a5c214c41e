// Package testlog keeps what a program under test logs, written from any
// number of goroutines or processes, for the test to read back.
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Buffer is an io.Writer that keeps everything written to it. It is safe
// for concurrent use; the zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Logger returns a logger that writes JSON lines to b at debug level, so
// that everything the code logs is there to be read.
func (b *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Count is how many JSON log lines in b carry the message msg, as msg
// reads in the JSON.
func (b *Buffer) Count(msg string) int {
	return strings.Count(b.String(), `"msg":"`+msg+`"`)
}
