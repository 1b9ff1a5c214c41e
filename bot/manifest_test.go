package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dialogbot/dialogbot/bot"
	"github.com/dialogbot/dialogbot/command"
)

// The Slack app manifest at the root of the repository is what a workspace
// admin pastes into "Create app from manifest". These tests keep it true to
// the code: its slash commands are the registry's, its bot scopes are what
// the Web API calls in bot/ need (found by reading bot/'s source), and the
// settings the transport depends on are on.

const (
	manifestName = "slack-app-manifest.json"
	manifestPath = "../" + manifestName
)

// appManifest is the part of a Slack app manifest dialogbot uses. It is
// decoded with unknown fields disallowed, so a misspelt key (which Slack
// would reject, and this test would otherwise read as false) fails.
type appManifest struct {
	DisplayInformation struct {
		Name            string `json:"name"`
		Description     string `json:"description,omitempty"`
		LongDescription string `json:"long_description,omitempty"`
		BackgroundColor string `json:"background_color,omitempty"`
	} `json:"display_information"`
	Features struct {
		AppHome struct {
			HomeTabEnabled             bool `json:"home_tab_enabled"`
			MessagesTabEnabled         bool `json:"messages_tab_enabled"`
			MessagesTabReadOnlyEnabled bool `json:"messages_tab_read_only_enabled"`
		} `json:"app_home"`
		BotUser *struct {
			DisplayName  string `json:"display_name"`
			AlwaysOnline bool   `json:"always_online"`
		} `json:"bot_user,omitempty"`
		SlashCommands []manifestCommand `json:"slash_commands,omitempty"`
	} `json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			BotEvents []string `json:"bot_events"`
		} `json:"event_subscriptions"`
		Interactivity struct {
			IsEnabled bool `json:"is_enabled"`
		} `json:"interactivity"`
		OrgDeployEnabled     bool `json:"org_deploy_enabled"`
		SocketModeEnabled    bool `json:"socket_mode_enabled"`
		TokenRotationEnabled bool `json:"token_rotation_enabled"`
	} `json:"settings"`
}

type manifestCommand struct {
	Command      string `json:"command"`
	Description  string `json:"description"`
	UsageHint    string `json:"usage_hint,omitempty"`
	ShouldEscape bool   `json:"should_escape"`
	URL          string `json:"url,omitempty"`
}

func decodeManifest(data []byte) (*appManifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m appManifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", manifestName, err)
	}
	return &m, nil
}

func loadManifest(t *testing.T) *appManifest {
	t.Helper()
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// codeFacts is what the code says the manifest must hold.
type codeFacts struct {
	commands   []command.Command   // the registry's slash commands
	botMethods map[string][]string // Web API method called with the bot token → where
	appMethods map[string][]string // … with the app-level token → where
	events     map[string][]string // Events API event handled → where
}

func (f codeFacts) clone() codeFacts {
	return codeFacts{
		commands:   slices.Clone(f.commands),
		botMethods: maps.Clone(f.botMethods),
		appMethods: maps.Clone(f.appMethods),
		events:     maps.Clone(f.events),
	}
}

// readCode gathers the facts from the registry and from bot/'s non-test
// source. Problems are what the source scan could not account for.
func readCode(t *testing.T) (codeFacts, []string) {
	t.Helper()
	return readCodeWith(t, nil)
}

// readCodeWith is readCode with extra source files (name → source) beside
// bot/'s own.
func readCodeWith(t *testing.T, extra map[string]string) (codeFacts, []string) {
	t.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(src)
	}
	if len(files) == 0 {
		t.Fatal("no source files in bot/")
	}
	maps.Copy(files, extra)
	uses, problems, err := scanSlackUses(files)
	if err != nil {
		t.Fatal(err)
	}
	facts, more := resolveUses(uses)
	facts.commands = command.New(nil, nil).SlashCommands()
	return facts, append(problems, more...)
}

// TestManifestMatchesBot checks slack-app-manifest.json against the code.
func TestManifestMatchesBot(t *testing.T) {
	m := loadManifest(t)
	facts, problems := readCode(t)
	problems = append(problems, checkManifest(m, facts)...)
	for _, p := range problems {
		t.Error(p)
	}
	for _, c := range []struct {
		what  string
		found map[string][]string
	}{{"Web API methods (bot token)", facts.botMethods}, {"Web API methods (app-level token)", facts.appMethods}, {"events handled", facts.events}} {
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(c.found)) {
			lines = append(lines, fmt.Sprintf("%s (%s)", k, strings.Join(c.found[k], ", ")))
		}
		t.Logf("%s: %s", c.what, strings.Join(lines, "; "))
	}
	if t.Failed() {
		t.Logf("slash_commands the registry implies:\n%s", registryCommandsJSON(facts.commands))
	}
	// BotScopes is the same union read from the tables alone; with no
	// stale table entries (checked above) it must agree with the code.
	if got, want := bot.BotScopes(), neededScopes(facts); !slices.Equal(got, want) {
		t.Errorf("bot.BotScopes() = %q, the code needs %q", got, want)
	}
}

// TestManifestChecksFail shows that each check fails when what it guards
// is broken: every case breaks one thing in a copy of the real manifest or
// of the facts read from the real code.
func TestManifestChecksFail(t *testing.T) {
	base := loadManifest(t)
	baseFacts, problems := readCode(t)
	if p := append(problems, checkManifest(base, baseFacts)...); len(p) > 0 {
		t.Fatalf("the real manifest must pass before it can be broken: %q", p)
	}
	if len(base.Features.SlashCommands) == 0 {
		t.Fatal("manifest has no slash commands")
	}
	firstCommand := func(m *appManifest) *manifestCommand { return &m.Features.SlashCommands[0] }
	// A method the code calls that needs a scope, to drop or forget.
	scoped := ""
	for _, k := range slices.Sorted(maps.Keys(baseFacts.botMethods)) {
		if len(bot.MethodScopes[k]) > 0 {
			scoped = k
			break
		}
	}
	if scoped == "" {
		t.Fatal("the code calls no Web API method that needs a scope")
	}
	tests := []struct {
		name     string
		manifest func(m *appManifest)
		facts    func(f *codeFacts)
		source   string // a file added to bot/'s real source
		want     string
	}{
		{name: "bot/ gains a chat.delete call",
			source: `func (b *Bot) forget(ctx context.Context, ch, ts string) { b.api.DeleteMessageContext(ctx, ch, ts) }`,
			want:   `"chat.delete" (added.go:3), which bot.MethodScopes does not list`},
		{name: "bot/ gains a call through the Poster",
			source: `func (p *Poster) who(ctx context.Context, u string) { p.api.GetUserInfoContext(ctx, u) }`,
			want:   `"users.info" (added.go:3), which bot.MethodScopes does not list`},
		{name: "bot/ gains a slack-go method the test does not know",
			source: `func (b *Bot) away(ctx context.Context) { b.api.SetUserPresenceContext(ctx, "away") }`,
			want:   "(*slack.Client).SetUserPresenceContext, which this test does not know: add it to slackGoMethods"},
		{name: "command in registry, not in manifest",
			manifest: func(m *appManifest) { m.Features.SlashCommands = m.Features.SlashCommands[1:] },
			want:     "is in the registry but not in"},
		{name: "command in manifest, not in registry",
			manifest: func(m *appManifest) {
				m.Features.SlashCommands = append(m.Features.SlashCommands, manifestCommand{Command: "/refund", Description: "x"})
			},
			want: `"/refund" is in slack-app-manifest.json but not in the registry`},
		{name: "command listed twice",
			manifest: func(m *appManifest) {
				m.Features.SlashCommands = append(m.Features.SlashCommands, m.Features.SlashCommands[0])
			},
			want: "twice"},
		{name: "registry gains a command",
			facts: func(f *codeFacts) {
				f.commands = append(f.commands, command.Command{Slash: "/report", Description: "x", Hint: "y"})
			},
			want: `"/report" is in the registry but not in`},
		{name: "description differs",
			manifest: func(m *appManifest) { firstCommand(m).Description += " (edited)" },
			want:     "description"},
		{name: "usage hint differs",
			manifest: func(m *appManifest) { firstCommand(m).UsageHint = "" },
			want:     "usage_hint"},
		{name: "registry hint changes",
			facts: func(f *codeFacts) { f.commands[len(f.commands)-1].Hint += " [--new]" },
			want:  "usage_hint"},
		{name: "should_escape on",
			manifest: func(m *appManifest) { firstCommand(m).ShouldEscape = true },
			want:     "should_escape"},
		{name: "request url on a socket mode command",
			manifest: func(m *appManifest) { firstCommand(m).URL = "https://example.com/slack" },
			want:     "url"},
		{name: "command too long for Slack",
			facts: func(f *codeFacts) {
				f.commands = append(f.commands, command.Command{Slash: "/" + strings.Repeat("a", 40)})
			},
			manifest: func(m *appManifest) {
				m.Features.SlashCommands = append(m.Features.SlashCommands, manifestCommand{Command: "/" + strings.Repeat("a", 40)})
			},
			want: "longer than 32"},
		{name: "command without description",
			facts: func(f *codeFacts) { f.commands = append(f.commands, command.Command{Slash: "/quiet"}) },
			manifest: func(m *appManifest) {
				m.Features.SlashCommands = append(m.Features.SlashCommands, manifestCommand{Command: "/quiet"})
			},
			want: "no description"},
		{name: "scope missing",
			manifest: func(m *appManifest) {
				drop := bot.MethodScopes[scoped][0]
				m.OAuthConfig.Scopes.Bot = slices.DeleteFunc(m.OAuthConfig.Scopes.Bot, func(s string) bool { return s == drop })
			},
			want: "missing bot scope"},
		{name: "commands scope missing",
			manifest: func(m *appManifest) {
				m.OAuthConfig.Scopes.Bot = slices.DeleteFunc(m.OAuthConfig.Scopes.Bot, func(s string) bool { return s == bot.CommandScope })
			},
			want: `missing bot scope "commands"`},
		{name: "extra scope",
			manifest: func(m *appManifest) { m.OAuthConfig.Scopes.Bot = append(m.OAuthConfig.Scopes.Bot, "users:read") },
			want:     `asks for bot scope "users:read"`},
		{name: "scope listed twice",
			manifest: func(m *appManifest) {
				m.OAuthConfig.Scopes.Bot = append(m.OAuthConfig.Scopes.Bot, m.OAuthConfig.Scopes.Bot[0])
			},
			want: "twice"},
		{name: "code calls a method MethodScopes lacks",
			facts: func(f *codeFacts) { f.botMethods["chat.delete"] = []string{"handlers.go:1"} },
			want:  `"chat.delete" (handlers.go:1), which bot.MethodScopes does not list`},
		{name: "MethodScopes lists a method the code no longer calls",
			facts: func(f *codeFacts) { delete(f.botMethods, scoped) },
			want:  "never calls it"},
		{name: "app-level method not listed",
			facts: func(f *codeFacts) { f.appMethods["apps.connections.close"] = []string{"bot.go:1"} },
			want:  "bot.AppMethodScopes does not list"},
		{name: "code handles an event EventScopes lacks",
			facts: func(f *codeFacts) { f.events["app_mention"] = []string{"handlers.go:1"} },
			want:  `"app_mention" (handlers.go:1), which bot.EventScopes does not list`},
		{name: "code handles an event the manifest does not subscribe to",
			facts: func(f *codeFacts) { f.events["app_mention"] = []string{"handlers.go:1"} },
			want:  `bot_events lacks "app_mention"`},
		{name: "socket mode off",
			manifest: func(m *appManifest) { m.Settings.SocketModeEnabled = false },
			want:     "socket_mode_enabled"},
		{name: "interactivity off",
			manifest: func(m *appManifest) { m.Settings.Interactivity.IsEnabled = false },
			want:     "interactivity.is_enabled"},
		{name: "app_home_opened not subscribed",
			manifest: func(m *appManifest) {
				m.Settings.EventSubscriptions.BotEvents = slices.DeleteFunc(m.Settings.EventSubscriptions.BotEvents, func(e string) bool { return e == "app_home_opened" })
			},
			want: `bot_events lacks "app_home_opened"`},
		{name: "event subscribed that the code ignores",
			manifest: func(m *appManifest) {
				m.Settings.EventSubscriptions.BotEvents = append(m.Settings.EventSubscriptions.BotEvents, "reaction_added")
			},
			want: `subscribes to "reaction_added"`},
		{name: "home tab off",
			manifest: func(m *appManifest) { m.Features.AppHome.HomeTabEnabled = false },
			want:     "home_tab_enabled"},
		{name: "messages tab off",
			manifest: func(m *appManifest) { m.Features.AppHome.MessagesTabEnabled = false },
			want:     "messages_tab_enabled"},
		{name: "messages tab writable",
			manifest: func(m *appManifest) { m.Features.AppHome.MessagesTabReadOnlyEnabled = false },
			want:     "messages_tab_read_only_enabled"},
		{name: "token rotation on",
			manifest: func(m *appManifest) { m.Settings.TokenRotationEnabled = true },
			want:     "token_rotation_enabled"},
		{name: "no bot user",
			manifest: func(m *appManifest) { m.Features.BotUser = nil },
			want:     "bot_user"},
		{name: "wrong name",
			manifest: func(m *appManifest) { m.DisplayInformation.Name = "DialogBot 2" },
			want:     "display_information.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := cloneManifest(t, base)
			f := baseFacts.clone()
			var got []string
			if tt.source != "" {
				f, got = readCodeWith(t, map[string]string{"added.go": "package bot\n\n" + tt.source + "\n"})
			}
			if tt.manifest != nil {
				tt.manifest(m)
			}
			if tt.facts != nil {
				tt.facts(&f)
			}
			got = append(got, checkManifest(m, f)...)
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("no problem mentions %q; got %q", tt.want, got)
			}
		})
	}
}

// TestManifestStrictKeys shows that a misspelt key fails instead of being
// read as a missing, false setting.
func TestManifestStrictKeys(t *testing.T) {
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"socket_mode_enabled"`)) {
		t.Fatal("manifest has no socket_mode_enabled key to misspell")
	}
	bad := bytes.Replace(data, []byte(`"socket_mode_enabled"`), []byte(`"socketmode_enabled"`), 1)
	if _, err := decodeManifest(bad); err == nil || !strings.Contains(err.Error(), "socketmode_enabled") {
		t.Errorf("decoding a misspelt key: err = %v, want one naming it", err)
	}
}

