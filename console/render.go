package console

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dialogbot/dialogbot/reply"
)

// barWidth is how many cells a usage bar has.
const barWidth = 10

// ruleWidth is how wide a divider is.
const ruleWidth = 40

// render writes m as plain text, each line prefixed with indent. number is
// called for every button, in order, and returns the number the person
// types to press it.
func render(m reply.Message, indent string, number func(reply.Button) int) string {
	var b strings.Builder
	line := func(prefix, s string) {
		for l := range strings.SplitSeq(s, "\n") {
			b.WriteString(strings.TrimRight(indent+prefix+l, " "))
			b.WriteByte('\n')
		}
	}
	if len(m.Blocks) == 0 {
		line("", text(m.Text))
		return b.String()
	}
	usageWidth := usageColumns(m.Blocks)
	for _, blk := range m.Blocks {
		switch blk := blk.(type) {
		case reply.Header:
			t := text(blk.Text)
			line("", t)
			line("", strings.Repeat("=", max(utf8.RuneCountInString(t), 3)))
		case reply.Section:
			line("", text(blk.Text))
		case reply.Fields:
			for _, f := range blk.Fields {
				label, value := text(f.Label), text(f.Value)
				if strings.Contains(value, "\n") {
					// A long value reads better under its label.
					line("", label)
					line("    ", value)
					continue
				}
				line("", label+": "+value)
			}
		case reply.Usage:
			line("", usageLine(blk, usageWidth))
		case reply.Context:
			line("  ", text(blk.Text))
		case reply.Actions:
			var buttons []string
			for _, btn := range blk.Buttons {
				buttons = append(buttons, fmt.Sprintf("[%d] %s", number(btn), text(btn.Text)))
			}
			if len(buttons) > 0 {
				line("", strings.Join(buttons, "  "))
			}
		case reply.Divider:
			line("", strings.Repeat("─", ruleWidth))
		}
	}
	return b.String()
}

// columns are the widths that line up the usage rows of one message.
type columns struct{ label, count, left int }

func usageColumns(blocks []reply.Block) columns {
	var c columns
	for _, blk := range blocks {
		if u, ok := blk.(reply.Usage); ok {
			c.label = max(c.label, utf8.RuneCountInString(text(u.Label)))
			c.count = max(c.count, len(count(u)))
			c.left = max(c.left, len(strconv.Itoa(left(u))))
		}
	}
	return c
}

func count(u reply.Usage) string { return fmt.Sprintf("%d/%d", u.InUse, u.Total) }

// usageLine is "Local Number  79/194  [████░░░░░░]  40%  115 left · note". The share
// is rounded down, so an add-on shows 100% only when it is full.
func usageLine(u reply.Usage, w columns) string {
	label := text(u.Label)
	pad := strings.Repeat(" ", max(w.label-utf8.RuneCountInString(label), 0))
	c := count(u)
	s := fmt.Sprintf("%s%s  %*s  [%s] %4s  %*d left", label, pad, w.count, c, reply.Bar(u.InUse, u.Total, barWidth), share(u), w.left, left(u))
	if u.Note != "" {
		s += " · " + text(u.Note)
	}
	return s
}

// left is the capacity left, never negative.
func left(u reply.Usage) int { return max(u.Total-u.InUse, 0) }

func share(u reply.Usage) string {
	if u.Total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", int64(u.InUse)*100/int64(u.Total))
}

// text turns reply text into what the terminal shows: mentions as @U123,
// and nothing that a terminal would take as a control sequence, whoever
// wrote the text (a person, DialogTech).
func text(s string) string {
	return reply.ExpandMentions(s, safe, func(id string) string { return "@" + id })
}

// safe replaces invalid UTF-8 and control characters (escape sequences,
// carriage returns) except newlines, and expands tabs to a space.
func safe(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

// safeLine is safe for a single line: newlines become spaces too.
func safeLine(s string) string {
	return strings.ReplaceAll(safe(s), "\n", " ")
}
