package bot

import (
	"math"
	"runtime/debug"
	"sync"
)

// workQueue holds the work acked but not yet run, first in first out. It is
// bounded by the bytes its jobs hold, not by a count: a job is a few
// hundred bytes (the fields of the envelope its work needs), so a budget of
// a few MiB holds tens of thousands of them. The jobs sit in chunks of
// chunkJobs, linked head to tail: a burst grows the queue a chunk at a
// time, never by copying it into an array twice its size, and each chunk
// the workers empty is given back.
type workQueue struct {
	mu         sync.Mutex
	ready      *sync.Cond
	head, tail *chunk
	headAt     int // the next job to pop, in head
	tailAt     int // the next free slot, in tail
	n          int
	spare      *chunk // an emptied chunk, kept for the next one needed
	bytes      int64
	limit      int64
	closed     bool
}

// chunkJobs is how many jobs a chunk holds: 10 KB of slots.
const chunkJobs = 256

type chunk struct {
	jobs [chunkJobs]job
	next *chunk
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
	if q.tail == nil || q.tailAt == chunkJobs {
		c := q.spare
		q.spare = nil
		if c == nil {
			c = new(chunk)
		}
		if q.tail == nil {
			q.head, q.headAt = c, 0
		} else {
			q.tail.next = c
		}
		q.tail, q.tailAt = c, 0
	}
	q.tail.jobs[q.tailAt] = j
	q.tailAt++
	q.n++
	q.bytes += size
	q.ready.Signal()
	return true
}

// pop waits for a job; ok is false once the queue is closed and empty.
func (q *workQueue) pop() (j job, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n == 0 && !q.closed {
		q.ready.Wait()
	}
	if q.n == 0 {
		return job{}, false
	}
	j = q.head.jobs[q.headAt]
	q.head.jobs[q.headAt] = job{} // let the collector have what it held
	q.headAt++
	q.n--
	q.bytes -= j.size()
	switch {
	case q.n == 0:
		// Empty: start over at the head chunk's first slot, and give the
		// rest of a burst's chunks back.
		q.head.next = nil
		q.tail, q.headAt, q.tailAt = q.head, 0, 0
	case q.headAt == chunkJobs:
		done := q.head
		q.head, q.headAt = done.next, 0
		done.next = nil
		q.spare = done
	}
	return j, true
}

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
	return q.n, q.bytes
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
