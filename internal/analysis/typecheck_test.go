package analysis

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// manualClock is a clock for slots that moves only when the test says (Advance), so the tests
// of waiting for quiet and for a turn are exact and do not sleep.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*manualTimer]bool // started, neither fired nor stopped
}

type manualTimer struct {
	at time.Time
	c  chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), timers: map[*manualTimer]bool{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers[t] = true
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		pending := c.timers[t]
		delete(c.timers, t)
		return pending
	}
}

// Advance moves the clock on by d and fires the timers due by then.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
			delete(c.timers, t)
		}
	}
}

// pending is the number of timers started and neither fired nor stopped: the callers waiting
// on the clock.
func (c *manualClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// settle waits (in real time, a minute at most: only a hang takes that long) until ok holds:
// the goroutines under test have reached the state the clock's next move needs.
func settle(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !ok(); time.Sleep(50 * time.Microsecond) {
		if time.Now().After(end) {
			t.Fatalf("still not %s after a minute", what)
		}
	}
}

// A background check does not take a slot while the editor's requests keep arriving; a
// foreground check does not wait for them; once requests stop, the background check goes on
// after exactly the quiet period.
func TestBackgroundChecksYieldToRequests(t *testing.T) {
	clk := newManualClock()
	s := newSlots(1)
	s.clock = clk
	s.quiet, s.passEvery = time.Second, time.Hour // only a pause in requests lets it through
	s.lastPass.Store(clk.Now().UnixNano())
	ctx := context.Background()

	s.answering()
	// The foreground check returns without the clock moving.
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	s.release()

	got := make(chan error, 1)
	go func() { got <- s.acquire(ctx, true) }()
	const step = 100 * time.Millisecond
	for range 100 { // a request every step for ten (simulated) seconds
		settle(t, "waiting on the clock", func() bool { return clk.pending() == 1 })
		select {
		case err := <-got:
			t.Fatalf("a background check took a slot at %v while requests were still arriving (err %v)", clk.Now(), err)
		default:
		}
		clk.Advance(step)
		s.answering()
	}
	lastRequest := clk.Now()
	for {
		settle(t, "waiting on the clock or through", func() bool { return clk.pending() == 1 || len(got) == 1 })
		if len(got) == 1 {
			break
		}
		if clk.Now().Sub(lastRequest) > time.Minute {
			t.Fatal("the background check still waits a (simulated) minute after the requests stopped")
		}
		clk.Advance(step)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if pause := clk.Now().Sub(lastRequest); pause != s.quiet {
		t.Errorf("the background check went ahead %v after the last request, want the quiet period %v", pause, s.quiet)
	}
	s.release()
}

// Requests that never pause slow background checks down but do not stop them: one goes ahead
// per passEvery, however many wait.
func TestBackgroundChecksGoAheadOnePerPeriod(t *testing.T) {
	clk := newManualClock()
	s := newSlots(4)
	s.clock = clk
	s.quiet, s.passEvery = time.Second, 100*time.Millisecond
	s.answering()
	const waiters = 4
	var through atomic.Int32
	for range waiters {
		go func() {
			if err := s.acquire(context.Background(), true); err != nil {
				t.Error(err)
			}
			through.Add(1)
		}()
	}
	const step = 10 * time.Millisecond
	for elapsed := time.Duration(0); elapsed <= 6*s.passEvery; elapsed += step { // a request every step
		// Every caller went ahead or waits on the clock.
		settle(t, "settled", func() bool { return clk.pending() == waiters-int(through.Load()) })
		// The first at once, then one per period.
		want := min(waiters, 1+int(elapsed/s.passEvery))
		if got := int(through.Load()); got != want {
			t.Fatalf("after %v of requests that never pause, %d of %d background checks went ahead, want %d (one at once, then one per %v)", elapsed, got, waiters, want, s.passEvery)
		}
		clk.Advance(step)
		s.answering()
	}
}

// A cancelled background check stops waiting for a pause in requests.
func TestBackgroundYieldEndsWithTheContext(t *testing.T) {
	s := newSlots(1)
	s.clock = newManualClock() // never moves: only the cancellation can end the wait
	s.quiet, s.passEvery = time.Hour, time.Hour
	s.lastPass.Store(s.clock.Now().UnixNano())
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

// A foreground waiter that leaves without a slot (its load was cancelled as a slot was
// released) lets the background waiters it held back go: otherwise a background check that saw
// it waiting sleeps on with the slot free until some other check ends, which may be never (a
// sweep stalls after a cancelled hover). Each round is that race; synctest.Wait returns once
// every goroutine of the round is blocked, so a background waiter asleep on a free slot is seen
// without a timeout.
func TestCancelledForegroundWaiterWakesTheBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for round := range 200 {
			s := newSlots(1)
			if err := s.acquire(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			fg, bg := make(chan error, 1), make(chan error, 1)
			go func() { fg <- s.acquire(ctx, false) }()
			synctest.Wait()
			go func() { bg <- s.acquire(context.Background(), true) }()
			synctest.Wait() // both wait: the slot is taken, and the background waiter yields
			s.mu.Lock()     // cancelled and released at once, as the waiters see it
			cancel()
			s.free++
			s.cond.Broadcast()
			s.mu.Unlock()
			synctest.Wait()
			if err := <-fg; err == nil {
				t.Fatalf("round %d: the cancelled foreground caller took the slot", round)
			}
			select {
			case err := <-bg:
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Errorf("round %d: the background caller sleeps while the slot is free and no foreground caller waits", round)
				s.release() // wakes it, so that the round ends
				if err := <-bg; err != nil {
					t.Fatal(err)
				}
				return
			}
			s.release()
		}
	})
}
