package bot

import (
	"fmt"
	"math"
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
	maxActions       = 25
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
func mrkdwn(s string) string { return cutMrkdwn(s, math.MaxInt) }

func mrkdwnMention(id string) string { return "<@" + id + ">" }
func plainMention(id string) string  { return "@" + id }

// cutMrkdwn is s as mrkdwn (escaped, mentions as <@id>) in at most limit
// characters, cut between units (with "…") when it does not fit.
func cutMrkdwn(s string, limit int) string { return cutText(s, limit, true, mrkdwnMention) }

// cutPlain is s as plain_text (mentions as @id), cut the same way.
func cutPlain(s string, limit int) string { return cutText(s, limit, false, plainMention) }

// cutText is cut(units(s, escape, mention), limit) without making the
// units when the whole text fits, as it nearly always does. (Invalid UTF-8
// takes the units' way, which writes each bad byte as U+FFFD.)
func cutText(s string, limit int, escape bool, mention func(string) string) string {
	if utf8.ValidString(s) {
		text := func(t string) string { return t }
		if escape {
			text = Escape
		}
		if full := reply.ExpandMentions(s, text, mention); chars(full) <= limit {
			return full
		}
	}
	return cut(units(s, escape, mention), limit)
}

// A unit is the smallest piece of rendered text that may stand alone: one
// character, one entity (&amp;) or one mention (<@U…>). Cutting between
// units never splits a character, an entity or a mention, and counting
// their characters counts what Slack counts.
func mrkdwnUnits(s string) []string {
	return units(s, true, mrkdwnMention)
}

// plainUnits are for a plain_text object, which Slack does not parse:
// mentions become @id.
func plainUnits(s string) []string {
	return units(s, false, plainMention)
}

func units(s string, escape bool, mention func(string) string) []string {
	var out []string
	reply.ExpandMentions(s, func(t string) string {
		for _, r := range t {
			u := string(r)
			if escape {
				switch r {
				case '&':
					u = "&amp;"
				case '<':
					u = "&lt;"
				case '>':
					u = "&gt;"
				}
			}
			out = append(out, u)
		}
		return ""
	}, func(id string) string {
		out = append(out, mention(id))
		return ""
	})
	return out
}

// cut joins units into at most limit characters; when they do not fit it
// keeps what fits before "…".
func cut(us []string, limit int) string {
	total := 0
	for _, u := range us {
		total += utf8.RuneCountInString(u)
	}
	if total <= limit {
		return strings.Join(us, "")
	}
	var b strings.Builder
	n := 0
	for _, u := range us {
		c := utf8.RuneCountInString(u)
		if n+c > limit-1 {
			break
		}
		b.WriteString(u)
		n += c
	}
	b.WriteString("…")
	return b.String()
}

// chars is the length Slack counts: characters, not bytes.
func chars(s string) int { return utf8.RuneCountInString(s) }

// Text renders a message's fallback text (notifications, screen readers).
func Text(m reply.Message) string { return cutMrkdwn(m.Text, maxFallbackText) }

// Blocks renders a reply as Block Kit, within Slack's limits.
func Blocks(m reply.Message) []slack.Block { return blocksWithin(m, maxBlocks) }

// blocksWithin renders m in at most maxBlocks blocks. When one block per
// part is too many, runs of usage bars share sections (a line each), so
// every add-on is still shown; only past that is the tail cut, and the
// note then counts the parts it leaves out.
func blocksWithin(m reply.Message, maxBlocks int) []slack.Block {
	var out []slack.Block
	for _, b := range m.Blocks {
		out = append(out, block(b)...)
	}
	if len(out) <= maxBlocks {
		return out
	}
	out, parts := compact(m.Blocks)
	if len(out) <= maxBlocks {
		return out
	}
	// The last block says how many parts are left out; parts[i] is how
	// many reply parts block i shows.
	kept, shown := out[:maxBlocks-1], 0
	for _, p := range parts[:maxBlocks-1] {
		shown += p
	}
	more := len(m.Blocks) - shown
	return append(kept, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("…and %d more not shown", more), false, false)))
}

// compact renders bs with consecutive usage bars packed into sections of
// up to maxSectionText characters. parts counts the reply blocks each
// rendered block shows.
func compact(bs []reply.Block) (out []slack.Block, parts []int) {
	var lines []string
	size := 0
	flush := func() {
		if len(lines) == 0 {
			return
		}
		out = append(out, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Join(lines, "\n"), false, false), nil, nil))
		parts = append(parts, len(lines))
		lines, size = nil, 0
	}
	for _, b := range bs {
		u, ok := b.(reply.Usage)
		if !ok {
			flush()
			rendered := block(b)
			for i := range rendered {
				p := 0
				if i == 0 {
					p = 1
				}
				parts = append(parts, p)
			}
			out = append(out, rendered...)
			continue
		}
		line := usageText(u)
		if n := chars(line); size+n+1 > maxSectionText {
			flush()
		}
		lines = append(lines, line)
		size += chars(line) + 1
	}
	flush()
	return out, parts
}

func md(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, cutMrkdwn(s, limit), false, false)
}

func pt(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, cutPlain(s, limit), true, false)
}

// Limits on the parts of a composed text, so a long name leaves room for
// the rest.
const (
	maxLabel = 200
	maxNote  = 600
)

// usageText is a usage bar as mrkdwn: "*Name*  `in/total`", the bar, and
// the note; well under a section's limit whatever the name.
func usageText(b reply.Usage) string {
	text := fmt.Sprintf("*%s*  `%d/%d`\n`%s` %s", cutMrkdwn(b.Label, maxLabel), b.InUse, b.Total, reply.Bar(b.InUse, b.Total, 20), percent(b.InUse, b.Total))
	if b.Note != "" {
		text += " · " + cutMrkdwn(b.Note, maxNote)
	}
	return text
}

func block(b reply.Block) []slack.Block {
	switch b := b.(type) {
	case reply.Header:
		if b.Text == "" {
			return nil
		}
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
				text := "*" + cutMrkdwn(f.Label, maxLabel) + "*\n"
				text += cutMrkdwn(f.Value, maxFieldText-chars(text))
				fs = append(fs, slack.NewTextBlockObject(slack.MarkdownType, text, false, false))
			}
			out = append(out, slack.NewSectionBlock(nil, fs, nil))
		}
		return out
	case reply.Usage:
		return []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, usageText(b), false, false), nil, nil)}
	case reply.Context:
		if b.Text == "" {
			return nil
		}
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
			if len(els) == maxActions {
				break
			}
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
