package slacktest

import (
	"context"
	"errors"
	"slices"
)

// SetGroup makes the workspace's user group id (S...) have exactly users,
// as usergroups.users.list will answer. It does not announce the change;
// ChangeGroup does.
func (s *Server) SetGroup(id string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usergroups[id] = slices.Clone(users)
	s.notifyLocked()
}

// ChangeGroup sets the group's members and delivers the
// subteam_members_changed event Slack sends, with who was added and who
// removed. The counts are numbers, as Slack sends them (its documentation
// shows strings; slack-go follows what arrives).
func (s *Server) ChangeGroup(ctx context.Context, id string, users ...string) (*Delivery, error) {
	s.mu.Lock()
	before, ok := s.usergroups[id]
	if !ok {
		s.mu.Unlock()
		return nil, errors.New("slacktest: no user group " + id)
	}
	s.usergroups[id] = slices.Clone(users)
	s.notifyLocked()
	s.mu.Unlock()
	var added, removed []any
	for _, u := range users {
		if !slices.Contains(before, u) {
			added = append(added, u)
		}
	}
	for _, u := range before {
		if !slices.Contains(users, u) {
			removed = append(removed, u)
		}
	}
	return s.SendEvent(ctx, "", map[string]any{
		"type":                 "subteam_members_changed",
		"subteam_id":           id,
		"team_id":              teamID,
		"date_previous_update": 1446670362,
		"date_update":          1492906952,
		"added_users":          added,
		"added_users_count":    len(added),
		"removed_users":        removed,
		"removed_users_count":  len(removed),
	})
}

// Fail makes the next `times` calls of method answer ok:false with code
// (e.g. "internal_error", "fatal_error"), as Slack does when it cannot
// serve a call; times < 0 keeps failing until Fail(method, "", 0).
func (s *Server) Fail(method, code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times == 0 {
		delete(s.failures, method)
		return
	}
	s.failures[method] = &failure{code: code, times: times}
}

type failure struct {
	code  string
	times int
}

// takeFailureLocked consumes one pending failure of method, if any.
func (s *Server) takeFailureLocked(method string) (string, bool) {
	f := s.failures[method]
	if f == nil {
		return "", false
	}
	if f.times > 0 {
		f.times--
		if f.times == 0 {
			delete(s.failures, method)
		}
	}
	return f.code, true
}

// usergroupsUsersList answers as Slack does: the members' ids, or
// no_such_subteam for a group the workspace lacks. A group with no members
// answers an empty list.
func (s *Server) usergroupsUsersList(r *apiRequest) (map[string]any, string) {
	id, _ := r.str("usergroup")
	if id == "" {
		return nil, "invalid_arguments"
	}
	users, ok := s.usergroups[id]
	if !ok {
		return nil, "no_such_subteam"
	}
	out := make([]any, len(users))
	for i, u := range users {
		out[i] = u
	}
	return map[string]any{"users": out}, ""
}
