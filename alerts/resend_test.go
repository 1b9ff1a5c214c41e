package alerts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialogbot/dialogbot/reply"
)

// resends counts WithResendObserver's calls by reason.
type resends struct {
	mu sync.Mutex
	by map[string]int
}

func (r *resends) observe(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]int{}
	}
	r.by[reason]++
}

func (r *resends) get(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.by[reason]
}

func (p *recorder) replies(want string) int {
	n := 0
	for _, c := range p.all() {
		if c.Op == "reply" && strings.Contains(text(c.Msg), want) {
			n++
		}
	}
	return n
}

// TestRefusedNoticesSentAgain: Slack refuses (ok:false) the escalation and
// then the resolved note, and the edits with them: each stays due and is
// sent once Slack takes it, with backoff between tries; nothing is
// counted as a possible second copy.
func TestRefusedNoticesSentAgain(t *testing.T) {
	h := newHarness(newMemStore())
	rs := &resends{}
	r := h.runner(WithResendObserver(rs.observe))
	refused := fmt.Errorf("slack: chat.postMessage: %w: not_in_channel", reply.ErrRefused)
	h.poster.failErr = refused

	h.reader.set(nil, numbers(92, 100))
	h.mustTick(t, r)
	if h.poster.count("post") != 1 {
		t.Fatalf("no alert posted: %+v", h.poster.all())
	}
	// Critical; Slack refuses the thread reply and the edit, three times.
	h.poster.mu.Lock()
	h.poster.failReplies, h.poster.failUpdates = 3, 3
	h.poster.mu.Unlock()
	h.reader.set(nil, numbers(99, 100))
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	if n := h.poster.replies("critical"); n != 0 {
		t.Fatalf("escalation sent while Slack refused it")
	}
	// The next run tries again (refused again), then it backs off.
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	h.clock.Advance(30 * time.Second)
	h.mustTick(t, r) // within the backoff: not tried
	h.poster.mu.Lock()
	left := h.poster.failReplies
	h.poster.mu.Unlock()
	if left != 1 {
		t.Errorf("%d refusals left, want 1: the resend did not back off", left)
	}
	for range 4 {
		h.clock.Advance(15 * time.Minute)
		h.mustTick(t, r)
	}
	if n := h.poster.replies("critical"); n != 1 {
		t.Errorf("%d escalation replies once Slack took it, want 1:\n%+v", n, h.poster.all())
	}
	if n := h.poster.count("update"); n < 1 {
		t.Errorf("the message was never edited to critical")
	}

	// Resolved; the note is refused once.
	h.poster.mu.Lock()
	h.poster.failReplies, h.poster.failUpdates = 1, 1
	h.poster.mu.Unlock()
	h.reader.set(nil, numbers(10, 100))
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	if n := h.poster.replies("Resolved"); n != 1 {
		t.Errorf("%d resolved notes, want 1:\n%+v", n, h.poster.all())
	}
	calls := h.poster.all()
	last := calls[len(calls)-1]
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Op == "update" {
			last = calls[i]
			break
		}
	}
	if !strings.Contains(text(last.Msg), "Resolved") || len(buttonsOf(last.Msg)) != 0 {
		t.Errorf("the message's last edit is not the resolved one without buttons: %s", text(last.Msg))
	}
	if rs.get("refused") < 2 || rs.get("answer_lost") != 0 {
		t.Errorf("resends counted %v, want some refused and no answer_lost", rs.by)
	}
}

// TestLostNoticeAnswerCounted: Slack's answer to the resolved note is lost
// (it may have posted it): the note is sent again and counted as a
// possible second copy.
func TestLostNoticeAnswerCounted(t *testing.T) {
	h := newHarness(newMemStore())
	rs := &resends{}
	r := h.runner(WithResendObserver(rs.observe))
	h.reader.set(nil, numbers(92, 100))
	h.mustTick(t, r)
	h.poster.mu.Lock()
	h.poster.failReplies, h.poster.failErr = 1, errors.New("slack: chat.postMessage: read: connection reset by peer")
	h.poster.mu.Unlock()
	h.reader.set(nil, numbers(10, 100))
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	h.clock.Advance(15 * time.Minute)
	h.mustTick(t, r)
	if n := h.poster.replies("Resolved"); n != 1 {
		t.Errorf("%d resolved notes recorded, want 1", n)
	}
	if rs.get("answer_lost") != 1 {
		t.Errorf("resends counted %v, want one answer_lost", rs.by)
	}
}

func buttonsOf(m reply.Message) []reply.Button {
	var out []reply.Button
	for _, b := range m.Blocks {
		if a, ok := b.(reply.Actions); ok {
			out = append(out, a.Buttons...)
		}
	}
	return out
}

// TestClaimedNoticeOfDeadProcessSent: a runner claimed a thread note and
// died before sending it; once the claim is stale another run sends it,
// counted as a possible second copy.
func TestClaimedNoticeOfDeadProcessSent(t *testing.T) {
	h := newHarness(newMemStore())
	rs := &resends{}
	r := h.runner(WithResendObserver(rs.observe))
	h.reader.set(nil, numbers(92, 100))
	h.mustTick(t, r)
	st := h.store.(*memStore).alert(AddOnKey(6))
	if st.MessageTS == "" {
		t.Fatal("no alert message")
	}
	dead := h.runner()
	if !dead.claimDue(t.Context(), st, NoticeRepeat, "repeat-99", h.clock.Now()) {
		t.Fatal("claim refused")
	}
	before := h.poster.count("reply")
	h.clock.Advance(time.Minute)
	h.mustTick(t, r)
	if n := h.poster.count("reply"); n != before {
		t.Fatalf("a fresh claim was sent again by another runner")
	}
	h.clock.Advance(staleSend)
	h.mustTick(t, r)
	h.clock.Advance(time.Minute)
	h.mustTick(t, r)
	if n := h.poster.count("reply") - before; n != 1 {
		t.Errorf("%d replies after the claim went stale, want 1", n)
	}
	if rs.get("answer_lost") != 1 {
		t.Errorf("resends %v, want one answer_lost", rs.by)
	}
}
