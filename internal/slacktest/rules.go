package slacktest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rule is one of Slack's documented limits on what an app sends. Rules is
// the whole table: every chat.postMessage, chat.postEphemeral, chat.update,
// response_url post, views.open/publish/update and ack payload is checked
// against it, and a payload that breaks a row is refused with the row's
// code, as Slack refuses it.
type Rule struct {
	// Name identifies the row in tests and in refusals.
	Name string
	// What the row checks, in words.
	What string
	// Limit is the row's number (a length in characters, a count, a size
	// in bytes); 0 when the row has none.
	Limit int
	// Code is Slack's error when the payload is a message; ViewCode when it
	// is a view (empty: the same as Code).
	Code     string
	ViewCode string
	// Docs is the docs.slack.dev page the row comes from.
	Docs string

	// scope limits the row to some payloads; nil means every payload.
	scope func(c *checker) bool
	check func(c *checker, r *Rule)
}

// Violation is one broken rule in one payload.
type Violation struct {
	Rule    string
	Code    string
	Pointer string // JSON pointer to the offending value, e.g. /blocks/0/text
	Message string
}

// String is the violation as Slack writes it in response_metadata.messages.
func (v Violation) String() string {
	return fmt.Sprintf("[ERROR] %s [json-pointer:%s]", v.Message, v.Pointer)
}

// Payload kinds a checker is given.
const (
	kindMessage = "message"
	kindView    = "view"
	kindAck     = "view_submission_ack"
)

const (
	docsBlocks      = "https://docs.slack.dev/reference/block-kit/blocks"
	docsElements    = "https://docs.slack.dev/reference/block-kit/block-elements"
	docsComposition = "https://docs.slack.dev/reference/block-kit/composition-objects"
	docsViews       = "https://docs.slack.dev/reference/views"
	docsPostMessage = "https://docs.slack.dev/reference/methods/chat.postMessage"
	docsUpdate      = "https://docs.slack.dev/reference/methods/chat.update"
	docsModals      = "https://docs.slack.dev/surfaces/modals"
	docsInteraction = "https://docs.slack.dev/interactivity/handling-user-interaction"
	docsSocketMode  = "https://docs.slack.dev/apis/events-api/using-socket-mode"
)

// Slack's limits, as numbers.
const (
	maxMessageBlocks    = 50
	maxViewBlocks       = 100
	maxIDLen            = 255
	maxActionsElements  = 25
	maxContextElements  = 10
	maxSectionText      = 3000
	maxSectionFields    = 10
	maxFieldText        = 2000
	maxHeaderText       = 150
	maxButtonText       = 75
	maxButtonValue      = 2000
	maxButtonURL        = 3000
	maxConfirmTitle     = 100
	maxConfirmText      = 300
	maxConfirmButton    = 30
	maxModalTitle       = 24
	maxModalButton      = 24
	maxPrivateMetadata  = 3000
	maxCallbackID       = 255
	maxInputLabel       = 2000
	maxInputMaxLength   = 3000
	maxViewBytes        = 250 * 1000
	maxUpdateText       = 4000
	maxPostText         = 40000
	maxAckBytes         = 20 * 1024
	maxResponseErrorLen = 2000
)

