package heapfloor

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// gcState reads the GC percent in force, the heap goal and the live heap.
func gcState() (percent int64, goal, live uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// collectUntil runs collections until ok holds for the GC state (the adjustment runs in the
// cleanup goroutine after a collection) or a minute has passed.
func collectUntil(t *testing.T, what string, ok func(percent int64, goal, live uint64) bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if ok(gcState()) {
			return
		}
	}
	p, g, l := gcState()
	t.Fatalf("%s: GC percent %d, heap goal %d, live %d", what, p, g, l)
}

func TestKeepRaisesTheGoalToTheFloorWhileTheHeapIsSmall(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: Keep leaves it alone (TestKeepLeavesAnExplicitGOGCAlone)")
	}
	const floor = 256 << 20 // far above this test binary's live heap
	stop := Keep(floor)
	t.Cleanup(stop)
	collectUntil(t, "goal at the floor", func(p int64, goal, live uint64) bool {
		return p > 100 && goal >= floor*9/10 && goal <= floor*11/10 && 2*live < floor
	})
	// Above half the floor, Go's own pacing: hold a live heap larger than the floor.
	big := make([]byte, floor)
	for i := range big {
		big[i] = 1
	}
	collectUntil(t, "default pacing above the floor", func(p int64, _, live uint64) bool { return p == 100 && 2*live >= floor })
	runtime.KeepAlive(big)
	big = nil
	collectUntil(t, "back to the floor once the heap is small again", func(p int64, _, _ uint64) bool { return p > 100 })
	stop()
	stop() // a second stop is harmless
	collectUntil(t, "GOGC=100 after stop", func(p int64, _, _ uint64) bool { return p == 100 })
	// Stopped: collections no longer change the percent.
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if p, _, _ := gcState(); p != 100 {
		t.Fatalf("GC percent %d after stop, want 100", p)
	}
}

func TestKeepLeavesAnExplicitGOGCAlone(t *testing.T) {
	t.Setenv("GOGC", "100")
	stop := Keep(256 << 20)
	defer stop()
	for range 3 {
		runtime.GC()
	}
	time.Sleep(50 * time.Millisecond)
	if p, _, _ := gcState(); p != 100 {
		t.Fatalf("GC percent %d with GOGC set, want it left at 100", p)
	}
}
