// Command dialogbot runs a DialogTech call-tracking account from Slack:
// listing add-ons, buying add-ons and ordering numbers behind a second
// person's approval, and posting capacity alerts.
//
// main only wires things together; each subcommand reads its settings from
// the environment through package config.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog"
)

func main() {
	// SIGINT and SIGTERM are caught by the subcommand that has something
	// to finish (shutdownSignals); until then they end the program at
	// once, as before main.
	code := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	os.Exit(code)
}

// shutdownSignals end serve and console cleanly: they stop taking work
// and let what was taken finish.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// usageLine lists the subcommands that exist.
const usageLine = "usage: dialogbot [serve] | console | env | version | help"

// commands are the subcommands, for suggestions.
var commands = []string{"serve", "console", "env", "version", "help"}

const helpText = usageLine + `

commands:
  serve    run the bot over Slack Socket Mode (the default)
  console  run the same commands and approvals in this terminal, no Slack needed
  env      print every setting (environment variable) with its default and meaning
  version  print the version, the commit it was built from and the Go version (also --version, -v)
  help     print this help
`

// run is the whole program behind main, with its surroundings passed in so
// that tests can drive it: args without the program name, and getenv with the
// contract of os.LookupEnv. It returns the exit status: 0 for success, 1 when
// the program could not do its work (a bad setting among them), 2 for a
// command line it does not understand.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve", "":
		if len(args) > 1 {
			return usageError(stderr, "serve takes no arguments")
		}
		return serve(ctx, getenv, stderr)

	case "console":
		if len(args) > 1 {
			return usageError(stderr, "console takes no arguments")
		}
		return runConsole(ctx, getenv, stdin, stdout, stderr)

	case "env":
		if len(args) > 1 {
			return usageError(stderr, "env takes no arguments")
		}
		// env reads no settings, so it works however broken they are.
		if err := config.Usage(stdout); err != nil {
			fmt.Fprintln(stderr, "dialogbot:", err)
			return 1
		}
		return 0

	case "version", "--version", "-version", "-v":
		if len(args) > 1 {
			return usageError(stderr, "version takes no arguments")
		}
		fmt.Fprint(stdout, versionText(debug.ReadBuildInfo()))
		return 0

	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, helpText)
		return 0

	default:
		problem := fmt.Sprintf("unknown command %q", cmd)
		if c, ok := closestCommand(cmd); ok {
			problem += fmt.Sprintf(" (did you mean %s?)", c)
		}
		return usageError(stderr, problem)
	}
}

func usageError(stderr io.Writer, problem string) int {
	fmt.Fprintf(stderr, "dialogbot: %s\n%s\n", problem, usageLine)
	return 2
}

// loadConfig reads and checks the settings for mode. When any is missing
// or wrong it prints one line for each, naming the variable (never a
// secret's value), and returns false; the caller exits 1. Nothing has
// been opened or written by then.
func loadConfig(getenv func(string) (string, bool), mode config.Mode, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.LoadFrom(getenv)
	if cfg != nil {
		err = errors.Join(err, cfg.Validate(mode))
	}
	if err != nil {
		for _, p := range problems(err) {
			fmt.Fprintln(stderr, "dialogbot:", p)
		}
		return nil, false
	}
	return cfg, true
}

// problems are the lines of possibly several joined problems, each kept
// to one line whatever a library put in it.
func problems(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, problems(e)...)
		}
		return out
	}
	return []string{oneLine(err.Error())}
}

// oneLine joins the lines of a message (a Postgres driver's, say) so that
// one failure is one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// versionText is what `dialogbot version` prints: the version, the commit
// the binary was built from and when that commit was made (as go build
// records it from a git checkout), and the Go version.
func versionText(info *debug.BuildInfo, ok bool) string {
	version := dialog.Version
	if ok && version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		version = info.Main.Version
	}
	var b strings.Builder
	fmt.Fprintf(&b, "dialogbot %s\n", version)
	goVersion := runtime.Version()
	if ok {
		var rev, at string
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		switch {
		case rev != "":
			fmt.Fprintf(&b, "commit %s", rev)
			if at != "" {
				fmt.Fprintf(&b, " (%s)", at)
			}
			if modified {
				b.WriteString(", with uncommitted changes")
			}
			b.WriteString("\n")
		default:
			b.WriteString("commit unknown (go run and builds outside a git checkout do not record it; go build in one does)\n")
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
	}
	fmt.Fprintf(&b, "built with %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// closestCommand is the subcommand one slip away from word, if any.
func closestCommand(word string) (string, bool) {
	word = strings.ToLower(strings.TrimLeft(word, "-"))
	for _, c := range commands {
		if len(word) >= 3 && (strings.HasPrefix(c, word) || oneSlip(word, c)) {
			return c, true
		}
	}
	return "", false
}

// oneSlip reports whether a and b differ by one letter added, dropped,
// changed, or two neighbours swapped.
func oneSlip(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		var diff []int
		for i := range a {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		return len(diff) == 1 || len(diff) == 2 && diff[1] == diff[0]+1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
	case 1:
		for i := range b {
			if a == b[:i]+b[i+1:] {
				return true
			}
		}
	}
	return false
}