// Rules is the table, in the order the checks run. A payload is refused with
// the code of the first row it breaks; every violation goes into
// response_metadata.messages.
var Rules = []*Rule{
	{Name: "json", What: "the payload is JSON of the right shape", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, p := range c.malformed {
				c.report(r, p, "must be valid JSON of the expected type")
			}
		}},
	{Name: "message_text_update", What: "chat.update text at most 4000 characters", Limit: maxUpdateText, Code: "msg_too_long", Docs: docsUpdate,
		scope: func(c *checker) bool { return c.kind == kindMessage && c.method == "chat.update" },
		check: func(c *checker, r *Rule) { c.maxChars(r, "/text", c.root["text"]) }},
	{Name: "message_text_post", What: "message text at most 40000 characters (Slack truncates past it; we refuse, the stricter reading)", Limit: maxPostText, Code: "msg_too_long", Docs: docsPostMessage,
		scope: func(c *checker) bool { return c.kind == kindMessage && c.method != "chat.update" },
		check: func(c *checker, r *Rule) { c.maxChars(r, "/text", c.root["text"]) }},
	{Name: "blocks_per_message", What: "at most 50 blocks in a message", Limit: maxMessageBlocks, Code: "invalid_blocks", Docs: docsBlocks,
		scope: func(c *checker) bool { return c.kind == kindMessage },
		check: func(c *checker, r *Rule) {
			if len(c.blocks) > r.Limit {
				c.report(r, c.blocksPtr, fmt.Sprintf("no more than %d items allowed", r.Limit))
			}
		}},
	{Name: "blocks_per_view", What: "at most 100 blocks in a modal or Home tab", Limit: maxViewBlocks, Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.kind == kindView },
		check: func(c *checker, r *Rule) {
			if len(c.blocks) > r.Limit {
				c.report(r, c.blocksPtr, fmt.Sprintf("no more than %d items allowed", r.Limit))
			}
		}},
	{Name: "block_type", What: "every block has a known type", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlock() {
				if !knownBlockTypes[str(b.obj["type"])] {
					c.report(r, b.ptr+"/type", fmt.Sprintf("unsupported type `%s`", str(b.obj["type"])))
				}
			}
		}},
	{Name: "block_id_unique", What: "block_id unique within the message or view", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			seen := map[string]bool{}
			for _, b := range c.eachBlock() {
				id, ok := b.obj["block_id"].(string)
				if !ok {
					continue
				}
				if seen[id] {
					c.report(r, b.ptr+"/block_id", fmt.Sprintf("`block_id` %q already exists", id))
				}
				seen[id] = true
			}
		}},
	{Name: "block_id_length", What: "block_id at most 255 characters", Limit: maxIDLen, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlock() {
				c.maxChars(r, b.ptr+"/block_id", b.obj["block_id"])
			}
		}},
	{Name: "action_id_unique", What: "action_id unique among the elements of its block", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlock() {
				seen := map[string]bool{}
				for _, e := range elementsOf(b) {
					id, ok := e.obj["action_id"].(string)
					if !ok {
						continue
					}
					if seen[id] {
						c.report(r, e.ptr+"/action_id", fmt.Sprintf("`action_id` %q already exists", id))
					}
					seen[id] = true
				}
			}
		}},
	{Name: "action_id_length", What: "action_id at most 255 characters", Limit: maxIDLen, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlock() {
				for _, e := range elementsOf(b) {
					c.maxChars(r, e.ptr+"/action_id", e.obj["action_id"])
				}
			}
		}},
	{Name: "actions_elements", What: "an actions block has 1 to 25 elements", Limit: maxActionsElements, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) { c.countElements(r, "actions") }},
	{Name: "context_elements", What: "a context block has 1 to 10 elements", Limit: maxContextElements, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) { c.countElements(r, "context") }},
	{Name: "section_content", What: "a section has text or fields", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("section") {
				_, hasText := b.obj["text"]
				_, hasFields := b.obj["fields"]
				if !hasText && !hasFields {
					c.report(r, b.ptr, "must provide `text` or `fields`")
				}
			}
		}},
	{Name: "section_text", What: "section text at most 3000 characters", Limit: maxSectionText, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("section") {
				c.maxText(r, b.ptr+"/text", b.obj["text"])
			}
		}},
	{Name: "section_fields", What: "a section has at most 10 fields", Limit: maxSectionFields, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("section") {
				if fs, ok := b.obj["fields"].([]any); ok && (len(fs) > r.Limit || len(fs) == 0) {
					c.report(r, b.ptr+"/fields", fmt.Sprintf("must have between 1 and %d items", r.Limit))
				}
			}
		}},
	{Name: "field_text", What: "a section field at most 2000 characters", Limit: maxFieldText, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("section") {
				fs, _ := b.obj["fields"].([]any)
				for i, f := range fs {
					c.maxText(r, b.ptr+"/fields/"+strconv.Itoa(i), f)
				}
			}
		}},
	{Name: "header_text", What: "header text at most 150 characters", Limit: maxHeaderText, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("header") {
				c.maxText(r, b.ptr+"/text", b.obj["text"])
			}
		}},
	{Name: "button_text", What: "button text at most 75 characters", Limit: maxButtonText, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, e := range c.eachButton() {
				c.maxText(r, e.ptr+"/text", e.obj["text"])
			}
		}},
	{Name: "button_value", What: "button value at most 2000 characters", Limit: maxButtonValue, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, e := range c.eachButton() {
				c.maxChars(r, e.ptr+"/value", e.obj["value"])
			}
		}},
	{Name: "button_url", What: "button url at most 3000 characters", Limit: maxButtonURL, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, e := range c.eachButton() {
				c.maxChars(r, e.ptr+"/url", e.obj["url"])
			}
		}},
	{Name: "button_style", What: "button style is primary or danger", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, e := range c.eachButton() {
				if s, ok := e.obj["style"]; ok && s != "primary" && s != "danger" {
					c.report(r, e.ptr+"/style", "must be one of primary, danger")
				}
			}
		}},
	{Name: "confirm_title", What: "confirm title at most 100 characters", Limit: maxConfirmTitle, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) { c.confirmPart(r, "title", true) }},
	{Name: "confirm_text", What: "confirm text at most 300 characters", Limit: maxConfirmText, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) { c.confirmPart(r, "text", true) }},
	{Name: "confirm_confirm", What: "confirm button text at most 30 characters", Limit: maxConfirmButton, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) { c.confirmPart(r, "confirm", true) }},
	{Name: "confirm_deny", What: "confirm deny-button text at most 30 characters", Limit: maxConfirmButton, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) { c.confirmPart(r, "deny", true) }},
	{Name: "text_object_type", What: "a text object's type is plain_text or mrkdwn", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) {
			for _, t := range c.textSlots() {
				o, ok := t.val.(map[string]any)
				if !ok {
					c.report(r, t.ptr, "must be a text object")
					continue
				}
				if typ := str(o["type"]); typ != "plain_text" && typ != "mrkdwn" {
					c.report(r, t.ptr+"/type", "must be one of plain_text, mrkdwn")
				}
			}
		}},
	{Name: "plain_text_only", What: "headers, buttons, confirm dialogs, labels and view titles take plain_text only", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) {
			for _, t := range c.textSlots() {
				if o, ok := t.val.(map[string]any); ok && t.plainOnly && str(o["type"]) == "mrkdwn" {
					c.report(r, t.ptr+"/type", "must be plain_text")
				}
			}
		}},
	{Name: "text_not_empty", What: "a text object's text is not empty", Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsComposition,
		check: func(c *checker, r *Rule) {
			for _, t := range c.textSlots() {
				if o, ok := t.val.(map[string]any); ok && str(o["text"]) == "" {
					c.report(r, t.ptr+"/text", "must be more than 0 characters")
				}
			}
		}},
	{Name: "view_type", What: "views.open/update take a modal, views.publish a home view", Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.kind == kindView },
		check: func(c *checker, r *Rule) {
			want := "modal"
			if c.method == "views.publish" {
				want = "home"
			}
			if t := str(c.view["type"]); t != want {
				c.report(r, "/view/type", fmt.Sprintf("must be %s", want))
			}
		}},
	{Name: "modal_title", What: "a modal has a title of at most 24 characters", Limit: maxModalTitle, Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.isModal() },
		check: func(c *checker, r *Rule) {
			if _, ok := c.view["title"]; !ok {
				c.report(r, c.viewPtr+"/title", "is required")
				return
			}
			c.maxText(r, c.viewPtr+"/title", c.view["title"])
		}},
	{Name: "modal_buttons", What: "a modal's submit and close at most 24 characters", Limit: maxModalButton, Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.isModal() },
		check: func(c *checker, r *Rule) {
			c.maxText(r, c.viewPtr+"/submit", c.view["submit"])
			c.maxText(r, c.viewPtr+"/close", c.view["close"])
		}},
	{Name: "private_metadata", What: "private_metadata at most 3000 characters", Limit: maxPrivateMetadata, Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.view != nil },
		check: func(c *checker, r *Rule) { c.maxChars(r, c.viewPtr+"/private_metadata", c.view["private_metadata"]) }},
	{Name: "callback_id", What: "callback_id at most 255 characters", Limit: maxCallbackID, Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.view != nil },
		check: func(c *checker, r *Rule) { c.maxChars(r, c.viewPtr+"/callback_id", c.view["callback_id"]) }},
	{Name: "input_needs_submit", What: "a modal with an input block has a submit button", Code: "invalid_arguments", Docs: docsViews,
		scope: func(c *checker) bool { return c.isModal() },
		check: func(c *checker, r *Rule) {
			if _, ok := c.view["submit"]; ok {
				return
			}
			for _, b := range c.eachBlockOf("input") {
				c.report(r, c.viewPtr+"/submit", "must be provided when the view has an input block at "+b.ptr)
				return
			}
		}},
	{Name: "input_only_in_views", What: "input blocks only in modals and Home tabs (the stricter reading for messages)", Code: "invalid_blocks", Docs: docsBlocks,
		scope: func(c *checker) bool { return c.kind == kindMessage },
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("input") {
				c.report(r, b.ptr+"/type", "input blocks are not allowed in messages")
			}
		}},
	{Name: "input_label", What: "an input block has a label of at most 2000 characters", Limit: maxInputLabel, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsBlocks,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("input") {
				if _, ok := b.obj["label"]; !ok {
					c.report(r, b.ptr+"/label", "is required")
					continue
				}
				c.maxText(r, b.ptr+"/label", b.obj["label"])
			}
		}},
	{Name: "input_max_length", What: "plain_text_input max_length at most 3000 (characters)", Limit: maxInputMaxLength, Code: "invalid_blocks", ViewCode: "invalid_arguments", Docs: docsElements,
		check: func(c *checker, r *Rule) {
			for _, b := range c.eachBlockOf("input") {
				el, _ := b.obj["element"].(map[string]any)
				if el == nil || str(el["type"]) != "plain_text_input" {
					continue
				}
				if n, ok := el["max_length"].(float64); ok && (n > float64(r.Limit) || n < 1) {
					c.report(r, b.ptr+"/element/max_length", fmt.Sprintf("must be between 1 and %d", r.Limit))
				}
			}
		}},
	{Name: "view_size", What: "a view at most 250 kB", Limit: maxViewBytes, Code: "view_too_large", Docs: docsViews,
		scope: func(c *checker) bool { return c.view != nil },
		check: func(c *checker, r *Rule) {
			if c.viewBytes > r.Limit {
				c.report(r, c.viewPtr, fmt.Sprintf("view is %d bytes, over %d", c.viewBytes, r.Limit))
			}
		}},
	{Name: "ack_size", What: "an ack under 20 KB (slack-go refuses a larger one and Slack closes the socket)", Limit: maxAckBytes, Code: "ack_too_large", Docs: docsSocketMode,
		scope: func(c *checker) bool { return c.isAck },
		check: func(c *checker, r *Rule) {
			if c.ackBytes >= r.Limit {
				c.report(r, "", fmt.Sprintf("ack is %d bytes, at least %d", c.ackBytes, r.Limit))
			}
		}},
	{Name: "ack_payload_accepted", What: "an ack carries a payload only when the envelope accepts one (Slack ignores it otherwise; we refuse, the stricter reading)", Code: "invalid_ack", Docs: docsSocketMode,
		scope: func(c *checker) bool { return c.isAck && !c.accepts },
		check: func(c *checker, r *Rule) {
			if c.ackBytes > 0 {
				c.report(r, "", "the envelope does not accept a response payload")
			}
		}},
	{Name: "response_action", What: "a view_submission ack's response_action is errors, update, push or clear", Code: "invalid_arguments", Docs: docsInteraction,
		scope: func(c *checker) bool { return c.kind == kindAck },
		check: func(c *checker, r *Rule) {
			a, ok := c.root["response_action"]
			if !ok {
				return
			}
			switch a {
			case "errors", "update", "push", "clear":
			default:
				c.report(r, "/response_action", "must be one of errors, update, push, clear")
			}
			if (a == "update" || a == "push") && c.view == nil {
				c.report(r, "/view", "is required with response_action "+str(a))
			}
		}},
	{Name: "response_errors", What: "response_action errors names input blocks of the view, each message at most 2000 characters (undocumented length: the stricter reading)", Limit: maxResponseErrorLen, Code: "invalid_arguments", Docs: docsInteraction,
		scope: func(c *checker) bool { return c.kind == kindAck && c.root["response_action"] == "errors" },
		check: func(c *checker, r *Rule) {
			errs, ok := c.root["errors"].(map[string]any)
			if !ok || len(errs) == 0 {
				c.report(r, "/errors", "must be an object naming at least one block_id")
				return
			}
			keys := make([]string, 0, len(errs))
			for k := range errs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if !slices.Contains(c.inputBlockIDs, k) {
					c.report(r, "/errors/"+pointerEscape(k), "is not the block_id of an input block in the view")
				}
				c.maxChars(r, "/errors/"+pointerEscape(k), errs[k])
			}
		}},
}

