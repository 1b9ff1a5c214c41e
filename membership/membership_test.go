package membership

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flaky is a Lister whose answers a test sets, and which can fail.
type flaky struct {
	mu      sync.Mutex
	members map[string][]string
	fail    error
	calls   int
}

func (f *flaky) GroupMembers(_ context.Context, g string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	return f.members[g], nil
}

func (f *flaky) set(g string, users ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[g] = users
}

func (f *flaky) failWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func TestDirectory(t *testing.T) {
	ctx := context.Background()
	l := &flaky{members: map[string][]string{"S1": {"U1", "U2"}, "S2": {"U3"}}}
	d := New(nil, []string{"S1", "S2"})
	if err := d.Refresh(ctx); !errors.Is(err, ErrNoLister) {
		t.Errorf("Refresh without a lister: %v, want ErrNoLister", err)
	}
	if d.Member("S1", "U1") || d.Known("S1") {
		t.Fatal("a group never read has members")
	}
	d.SetLister(l)
	if err := d.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !d.Member("S1", "U1") || !d.Member("S2", "U3") || d.Member("S2", "U1") {
		t.Errorf("members after refresh: S1 %v, S2 %v", d.Members("S1"), d.Members("S2"))
	}

	// Slack failing keeps the last known members.
	l.failWith(errors.New("internal_error"))
	if err := d.Refresh(ctx); err == nil {
		t.Error("Refresh with Slack failing: no error")
	}
	if diff := cmp.Diff([]string{"U1", "U2"}, d.Members("S1")); diff != "" {
		t.Errorf("members while Slack fails (-want +got):\n%s", diff)
	}

	// An announced removal applies at once, even while Slack fails, and
	// never widens anything.
	d.Removed("S1", []string{"U2", "U9"})
	if d.Member("S1", "U2") || !d.Member("S1", "U1") {
		t.Errorf("after removing U2: %v", d.Members("S1"))
	}
	l.failWith(nil)
	l.set("S1", "U1", "U4")
	if err := d.RefreshGroup(ctx, "S1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"U1", "U4"}, d.Members("S1")); diff != "" {
		t.Errorf("members after refresh (-want +got):\n%s", diff)
	}

	// A group it does not follow is never read.
	before := l.calls
	if err := d.RefreshGroup(ctx, "S9"); err != nil || l.calls != before || d.Follows("S9") {
		t.Errorf("RefreshGroup of an unfollowed group: err %v, calls %d → %d", err, before, l.calls)
	}
}

func TestStatic(t *testing.T) {
	var s Static
	s.Set("S1", []string{"U1"})
	got, err := s.GroupMembers(context.Background(), "S1")
	if err != nil || !cmp.Equal(got, []string{"U1"}) {
		t.Errorf("GroupMembers = %v, %v", got, err)
	}
	if got, _ := s.GroupMembers(context.Background(), "S2"); len(got) != 0 {
		t.Errorf("unset group has %v", got)
	}
}

// slowLister answers with what Slack said when the read began, after the
// test lets it go.
type slowLister struct {
	answer  []string
	started chan struct{}
	release chan struct{}
}

func (s *slowLister) GroupMembers(context.Context, string) ([]string, error) {
	close(s.started)
	<-s.release
	return s.answer, nil
}

// A read that began before Slack announced a removal cannot bring the
// removed user back.
func TestRemovalDuringRead(t *testing.T) {
	ctx := context.Background()
	d := New(&flaky{members: map[string][]string{"S1": {"U1", "U2"}}}, []string{"S1"})
	if err := d.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	slow := &slowLister{answer: []string{"U1", "U2"}, started: make(chan struct{}), release: make(chan struct{})}
	d.SetLister(slow)
	done := make(chan error, 1)
	go func() { done <- d.RefreshGroup(ctx, "S1") }()
	<-slow.started
	d.Removed("S1", []string{"U1"})
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d.Member("S1", "U1") || !d.Member("S1", "U2") {
		t.Errorf("after a stale read: %v, want U2 only", d.Members("S1"))
	}
	// A read that begins after the removal is Slack's word again.
	d.SetLister(&flaky{members: map[string][]string{"S1": {"U1", "U2"}}})
	if err := d.RefreshGroup(ctx, "S1"); err != nil {
		t.Fatal(err)
	}
	if !d.Member("S1", "U1") {
		t.Errorf("a fresh read that has U1 back: %v", d.Members("S1"))
	}
}
