package metrics

import (
	"bytes"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// snapshot is what a scrape reads once and several families show: the Go
// runtime's statistics, the process's from /proc, the waiting requests.
type snapshot struct {
	ms      runtime.MemStats
	gc      debug.GCStats
	proc    procStats
	waiting map[string]Waiting
	// waitingOK is false when nothing reports waiting requests or the
	// read failed: their gauges are left out.
	waitingOK bool
	now       time.Time // when the waiting requests were read
}

// readRuntime reads the Go runtime's statistics. runtime.ReadMemStats
// stops the world for a few microseconds; a scrape comes every few
// seconds at most.
func (s *snapshot) readRuntime() {
	runtime.ReadMemStats(&s.ms)
	s.gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&s.gc)
}

// memstat is a go_memstats_* family read from runtime.MemStats.
type memstat struct {
	desc
	f func(ms *runtime.MemStats) uint64
}

func (m *memstat) write(w *textWriter, s *snapshot) {
	w.series(m.name, "")
	w.value(float64(m.f(&s.ms)))
}

// gcDuration is go_gc_duration_seconds: a summary of the GC pauses, with
// quantiles 0 (the shortest), 0.25, 0.5, 0.75 and 1 (the longest) of the
// last pauses the runtime keeps, from debug.ReadGCStats.
type gcDuration struct{ desc }

func (g *gcDuration) write(w *textWriter, s *snapshot) {
	q := s.gc.PauseQuantiles
	for i, d := range q {
		w.series(g.name, "")
		w.labelFloat("quantile", float64(i)/float64(len(q)-1))
		w.value(d.Seconds())
	}
	w.series(g.name, "_sum")
	w.value(s.gc.PauseTotal.Seconds())
	w.series(g.name, "_count")
	w.value(float64(s.gc.NumGC))
}

// goInfo is go_info{version}.
type goInfo struct{ desc }

func (g *goInfo) write(w *textWriter, _ *snapshot) {
	w.series(g.name, "")
	w.label("version", runtime.Version())
	w.value(1)
}