var knownBlockTypes = map[string]bool{
	"section": true, "header": true, "divider": true, "context": true, "actions": true,
	"input": true, "image": true, "rich_text": true, "file": true, "video": true, "markdown": true,
}

// checker holds one payload being checked.
type checker struct {
	kind      string
	method    string
	root      map[string]any
	blocks    []any
	blocksPtr string
	view      map[string]any // the view, for views and acks that carry one
	viewPtr   string
	viewBytes int
	isAck     bool
	accepts   bool
	ackBytes  int
	// inputBlockIDs are the view's input blocks, for response_action errors.
	inputBlockIDs []string
	malformed     []string
	out           []Violation
}

// report records a violation of r at ptr.
func (c *checker) report(r *Rule, ptr, msg string) {
	code := r.Code
	if c.view != nil && r.ViewCode != "" {
		code = r.ViewCode
	}
	c.out = append(c.out, Violation{Rule: r.Name, Code: code, Pointer: ptr, Message: msg})
}

func (c *checker) isModal() bool { return c.view != nil && str(c.view["type"]) == "modal" }

func (c *checker) run() []Violation {
	for _, r := range Rules {
		if r.scope != nil && !r.scope(c) {
			continue
		}
		r.check(c, r)
	}
	return c.out
}

type at struct {
	ptr string
	obj map[string]any
}

