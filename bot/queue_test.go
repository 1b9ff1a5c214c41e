package bot

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dialogbot/dialogbot/command"
	"github.com/slack-go/slack"
)

func slashFor(i int) job {
	j, _ := parseJob("slash_commands", slack.SlashCommand{Command: "/addons", UserID: "U0REQUEST", ChannelID: "C0ORDERS",
		ResponseURL: "https://hooks.slack.com/commands/T0000/1234567890/abcdefABCDEF0123456789", TriggerID: "1234.5678.abcdef",
		Text: string(rune('a' + i%26))})
	return j
}

// The queue is first in, first out, refuses what would take it past its
// budget, gives the budget back as jobs leave, and drains after close.
func TestWorkQueue(t *testing.T) {
	one := slashFor(0).size()
	q := newWorkQueue(3 * one)
	for i := range 3 {
		if !q.push(slashFor(i)) {
			t.Fatalf("push %d refused within the budget", i)
		}
	}
	if q.push(slashFor(3)) {
		t.Fatal("push past the budget accepted")
	}
	if n, bytes := q.len(); n != 3 || bytes != 3*one {
		t.Fatalf("len = %d, %d bytes; want 3, %d", n, bytes, 3*one)
	}
	j, ok := q.pop()
	if !ok || j.slash().field(slashText) != "a" {
		t.Fatalf("pop = %+v, %v; want the first job", j.slash(), ok)
	}
	if !q.push(slashFor(3)) {
		t.Fatal("push refused after a pop gave the budget back")
	}
	q.close()
	if q.push(slashFor(4)) {
		t.Fatal("push after close accepted")
	}
	var got string
	for {
		j, ok := q.pop()
		if !ok {
			break
		}
		got += j.slash().field(slashText)
	}
	if got != "bcd" {
		t.Errorf("drained %q; want bcd", got)
	}
	if n, bytes := q.len(); n != 0 || bytes != 0 {
		t.Errorf("after draining: %d jobs, %d bytes", n, bytes)
	}
}

// A queued job is small: the fields its work needs, not the envelope.
func TestJobIsSmall(t *testing.T) {
	j := slashFor(0)
	if j.size() > 512 {
		t.Errorf("a slash command job holds %d bytes; want at most 512", j.size())
	}
	if inv := j.slash().invocation(); inv != (command.Invocation{Command: "/addons", Text: "a", UserID: "U0REQUEST", ChannelID: "C0ORDERS", Key: "slash:1234.5678.abcdef"}) {
		t.Errorf("invocation = %+v", inv)
	}
	if tg := j.slash().target(); tg != (target{userID: "U0REQUEST", channelID: "C0ORDERS", responseURL: "https://hooks.slack.com/commands/T0000/1234567890/abcdefABCDEF0123456789", triggerID: "1234.5678.abcdef"}) {
		t.Errorf("target = %+v", tg)
	}
}

// decodedSlash is a slash command as slack-go hands it over: every field
// a string of its own on the heap, as the JSON decoder makes them.
func decodedSlash(i int) slack.SlashCommand {
	c := strings.Clone
	return slack.SlashCommand{Token: c("gIkuvaNzQIHg97ATvDxqgjtO"), TeamID: c("T0001"), TeamDomain: c("example"),
		EnterpriseID: c("E0001"), EnterpriseName: c("Example Inc"), ChannelID: c("C0ORDERS"), ChannelName: c("orders"),
		UserID: c("U0REQUEST"), UserName: c("requester"), Command: c("/addons"), Text: c(""), APIAppID: c("A0APP"),
		ResponseURL: c("https://hooks.slack.com/commands/T0001/" + strconv.Itoa(1234567890+i) + "/abcdefABCDEF0123456789"),
		TriggerID:   c(strconv.Itoa(13345224609+i) + ".738474920.8088930838d88f008e0")}
}