// runtimeFamilies are the Go runtime's and the process's families, with
// the names and HELP texts of the Prometheus Go client's default
// collectors. The process's come from /proc and are left out where it
// cannot be read.
var runtimeFamilies = []family{
	&gcDuration{desc{"go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", "summary"}},
	&valueFunc{desc{"go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function. Sourced from /gc/gomemlimit:bytes.", "gauge"},
		func(*snapshot) (float64, bool) { return float64(debug.SetMemoryLimit(-1)), true }},
	&valueFunc{desc{"go_goroutines", "Number of goroutines that currently exist.", "gauge"},
		func(*snapshot) (float64, bool) { return float64(runtime.NumGoroutine()), true }},
	&goInfo{desc{"go_info", "Information about the Go environment.", "gauge"}},
	&memstat{desc{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.Alloc }},
	&memstat{desc{"go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", "counter"},
		func(ms *runtime.MemStats) uint64 { return ms.TotalAlloc }},
	&memstat{desc{"go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.BuckHashSys }},
	&memstat{desc{"go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", "counter"},
		func(ms *runtime.MemStats) uint64 { return ms.Frees }},
	&memstat{desc{"go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.GCSys }},
	&memstat{desc{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapAlloc }},
	&memstat{desc{"go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapIdle }},
	&memstat{desc{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapInuse }},
	&memstat{desc{"go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapObjects }},
	&memstat{desc{"go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapReleased }},
	&memstat{desc{"go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.HeapSys }},
	&valueFunc{desc{"go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", "gauge"},
		func(s *snapshot) (float64, bool) { return float64(s.ms.LastGC) / 1e9, true }},
	&memstat{desc{"go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", "counter"},
		func(ms *runtime.MemStats) uint64 { return ms.Mallocs }},
	&memstat{desc{"go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.MCacheInuse }},
	&memstat{desc{"go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.MCacheSys }},
	&memstat{desc{"go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.MSpanInuse }},
	&memstat{desc{"go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.MSpanSys }},
	&memstat{desc{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.NextGC }},
	&memstat{desc{"go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.OtherSys }},
	&memstat{desc{"go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.StackInuse }},
	&memstat{desc{"go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.StackSys }},
	&memstat{desc{"go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", "gauge"},
		func(ms *runtime.MemStats) uint64 { return ms.Sys }},
	&valueFunc{desc{"go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.", "gauge"},
		func(*snapshot) (float64, bool) { return float64(runtime.GOMAXPROCS(0)), true }},
	&valueFunc{desc{"go_threads", "Number of OS threads created.", "gauge"},
		func(*snapshot) (float64, bool) { n, _ := runtime.ThreadCreateProfile(nil); return float64(n), true }},

	&valueFunc{desc{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter"},
		func(s *snapshot) (float64, bool) { return s.proc.cpuSeconds, s.proc.statOK }},
	&valueFunc{desc{"process_max_fds", "Maximum number of open file descriptors.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.maxFDs, s.proc.limitsOK }},
	&valueFunc{desc{"process_network_receive_bytes_total", "Number of bytes received by the process over the network.", "counter"},
		func(s *snapshot) (float64, bool) { return s.proc.inOctets, s.proc.netOK }},
	&valueFunc{desc{"process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", "counter"},
		func(s *snapshot) (float64, bool) { return s.proc.outOctets, s.proc.netOK }},
	&valueFunc{desc{"process_open_fds", "Number of open file descriptors.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.openFDs, s.proc.fdsOK }},
	&valueFunc{desc{"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.rss, s.proc.statOK }},
	&valueFunc{desc{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.startTime, s.proc.startOK }},
	&valueFunc{desc{"process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.vsize, s.proc.statOK }},
	&valueFunc{desc{"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", "gauge"},
		func(s *snapshot) (float64, bool) { return s.proc.maxVsize, s.proc.limitsOK }},
}

// procStats is what /proc tells of this process. Each part is left out
// (its ok false) when its file cannot be read or parsed, as on a system
// without /proc.
type procStats struct {
	statOK                 bool // /proc/self/stat
	cpuSeconds, vsize, rss float64
	startOK                bool // and btime of /proc/stat
	startTime              float64
	fdsOK                  bool // /proc/self/fd
	openFDs                float64
	limitsOK               bool // /proc/self/limits
	maxFDs, maxVsize       float64
	netOK                  bool // /proc/self/net/netstat
	inOctets, outOctets    float64
}

// userHZ is the unit of the times in /proc/self/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// procRoot is where proc(5) is mounted.
const procRoot = "/proc"

func (p *procStats) read() {
	p.readStat()
	p.readFDs()
	p.readLimits()
	p.readNetstat()
}

// readStat reads CPU time, memory sizes and start time from
// /proc/self/stat.
func (p *procStats) readStat() {
	b, err := os.ReadFile(procRoot + "/self/stat")
	if err != nil {
		return
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 of proc(5) (state): field n is f[n-3].
	const utime, stime, starttime, vsize, rss = 14 - 3, 15 - 3, 22 - 3, 23 - 3, 24 - 3
	if len(f) <= rss {
		return
	}
	var v [5]uint64
	for k, n := range []int{utime, stime, starttime, vsize, rss} {
		if v[k], err = strconv.ParseUint(string(f[n]), 10, 64); err != nil {
			return
		}
	}
	p.statOK = true
	p.cpuSeconds = float64(v[0]+v[1]) / userHZ
	p.vsize = float64(v[3])
	p.rss = float64(v[4] * uint64(os.Getpagesize()))
	if bt, ok := bootTime(); ok {
		p.startOK = true
		p.startTime = float64(bt) + float64(v[2])/userHZ
	}
}

var (
	bootOnce sync.Once
	bootSecs uint64
	bootOK   bool
)

// bootTime is btime of /proc/stat, read once.
func bootTime() (uint64, bool) {
	bootOnce.Do(func() {
		b, err := os.ReadFile(procRoot + "/stat")
		if err != nil {
			return
		}
		for line := range bytes.Lines(b) {
			if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
				bootSecs, err = strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
				bootOK = err == nil
				return
			}
		}
	})
	return bootSecs, bootOK
}

// readFDs counts the entries of /proc/self/fd, less the one of the
// directory being read.
func (p *procStats) readFDs() {
	d, err := os.Open(procRoot + "/self/fd")
	if err != nil {
		return
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(256)
		n += len(names)
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	p.fdsOK = true
	p.openFDs = float64(max(n-1, 0))
}

// readLimits reads the soft limits on open files and address space from
// /proc/self/limits; "unlimited" is the largest uint64, as the kernel
// means it.
func (p *procStats) readLimits() {
	b, err := os.ReadFile(procRoot + "/self/limits")
	if err != nil {
		return
	}
	var files, space float64
	limits := [...]struct {
		name string
		dst  *float64
	}{{"Max open files ", &files}, {"Max address space ", &space}}
	found := 0
	for line := range bytes.Lines(b) {
		for _, l := range limits {
			rest, ok := bytes.CutPrefix(line, []byte(l.name))
			if !ok {
				continue
			}
			f := bytes.Fields(rest)
			if len(f) == 0 {
				return
			}
			if string(f[0]) == "unlimited" {
				*l.dst = math.MaxUint64
			} else {
				v, err := strconv.ParseUint(string(f[0]), 10, 64)
				if err != nil {
					return
				}
				*l.dst = float64(v)
			}
			found++
		}
	}
	if found == len(limits) {
		p.limitsOK = true
		p.maxFDs, p.maxVsize = files, space
	}
}

// readNetstat reads InOctets and OutOctets of IpExt from
// /proc/self/net/netstat: what the process's network namespace received
// and sent.
func (p *procStats) readNetstat() {
	b, err := os.ReadFile(procRoot + "/self/net/netstat")
	if err != nil {
		return
	}
	var names [][]byte
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("IpExt:"))
		if !ok {
			continue
		}
		if names == nil {
			names = bytes.Fields(rest)
			continue
		}
		values := bytes.Fields(rest)
		if len(values) != len(names) {
			return
		}
		var in, out float64
		for i, name := range names {
			var dst *float64
			switch string(name) {
			case "InOctets":
				dst = &in
			case "OutOctets":
				dst = &out
			default:
				continue
			}
			v, err := strconv.ParseFloat(string(values[i]), 64)
			if err != nil {
				return
			}
			*dst = v
		}
		p.netOK = true
		p.inOctets, p.outOctets = in, out
		return
	}
}