func (c *checker) eachBlock() []at {
	var out []at
	for i, b := range c.blocks {
		ptr := c.blocksPtr + "/" + strconv.Itoa(i)
		o, ok := b.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, at{ptr, o})
	}
	return out
}

func (c *checker) eachBlockOf(typ string) []at {
	var out []at
	for _, b := range c.eachBlock() {
		if str(b.obj["type"]) == typ {
			out = append(out, b)
		}
	}
	return out
}

// elementsOf lists a block's interactive elements: an actions or context
// block's elements, a section's accessory, an input's element.
func elementsOf(b at) []at {
	var out []at
	switch str(b.obj["type"]) {
	case "actions":
		els, _ := b.obj["elements"].([]any)
		for i, e := range els {
			if o, ok := e.(map[string]any); ok {
				out = append(out, at{b.ptr + "/elements/" + strconv.Itoa(i), o})
			}
		}
	case "section":
		if o, ok := b.obj["accessory"].(map[string]any); ok {
			out = append(out, at{b.ptr + "/accessory", o})
		}
	case "input":
		if o, ok := b.obj["element"].(map[string]any); ok {
			out = append(out, at{b.ptr + "/element", o})
		}
	}
	return out
}

func (c *checker) eachButton() []at {
	var out []at
	for _, b := range c.eachBlock() {
		for _, e := range elementsOf(b) {
			if str(e.obj["type"]) == "button" {
				out = append(out, e)
			}
		}
	}
	return out
}

