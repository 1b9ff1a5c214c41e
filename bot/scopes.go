package bot

import (
	"maps"
	"slices"
)

// MethodScopes lists every Slack Web API method the transport calls with the
// bot token (SLACK_BOT_TOKEN), each with the bot scopes Slack requires for
// it; a method that needs none has an empty list.
//
// The app manifest at the root of the repository (slack-app-manifest.json)
// asks for exactly the scopes of BotScopes. manifest_test.go reads the
// transport's source, finds every call it makes through the slack-go
// client, and fails when a call is missing here, when an entry here is no
// longer called, or when the manifest asks for more or fewer scopes than
// these add up to. So adding a Web API call means adding it here and its
// scopes to the manifest; workspaces that installed dialogbot before must
// then reinstall it to grant the new scope.
var MethodScopes = map[string][]string{
	// Run checks the bot token and learns the bot's own user id.
	"auth.test": nil,
	// Request messages, thread replies on them, capacity alerts, and
	// replies to App Home buttons (sent to the user id, they land in the
	// app's Messages tab). Channels the bot was not invited to are not
	// covered (no chat:write.public): the person is told to /invite it.
	"chat.postMessage": {"chat:write"},
	// Request and alert messages updated in place with the outcome.
	"chat.update": {"chat:write"},
	// Replies to buttons, seen only by whoever pressed.
	"chat.postEphemeral": {"chat:write"},
	// The optional deny-reason modal; it needs the press's trigger_id,
	// not a scope.
	"views.open": nil,
	// The App Home tab, published when a user opens it.
	"views.publish": nil,
	// Members of APPROVER_GROUPS and of the groups in CALLERS.
	"usergroups.users.list": {"usergroups:read"},
}

// EventScopes lists the Events API events the transport handles, which the
// manifest subscribes to as bot events, each with the scopes Slack requires
// to deliver it.
var EventScopes = map[string][]string{
	"app_home_opened": nil,
	// A user group's members changed: removals apply at once, and the
	// group is read again.
	"subteam_members_changed": {"usergroups:read"},
}

// CommandScope is what the slash commands need. Replies to a slash command
// go to its response_url, which needs no scope.
const CommandScope = "commands"

// AppMethodScopes lists the Web API methods called with the app-level token
// (SLACK_APP_TOKEN), which only opens Socket Mode connections. App-level
// tokens are created on the app's Basic Information page with these
// scopes; the manifest has no place for them.
var AppMethodScopes = map[string][]string{
	"apps.connections.open": {"connections:write"},
}

// BotScopes is the sorted set of bot scopes dialogbot needs: those of
// MethodScopes and EventScopes, and CommandScope.
func BotScopes() []string {
	set := map[string]bool{CommandScope: true}
	for _, table := range []map[string][]string{MethodScopes, EventScopes} {
		for _, scopes := range table {
			for _, s := range scopes {
				set[s] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
