package app

import (
	"context"
	"fmt"

	"github.com/dialogbot/dialogbot/bot"
	"github.com/slack-go/slack"
)

// ServeOption configures Serve.
type ServeOption func(*serveOptions)

type serveOptions struct {
	botOpts []bot.Option
	started func(*bot.Bot)
}

// WithBotOptions passes options to the Slack transport.
func WithBotOptions(o ...bot.Option) ServeOption {
	return func(s *serveOptions) { s.botOpts = append(s.botOpts, o...) }
}

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
	botOpts := append([]bot.Option{bot.WithLogger(a.Log), bot.WithHome(a.home)}, so.botOpts...)
	b, err := bot.New(bot.Config{
		BotToken:        cfg.SlackBotToken.Value(),
		AppToken:        cfg.SlackAppToken.Value(),
		APIURL:          cfg.SlackAPIURL,
		Workers:         cfg.Workers,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}, a.Handler, botOpts...)
	if err != nil {
		return err
	}
	if so.started != nil {
		so.started(b)
	}
	a.Poster.Set(bot.NewPoster(b.API()))
	if a.Alerts != nil {
		if err := a.Alerts.Start(ctx); err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		defer a.Alerts.Stop(context.WithoutCancel(ctx)) //nolint:errcheck // shutting down
	}
	return b.Run(ctx)
}

func (a *App) home(ctx context.Context, userID string) (slack.HomeTabViewRequest, error) {
	m, err := a.Handler.Home(ctx, userID)
	if err != nil {
		return slack.HomeTabViewRequest{}, err
	}
	return bot.HomeTab(m), nil
}
