package console

import (
	"errors"
	"io"
	"os"

	"golang.org/x/term"
)

// terminal is golang.org/x/term's line editor on the person's terminal:
// Left and Right move in the line, Up and Down walk the history, Ctrl-D
// on an empty line (or Ctrl-C) leaves.
type terminal struct {
	*term.Terminal
	history *history
}

// ask is a request for one line, shown after prompt. history says whether
// the line is a command that Up should bring back (a "y" at a confirmation
// is not).
type ask struct {
	prompt  string
	history bool
}

// newTerminal puts in into raw mode and returns a line editor on it, when
// in and out are both a terminal; restore gives the terminal back as it
// was. ok is false for piped input or output: then lines are read as they
// come.
func newTerminal(in io.Reader, out io.Writer) (t *terminal, restore func(), ok bool) {
	fin, okIn := in.(*os.File)
	fout, okOut := out.(*os.File)
	if !okIn || !okOut || !term.IsTerminal(int(fin.Fd())) || !term.IsTerminal(int(fout.Fd())) {
		return nil, nil, false
	}
	state, err := term.MakeRaw(int(fin.Fd()))
	if err != nil {
		return nil, nil, false
	}
	h := &history{}
	tt := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{fin, fout}, "")
	tt.History = h
	// x/term keeps Tab for completion and drops it otherwise; here it
	// separates words, as a space does.
	tt.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		return line[:pos] + " " + line[pos:], pos + 1, true
	}
	if w, hgt, err := term.GetSize(int(fout.Fd())); err == nil {
		_ = tt.SetSize(w, hgt) //nolint:errcheck // keeps the default width
	}
	return &terminal{Terminal: tt, history: h}, func() { _ = term.Restore(int(fin.Fd()), state) }, true
}

// readLines reads one line per ask. Ctrl-D on an empty line (and Ctrl-C)
// is an end of input for that one question; a failed read ends reading.
func (t *terminal) readLines(asks <-chan ask, lines chan<- input, done <-chan struct{}) {
	for {
		var a ask
		select {
		case a = <-asks:
		case <-done:
			return
		}
		t.SetPrompt(a.prompt)
		t.history.keep = a.history
		line, err := t.ReadLine()
		in := input{line: line}
		switch {
		case errors.Is(err, io.EOF):
			in = input{eof: true}
			// Leave the prompt on its own finished line, as Enter would:
			// with no prompt set, Write clears the line, writes this, and
			// the next ReadLine starts on a fresh line with its prompt.
			t.SetPrompt("")
			if _, err := t.Write([]byte(a.prompt + "\n")); err != nil {
				in = input{err: err}
			}
		case err != nil:
			in = input{err: err}
		case line == "":
			in.line = "\n" // an empty line is a line
		}
		select {
		case lines <- in:
		case <-done:
			return
		}
		if in.err != nil {
			return
		}
	}
}

// history keeps the last commands typed for Up and Down, newest first,
// and only those asked for at the command prompt.
type history struct {
	keep  bool
	lines []string
}

const historySize = 200

func (h *history) Add(line string) {
	if !h.keep || line == "" || (len(h.lines) > 0 && h.lines[0] == line) {
		return
	}
	h.lines = append([]string{line}, h.lines...)
	if len(h.lines) > historySize {
		h.lines = h.lines[:historySize]
	}
}

func (h *history) Len() int { return len(h.lines) }

func (h *history) At(i int) string { return h.lines[i] }
