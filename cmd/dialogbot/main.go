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
	"os/signal"
	"strings"
	"syscall"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/dialog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// usageLine lists the subcommands that exist.
const usageLine = "usage: dialogbot [serve] | console | env | version | help"

const helpText = usageLine + `

commands:
  serve    run the bot over Slack Socket Mode (the default)
  console  run the same commands and approvals in this terminal, no Slack needed
  env      print every setting (environment variable) with its default and meaning
  version  print the version
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

	case "version":
		fmt.Fprintln(stdout, "dialogbot", dialog.Version)
		return 0

	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, helpText)
		return 0

	default:
		return usageError(stderr, fmt.Sprintf("unknown command %q", cmd))
	}
}

func usageError(stderr io.Writer, problem string) int {
	fmt.Fprintf(stderr, "dialogbot: %s\n%s\n", problem, usageLine)
	return 2
}

// loadConfig reads and checks the settings for mode. When one is missing or
// wrong it prints exactly one line naming the variable (never a secret's
// value) and returns false; the caller exits 1.
func loadConfig(getenv func(string) (string, bool), mode config.Mode, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.LoadFrom(getenv)
	if err == nil {
		err = cfg.Validate(mode)
	}
	if err != nil {
		fmt.Fprintln(stderr, "dialogbot:", firstProblem(err))
		return nil, false
	}
	return cfg, true
}

// firstProblem is the first of possibly several joined problems: one line
// is what a person fixes first, and the next run shows the next one.
func firstProblem(err error) string {
	var se *config.SettingError
	if errors.As(err, &se) {
		return se.Error()
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
