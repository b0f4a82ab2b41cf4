// Package heapfloor keeps the garbage collector from running often while the live heap is
// small.
//
// With Go's default GOGC=100 a collection is due when the heap doubles. A language server at
// rest holds a small heap (am-lsp: 10–20 MiB), so a burst of requests that each allocate a few
// kilobytes starts a collection every few hundred requests, and on a busy two-core machine
// the requests that overlap a collection are the slow tail. Keep raises the heap goal to a
// floor while twice the live heap is below it, and leaves Go's own pacing alone above it: the
// peak heap is max(floor, 2 × live), never more.
package heapfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultFloor is the heap goal am-lsp keeps while its live heap is small.
const DefaultFloor = 64 << 20

// Keep adjusts the GC percent after every collection so that the next collection is due when
// the heap reaches floor bytes, as long as the live heap is under half of floor; otherwise the
// percent is 100 (the default). It does nothing and returns a no-op when the GOGC environment
// variable is set: the user's choice stands. stop ends the adjustments and restores GOGC=100;
// it may be called more than once.
func Keep(floor uint64) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set || floor == 0 {
		return func() {}
	}
	t := &tuner{floor: floor, percent: 100, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}}
	t.adjust()
	t.arm()
	return t.stop
}

// minimumHeap is the runtime's heap goal at GOGC=100 for a tiny heap; it scales with the percent.
const minimumHeap = 4 << 20

type tuner struct {
	floor uint64

	mu      sync.Mutex
	stopped bool
	samples []metrics.Sample
	percent int // the GC percent last set
}

// sentinel is allocated after each adjustment and dropped at once; its cleanup runs after the
// next collection found it unreachable, which is when the live heap is known again. It holds a
// pointer so that it is never placed in a tiny-allocator block (whose cleanup could wait for
// unrelated objects).
type sentinel struct {
	_ *byte
	_ [8]byte
}

func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust sets the GC percent for the live heap the last collection measured, and reports
// whether the tuner is still running.
func (t *tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.samples)
	live := t.samples[0].Value.Uint64()
	// Go's heap goal is live + (live + stacks + globals) × percent / 100, and at least
	// 4 MiB × percent / 100.
	roots := live + t.samples[1].Value.Uint64() + t.samples[2].Value.Uint64()
	percent := 100
	if live > 0 && 2*live < t.floor {
		percent = int(min((t.floor-live)*100/roots, t.floor*100/minimumHeap))
		percent = max(100, percent)
	}
	if percent != t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
	return true
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(100)
	}
}
