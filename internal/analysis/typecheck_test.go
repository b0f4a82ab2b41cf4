package analysis

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A background check does not take a slot while the editor's requests keep arriving; a
// foreground check does not wait for them; once requests stop, the background check goes on.
func TestBackgroundChecksYieldToRequests(t *testing.T) {
	s := newSlots(1)
	s.quiet, s.passEvery = time.Second, time.Hour // only a stalled request loop lets it through
	s.lastPass.Store(time.Now().UnixNano())
	ctx := context.Background()

	var stopped atomic.Bool
	requestsDone := make(chan struct{})
	s.answering()
	go func() {
		defer close(requestsDone)
		for range 30 {
			s.answering()
			time.Sleep(10 * time.Millisecond)
		}
		stopped.Store(true)
	}()

	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	if stopped.Load() {
		t.Log("the request loop ended before the foreground acquire returned (slow machine): the comparison below proves less")
	}
	s.release()

	if err := s.acquire(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !stopped.Load() {
		t.Fatal("a background check took a slot while requests were still arriving")
	}
	s.release()
	<-requestsDone
}

// Requests that never pause slow background checks down but do not stop them: one goes ahead
// per passEvery, however many wait.
func TestBackgroundChecksGoAheadOnePerPeriod(t *testing.T) {
	s := newSlots(4)
	s.quiet, s.passEvery = time.Second, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.answering()
	go func() {
		for ctx.Err() == nil {
			s.answering()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	const waiters = 4
	start := time.Now()
	got := make(chan error, waiters)
	for range waiters {
		go func() { got <- s.acquire(ctx, true) }()
	}
	for i := range waiters {
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%d of %d background checks still wait for a pause in requests that never comes", waiters-i, waiters)
		}
	}
	// Four callers went ahead one per period: the first at once at the earliest, the last
	// three periods later at the earliest.
	if waited := time.Since(start); waited < (waiters-1)*s.passEvery {
		t.Fatalf("%d background checks went ahead within %v while requests kept arriving, want one per %v", waiters, waited, s.passEvery)
	}
}

// A cancelled background check stops waiting for a pause in requests.
func TestBackgroundYieldEndsWithTheContext(t *testing.T) {
	s := newSlots(1)
	s.quiet, s.passEvery = time.Hour, time.Hour
	s.lastPass.Store(time.Now().UnixNano())
	s.answering()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- s.acquire(ctx, true) }()
	cancel()
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("acquire took a slot after its context was cancelled")
		}
	case <-time.After(time.Minute):
		t.Fatal("a cancelled background check kept waiting")
	}
}

// A cancelled load takes no check slot, even a free one: otherwise every check of a cancelled
// load waiting for a slot would still run in turn, each woken by the release of the one before.
func TestCancelledChecksTakeNoSlot(t *testing.T) {
	s := newSlots(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, background := range []bool{false, true} {
		if err := s.acquire(ctx, background); err == nil {
			t.Errorf("background %v: a cancelled caller took the free slot", background)
			s.release()
		}
	}
	// Woken by a release after its load was cancelled.
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- s.acquire(ctx, false) }()
	for waiting := false; !waiting; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		waiting = s.foreground == 1
		s.mu.Unlock()
	}
	s.mu.Lock() // cancelled and released at once, as the waiter sees it
	cancel()
	s.free++
	s.cond.Broadcast()
	s.mu.Unlock()
	if err := <-got; err == nil {
		t.Error("a caller cancelled while it waited took the slot released meanwhile")
	}
	if s.free != 1 {
		t.Errorf("%d slots free, want 1", s.free)
	}
}

// The disk type cache is pruned once per process, not once per Loader (the workspace sweep
// makes one per reload), and the prune is the Loader's work: Wait returns once it has ended. A
// Loader shutting down before it opens the cache leaves the prune to the next one.
func TestTypeCachePrunedOncePerProcess(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * typeCachePruneAge)
	entry := func(name string) string {
		t.Helper()
		path := filepath.Join(dir, name[:2], name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("export data"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		return path
	}
	exists := func(path string) bool {
		_, err := os.Stat(path)
		return err == nil
	}
	first := entry("aa01")

	closed := &Loader{CacheDir: dir}
	closed.Wait(0)
	closed.typeCache()
	if !exists(first) {
		t.Fatal("a Loader shutting down pruned the cache")
	}

	l := &Loader{CacheDir: dir}
	l.typeCache()
	if !l.Wait(time.Minute) {
		t.Fatal("the prune did not end within a minute")
	}
	if exists(first) {
		t.Fatalf("%s, unused for %v, is still there after the prune", first, 2*typeCachePruneAge)
	}

	second := entry("bb02")
	again := &Loader{CacheDir: dir}
	again.typeCache()
	if !again.Wait(time.Minute) {
		t.Fatal("Wait did not return within a minute")
	}
	if !exists(second) {
		t.Error("a second Loader pruned the cache again in the same process")
	}
}