// TestScanSlackUses shows the source scan finds Web API calls however the
// client is reached, and refuses what it cannot classify.
func TestScanSlackUses(t *testing.T) {
	const header = `package bot

import (
	"context"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

type Bot struct {
	api *slack.Client
	sm  *socketmode.Client
}

func (b *Bot) API() *slack.Client { return b.api }
`
	tests := []struct {
		name        string
		body        string
		src         string // a whole file instead of header+body
		bot, app    []string
		events      []string
		wantProblem string
	}{
		{name: "method on a field", body: `func (b *Bot) f(ctx context.Context) { b.api.PostMessageContext(ctx, "C1") }`,
			bot: []string{"chat.postMessage"}},
		{name: "method value", body: `func (b *Bot) f() { g := b.api.UpdateMessageContext; _ = g }`,
			bot: []string{"chat.update"}},
		{name: "through an accessor", body: `func (b *Bot) f(ctx context.Context) { b.API().PublishViewContext(ctx, slack.PublishViewContextRequest{}) }`,
			bot: []string{"views.publish"}},
		{name: "through a parameter", body: `func f(ctx context.Context, c *slack.Client) { c.OpenViewContext(ctx, "T", slack.ModalViewRequest{}) }`,
			bot: []string{"views.open"}},
		{name: "through a local variable", body: `func f(ctx context.Context) { c := slack.New("x"); c.AuthTestContext(ctx) }`,
			bot: []string{"auth.test"}},
		{name: "through a copy of a field", body: `func (b *Bot) f(ctx context.Context) { api := b.api; api.PostEphemeralContext(ctx, "C", "U") }`,
			bot: []string{"chat.postEphemeral"}},
		{name: "through the socket client's embedded Web API client", body: `func (b *Bot) f(ctx context.Context) { b.sm.PostMessageContext(ctx, "C") }`,
			bot: []string{"chat.postMessage"}},
		{name: "socket mode connects with the app token", body: `func (b *Bot) f(ctx context.Context) { b.sm.RunContext(ctx); b.sm.Ack(socketmode.Request{}); <-b.sm.Events }`,
			app: []string{"apps.connections.open"}},
		{name: "response_url posts need no method", body: `func f(ctx context.Context) { slack.PostWebhookContext(ctx, "u", &slack.WebhookMessage{}); _ = slack.MsgOptionText("t", false); _ = slack.NewTextBlockObject("", "", false, false) }`},
		{name: "event by type assertion", body: `func f(e slackevents.EventsAPIEvent) { _, _ = e.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent) }`,
			events: []string{"app_home_opened"}},
		{name: "event by type switch", body: `func f(v any) { switch v.(type) { case slackevents.EventsAPIEvent: case *slackevents.AppMentionEvent: } }`,
			events: []string{"app_mention"}},
		{name: "renamed import", src: `package bot

import sl "github.com/slack-go/slack"

type P struct{ c *sl.Client }

func (p *P) f() { p.c.PostMessage("C") }
`, bot: []string{"chat.postMessage"}},
		{name: "unknown slack-go method", body: `func (b *Bot) f(ctx context.Context) { b.api.SetUserPresenceContext(ctx, "away") }`,
			wantProblem: "(*slack.Client).SetUserPresenceContext, which this test does not know: add it to slackGoMethods"},
		{name: "unknown slack package function", body: `func f(ctx context.Context) { slack.GetOAuthV2ResponseContext(ctx, nil, "", "", "", "") }`,
			wantProblem: "slack.GetOAuthV2ResponseContext"},
		{name: "unknown socketmode package function", body: `func f() { socketmode.Dial() }`,
			wantProblem: "socketmode.Dial"},
		{name: "unknown event type", body: `func f(v any) { _, _ = v.(*slackevents.ReactionAddedEvent) }`,
			wantProblem: "slackevents.ReactionAddedEvent"},
		{name: "embedded client", body: `type Q struct{ *slack.Client }`,
			wantProblem: "embeds"},
		{name: "dot import", src: `package bot

import . "github.com/slack-go/slack"

var _ = New
`, wantProblem: "dot-imports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == "" {
				src = header + tt.body + "\n"
			}
			uses, problems, err := scanSlackUses(map[string]string{"x.go": src})
			if err != nil {
				t.Fatal(err)
			}
			f, more := resolveUses(uses)
			problems = append(problems, more...)
			if tt.wantProblem != "" {
				if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.wantProblem) }) {
					t.Errorf("no problem mentions %q; got %q", tt.wantProblem, problems)
				}
				return
			}
			if len(problems) > 0 {
				t.Errorf("problems: %q", problems)
			}
			for _, c := range []struct {
				what string
				got  map[string][]string
				want []string
			}{{"bot methods", f.botMethods, tt.bot}, {"app methods", f.appMethods, tt.app}, {"events", f.events, tt.events}} {
				if got := slices.Sorted(maps.Keys(c.got)); !slices.Equal(got, slices.Sorted(slices.Values(c.want))) {
					t.Errorf("%s = %q, want %q", c.what, got, c.want)
				}
			}
		})
	}
}

