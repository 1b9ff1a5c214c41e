package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Token kinds recorded in APICall.Token.
const (
	TokenBot  = "bot"
	TokenApp  = "app"
	TokenBad  = "bad"
	TokenNone = ""
)

// APICall is one Web API request as the server saw it.
type APICall struct {
	Method string
	// Token is the kind of token the call carried (TokenBot, TokenApp,
	// TokenBad or TokenNone), never the token itself.
	Token string
	// Args holds form and query values, without "token".
	Args url.Values
	// JSON holds the decoded body of a JSON request.
	JSON map[string]any
	At   time.Time
	// Status is the HTTP status answered (429 when rate limited).
	Status int
	// Error is the Slack error code answered; empty when ok.
	Error string
	// Messages are the answer's response_metadata.messages: each broken
	// rule with the JSON pointer to what broke it.
	Messages []string
}

type rateLimit struct {
	times      int
	retryAfter time.Duration
}

// RateLimit makes the next `times` calls of method ("" for any method)
// answer 429 with Retry-After, as Slack's tier limits do. Retry-After is
// rounded up to whole seconds, the only unit Slack sends.
func (s *Server) RateLimit(method string, times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		delete(s.limits, method)
		return
	}
	s.limits[method] = &rateLimit{times: times, retryAfter: retryAfter}
}

// RemoveBot takes the bot out of channel: as in Slack without the
// chat:write.public scope, chat.postMessage there answers not_in_channel, or
// channel_not_found when the channel is private (SetPrivate, or an id
// starting with G): the bot cannot even see it. AddBot puts it back.
func (s *Server) RemoveBot(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outside[channel] = true
}

// SetPrivate makes channel a private channel.
func (s *Server) SetPrivate(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.private[channel] = true
}

// membershipLocked is Slack's answer to posting in channel: "" when the bot
// may post there.
func (s *Server) membershipLocked(channel string) string {
	if !s.outside[channel] {
		return ""
	}
	if s.private[channel] || strings.HasPrefix(channel, "G") {
		return "channel_not_found"
	}
	return "not_in_channel"
}

// AddBot undoes RemoveBot.
func (s *Server) AddBot(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.outside, channel)
}

// Calls returns the recorded calls of method, or every call when method is "".
func (s *Server) Calls(method string) []APICall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

// RateLimited is how many calls of method ("" for any) were answered 429,
// injected (RateLimit) or by a channel's pace (SetChannelRate).
func (s *Server) RateLimited(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if (method == "" || c.Method == method) && c.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

func (s *Server) callsLocked(method string) []APICall {
	var out []APICall
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			c.Args = maps.Clone(c.Args)
			out = append(out, c)
		}
	}
	return out
}

// WaitForCall waits until method ("" for any) has been called at least n
// times and returns all its calls so far. A call is recorded after its effect,
// so a stored message is visible once its chat.postMessage call is.
func (s *Server) WaitForCall(ctx context.Context, method string, n int) ([]APICall, error) {
	var out []APICall
	err := s.waitFor(ctx, func() bool {
		out = s.callsLocked(method)
		return len(out) >= n
	})
	if err != nil {
		return out, fmt.Errorf("waiting for %d %q calls (have %d): %w", n, method, len(out), err)
	}
	return out, nil
}

// apiRequest is a Web API call's parameters, from a form or a JSON body.
type apiRequest struct {
	form url.Values
	json map[string]any
	// injected is set when the answer is a fault the test set up
	// (RemoveBot), not something the app did wrong.
	injected bool
}

// str returns a parameter as a string; JSON values that are not strings are
// returned as JSON text.
func (r *apiRequest) str(key string) (string, bool) {
	if r.json != nil {
		if v, ok := r.json[key]; ok && v != nil {
			if sv, ok := v.(string); ok {
				return sv, true
			}
			b, _ := json.Marshal(v)
			return string(b), true
		}
	}
	if vs, ok := r.form[key]; ok && len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}