// queuedHeap is the heap a queued /addons holds once the envelope is
// gone: the queue's slot, the job and its strings.
func queuedHeap(t testing.TB) float64 {
	const n = 10000
	q := newWorkQueue(1 << 30)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		j, ok := parseJob("slash_commands", decodedSlash(i))
		if !ok || !q.push(j) {
			t.Fatal("not queued")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(q)
	return float64(after.HeapAlloc-before.HeapAlloc) / n
}

// TestQueuedCommandHeap: a queued slash command holds a couple of hundred
// bytes (a burst of 10,000 waits in about 2 MB), not the envelope's
// decoded fields one by one.
func TestQueuedCommandHeap(t *testing.T) {
	per := queuedHeap(t)
	t.Logf("heap per queued /addons: %.0f bytes", per)
	if per > 256 {
		t.Errorf("a queued /addons holds %.0f bytes of heap; want at most 256", per)
	}
}

// Many producers and consumers: every job comes out once.
func TestWorkQueueConcurrent(t *testing.T) {
	q := newWorkQueue(1 << 30)
	const producers, each = 4, 5000
	var seen sync.Map
	var consumers sync.WaitGroup
	for range 4 {
		consumers.Go(func() {
			for {
				j, ok := q.pop()
				if !ok {
					return
				}
				if _, dup := seen.LoadOrStore(j.home(), true); dup {
					t.Errorf("job %s popped twice", j.home())
				}
			}
		})
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				q.push(sized(job{kind: "events_api", work: homeJob(string(rune('A'+p)) + "-" + strconv.Itoa(i))}))
			}
		})
	}
	wg.Wait()
	q.close()
	consumers.Wait()
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	if n != producers*each {
		t.Errorf("%d jobs came out; want %d", n, producers*each)
	}
}

// BenchmarkQueue is one job through the queue, a producer and a consumer
// apart (compare BenchmarkChannel, a buffered channel of the same jobs).
func BenchmarkQueue(b *testing.B) {
	q := newWorkQueue(1 << 40)
	j := slashFor(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, ok := q.pop(); !ok {
				return
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		q.push(j)
	}
	q.close()
	<-done
}

func BenchmarkChannel(b *testing.B) {
	ch := make(chan job, 1024)
	j := slashFor(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		ch <- j
	}
	close(ch)
	<-done
}

// BenchmarkParseJob is what the socket loop does to an envelope before
// queueing it.
func BenchmarkParseJob(b *testing.B) {
	sc := slack.SlashCommand{Command: "/addons", UserID: "U0REQUEST", ChannelID: "C0ORDERS", TeamID: "T0000", TeamDomain: "example",
		ResponseURL: "https://hooks.slack.com/commands/T0000/1234567890/abcdefABCDEF0123456789", TriggerID: "1234.5678.abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseJob("slash_commands", sc); !ok {
			b.Fatal("no job")
		}
	}
}

// The queue keeps its order across chunks, as it fills and drains in
// turns, and starts over when empty.
func TestWorkQueueAcrossChunks(t *testing.T) {
	q := newWorkQueue(1 << 30)
	next, want := 0, 0
	push := func(k int) {
		for range k {
			if !q.push(sized(job{kind: "events_api", work: homeJob(strconv.Itoa(next))})) {
				t.Fatal("push refused")
			}
			next++
		}
	}
	pop := func(k int) {
		for range k {
			j, ok := q.pop()
			if !ok || j.home() != strconv.Itoa(want) {
				t.Fatalf("pop = %q, %v; want %d", j.home(), ok, want)
			}
			want++
		}
	}
	for _, step := range []struct{ push, pop int }{{1000, 300}, {700, 1400}, {chunkJobs, chunkJobs}, {1, 1}, {3 * chunkJobs, 3*chunkJobs - 1}, {0, 1}} {
		push(step.push)
		pop(step.pop)
	}
	if n, bytes := q.len(); n != 0 || bytes != 0 || next != want {
		t.Errorf("after the turns: %d jobs, %d bytes; pushed %d, popped %d", n, bytes, next, want)
	}
}
