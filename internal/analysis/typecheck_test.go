package analysis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A background check does not take a slot while the editor's requests keep arriving; a
// foreground check does not wait for them; once requests stop, the background check goes on.
func TestBackgroundChecksYieldToRequests(t *testing.T) {
	s := newSlots(1)
	s.quiet, s.maxYield = time.Second, time.Minute // only a stalled request loop lets it through
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

// Requests that never pause slow a background check down but do not stop it: it yields for
// maxYield at most.
func TestBackgroundChecksYieldForALimitedTime(t *testing.T) {
	s := newSlots(1)
	s.quiet, s.maxYield = time.Second, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.answering()
	go func() {
		for ctx.Err() == nil {
			s.answering()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	got := make(chan error, 1)
	start := time.Now()
	go func() { got <- s.acquire(ctx, true) }()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < s.maxYield {
			t.Fatalf("took a slot after %v while requests kept arriving, before yielding %v", waited, s.maxYield)
		}
	case <-time.After(time.Minute):
		t.Fatal("a background check waited for a pause in requests that never came")
	}
}

// A cancelled background check stops waiting for a pause in requests.
func TestBackgroundYieldEndsWithTheContext(t *testing.T) {
	s := newSlots(1)
	s.quiet, s.maxYield = time.Hour, time.Hour
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