// rawJSON returns a JSON-valued parameter: a form field holds JSON text, a
// JSON body holds the value itself (or, from some clients, JSON text).
func (r *apiRequest) rawJSON(key string) (json.RawMessage, bool, error) {
	if r.json != nil {
		v, ok := r.json[key]
		if !ok || v == nil {
			return nil, false, nil
		}
		if sv, ok := v.(string); ok {
			return validJSON(sv)
		}
		b, err := json.Marshal(v)
		return b, true, err
	}
	vs, ok := r.form[key]
	if !ok || len(vs) == 0 {
		return nil, false, nil
	}
	return validJSON(vs[0])
}

func validJSON(s string) (json.RawMessage, bool, error) {
	if !json.Valid([]byte(s)) {
		return nil, true, errors.New("invalid JSON")
	}
	return json.RawMessage(s), true, nil
}

type apiMethod struct {
	token string // TokenBot, TokenApp, or "" for either
	run   func(s *Server, r *apiRequest) (map[string]any, string)
}

var apiMethods = map[string]apiMethod{
	"auth.test":              {"", (*Server).authTest},
	"apps.connections.open":  {TokenApp, (*Server).connectionsOpen},
	"chat.postMessage":       {TokenBot, (*Server).postMessage},
	"chat.update":            {TokenBot, (*Server).updateMessage},
	"chat.delete":            {TokenBot, (*Server).deleteMessage},
	"chat.postEphemeral":     {TokenBot, (*Server).postEphemeral},
	"views.open":             {TokenBot, (*Server).openView},
	"views.publish":          {TokenBot, (*Server).publishView},
	"views.update":           {TokenBot, (*Server).updateView},
	"users.info":             {TokenBot, (*Server).userInfo},
	"conversations.info":     {TokenBot, (*Server).conversationInfo},
	"usergroups.users.list":  {TokenBot, (*Server).usergroupsUsersList},
	"apps.connections.close": {TokenApp, func(*Server, *apiRequest) (map[string]any, string) { return nil, "" }},
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	req, token, err := readAPIRequest(r)
	call := APICall{Method: method, Token: s.tokenKind(token), Args: req.form, JSON: req.json}

	s.mu.Lock()
	call.At = s.now()
	var (
		status = http.StatusOK
		body   map[string]any
		header = http.Header{}
	)
	injected := false
	switch {
	case s.takeLimitLocked(method, header):
		status = http.StatusTooManyRequests
		body = map[string]any{"ok": false, "error": "ratelimited"}
		injected = true
	case err != nil:
		body = map[string]any{"ok": false, "error": "invalid_form_data"}
	case method == "chat.postMessage" && call.Token == TokenBot && !s.paceLocked(channelOf(&req), header):
		// Not a fault of the test's making, nor a wrong request: the
		// channel's pace (SetChannelRate). Nothing was posted.
		status = http.StatusTooManyRequests
		body = map[string]any{"ok": false, "error": "ratelimited"}
	default:
		if code, failing := s.takeFailureLocked(method); failing {
			body = map[string]any{"ok": false, "error": code}
			injected = true
			break
		}
		body = s.dispatchLocked(method, call.Token, &req)
		injected = req.injected
	}
	call.Status = status
	if e, _ := body["error"].(string); e != "" {
		call.Error = e
		var msgs []string
		if md, ok := body["response_metadata"].(map[string]any); ok {
			msgs, _ = md["messages"].([]string)
		}
		call.Messages = msgs
		s.refuseLocked(Refusal{Method: method, Code: e, Messages: msgs, Injected: injected})
	}
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	maps.Copy(w.Header(), header)
	writeJSON(w, status, body)
}

func (s *Server) dispatchLocked(method, token string, req *apiRequest) map[string]any {
	m, known := apiMethods[method]
	if code := authError(token, m.token); code != "" {
		// A wrong token is the test's doing: the app sends what it is given.
		req.injected = token == TokenBad
		return map[string]any{"ok": false, "error": code}
	}
	if !known {
		// Methods the emulator does not model succeed, so a bot using them
		// still runs; the call is recorded for assertions.
		return map[string]any{"ok": true}
	}
	if check := payloadChecks[method]; check != nil {
		if vs := check(req); len(vs) > 0 {
			return refusalBody(vs)
		}
	}
	fields, code := m.run(s, req)
	if code != "" {
		return map[string]any{"ok": false, "error": code}
	}
	out := map[string]any{"ok": true}
	maps.Copy(out, fields)
	return out
}