// checkManifest lists every way m disagrees with the code.
func checkManifest(m *appManifest, f codeFacts) []string {
	var p []string
	p = append(p, checkCommands(m, f.commands)...)
	p = append(p, checkCalls(f)...)
	p = append(p, checkScopes(m, neededScopes(f))...)
	p = append(p, checkSettings(m, f)...)
	return p
}

// Length limits from Slack's manifest reference.
const (
	maxAppName         = 35
	maxAppDescription  = 140
	maxBotDisplayName  = 80
	maxCommandName     = 32
	maxCommandDescribe = 2000
	maxUsageHint       = 1000
)

// checkCommands: the manifest's slash commands are the registry's, with the
// registry's description and usage hint. should_escape is off: the parsers
// (command.Tokenize and the Parse functions) take the text as typed, and no
// argument is a user or channel, so Slack's escaped forms (<@U…|name>,
// <#C…|name>, <http://…>) would only reach them as unparseable words.
func checkCommands(m *appManifest, registry []command.Command) []string {
	var p []string
	inManifest := map[string]manifestCommand{}
	for _, c := range m.Features.SlashCommands {
		if _, dup := inManifest[c.Command]; dup {
			p = append(p, fmt.Sprintf("slash command %q is listed twice in %s", c.Command, manifestName))
		}
		inManifest[c.Command] = c
	}
	inRegistry := map[string]bool{}
	for _, c := range registry {
		inRegistry[c.Slash] = true
		mc, ok := inManifest[c.Slash]
		if !ok {
			p = append(p, fmt.Sprintf("slash command %q is in the registry but not in %s; add it", c.Slash, manifestName))
			continue
		}
		if mc.Description != c.Description {
			p = append(p, fmt.Sprintf("%s: description is %q in %s, %q in the registry", c.Slash, mc.Description, manifestName, c.Description))
		}
		if mc.UsageHint != c.Hint {
			p = append(p, fmt.Sprintf("%s: usage_hint is %q in %s, %q in the registry", c.Slash, mc.UsageHint, manifestName, c.Hint))
		}
		if mc.ShouldEscape {
			p = append(p, fmt.Sprintf("%s: should_escape must be false: the command parsers take the text as typed", c.Slash))
		}
		if mc.URL != "" {
			p = append(p, fmt.Sprintf("%s: has a url, but commands arrive over Socket Mode; remove it", c.Slash))
		}
		if !strings.HasPrefix(c.Slash, "/") || len(c.Slash) > maxCommandName {
			p = append(p, fmt.Sprintf("%s: Slack wants a command that starts with / and is no longer than %d characters", c.Slash, maxCommandName))
		}
		switch {
		case c.Description == "":
			p = append(p, fmt.Sprintf("%s: has no description in the registry, and Slack requires one", c.Slash))
		case len([]rune(c.Description)) > maxCommandDescribe:
			p = append(p, fmt.Sprintf("%s: description is longer than Slack's %d characters", c.Slash, maxCommandDescribe))
		}
		if len([]rune(c.Hint)) > maxUsageHint {
			p = append(p, fmt.Sprintf("%s: usage hint is longer than Slack's %d characters", c.Slash, maxUsageHint))
		}
	}
	for _, c := range m.Features.SlashCommands {
		if !inRegistry[c.Command] {
			p = append(p, fmt.Sprintf("slash command %q is in %s but not in the registry (command/registry.go); remove it", c.Command, manifestName))
		}
	}
	return p
}

