package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Envelope types Slack sends over Socket Mode.
const (
	EnvelopeSlashCommands = "slash_commands"
	EnvelopeInteractive   = "interactive"
	EnvelopeEventsAPI     = "events_api"
)

// Delivery is one envelope written to one connection.
type Delivery struct {
	EnvelopeID   string
	SentAt       time.Time
	Conn         int // the connection id (see ConnIDs)
	RetryAttempt int
	// ResponseURL and TriggerID are what the payload carried, empty when it
	// carried none.
	ResponseURL string
	TriggerID   string
}

// Ack is an acknowledgement read from a socket.
type Ack struct {
	EnvelopeID string
	At         time.Time
	// Latency is the time from the envelope's first delivery to this ack:
	// what Slack measures against its 3-second limit.
	Latency time.Duration
	// Payload is the ack's payload (a slash command reply, a
	// response_action), nil when the ack carried none.
	Payload json.RawMessage
	Conn    int
}

// SlashCommand is a person running a slash command.
type SlashCommand struct {
	Command   string // "/addons"
	Text      string // everything after the command
	UserID    string
	ChannelID string
	TeamID    string // defaults to TeamID()
	Conn      int    // connection id; 0 or -1 for round robin
}

// BlockAction is a person pressing a button in a message.
type BlockAction struct {
	UserID    string
	ChannelID string // may be empty; found from MessageTS
	MessageTS string
	ActionID  string
	// BlockID and Value default to the pressed button's; set them only to
	// send something other than what the message shows.
	BlockID string
	Value   string
	Conn    int
}

// ViewSubmission is a person submitting a modal.
type ViewSubmission struct {
	UserID string
	// ViewID names a view the app opened; empty means the last modal opened
	// for UserID (or for anyone when UserID is empty too).
	ViewID string
	// CallbackID and PrivateMetadata override the stored view's.
	CallbackID      string
	PrivateMetadata string
	// Values are the inputs: block_id → action_id → value.
	Values map[string]map[string]string
	Conn   int
}

type envelope struct {
	id        string
	typ       string
	payload   json.RawMessage
	accepts   bool
	attempt   int
	firstSent time.Time
	acked     bool
	hook      string // the response_url's hook, if the payload has one
	response  string
	trigger   string
	// viewID and view are the submitted modal, for a view_submission.
	viewID string
	view   map[string]any
}

