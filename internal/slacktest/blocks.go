package slacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Button is a button as a person sees it in a message.
type Button struct {
	BlockID    string
	ActionID   string
	Value      string
	Text       string
	Style      string // "", "primary" or "danger"
	HasConfirm bool   // pressing it first asks for confirmation
}

// ButtonsOf returns the buttons of m in display order: those in actions
// blocks and those attached to sections.
func ButtonsOf(m Message) []Button { return buttonsIn(m.Blocks) }

type blockElement struct {
	Type     string `json:"type"`
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Style    string `json:"style"`
	Text     struct {
		Text string `json:"text"`
	} `json:"text"`
	Confirm json.RawMessage `json:"confirm"`
}

func buttonsIn(blocks json.RawMessage) []Button {
	// Elements are decoded one by one: a context element's "text" is a
	// string where a button's is an object.
	var bs []struct {
		Type      string            `json:"type"`
		BlockID   string            `json:"block_id"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory json.RawMessage   `json:"accessory"`
	}
	if len(blocks) == 0 || json.Unmarshal(blocks, &bs) != nil {
		return nil
	}
	var out []Button
	add := func(blockID string, raw json.RawMessage) {
		var e blockElement
		if len(raw) == 0 || json.Unmarshal(raw, &e) != nil || e.Type != "button" {
			return
		}
		c := bytes.TrimSpace(e.Confirm)
		out = append(out, Button{
			BlockID:    blockID,
			ActionID:   e.ActionID,
			Value:      e.Value,
			Text:       e.Text.Text,
			Style:      e.Style,
			HasConfirm: len(c) > 0 && !bytes.Equal(c, []byte("null")),
		})
	}
	for _, b := range bs {
		switch b.Type {
		case "actions":
			for _, e := range b.Elements {
				add(b.BlockID, e)
			}
		case "section":
			add(b.BlockID, b.Accessory)
		}
	}
	return out
}

// TextOf returns everything a person reads in m, one piece per line: the
// top-level text, then every text in the blocks in display order (section
// text and fields, headers, context, button labels, rich text). Text shown
// only after a click, in confirm dialogs or select options, is left out.
func TextOf(m Message) string {
	var parts []string
	if m.Text != "" {
		parts = append(parts, m.Text)
	}
	if len(m.Blocks) > 0 {
		dec := json.NewDecoder(bytes.NewReader(m.Blocks))
		if n, err := decodeOrdered(dec); err == nil {
			parts = collectText(n, parts)
		}
	}
	return strings.Join(parts, "\n")
}

// node is a JSON value that keeps object keys in document order, so text
// comes out in the order it is displayed.
type node struct {
	fields []field // object
	items  []*node // array
	str    string
	isObj  bool
	isStr  bool
	raw    json.RawMessage // a number, true, false or null as written
}

type field struct {
	key string
	val *node
}

func (n *node) get(key string) *node {
	for _, f := range n.fields {
		if f.key == key {
			return f.val
		}
	}
	return nil
}

func (n *node) getStr(key string) string {
	if v := n.get(key); v != nil && v.isStr {
		return v.str
	}
	return ""
}

func decodeOrdered(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &node{}
		switch t {
		case '{':
			n.isObj = true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				n.fields = append(n.fields, field{key, v})
			}
		case '[':
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
		default:
			return nil, errors.New("unexpected delimiter")
		}
		if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return n, nil
	case string:
		return &node{str: t, isStr: true}, nil
	case json.Number:
		return &node{raw: json.RawMessage(t)}, nil
	case bool:
		return &node{raw: json.RawMessage(strconv.FormatBool(t))}, nil
	default:
		return &node{raw: json.RawMessage("null")}, nil
	}
}

func (n *node) set(key string, v *node) {
	for i, f := range n.fields {
		if f.key == key {
			n.fields[i].val = v
			return
		}
	}
	n.fields = append(n.fields, field{key, v})
}

// encode writes n back as JSON, keys in their original order.
func (n *node) encode(b *bytes.Buffer) {
	switch {
	case n.isObj:
		b.WriteByte('{')
		for i, f := range n.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, f.key)
			b.WriteByte(':')
			f.val.encode(b)
		}
		b.WriteByte('}')
	case n.isStr:
		writeJSONString(b, n.str)
	case n.raw != nil:
		b.Write(n.raw)
	default:
		b.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.encode(b)
		}
		b.WriteByte(']')
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// decodeTree decodes JSON keeping key order and numbers as written.
func decodeTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return decodeOrdered(dec)
}

// hiddenKeys hold text a person sees only after interacting.
var hiddenKeys = map[string]bool{"confirm": true, "options": true, "option_groups": true, "initial_option": true}

func collectText(n *node, out []string) []string {
	if n.isObj {
		switch n.getStr("type") {
		case "plain_text", "mrkdwn", "text":
			if t := n.getStr("text"); t != "" {
				out = append(out, t)
			}
		case "link":
			t := n.getStr("text")
			if t == "" {
				t = n.getStr("url")
			}
			if t != "" {
				out = append(out, t)
			}
		}
		for _, f := range n.fields {
			if !hiddenKeys[f.key] {
				out = collectText(f.val, out)
			}
		}
	}
	for _, it := range n.items {
		out = collectText(it, out)
	}
	return out
}