// checkCalls: every Web API method the code calls, and every event it
// handles, is in the scope tables, and the tables list nothing else.
func checkCalls(f codeFacts) []string {
	var p []string
	for _, t := range []struct {
		table, token string
		called       map[string][]string
		scopes       map[string][]string
	}{
		{"bot.MethodScopes", "bot token", f.botMethods, bot.MethodScopes},
		{"bot.AppMethodScopes", "app-level token", f.appMethods, bot.AppMethodScopes},
		{"bot.EventScopes", "Events API", f.events, bot.EventScopes},
	} {
		for _, name := range slices.Sorted(maps.Keys(t.called)) {
			if _, ok := t.scopes[name]; !ok {
				p = append(p, fmt.Sprintf("bot/ uses %q (%s), which %s does not list: add it to bot/scopes.go with the scopes Slack's documentation gives for it, and add those scopes to %s",
					name, strings.Join(t.called[name], ", "), t.table, manifestName))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(t.scopes)) {
			if _, ok := t.called[name]; !ok {
				p = append(p, fmt.Sprintf("%s lists %q but bot/ never calls it (%s): remove it, and from %s any scope only it needed", t.table, name, t.token, manifestName))
			}
		}
	}
	return p
}

// neededScopes is the set of bot scopes the code needs: those of the
// methods it calls and the events it handles, and the commands scope when
// there are slash commands.
func neededScopes(f codeFacts) []string {
	set := map[string]bool{}
	for m := range f.botMethods {
		for _, s := range bot.MethodScopes[m] {
			set[s] = true
		}
	}
	for e := range f.events {
		for _, s := range bot.EventScopes[e] {
			set[s] = true
		}
	}
	if len(f.commands) > 0 {
		set[bot.CommandScope] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// checkScopes: the manifest asks for exactly the scopes needed.
func checkScopes(m *appManifest, need []string) []string {
	var p []string
	have := map[string]bool{}
	for _, s := range m.OAuthConfig.Scopes.Bot {
		if have[s] {
			p = append(p, fmt.Sprintf("%s lists bot scope %q twice", manifestName, s))
		}
		have[s] = true
	}
	for _, s := range need {
		if !have[s] {
			p = append(p, fmt.Sprintf("%s is missing bot scope %q, which the code needs (see bot/scopes.go)", manifestName, s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(have)) {
		if !slices.Contains(need, s) {
			p = append(p, fmt.Sprintf("%s asks for bot scope %q, which no Web API call in bot/ needs; remove it (or list the call in bot/scopes.go)", manifestName, s))
		}
	}
	return p
}

// checkSettings: what the transport depends on is switched on.
func checkSettings(m *appManifest, f codeFacts) []string {
	var p []string
	s := m.Settings
	if !s.SocketModeEnabled {
		p = append(p, "settings.socket_mode_enabled must be true: the bot connects over Socket Mode and has no public request URL")
	}
	if !s.Interactivity.IsEnabled {
		p = append(p, "settings.interactivity.is_enabled must be true: Approve, Deny and the deny-reason dialog are interactions")
	}
	if s.TokenRotationEnabled {
		p = append(p, "settings.token_rotation_enabled must be false: the bot uses a fixed SLACK_BOT_TOKEN and never refreshes it")
	}
	events := s.EventSubscriptions.BotEvents
	if !slices.Contains(events, "app_home_opened") {
		p = append(p, `settings.event_subscriptions.bot_events lacks "app_home_opened": the App Home tab is published when it arrives`)
	}
	for _, e := range slices.Sorted(maps.Keys(f.events)) {
		if e != "app_home_opened" && !slices.Contains(events, e) {
			p = append(p, fmt.Sprintf("settings.event_subscriptions.bot_events lacks %q, which bot/ handles (%s)", e, strings.Join(f.events[e], ", ")))
		}
	}
	for _, e := range events {
		if _, ok := f.events[e]; !ok {
			p = append(p, fmt.Sprintf("settings.event_subscriptions.bot_events subscribes to %q, which bot/ does not handle", e))
		}
	}
	home := m.Features.AppHome
	if _, ok := f.botMethods["views.publish"]; ok && !home.HomeTabEnabled {
		p = append(p, "features.app_home.home_tab_enabled must be true: the bot publishes an App Home tab (views.publish)")
	}
	if !home.MessagesTabEnabled {
		p = append(p, "features.app_home.messages_tab_enabled must be true: replies to App Home buttons are sent as direct messages")
	}
	if _, readsDMs := f.events["message.im"]; !readsDMs && !home.MessagesTabReadOnlyEnabled {
		p = append(p, "features.app_home.messages_tab_read_only_enabled must be true: the bot reads no direct messages, so what people type there would go unanswered")
	}
	if m.Features.BotUser == nil || m.Features.BotUser.DisplayName != "dialogbot" {
		p = append(p, `features.bot_user must be present with display_name "dialogbot": without a bot user there is no bot token`)
	} else if len([]rune(m.Features.BotUser.DisplayName)) > maxBotDisplayName {
		p = append(p, fmt.Sprintf("features.bot_user.display_name is longer than Slack's %d characters", maxBotDisplayName))
	}
	if m.DisplayInformation.Name != "dialogbot" {
		p = append(p, fmt.Sprintf("display_information.name is %q, want \"dialogbot\"", m.DisplayInformation.Name))
	}
	if len([]rune(m.DisplayInformation.Name)) > maxAppName || len([]rune(m.DisplayInformation.Description)) > maxAppDescription {
		p = append(p, fmt.Sprintf("display_information: Slack allows a name of %d and a description of %d characters", maxAppName, maxAppDescription))
	}
	return p
}

func cloneManifest(t *testing.T, m *appManifest) *appManifest {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// registryCommandsJSON is the slash_commands section the registry implies,
// to paste into the manifest.
func registryCommandsJSON(cmds []command.Command) string {
	var out []manifestCommand
	for _, c := range cmds {
		out = append(out, manifestCommand{Command: c.Slash, Description: c.Description, UsageHint: c.Hint})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err.Error()
	}
	return buf.String()
}

// The source scan. It parses bot/'s files with go/parser and finds, without
// type checking, every expression that holds a slack-go client: fields,
// variables and parameters declared as *slack.Client or *socketmode.Client,
// functions returning one, slack.New and socketmode.New, and variables
// assigned from any of those. A selector on such an expression is a use of
// the client (a call or a method value); calls of package functions of
// slack and socketmode are uses too; type assertions to slackevents types
// are events handled.

const (
	slackPath       = "github.com/slack-go/slack"
	socketmodePath  = "github.com/slack-go/slack/socketmode"
	slackeventsPath = "github.com/slack-go/slack/slackevents"

	kindClient = "*slack.Client"
	kindSocket = "*socketmode.Client"
	kindSlack  = "slack"       // package function
	kindSocPkg = "socketmode"  // package function
	kindEvent  = "slackevents" // type asserted
)

type slackUse struct {
	kind, name, pos string
}

// slackGoMethods maps methods of *slack.Client (and so of the embedded
// client in *socketmode.Client) to the Web API method they call; "" means
// no call. A method missing here fails the test.
var slackGoMethods = map[string]string{
	"AuthTest": "auth.test", "AuthTestContext": "auth.test",
	"PostMessage": "chat.postMessage", "PostMessageContext": "chat.postMessage",
	"UpdateMessage": "chat.update", "UpdateMessageContext": "chat.update",
	"PostEphemeral": "chat.postEphemeral", "PostEphemeralContext": "chat.postEphemeral",
	"DeleteMessage": "chat.delete", "DeleteMessageContext": "chat.delete",
	"GetPermalink": "chat.getPermalink", "GetPermalinkContext": "chat.getPermalink",
	"OpenView": "views.open", "OpenViewContext": "views.open",
	"PublishView": "views.publish", "PublishViewContext": "views.publish",
	"UpdateView": "views.update", "UpdateViewContext": "views.update",
	"PushView": "views.push", "PushViewContext": "views.push",
	"GetUserInfo": "users.info", "GetUserInfoContext": "users.info",
	"GetConversationInfo": "conversations.info", "GetConversationInfoContext": "conversations.info",
	"OpenConversation": "conversations.open", "OpenConversationContext": "conversations.open",
	"JoinConversation": "conversations.join", "JoinConversationContext": "conversations.join",
	"AddReaction": "reactions.add", "AddReactionContext": "reactions.add",
	"GetUserGroupMembers": "usergroups.users.list", "GetUserGroupMembersContext": "usergroups.users.list",
	"Debug": "", "Debugf": "", "Debugln": "",
}

// socketGoMethods maps what *socketmode.Client adds; the rest of its
// methods are the embedded *slack.Client's.
var socketGoMethods = map[string]struct {
	api      string
	appToken bool
}{
	"Run":         {"apps.connections.open", true},
	"RunContext":  {"apps.connections.open", true},
	"Open":        {"apps.connections.open", true},
	"OpenContext": {"apps.connections.open", true},
	"Ack":         {},
	"AckCtx":      {},
	"Send":        {},
	"SendCtx":     {},
	"Events":      {},
}

// slackGoFuncs are package functions of slack and socketmode that are not
// constructors (New…, …Option…); "" means no Web API method.
var slackGoFuncs = map[string]string{
	"slack.PostWebhook":                  "", // a response_url or incoming webhook: no token, no scope
	"slack.PostWebhookContext":           "",
	"slack.PostWebhookCustomHTTP":        "",
	"slack.PostWebhookCustomHTTPContext": "",
}

// slackGoEvents maps slackevents types to the Events API event they carry;
// "" is an envelope, not an event one subscribes to.
var slackGoEvents = map[string]string{
	"EventsAPIEvent":             "",
	"EventsAPICallbackEvent":     "",
	"AppHomeOpenedEvent":         "app_home_opened",
	"SubteamMembersChangedEvent": "subteam_members_changed",
	"AppMentionEvent":            "app_mention",
	"MessageEvent":               "message.im",
	"AppUninstalledEvent":        "app_uninstalled",
	"TokensRevokedEvent":         "tokens_revoked",
	"MemberJoinedChannelEvent":   "member_joined_channel",
}

func isConstructor(name string) bool {
	return strings.HasPrefix(name, "New") || strings.Contains(name, "Option")
}

type scanFile struct {
	name string
	f    *ast.File
	imp  map[string]string // import path → local name
}

// scanSlackUses finds the uses of slack-go in files (name → source).
func scanSlackUses(files map[string]string) ([]slackUse, []string, error) {
	fset := token.NewFileSet()
	var parsed []scanFile
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f, err := parser.ParseFile(fset, name, files[name], parser.SkipObjectResolution)
		if err != nil {
			return nil, nil, err
		}
		sf := scanFile{name: name, f: f, imp: map[string]string{}}
		for _, is := range f.Imports {
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return nil, nil, err
			}
			local := path[strings.LastIndex(path, "/")+1:]
			if is.Name != nil {
				local = is.Name.Name
			}
			if strings.HasPrefix(path, slackPath) && (local == "." || local == "_") {
				problems = append(problems, fmt.Sprintf("%s dot-imports or blank-imports %s, which hides its calls from this test; import it by name", name, path))
			}
			sf.imp[path] = local
		}
		parsed = append(parsed, sf)
	}
	pos := func(p token.Pos) string {
		at := fset.Position(p)
		return fmt.Sprintf("%s:%d", filepath.Base(at.Filename), at.Line)
	}

	// Expressions holding a client: names of fields and variables, and of
	// functions returning one.
	holders := map[string]string{}
	funcs := map[string]string{}
	typeKind := func(sf scanFile, e ast.Expr) string {
		if star, ok := e.(*ast.StarExpr); ok {
			e = star.X
		}
		sel, ok := e.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Client" {
			return ""
		}
		switch pkg, _ := sel.X.(*ast.Ident); {
		case pkg == nil:
			return ""
		case pkg.Name == sf.imp[slackPath]:
			return kindClient
		case pkg.Name == sf.imp[socketmodePath]:
			return kindSocket
		}
		return ""
	}
	isPkg := func(sf scanFile, e ast.Expr, path string) bool {
		id, ok := e.(*ast.Ident)
		return ok && sf.imp[path] != "" && id.Name == sf.imp[path]
	}
	var kindOf func(sf scanFile, e ast.Expr) string
	kindOf = func(sf scanFile, e ast.Expr) string {
		switch e := e.(type) {
		case *ast.ParenExpr:
			return kindOf(sf, e.X)
		case *ast.Ident:
			return holders[e.Name]
		case *ast.SelectorExpr:
			if isPkg(sf, e.X, slackPath) || isPkg(sf, e.X, socketmodePath) {
				return ""
			}
			return holders[e.Sel.Name]
		case *ast.CallExpr:
			switch fn := e.Fun.(type) {
			case *ast.Ident:
				return funcs[fn.Name]
			case *ast.SelectorExpr:
				if fn.Sel.Name == "New" && isPkg(sf, fn.X, slackPath) {
					return kindClient
				}
				if fn.Sel.Name == "New" && isPkg(sf, fn.X, socketmodePath) {
					return kindSocket
				}
				return funcs[fn.Sel.Name]
			}
		}
		return ""
	}
	for _, sf := range parsed {
		ast.Inspect(sf.f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.StructType:
				for _, fld := range n.Fields.List {
					if k := typeKind(sf, fld.Type); k != "" && len(fld.Names) == 0 {
						problems = append(problems, fmt.Sprintf("%s embeds %s, which hides its calls from this test; make it a named field", pos(fld.Pos()), k))
					}
				}
			case *ast.Field:
				if k := typeKind(sf, n.Type); k != "" {
					for _, id := range n.Names {
						holders[id.Name] = k
					}
				}
			case *ast.ValueSpec:
				if n.Type != nil {
					if k := typeKind(sf, n.Type); k != "" {
						for _, id := range n.Names {
							holders[id.Name] = k
						}
					}
				}
			case *ast.FuncDecl:
				if n.Type.Results != nil {
					for _, r := range n.Type.Results.List {
						if k := typeKind(sf, r.Type); k != "" {
							funcs[n.Name.Name] = k
						}
					}
				}
			}
			return true
		})
	}
	// Variables assigned from a holder, until nothing changes.
	name := func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name
		case *ast.SelectorExpr:
			return e.Sel.Name
		}
		return ""
	}
	for changed := true; changed; {
		changed = false
		assign := func(sf scanFile, lhs []ast.Expr, rhs []ast.Expr) {
			if len(lhs) != len(rhs) {
				return
			}
			for i, r := range rhs {
				if k := kindOf(sf, r); k != "" {
					if n := name(lhs[i]); n != "" && n != "_" && holders[n] != k {
						holders[n] = k
						changed = true
					}
				}
			}
		}
		for _, sf := range parsed {
			ast.Inspect(sf.f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					assign(sf, n.Lhs, n.Rhs)
				case *ast.ValueSpec:
					var lhs []ast.Expr
					for _, id := range n.Names {
						lhs = append(lhs, id)
					}
					assign(sf, lhs, n.Values)
				}
				return true
			})
		}
	}

	var uses []slackUse
	eventType := func(sf scanFile, e ast.Expr) {
		if star, ok := e.(*ast.StarExpr); ok {
			e = star.X
		}
		if sel, ok := e.(*ast.SelectorExpr); ok && isPkg(sf, sel.X, slackeventsPath) {
			uses = append(uses, slackUse{kindEvent, sel.Sel.Name, pos(sel.Pos())})
		}
	}
	for _, sf := range parsed {
		ast.Inspect(sf.f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if k := kindOf(sf, n.X); k != "" {
					uses = append(uses, slackUse{k, n.Sel.Name, pos(n.Sel.Pos())})
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch {
					case isPkg(sf, sel.X, slackPath):
						uses = append(uses, slackUse{kindSlack, sel.Sel.Name, pos(sel.Pos())})
					case isPkg(sf, sel.X, socketmodePath):
						uses = append(uses, slackUse{kindSocPkg, sel.Sel.Name, pos(sel.Pos())})
					}
				}
			case *ast.TypeAssertExpr:
				if n.Type != nil {
					eventType(sf, n.Type)
				}
			case *ast.TypeSwitchStmt:
				for _, c := range n.Body.List {
					for _, e := range c.(*ast.CaseClause).List {
						eventType(sf, e)
					}
				}
			}
			return true
		})
	}
	return uses, problems, nil
}