type envelopeFrame struct {
	EnvelopeID             string          `json:"envelope_id"`
	Payload                json.RawMessage `json:"payload"`
	Type                   string          `json:"type"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

type trigger struct {
	user    string
	used    bool
	issued  time.Time
	expired bool // ExpireTriggers
}

// SendSlashCommand delivers a slash_commands envelope with the payload Slack
// builds from the command's form fields (all strings), with a fresh
// response_url and trigger_id.
func (s *Server) SendSlashCommand(ctx context.Context, cmd SlashCommand) (*Delivery, error) {
	if !strings.HasPrefix(cmd.Command, "/") {
		return nil, fmt.Errorf("slacktest: slash command %q must start with /", cmd.Command)
	}
	if cmd.UserID == "" || cmd.ChannelID == "" {
		return nil, errors.New("slacktest: slash command needs UserID and ChannelID")
	}
	team := cmd.TeamID
	if team == "" {
		team = teamID
	}
	s.mu.Lock()
	h := s.newHookLocked(cmd.ChannelID, cmd.UserID, "", false)
	tr := s.newTriggerLocked(cmd.UserID)
	s.mu.Unlock()
	payload := map[string]string{
		"token":                 VerificationToken,
		"team_id":               team,
		"team_domain":           teamDomain,
		"channel_id":            cmd.ChannelID,
		"channel_name":          channelName(cmd.ChannelID),
		"user_id":               cmd.UserID,
		"user_name":             userName(cmd.UserID),
		"command":               cmd.Command,
		"text":                  cmd.Text,
		"api_app_id":            appID,
		"is_enterprise_install": "false",
		"response_url":          s.hookURL(h.id),
		"trigger_id":            tr,
	}
	env := &envelope{typ: EnvelopeSlashCommands, accepts: true, hook: h.id, response: s.hookURL(h.id), trigger: tr}
	return s.deliverNew(ctx, cmd.Conn, env, payload)
}

// SendBlockAction delivers a block_actions interaction for a button of a
// stored message. The button must be in the message as it is now or as it
// was in an earlier version (a person may press a button on a stale
// rendering); its text, style, block_id and value are taken from there.
func (s *Server) SendBlockAction(ctx context.Context, a BlockAction) (*Delivery, error) {
	if a.UserID == "" || a.MessageTS == "" || a.ActionID == "" {
		return nil, errors.New("slacktest: block action needs UserID, MessageTS and ActionID")
	}
	s.mu.Lock()
	m, ephemeral := s.findLocked(a.ChannelID, a.MessageTS), false
	if m == nil {
		m, ephemeral = s.findEphemeralLocked(a.ChannelID, a.MessageTS), true
	}
	if m == nil || m.Deleted {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s in %q", ErrMessageNotFound, a.MessageTS, a.ChannelID)
	}
	btn, ok := s.findButtonLocked(m, a.ActionID, a.BlockID)
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: action_id %q in message %s", ErrButtonNotFound, a.ActionID, m.TS)
	}
	if a.BlockID != "" {
		btn.BlockID = a.BlockID
	}
	if a.Value != "" {
		btn.Value = a.Value
	}
	h := s.newHookLocked(m.Channel, a.UserID, m.TS, m.EphemeralTo != "")
	tr := s.newTriggerLocked(a.UserID)
	actionTS := s.newTSLocked()
	msg := messageObject(m)
	s.mu.Unlock()

	action := map[string]any{
		"action_id": btn.ActionID,
		"block_id":  btn.BlockID,
		"text":      map[string]any{"type": "plain_text", "text": btn.Text, "emoji": true},
		"value":     btn.Value,
		"type":      "button",
		"action_ts": actionTS,
	}
	if btn.Style != "" {
		action["style"] = btn.Style
	}
	container := map[string]any{
		"type":         "message",
		"message_ts":   m.TS,
		"channel_id":   m.Channel,
		"is_ephemeral": ephemeral,
	}
	if m.ThreadTS != "" {
		container["thread_ts"] = m.ThreadTS
	}
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  userRef(a.UserID),
		"api_app_id":            appID,
		"token":                 VerificationToken,
		"container":             container,
		"trigger_id":            tr,
		"team":                  map[string]any{"id": teamID, "domain": teamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": m.Channel, "name": channelName(m.Channel)},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          s.hookURL(h.id),
		"actions":               []any{action},
	}
	if !ephemeral {
		// Slack does not echo ephemeral messages back to the app.
		payload["message"] = msg
	}
	env := &envelope{typ: EnvelopeInteractive, hook: h.id, response: s.hookURL(h.id), trigger: tr}
	return s.deliverNew(ctx, a.Conn, env, payload)
}

// findButtonLocked looks for the button in the current and then the earlier
// versions of m.
func (s *Server) findButtonLocked(m *Message, actionID, blockID string) (Button, bool) {
	versions := []json.RawMessage{m.Blocks}
	for i := len(s.history) - 1; i >= 0; i-- {
		h := &s.history[i]
		if h.TS == m.TS && h.Channel == m.Channel && h.EphemeralTo == m.EphemeralTo {
			versions = append(versions, h.Blocks)
		}
	}
	for _, blocks := range versions {
		for _, b := range buttonsIn(blocks) {
			if b.ActionID == actionID && (blockID == "" || b.BlockID == blockID) {
				return b, true
			}
		}
	}
	return Button{}, false
}

// SendViewSubmission delivers a view_submission interaction for a modal,
// with state.values filled from v.Values for the view's input blocks (an
// input left out is sent empty, as Slack sends an unfilled optional input).
func (s *Server) SendViewSubmission(ctx context.Context, v ViewSubmission) (*Delivery, error) {
	s.mu.Lock()
	var stored *View
	for _, cand := range slices.Backward(s.views) {
		switch {
		case v.ViewID != "" && cand.ID == v.ViewID,
			v.ViewID == "" && cand.Type != "home" && (v.UserID == "" || cand.UserID == v.UserID):
			stored = cand
		}
		if stored != nil {
			break
		}
	}
	if stored == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrViewNotFound, v.ViewID)
	}
	user := v.UserID
	if user == "" {
		user = stored.UserID
	}
	tr := s.newTriggerLocked(user)
	var view map[string]any
	_ = json.Unmarshal(stored.JSON, &view)
	s.mu.Unlock()

	values, err := inputValues(view, v.Values)
	if err != nil {
		return nil, err
	}
	view["state"] = map[string]any{"values": values}
	if v.CallbackID != "" {
		view["callback_id"] = v.CallbackID
	}
	if v.PrivateMetadata != "" {
		view["private_metadata"] = v.PrivateMetadata
	}
	payload := map[string]any{
		"type":                  "view_submission",
		"team":                  map[string]any{"id": teamID, "domain": teamDomain},
		"user":                  userRef(user),
		"api_app_id":            appID,
		"token":                 VerificationToken,
		"trigger_id":            tr,
		"view":                  view,
		"response_urls":         []any{},
		"is_enterprise_install": false,
		"enterprise":            nil,
	}
	env := &envelope{typ: EnvelopeInteractive, accepts: true, trigger: tr, viewID: stored.ID, view: view}
	return s.deliverNew(ctx, v.Conn, env, payload)
}

// inputValues builds state.values for the view's input blocks.
func inputValues(view map[string]any, given map[string]map[string]string) (map[string]any, error) {
	var blocks []struct {
		Type    string `json:"type"`
		BlockID string `json:"block_id"`
		Element struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Options  []struct {
				Text  map[string]any `json:"text"`
				Value string         `json:"value"`
			} `json:"options"`
		} `json:"element"`
	}
	if raw, err := json.Marshal(view["blocks"]); err == nil {
		_ = json.Unmarshal(raw, &blocks)
	}
	out := map[string]any{}
	seen := map[string]bool{}
	for _, b := range blocks {
		if b.Type != "input" {
			continue
		}
		el := b.Element
		v, filled := given[b.BlockID][el.ActionID]
		seen[b.BlockID+"\x00"+el.ActionID] = true
		state := map[string]any{"type": el.Type}
		switch el.Type {
		case "static_select", "radio_buttons":
			state["selected_option"] = nil
			if filled {
				opt := map[string]any{"value": v, "text": map[string]any{"type": "plain_text", "text": v}}
				for _, o := range el.Options {
					if o.Value == v {
						opt["text"] = o.Text
					}
				}
				state["selected_option"] = opt
			}
		default:
			state["value"] = nil
			if filled {
				state["value"] = v
			}
		}
		if out[b.BlockID] == nil {
			out[b.BlockID] = map[string]any{}
		}
		out[b.BlockID].(map[string]any)[el.ActionID] = state
	}
	for blockID, actions := range given {
		for actionID := range actions {
			if !seen[blockID+"\x00"+actionID] {
				return nil, fmt.Errorf("slacktest: the view has no input %s/%s", blockID, actionID)
			}
		}
	}
	return out, nil
}

// SendEvent delivers an events_api envelope whose inner event is event, e.g.
// {"type": "app_home_opened", "tab": "home"}. "user" defaults to userID and
// "event_ts" to a fresh timestamp.
func (s *Server) SendEvent(ctx context.Context, userID string, event map[string]any) (*Delivery, error) {
	ev := maps.Clone(event)
	if ev == nil || ev["type"] == nil {
		return nil, errors.New("slacktest: event needs a type")
	}
	s.mu.Lock()
	if _, ok := ev["user"]; !ok && userID != "" {
		ev["user"] = userID
	}
	if _, ok := ev["event_ts"]; !ok {
		ev["event_ts"] = s.newTSLocked()
	}
	eventID := fmt.Sprintf("Ev%010d", s.nextSeqLocked())
	at := s.now().Unix()
	s.mu.Unlock()
	payload := map[string]any{
		"token":      VerificationToken,
		"team_id":    teamID,
		"api_app_id": appID,
		"event":      ev,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": at,
		"authorizations": []any{map[string]any{
			"enterprise_id":         nil,
			"team_id":               teamID,
			"user_id":               botUserID,
			"is_bot":                true,
			"is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + randomHex(12),
	}
	return s.deliverNew(ctx, 0, &envelope{typ: EnvelopeEventsAPI}, payload)
}

// SendEnvelope delivers an envelope of any type with a payload built by the
// caller, on connection conn (0 for round robin).
func (s *Server) SendEnvelope(ctx context.Context, conn int, envelopeType string, payload json.RawMessage, acceptsResponsePayload bool) (*Delivery, error) {
	env := &envelope{typ: envelopeType, accepts: acceptsResponsePayload}
	return s.deliverNew(ctx, conn, env, payload)
}

// Redeliver sends d's envelope again, as Slack does when an ack is late: the
// same envelope_id and payload with retry_attempt one higher and retry_reason
// "timeout". It goes to another connection when there is one, since that is
// where a second replica would see it.
func (s *Server) Redeliver(ctx context.Context, d *Delivery) (*Delivery, error) {
	s.mu.Lock()
	env := s.envelopes[d.EnvelopeID]
	s.mu.Unlock()
	if env == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownEnvelope, d.EnvelopeID)
	}
	return s.deliver(ctx, 0, d.Conn, env, "timeout")
}

// RedeliverEvent sends an events_api delivery again the way Slack may
// retry an event: same payload (so the same event_id), retry_attempt one
// higher, retry_reason "timeout", and a new envelope_id. Slack does not
// document whether a retry keeps its envelope_id; this is the stricter
// reading, which only deduplication on event_id survives.
func (s *Server) RedeliverEvent(ctx context.Context, d *Delivery) (*Delivery, error) {
	s.mu.Lock()
	env := s.envelopes[d.EnvelopeID]
	s.mu.Unlock()
	if env == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownEnvelope, d.EnvelopeID)
	}
	if env.typ != EnvelopeEventsAPI {
		return nil, fmt.Errorf("slacktest: RedeliverEvent of a %s envelope", env.typ)
	}
	retry := &envelope{id: newEnvelopeID(), typ: env.typ, payload: env.payload, accepts: env.accepts, attempt: env.attempt}
	return s.deliver(ctx, 0, d.Conn, retry, "timeout")
}

func (s *Server) deliverNew(ctx context.Context, want int, env *envelope, payload any) (*Delivery, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("slacktest: encoding payload: %w", err)
	}
	env.id = newEnvelopeID()
	env.payload = b
	env.attempt = -1
	return s.deliver(ctx, want, 0, env, "")
}

func (s *Server) deliver(ctx context.Context, want, avoid int, env *envelope, retryReason string) (*Delivery, error) {
	var c *conn
	err := s.waitFor(ctx, func() bool {
		var done bool
		var perr error
		c, done, perr = s.pickConnLocked(want, avoid)
		if perr != nil {
			c = nil
		}
		return done
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoConnection, err)
	}
	if c == nil {
		return nil, fmt.Errorf("%w: connection %d is closed", ErrNoConnection, want)
	}

	// The envelope is recorded before it is written so that an ack racing
	// back finds it.
	s.mu.Lock()
	env.attempt++
	sent := s.now()
	if _, ok := s.envelopes[env.id]; !ok {
		env.firstSent = sent
		s.envelopes[env.id] = env
		s.envOrder = append(s.envOrder, env.id)
		if env.hook != "" {
			s.envToHook[env.id] = env.hook
		}
	}
	frame := envelopeFrame{
		EnvelopeID:             env.id,
		Payload:                env.payload,
		Type:                   env.typ,
		AcceptsResponsePayload: env.accepts,
		RetryAttempt:           env.attempt,
		RetryReason:            retryReason,
	}
	d := &Delivery{EnvelopeID: env.id, SentAt: sent, Conn: c.id, RetryAttempt: env.attempt, ResponseURL: env.response, TriggerID: env.trigger}
	stalled := s.stalled
	s.notifyLocked()
	s.mu.Unlock()

	if stalled {
		return d, nil
	}
	b, err := json.Marshal(frame)
	if err != nil {
		return nil, fmt.Errorf("slacktest: encoding envelope: %w", err)
	}
	if err := c.write(b); err != nil {
		return d, fmt.Errorf("slacktest: writing envelope to connection %d: %w", c.id, err)
	}
	return d, nil
}

// receive handles a frame from the app: an ack, or anything else, which
// Slack ignores.
func (s *Server) receive(c *conn, data []byte) {
	var a struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
		return
	}
	payload := bytes.TrimSpace(a.Payload)
	if bytes.Equal(payload, []byte("null")) || len(payload) == 0 {
		payload = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ack := Ack{EnvelopeID: a.EnvelopeID, At: s.now(), Payload: bytes.Clone(payload), Conn: c.id}
	if env := s.envelopes[a.EnvelopeID]; env != nil {
		ack.Latency = ack.At.Sub(env.firstSent)
		first := !env.acked
		env.acked = true
		var vs []Violation
		switch {
		case env.typ == EnvelopeSlashCommands && payload != nil:
			vs = checkAckMessage(payload)
		case env.viewID != "":
			vs = checkSubmissionAck(payload, env.view)
		case payload != nil:
			vs = checkOtherAck(payload, env.accepts)
		}
		if len(vs) > 0 {
			rb := refusalBody(vs)
			msgs := rb["response_metadata"].(map[string]any)["messages"].([]string)
			s.refuseLocked(Refusal{Method: "ack", Code: vs[0].Code, Messages: msgs, At: ack.At})
			first = false // Slack does not act on an ack it refused
		}
		switch {
		case !first:
		case env.typ == EnvelopeSlashCommands && env.hook != "" && payload != nil:
			// A slash command's ack payload is its reply, shown like a
			// response_url post (but not counted against the URL's uses).
			if h := s.hooks[env.hook]; h != nil {
				if r, err := parseResponse(payload, ack.At); err == nil {
					r.Blocks = fillIDs(r.Blocks)
					s.applyResponseLocked(h, r)
				}
			}
		case env.viewID != "" && ack.Latency <= ackDeadline:
			// Past 3 s Slack shows the person an error and ignores the
			// answer.
			s.applySubmissionLocked(env, payload)
		}
	}
	s.acks = append(s.acks, ack)
	s.notifyLocked()
}

// Acks returns every ack received, in order; an envelope acked on two
// deliveries appears twice.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ack, len(s.acks))
	for i, a := range s.acks {
		a.Payload = bytes.Clone(a.Payload)
		out[i] = a
	}
	return out
}

// WaitAck waits for the first ack of envelopeID.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.waitFor(ctx, func() bool {
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				found = a
				found.Payload = bytes.Clone(a.Payload)
				return true
			}
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("waiting for the ack of %s: %w", envelopeID, err)
	}
	return found, nil
}

// Unacked returns the ids of envelopes sent but never acked, in sending order.
func (s *Server) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.envOrder {
		if !s.envelopes[id].acked {
			out = append(out, id)
		}
	}
	return out
}

func (s *Server) newTriggerLocked(user string) string {
	id := fmt.Sprintf("%d.%d.%s", s.now().Unix(), s.nextSeqLocked(), randomHex(10))
	s.triggers[id] = &trigger{user: user, issued: s.now()}
	return id
}

func userRef(id string) map[string]any {
	return map[string]any{"id": id, "username": userName(id), "name": userName(id), "team_id": teamID}
}