func (c *checker) countElements(r *Rule, typ string) {
	for _, b := range c.eachBlockOf(typ) {
		els, _ := b.obj["elements"].([]any)
		if len(els) < 1 || len(els) > r.Limit {
			c.report(r, b.ptr+"/elements", fmt.Sprintf("must have between 1 and %d items", r.Limit))
		}
	}
}

func (c *checker) confirmPart(r *Rule, part string, required bool) {
	for _, b := range c.eachBlock() {
		for _, e := range elementsOf(b) {
			conf, ok := e.obj["confirm"].(map[string]any)
			if !ok {
				continue
			}
			ptr := e.ptr + "/confirm/" + part
			v, has := conf[part]
			if !has {
				if required && (part == "title" || part == "text") {
					c.report(r, ptr, "is required")
				}
				continue
			}
			c.maxText(r, ptr, v)
		}
	}
}

type slot struct {
	ptr       string
	val       any
	plainOnly bool
}

// textSlots are the places that hold a text object.
func (c *checker) textSlots() []slot {
	var out []slot
	add := func(ptr string, v any, plain bool) {
		if v != nil {
			out = append(out, slot{ptr, v, plain})
		}
	}
	if c.view != nil {
		for _, k := range []string{"title", "submit", "close"} {
			add(c.viewPtr+"/"+k, c.view[k], true)
		}
	}
	for _, b := range c.eachBlock() {
		switch str(b.obj["type"]) {
		case "section":
			add(b.ptr+"/text", b.obj["text"], false)
			fs, _ := b.obj["fields"].([]any)
			for i, f := range fs {
				add(b.ptr+"/fields/"+strconv.Itoa(i), f, false)
			}
		case "header":
			add(b.ptr+"/text", b.obj["text"], true)
		case "context":
			els, _ := b.obj["elements"].([]any)
			for i, e := range els {
				if o, ok := e.(map[string]any); ok && str(o["type"]) != "image" {
					add(b.ptr+"/elements/"+strconv.Itoa(i), e, false)
				}
			}
		case "input":
			add(b.ptr+"/label", b.obj["label"], true)
			add(b.ptr+"/hint", b.obj["hint"], true)
		}
		for _, e := range elementsOf(b) {
			if str(e.obj["type"]) == "button" {
				add(e.ptr+"/text", e.obj["text"], true)
			}
			add(e.ptr+"/placeholder", e.obj["placeholder"], true)
			if conf, ok := e.obj["confirm"].(map[string]any); ok {
				for _, k := range []string{"title", "text", "confirm", "deny"} {
					add(e.ptr+"/confirm/"+k, conf[k], true)
				}
			}
		}
	}
	return out
}