// resolveUses maps slack-go uses to Web API methods and events.
func resolveUses(uses []slackUse) (codeFacts, []string) {
	f := codeFacts{botMethods: map[string][]string{}, appMethods: map[string][]string{}, events: map[string][]string{}}
	var problems []string
	add := func(m map[string][]string, key, pos string) {
		if key != "" && !slices.Contains(m[key], pos) {
			m[key] = append(m[key], pos)
		}
	}
	unknown := func(u slackUse, what string) {
		problems = append(problems, fmt.Sprintf("%s uses %s, which this test does not know: add it to %s in bot/manifest_test.go with the Web API method it calls (\"\" for none), add that method to bot.MethodScopes in bot/scopes.go with its scopes, and add the scopes to %s",
			u.pos, what, "slackGoMethods", manifestName))
	}
	for _, u := range uses {
		switch u.kind {
		case kindSocket:
			if s, ok := socketGoMethods[u.name]; ok {
				if s.appToken {
					add(f.appMethods, s.api, u.pos)
				} else {
					add(f.botMethods, s.api, u.pos)
				}
				continue
			}
			fallthrough // the embedded *slack.Client
		case kindClient:
			api, ok := slackGoMethods[u.name]
			if !ok {
				unknown(u, "("+u.kind+")."+u.name)
				continue
			}
			add(f.botMethods, api, u.pos)
		case kindSlack, kindSocPkg:
			if isConstructor(u.name) {
				continue
			}
			api, ok := slackGoFuncs[u.kind+"."+u.name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s calls %s.%s, which this test does not know: add it to slackGoFuncs in bot/manifest_test.go with the Web API method it calls (\"\" for none), and any such method to bot.MethodScopes and %s",
					u.pos, u.kind, u.name, manifestName))
				continue
			}
			add(f.botMethods, api, u.pos)
		case kindEvent:
			ev, ok := slackGoEvents[u.name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s handles slackevents.%s, which this test does not know: add it to slackGoEvents in bot/manifest_test.go with its event name, add the event to bot.EventScopes and to bot_events in %s",
					u.pos, u.name, manifestName))
				continue
			}
			add(f.events, ev, u.pos)
		}
	}
	return f, problems
}
