package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dialogbot/dialogbot/alerts"
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/config"
	"github.com/slack-go/slack"
)

// ServeOption configures Serve.
type ServeOption func(*serveOptions)

type serveOptions struct {
	connected *bot.Bot // a transport already connecting (RunServe)
	botOpts   []bot.Option
	started   func(*bot.Bot)
}

// WithBotOptions passes options to the Slack transport.
func WithBotOptions(o ...bot.Option) ServeOption {
	return func(s *serveOptions) { s.botOpts = append(s.botOpts, o...) }
}

// WithConnectedBot serves with b, a transport made with a nil handler and
// already connecting (bot.Connect), instead of a new one.
func WithConnectedBot(b *bot.Bot) ServeOption { return func(s *serveOptions) { s.connected = b } }

// OnBot is called with the transport before it connects (for readiness).
func OnBot(f func(*bot.Bot)) ServeOption { return func(s *serveOptions) { s.started = f } }

// Serve runs the Slack bot, and the alerts when ALERT_CHANNEL is set, until
// ctx ends.
func (a *App) Serve(ctx context.Context, opts ...ServeOption) error {
	var so serveOptions
	for _, o := range opts {
		o(&so)
	}
	cfg := a.Config
	botOpts := append([]bot.Option{bot.WithLogger(a.Log), bot.WithHome(a.home), bot.WithGroupsChanged(a.groupChanged)}, so.botOpts...)
	botOpts = append(botOpts, a.Hooks.Bot...)
	b := so.connected
	if b != nil {
		b.Use(a.Handler, botOpts...)
	} else {
		var err error
		if b, err = bot.New(botConfig(cfg), a.Handler, botOpts...); err != nil {
			return err
		}
	}
	if so.started != nil {
		so.started(b)
	}
	stopAlerts, err := a.StartAlerts(ctx, bot.NewPoster(b.API()))
	if err != nil {
		return err
	}
	a.Groups.SetLister(bot.NewGroupLister(b.API()))
	groupsCtx, stopGroups := context.WithCancel(ctx)
	var groups sync.WaitGroup
	groups.Go(func() { a.Groups.Run(groupsCtx, cfg.GroupRefresh) })
	defer groups.Wait()
	defer stopGroups()
	// The alert run in flight gets SHUTDOWN_TIMEOUT from the moment the
	// shutdown begins, alongside the bot's own in-flight work, not after
	// it: the process exits within SHUTDOWN_TIMEOUT.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	alertsDone := make(chan struct{})
	go func() {
		defer close(alertsDone)
		<-runCtx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.shutdownTimeout())
		defer cancel()
		if err := stopAlerts(sctx); err != nil {
			a.Log.Warn("shutdown: the alert run in flight did not finish in time; it was cut short", "timeout", a.shutdownTimeout(), "err", err)
		}
	}()
	err = b.Run(runCtx)
	stopRun()
	<-alertsDone
	return err
}

// shutdownTimeout is SHUTDOWN_TIMEOUT, or the bot's default.
func (a *App) shutdownTimeout() time.Duration {
	if a.Config.ShutdownTimeout > 0 {
		return a.Config.ShutdownTimeout
	}
	return 10 * time.Second
}

// sweepEvery is how often expired requests are closed and reminders sent:
// every minute, or a quarter of APPROVAL_REMIND_AFTER when that is short,
// so a reminder is late by at most a quarter of its wait.
func sweepEvery(remindAfter time.Duration) time.Duration {
	if remindAfter > 0 && remindAfter/4 < time.Minute {
		return max(remindAfter/4, 100*time.Millisecond)
	}
	return time.Minute
}

// groupChanged applies Slack's word that a group's members changed: the
// removed lose what the group gave them at once, and the group is read
// again for the rest (if that fails, the removals still stand).
func (a *App) groupChanged(ctx context.Context, group string, removed []string) {
	if !a.Groups.Follows(group) {
		return
	}
	a.Groups.Removed(group, removed)
	if err := a.Groups.RefreshGroup(ctx, group); err != nil {
		a.Log.WarnContext(ctx, "user group changed but could not be read", "group_id", group, "err", err)
	}
	a.Log.InfoContext(ctx, "user group changed", "group_id", group, "removed", len(removed))
}

// StartAlerts makes p where the capacity alerts go and, when ALERT_CHANNEL
// is set, starts their schedule. stop ends the schedule (waiting, within
// its ctx, for a check in progress); with alerts off it does nothing.
func (a *App) StartAlerts(ctx context.Context, p alerts.Poster) (stop func(context.Context) error, err error) {
	a.Poster.Set(p)
	if a.Alerts == nil {
		return func(context.Context) error { return nil }, nil
	}
	if err := a.Alerts.Start(ctx); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return a.Alerts.Stop, nil
}

func (a *App) home(ctx context.Context, userID string) (slack.HomeTabViewRequest, error) {
	m, err := a.Handler.Home(ctx, userID)
	if err != nil {
		return slack.HomeTabViewRequest{}, err
	}
	return bot.HomeTab(m), nil
}

// botConfig is what the Slack transport needs of the settings.
func botConfig(cfg *config.Config) bot.Config {
	return bot.Config{
		BotToken:        cfg.SlackBotToken.Value(),
		AppToken:        cfg.SlackAppToken.Value(),
		APIURL:          cfg.SlackAPIURL,
		Workers:         cfg.Workers,
		ShutdownTimeout: cfg.ShutdownTimeout,
		SweepInterval:   sweepEvery(cfg.ApprovalRemindAfter),
	}
}
