package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/dialogbot/dialogbot/config"
	"github.com/dialogbot/dialogbot/console"
	"github.com/dialogbot/dialogbot/internal/app"
	"github.com/dialogbot/dialogbot/membership"
)

// serveRunOptions are added by builds with extra hooks (crashpoints.go).
var serveRunOptions []app.RunOption

// serve runs the Slack bot until a signal; 0 on a clean stop.
func serve(ctx context.Context, getenv func(string) (string, bool), stderr io.Writer) int {
	// Until it is connected the program is a chain of waits on Slack: on
	// one P no thread is started, and no goroutine handed to another
	// core, for it (half a millisecond of a start on a busy machine).
	// RunServe gives the Ps back once Slack has answered.
	procs := oneProc(getenv)
	defer procs()
	cfg, ok := loadConfig(getenv, config.ModeServe, stderr)
	if !ok {
		return 1
	}
	log := newLogger(cfg, stderr, cfg.LogLevel())
	// RunServe logs the settings' warnings and "starting" with the
	// settings once the connection to Slack is up, catches the shutdown
	// signals from then on, and serves /healthz, /readyz and /metrics on
	// HTTP_ADDR.
	opts := append([]app.RunOption{app.WithSignals(shutdownSignals...), app.OnStarted(procs)}, serveRunOptions...)
	if err := app.RunServe(ctx, cfg, log, opts...); err != nil {
		fmt.Fprintln(stderr, "dialogbot:", oneLine(app.Redact(err.Error(), cfg.Secrets())))
		return 1
	}
	log.Info("stopped")
	return 0
}

// oneProc sets GOMAXPROCS to 1 and returns what puts it back, once: the
// value the GOMAXPROCS variable sets, or else (unset, or not a positive
// number, which the runtime ignores too) the runtime's default, which it
// then keeps updating as the machine's CPUs change.
func oneProc(getenv func(string) (string, bool)) (restore func()) {
	prev := runtime.GOMAXPROCS(1)
	return sync.OnceFunc(func() {
		if v, ok := getenv("GOMAXPROCS"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				runtime.GOMAXPROCS(prev)
				return
			}
		}
		runtime.SetDefaultGOMAXPROCS()
	})
}

// The console's people when nobody is configured: someone who asks, and
// in the sandbox an approver to switch to.
const (
	consoleUser     = "U0CONSOLE"
	consoleAsker    = "U0REQUESTER"
	consoleApprover = "U0APPROVER"
	consoleChannel  = "C0CONSOLE"
)

// runConsole runs the terminal front end on stdin/stdout.
func runConsole(ctx context.Context, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(getenv, config.ModeConsole, stderr)
	if !ok {
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, shutdownSignals...)
	defer stop()
	// In the sandbox nothing is bought, so a demonstration approver lets a
	// newcomer try the whole approval flow. Against the real API nobody is
	// made an approver who was not configured.
	demoApprover := cfg.UseSandbox() && len(cfg.Approvers) == 0 && len(cfg.ApproverGroups) == 0
	if demoApprover {
		cfg.Approvers = []string{consoleApprover}
	}
	// In a terminal session, logs below warnings would drown the replies.
	logOut := stderr
	if isTerminal(stderr) && isTerminal(stdin) {
		// The console's line editor puts the terminal in raw mode, where
		// a bare "\n" moves down without going back to the left edge.
		logOut = crlfWriter{stderr}
	}
	log := newLogger(cfg, logOut, max(cfg.LogLevel(), slog.LevelWarn))
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "dialogbot:", oneLine(app.Redact(err.Error(), cfg.Secrets())))
		return 1
	}
	defer a.Close()
	// No Slack to read user groups from: `group S... U...` says who is in
	// one, for APPROVER_GROUPS and CALLERS.
	groups := &membership.Static{}
	a.Groups.SetLister(groups)
	banner := "dialogbot console: talking to DialogTech for real; purchases spend money."
	if a.Sandbox != nil {
		banner = "sandbox: nothing is bought. DialogTech is simulated and its state is kept in " + config.RedactDatabaseURL(cfg.DatabaseURL) + "."
		if demoApprover {
			banner += " APPROVERS is empty, so " + consoleApprover + " approves here."
		}
	}
	user := consoleUser
	if len(cfg.Approvers) > 0 {
		user = consoleAsker
	}
	// Capacity alerts show up in the terminal, with working buttons.
	var stopAlerts func(context.Context) error
	opts := console.Options{UserID: user, ChannelID: consoleChannel, Banner: banner, Approvers: cfg.Approvers,
		IsApprover: a.Approvals.IsApprover,
		SetGroup: func(ctx context.Context, group string, users []string) (string, error) {
			if !a.Groups.Follows(group) {
				return "", fmt.Errorf("%s is not in APPROVER_GROUPS or CALLERS (set them before starting the console)", group)
			}
			groups.Set(group, users)
			if err := a.Groups.RefreshGroup(ctx, group); err != nil {
				return "", err
			}
			if len(users) == 0 {
				return "Group " + group + " now has no members.", nil
			}
			return fmt.Sprintf("Group %s now has %d %s: %s.", group, len(users), map[bool]string{true: "member", false: "members"}[len(users) == 1], strings.Join(users, ", ")), nil
		},
		OnStart: func(ch *console.Channel) {
			stop, err := a.StartAlerts(ctx, ch)
			if err != nil {
				log.Error("alerts not started", "err", err)
				return
			}
			stopAlerts = stop
		}}
	err = console.Run(ctx, a.Handler, stdin, stdout, opts)
	if stopAlerts != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		if serr := stopAlerts(stopCtx); serr != nil {
			log.Warn("alerts: stop", "err", serr)
		}
		cancel()
	}
	if err != nil {
		fmt.Fprintln(stderr, "dialogbot:", oneLine(app.Redact(err.Error(), cfg.Secrets())))
		return 1
	}
	return 0
}

// newLogger logs JSON when stderr is not a terminal (LOG_FORMAT decides
// otherwise), through a handler that scrubs every secret.
func newLogger(cfg *config.Config, w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.LogJSON(isTerminal(w)) {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(app.NewRedactingHandler(h, cfg.Secrets()))
}

// crlfWriter ends each line with "\r\n", which a terminal shows alike
// in raw mode and in its usual mode.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func isTerminal(w any) bool {
	if c, ok := w.(crlfWriter); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
