// Package slacktest is a local Slack for tests: a Web API and a Socket Mode
// endpoint that the unmodified slack-go client and its socketmode package
// connect to, so that the bot's Slack transport is tested end to end without a
// workspace.
//
// It speaks the real wire protocol: apps.connections.open hands out a
// single-use WebSocket URL, the socket greets with `hello`, pings at an
// interval, carries envelopes (`slash_commands`, `interactive`, `events_api`)
// shaped as Slack sends them and reads the acknowledgements. Payloads are
// built the way Slack builds them (a block action carries the stored message
// and the pressed button as it was rendered), so a test acts as a person:
// it runs a command, presses a button, submits a modal, and then asserts on
// what that person would see — stored messages, ephemeral replies, views,
// and the posts made to a response_url.
//
// Faults are first-class because they are what the bot must survive: late
// acknowledgements answered by redelivery of the same envelope, `disconnect`
// requests, a deaf connection that stops pinging, sockets closed abruptly,
// rate limits with Retry-After, and response_urls used up. Some are always
// on, as in Slack: chat.postMessage is paced per channel (a burst of 4,
// then one a second; SetChannelRate), and answers 429 past that.
//
// Usage:
//
//	srv := slacktest.NewServer(t)
//	api := slack.New(srv.BotToken(),
//		slack.OptionAPIURL(srv.APIURL()),
//		slack.OptionAppLevelToken(srv.AppToken()))
//	client := socketmode.New(api)
//	go client.RunContext(ctx) // and drain client.Events
//	_ = srv.WaitConnections(ctx, 1)
//	d, _ := srv.SendSlashCommand(ctx, slacktest.SlashCommand{
//		Command: "/addons", UserID: "U1", ChannelID: "C1"})
//	ack, _ := srv.WaitAck(ctx, d.EnvelopeID)
//
// Tokens never appear in what the server records: an API call keeps only the
// kind of token it carried ("bot", "app" or "bad").
package slacktest