// maxChars reports v when it is a string longer than r.Limit characters.
func (c *checker) maxChars(r *Rule, ptr string, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	if n := utf8.RuneCountInString(s); n > r.Limit {
		c.report(r, ptr, fmt.Sprintf("must be less than %d characters (is %d)", r.Limit+1, n))
	}
}

// maxText reports a text object whose text is longer than r.Limit.
func (c *checker) maxText(r *Rule, ptr string, v any) {
	if o, ok := v.(map[string]any); ok {
		c.maxChars(r, ptr+"/text", o["text"])
	}
}

func str(v any) string { s, _ := v.(string); return s }

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// CheckMessage checks a message (its top-level text and its blocks, a JSON
// array or nil) against Rules, as chat.postMessage would.
func CheckMessage(text string, blocks json.RawMessage) []Violation {
	root := map[string]any{"text": text}
	if len(blocks) > 0 {
		var b any
		if err := json.Unmarshal(blocks, &b); err != nil {
			return []Violation{{Rule: "json", Code: "invalid_blocks", Pointer: "/blocks", Message: "must be valid JSON"}}
		}
		root["blocks"] = b
	}
	return checkMessage("chat.postMessage", root)
}

// CheckView checks a view (a JSON object) against Rules, as views.open
// (a modal) or views.publish (a home view) would.
func CheckView(view json.RawMessage) []Violation {
	var v map[string]any
	if err := json.Unmarshal(view, &v); err != nil || v == nil {
		return []Violation{{Rule: "json", Code: "invalid_arguments", Pointer: "/view", Message: "must be a JSON object"}}
	}
	method := "views.open"
	if str(v["type"]) == "home" {
		method = "views.publish"
	}
	return checkView(method, v, len(view))
}

