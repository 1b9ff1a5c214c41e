package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// GroupLister reads user group members with usergroups.users.list.
type GroupLister struct{ api *slack.Client }

// NewGroupLister returns a GroupLister on api.
func NewGroupLister(api *slack.Client) *GroupLister { return &GroupLister{api: api} }

// GroupMembers lists the user ids in group.
func (g *GroupLister) GroupMembers(ctx context.Context, group string) ([]string, error) {
	users, err := g.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("slack: usergroups.users.list: %w", redactURLError(err))
	}
	return users, nil
}

// GroupsChanged is told when Slack says a user group's members changed,
// with the users it removed.
type GroupsChanged func(ctx context.Context, group string, removed []string)

// WithGroupsChanged handles subteam_members_changed.
func WithGroupsChanged(f GroupsChanged) Option { return func(b *Bot) { b.groupsChanged = f } }