func authError(have, want string) string {
	switch {
	case have == TokenNone:
		return "not_authed"
	case have == TokenBad:
		return "invalid_auth"
	case want != "" && have != want:
		return "not_allowed_token_type"
	}
	return ""
}

func (s *Server) tokenKind(token string) string {
	switch token {
	case "":
		return TokenNone
	case s.cfg.botToken:
		return TokenBot
	case s.cfg.appToken:
		return TokenApp
	}
	return TokenBad
}

// takeLimitLocked consumes one pending 429 for method, if any.
func (s *Server) takeLimitLocked(method string, h http.Header) bool {
	lim := s.limits[method]
	key := method
	if lim == nil {
		lim, key = s.limits[""], ""
	}
	if lim == nil {
		return false
	}
	lim.times--
	if lim.times <= 0 {
		delete(s.limits, key)
	}
	secs := int64((lim.retryAfter + time.Second - 1) / time.Second)
	h.Set("Retry-After", strconv.FormatInt(max(secs, 0), 10))
	return true
}

// readAPIRequest reads the parameters and the token the way Slack does: the
// token from "Authorization: Bearer" or, for form posts, the "token" field.
func readAPIRequest(r *http.Request) (apiRequest, string, error) {
	token := ""
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = auth
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	req := apiRequest{form: url.Values{}}
	var err error
	if ctype == "application/json" {
		var body []byte
		body, err = io.ReadAll(r.Body)
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &req.json)
		}
		req.form = r.URL.Query()
	} else {
		err = r.ParseForm()
		req.form = r.Form
	}
	if req.form == nil {
		req.form = url.Values{}
	}
	if t := req.form.Get("token"); token == "" && t != "" {
		token = t
	}
	req.form = maps.Clone(req.form)
	req.form.Del("token")
	if req.json != nil {
		if t, ok := req.json["token"].(string); ok {
			if token == "" {
				token = t
			}
			delete(req.json, "token")
		}
	}
	return req, token, err
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) authTest(*apiRequest) (map[string]any, string) {
	return map[string]any{
		"url":     "https://" + teamDomain + ".slack.com/",
		"team":    teamName,
		"user":    "dialogbot",
		"team_id": teamID,
		"user_id": botUserID,
		"bot_id":  botID,
		"app_id":  appID,
	}, ""
}

func (s *Server) connectionsOpen(*apiRequest) (map[string]any, string) {
	ticket := randomHex(16)
	s.tickets[ticket] = true
	u := "ws://" + s.http.Listener.Addr().String() + "/link/?ticket=" + ticket + "&app_id=" + appID
	return map[string]any{"url": u}, ""
}

func (s *Server) postMessage(r *apiRequest) (map[string]any, string) {
	channel, _ := r.str("channel")
	if channel == "" {
		return nil, "channel_not_found"
	}
	if code := s.membershipLocked(channel); code != "" {
		r.injected = true
		return nil, code
	}
	text, blocks, threadTS, code := newContent(r)
	if code != "" {
		return nil, code
	}
	m := &Message{Channel: channel, TS: s.newTSLocked(), ThreadTS: threadTS, Text: text, User: botUserID, Blocks: blocks}
	s.messages = append(s.messages, m)
	s.recordLocked(m)
	return map[string]any{"channel": channel, "ts": m.TS, "message": messageObject(m)}, ""
}