func checkMessage(method string, root map[string]any) []Violation {
	c := &checker{kind: kindMessage, method: method, root: root, blocksPtr: "/blocks"}
	switch b := root["blocks"].(type) {
	case nil:
	case []any:
		c.blocks = b
	default:
		c.malformed = append(c.malformed, "/blocks")
	}
	return c.run()
}

func checkView(method string, view map[string]any, size int) []Violation {
	c := &checker{kind: kindView, method: method, root: map[string]any{"view": view}, view: view, viewPtr: "/view", blocksPtr: "/view/blocks", viewBytes: size}
	switch b := view["blocks"].(type) {
	case nil:
	case []any:
		c.blocks = b
	default:
		c.malformed = append(c.malformed, "/view/blocks")
	}
	return c.run()
}

// checkSubmissionAck checks the ack of a view_submission against the view
// it answers (whose input blocks an errors answer must name).
func checkSubmissionAck(payload json.RawMessage, submitted map[string]any) []Violation {
	c := &checker{kind: kindAck, isAck: true, accepts: true, ackBytes: len(payload), blocksPtr: "/view/blocks", viewPtr: "/view"}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &c.root); err != nil || c.root == nil {
			c.root = map[string]any{}
			c.malformed = append(c.malformed, "")
		}
	} else {
		c.root = map[string]any{}
	}
	if v, ok := c.root["view"].(map[string]any); ok {
		c.view = v
		c.blocks, _ = v["blocks"].([]any)
		b, _ := json.Marshal(v)
		c.viewBytes = len(b)
		c.method = "views.update"
	}
	sb, _ := submitted["blocks"].([]any)
	for _, b := range sb {
		if o, ok := b.(map[string]any); ok && str(o["type"]) == "input" {
			c.inputBlockIDs = append(c.inputBlockIDs, str(o["block_id"]))
		}
	}
	return c.run()
}

// checkAckMessage checks a slash command's ack payload, a message.
func checkAckMessage(payload json.RawMessage) []Violation {
	var root map[string]any
	if err := json.Unmarshal(payload, &root); err != nil || root == nil {
		root = map[string]any{}
	}
	c := &checker{kind: kindMessage, method: "ack", root: root, blocksPtr: "/blocks", isAck: true, accepts: true, ackBytes: len(payload)}
	switch b := root["blocks"].(type) {
	case nil:
	case []any:
		c.blocks = b
	default:
		c.malformed = append(c.malformed, "/blocks")
	}
	return c.run()
}

// checkOtherAck checks the ack of an envelope that is neither a slash
// command nor a view submission.
func checkOtherAck(payload json.RawMessage, accepts bool) []Violation {
	c := &checker{kind: "ack", root: map[string]any{}, isAck: true, accepts: accepts, ackBytes: len(payload)}
	return c.run()
}

// CheckSubmissionAck checks the ack of a view_submission (a JSON object,
// or empty) against the view it answers, as Slack would take it.
func CheckSubmissionAck(ack, view json.RawMessage) []Violation {
	var v map[string]any
	if err := json.Unmarshal(view, &v); err != nil || v == nil {
		return []Violation{{Rule: "json", Code: "invalid_arguments", Pointer: "/view", Message: "must be a JSON object"}}
	}
	return checkSubmissionAck(ack, v)
}
