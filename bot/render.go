package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/reply"
	"github.com/slack-go/slack"
)

// Slack's limits on what one message may hold.
const (
	maxBlocks        = 50
	maxSectionText   = 3000
	maxFieldText     = 2000
	maxFields        = 10
	maxHeaderText    = 150
	maxButtonText    = 75
	maxConfirmText   = 300
	maxFallbackText  = 3000
	maxContextText   = 2000
	maxConfirmTitle  = 100
	maxConfirmButton = 30
)

// Escape makes text safe for mrkdwn: Slack reads &, < and > as markup
// (links, mentions, <!channel>), so text from users or DialogTech has them
// written as entities.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return escaper.Replace(s)
}

// escaper is shared: a strings.Replacer is safe for concurrent use.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mrkdwn renders plain reply text for Slack: escaped, with mentions.
func mrkdwn(s string) string {
	return reply.ExpandMentions(s, Escape, func(id string) string { return "<@" + id + ">" })
}

// plain renders reply text for a plain_text object, which Slack does not
// parse: mentions become @id.
func plain(s string) string {
	return reply.ExpandMentions(s, func(s string) string { return s }, func(id string) string { return "@" + id })
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Text renders a message's fallback text (notifications, screen readers).
func Text(m reply.Message) string { return truncate(mrkdwn(m.Text), maxFallbackText) }

// Blocks renders a reply as Block Kit, within Slack's limits.
func Blocks(m reply.Message) []slack.Block { return blocksWithin(m, maxBlocks) }

func blocksWithin(m reply.Message, maxBlocks int) []slack.Block {
	var out []slack.Block
	for _, b := range m.Blocks {
		out = append(out, block(b)...)
	}
	if len(out) > maxBlocks {
		more := len(out) - (maxBlocks - 1)
		out = append(out[:maxBlocks-1], slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("…and %d more", more), false, false)))
	}
	return out
}

func md(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn(s), limit), false, false)
}

func pt(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, truncate(plain(s), limit), true, false)
}

func block(b reply.Block) []slack.Block {
	switch b := b.(type) {
	case reply.Header:
		return []slack.Block{slack.NewHeaderBlock(pt(b.Text, maxHeaderText))}
	case reply.Section:
		if b.Text == "" {
			return nil
		}
		return []slack.Block{slack.NewSectionBlock(md(b.Text, maxSectionText), nil, nil)}
	case reply.Fields:
		var out []slack.Block
		for i := 0; i < len(b.Fields); i += maxFields {
			end := min(i+maxFields, len(b.Fields))
			var fs []*slack.TextBlockObject
			for _, f := range b.Fields[i:end] {
				text := "*" + mrkdwn(f.Label) + "*\n" + mrkdwn(f.Value)
				fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxFieldText), false, false))
			}
			out = append(out, slack.NewSectionBlock(nil, fs, nil))
		}
		return out
	case reply.Usage:
		text := fmt.Sprintf("*%s*  `%d/%d`\n`%s` %s", mrkdwn(b.Label), b.InUse, b.Total, reply.Bar(b.InUse, b.Total, 20), percent(b.InUse, b.Total))
		if b.Note != "" {
			text += " · " + mrkdwn(b.Note)
		}
		return []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxSectionText), false, false), nil, nil)}
	case reply.Context:
		return []slack.Block{slack.NewContextBlock("", md(b.Text, maxContextText))}
	case reply.Actions:
		var els []slack.BlockElement
		for _, btn := range b.Buttons {
			e := slack.NewButtonBlockElement(btn.ActionID, btn.Value, pt(btn.Text, maxButtonText))
			switch btn.Style {
			case reply.Primary:
				e.Style = slack.StylePrimary
			case reply.Danger:
				e.Style = slack.StyleDanger
			}
			if c := btn.Confirm; c != nil {
				e.Confirm = slack.NewConfirmationBlockObject(pt(c.Title, maxConfirmTitle), pt(c.Text, maxConfirmText), pt(c.Confirm, maxConfirmButton), pt(c.Deny, maxConfirmButton))
			}
			els = append(els, e)
		}
		if len(els) == 0 {
			return nil
		}
		return []slack.Block{slack.NewActionBlock("", els...)}
	case reply.Divider:
		return []slack.Block{slack.NewDividerBlock()}
	}
	return nil
}

func percent(inUse, total int) string {
	if total <= 0 {
		return "no capacity"
	}
	return fmt.Sprintf("%d%% used · %d left", inUse*100/total, max(total-inUse, 0))
}