// newContent reads what a new message says: its text, its blocks and the
// thread it goes in; code is Slack's error when it says nothing.
func newContent(r *apiRequest) (text string, blocks json.RawMessage, threadTS, code string) {
	text, _ = r.str("text")
	blocks, _, err := r.rawJSON("blocks")
	if err != nil {
		return "", nil, "", "invalid_blocks"
	}
	blocks = fillIDs(nonEmptyBlocks(blocks))
	if text == "" && blocks == nil {
		return "", nil, "", "no_text"
	}
	threadTS, _ = r.str("thread_ts")
	return text, blocks, threadTS, ""
}

func (s *Server) updateMessage(r *apiRequest) (map[string]any, string) {
	channel, _ := r.str("channel")
	ts, _ := r.str("ts")
	m := s.findLocked(channel, ts)
	if m == nil || m.Deleted {
		return nil, "message_not_found"
	}
	text, hasText := r.str("text")
	blocks, hasBlocks, err := r.rawJSON("blocks")
	if err != nil {
		return nil, "invalid_blocks"
	}
	if !hasText && !hasBlocks {
		return nil, "no_text"
	}
	if hasText {
		m.Text = text
	}
	if hasBlocks {
		m.Blocks = fillIDs(nonEmptyBlocks(blocks))
	}
	m.Updated++
	s.recordLocked(m)
	return map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": messageObject(m)}, ""
}

func (s *Server) deleteMessage(r *apiRequest) (map[string]any, string) {
	channel, _ := r.str("channel")
	ts, _ := r.str("ts")
	m := s.findLocked(channel, ts)
	if m == nil || m.Deleted {
		return nil, "message_not_found"
	}
	m.Deleted = true
	s.recordLocked(m)
	return map[string]any{"channel": channel, "ts": ts}, ""
}

func (s *Server) postEphemeral(r *apiRequest) (map[string]any, string) {
	channel, _ := r.str("channel")
	if channel == "" {
		return nil, "channel_not_found"
	}
	user, _ := r.str("user")
	if user == "" {
		return nil, "user_not_in_channel"
	}
	if code := s.membershipLocked(channel); code == "channel_not_found" {
		// Slack cannot show an ephemeral message in a private channel the
		// bot cannot see.
		r.injected = true
		return nil, code
	}
	text, blocks, threadTS, code := newContent(r)
	if code != "" {
		return nil, code
	}
	m := &Message{Channel: channel, TS: s.newTSLocked(), ThreadTS: threadTS, Text: text, User: botUserID, Blocks: blocks, EphemeralTo: user}
	s.ephemerals = append(s.ephemerals, m)
	s.recordLocked(m)
	return map[string]any{"message_ts": m.TS}, ""
}

func (s *Server) openView(r *apiRequest) (map[string]any, string) {
	triggerID, _ := r.str("trigger_id")
	tr := s.triggers[triggerID]
	switch {
	case tr == nil:
		return nil, "invalid_trigger_id"
	case tr.used:
		return nil, "exchanged_trigger_id"
	case tr.expired || s.now().Sub(tr.issued) >= s.triggerTTL:
		return nil, "expired_trigger_id"
	}
	raw, ok, err := r.rawJSON("view")
	if !ok || err != nil {
		return nil, "invalid_arguments"
	}
	tr.used = true
	v := &View{ID: fmt.Sprintf("V%09d", s.nextSeqLocked()), TriggerID: triggerID, UserID: tr.user, At: s.now()}
	obj, code := s.fillViewLocked(v, raw)
	if code != "" {
		return nil, code
	}
	s.views = append(s.views, v)
	return map[string]any{"view": obj}, ""
}

func (s *Server) publishView(r *apiRequest) (map[string]any, string) {
	user, _ := r.str("user_id")
	if user == "" {
		return nil, "invalid_arguments"
	}
	raw, ok, err := r.rawJSON("view")
	if !ok || err != nil {
		return nil, "invalid_arguments"
	}
	v := s.homeByUser[user]
	if v == nil {
		v = &View{ID: fmt.Sprintf("V%09d", s.nextSeqLocked()), UserID: user}
		s.homeByUser[user] = v
		s.views = append(s.views, v)
	} else {
		v.Updated++
	}
	v.At = s.now()
	obj, code := s.fillViewLocked(v, raw)
	if code != "" {
		return nil, code
	}
	return map[string]any{"view": obj}, ""
}

