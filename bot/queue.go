package bot

import (
	"math"
	"runtime/debug"
	"sync"
)

// workQueue holds the work acked but not yet run, first in first out. It is
// bounded by the bytes its jobs hold, not by a count: a job is a few
// hundred bytes (the fields of the envelope its work needs), so a budget of
// a few MiB holds tens of thousands of them.
type workQueue struct {
	mu     sync.Mutex
	ready  *sync.Cond
	items  []job
	head   int
	bytes  int64
	limit  int64
	closed bool
}

func newWorkQueue(limit int64) *workQueue {
	q := &workQueue{limit: limit}
	q.ready = sync.NewCond(&q.mu)
	return q
}

// push adds j unless the queue is closed or j would take it past its
// budget.
func (q *workQueue) push(j job) bool {
	size := j.size()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.bytes+size > q.limit {
		return false
	}
	q.items = append(q.items, j)
	q.bytes += size
	q.ready.Signal()
	return true
}

// pop waits for a job; ok is false once the queue is closed and empty.
func (q *workQueue) pop() (j job, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.ready.Wait()
	}
	if q.head == len(q.items) {
		return job{}, false
	}
	j = q.items[q.head]
	q.items[q.head] = job{} // let the collector have what it held
	q.head++
	q.bytes -= j.size()
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > shrinkAbove {
			q.items = nil // a burst's backing array is not kept for ever
		}
	case q.head >= shrinkAbove && 2*q.head >= len(q.items):
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return j, true
}

// shrinkAbove is how many slots may lie unused at the queue's head before
// the rest is moved down.
const shrinkAbove = 1024

// close stops push; pop drains what is left, then reports !ok.
func (q *workQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.ready.Broadcast()
}

// len is how many jobs wait, and the bytes they hold.
func (q *workQueue) len() (n int, bytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head, q.bytes
}

// DefaultQueueMemory is the work queue's budget when neither Config nor
// GOMEMLIMIT sets one: about 40,000 slash commands.
const DefaultQueueMemory = 16 << 20

// queueMemory is the work queue's budget: Config's, else a quarter of the
// Go memory limit (GOMEMLIMIT) when one is set, else DefaultQueueMemory.
func queueMemory(configured int64) int64 {
	if configured > 0 {
		return configured
	}
	if limit := debug.SetMemoryLimit(-1); limit > 0 && limit < math.MaxInt64 {
		return max(limit/4, 1<<20)
	}
	return DefaultQueueMemory
}
