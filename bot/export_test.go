package bot_test

import (
	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
)

func newBot(apiURL, botTok, appTok string, h *command.Handler) (*bot.Bot, error) {
	return bot.New(bot.Config{BotToken: botTok, AppToken: appTok, APIURL: apiURL}, h)
}