func (s *Server) updateView(r *apiRequest) (map[string]any, string) {
	id, _ := r.str("view_id")
	ext, _ := r.str("external_id")
	var v *View
	for _, cand := range s.views {
		if (id != "" && cand.ID == id) || (ext != "" && cand.ExternalID == ext) {
			v = cand
		}
	}
	if v == nil {
		return nil, "not_found"
	}
	raw, ok, err := r.rawJSON("view")
	if !ok || err != nil {
		return nil, "invalid_arguments"
	}
	v.Updated++
	v.At = s.now()
	obj, code := s.fillViewLocked(v, raw)
	if code != "" {
		return nil, code
	}
	return map[string]any{"view": obj}, ""
}

// fillViewLocked completes a view the app sent with the fields Slack adds and
// stores the result in v.
func (s *Server) fillViewLocked(v *View, raw json.RawMessage) (map[string]any, string) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, "invalid_arguments"
	}
	str := func(k string) string { x, _ := obj[k].(string); return x }
	v.Type = str("type")
	v.CallbackID = str("callback_id")
	v.PrivateMetadata = str("private_metadata")
	v.ExternalID = str("external_id")
	v.Hash = fmt.Sprintf("%d.%s", s.now().Unix(), randomHex(4))
	if bs, ok := obj["blocks"].([]any); ok {
		fillIDsIn(bs)
	}
	obj["id"] = v.ID
	obj["team_id"] = teamID
	obj["app_id"] = appID
	obj["bot_id"] = botID
	obj["app_installed_team_id"] = teamID
	obj["hash"] = v.Hash
	obj["root_view_id"] = v.ID
	obj["previous_view_id"] = nil
	obj["state"] = map[string]any{"values": map[string]any{}}
	for _, k := range []string{"callback_id", "private_metadata", "external_id"} {
		if _, ok := obj[k]; !ok {
			obj[k] = ""
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, "invalid_arguments"
	}
	v.JSON = b
	return obj, ""
}

func (s *Server) userInfo(r *apiRequest) (map[string]any, string) {
	id, _ := r.str("user")
	if id == "" || !strings.ContainsAny(id[:1], "UWB") {
		return nil, "user_not_found"
	}
	return map[string]any{"user": userObject(id)}, ""
}

func (s *Server) conversationInfo(r *apiRequest) (map[string]any, string) {
	id, _ := r.str("channel")
	if id == "" || !strings.ContainsAny(id[:1], "CGD") {
		return nil, "channel_not_found"
	}
	if s.membershipLocked(id) == "channel_not_found" {
		r.injected = true
		return nil, "channel_not_found"
	}
	isIM := id[0] == 'D'
	ch := map[string]any{
		"id":          id,
		"name":        channelName(id),
		"is_channel":  id[0] == 'C',
		"is_group":    false,
		"is_im":       isIM,
		"is_private":  id[0] != 'C' || s.private[id],
		"is_archived": false,
		"is_member":   !s.outside[id],
		"created":     s.now().Add(-24 * time.Hour).Unix(),
		"creator":     "U0CREATOR1",
	}
	if isIM {
		delete(ch, "name")
	}
	return map[string]any{"channel": ch}, ""
}

func userName(id string) string {
	if id == botUserID {
		return "dialogbot"
	}
	return "user_" + strings.ToLower(id)
}

func channelName(id string) string { return "channel_" + strings.ToLower(id) }

func userObject(id string) map[string]any {
	name := userName(id)
	isBot := id == botUserID
	return map[string]any{
		"id":        id,
		"team_id":   teamID,
		"name":      name,
		"deleted":   false,
		"real_name": name,
		"tz":        "America/Chicago",
		"tz_label":  "Central Standard Time",
		"tz_offset": -21600,
		"is_admin":  false,
		"is_owner":  false,
		"is_bot":    isBot,
		"profile": map[string]any{
			"real_name":    name,
			"display_name": name,
			"team":         teamID,
		},
	}
}
