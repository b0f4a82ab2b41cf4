package promclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdingBackend answers every query with an empty vector, except those naming a function
// whose name starts with "Held": it holds them open until the test ends (a fault a real
// Prometheus cannot be made to show on demand). It reports how many it holds now and at most.
type holdingBackend struct {
	URL string

	mu            sync.Mutex
	held, maxHeld int
	heldChanged   chan struct{} // closed and replaced on every change of held
}

func startHoldingBackend(t *testing.T) *holdingBackend {
	t.Helper()
	b := &holdingBackend{heldChanged: make(chan struct{})}
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if strings.Contains(r.Form.Get("query"), "Held") {
			b.add(1)
			defer b.add(-1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) }) // runs first: the held requests end, then the server
	b.URL = ts.URL
	return b
}

func (b *holdingBackend) add(d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held += d
	b.maxHeld = max(b.maxHeld, b.held)
	close(b.heldChanged)
	b.heldChanged = make(chan struct{})
}

// waitHeld waits until the backend holds n queries.
func (b *holdingBackend) waitHeld(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for {
		b.mu.Lock()
		held, changed := b.held, b.heldChanged
		b.mu.Unlock()
		if held == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the backend holds %d queries, want %d", held, n)
		}
	}
}

// Bulk fetches (the workspace sweep) that hang occupy at most half of the slots: an editor's
// fetch meanwhile is answered, not queued behind them.
func TestEditorFetchIsNotQueuedBehindBulkFetches(t *testing.T) {
	backend := startHoldingBackend(t)
	c := newClient(t, Config{URL: backend.URL, Timeout: 5 * time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // catches a hang only
	defer cancel()

	// Four bulk fetches of QueriesPerFetch queries each would fill every slot twice over.
	for _, fn := range []string{"Held1", "Held2", "Held3", "Held4"} {
		go c.Fetch(Bulk(ctx), []Series{{Function: fn, Module: "example.com/sweep"}})
	}
	backend.waitHeld(t, ctx, maxBulkQueries)

	snap, err := c.Fetch(ctx, []Series{{Function: "Hovered", Module: "example.com/editor"}})
	if err != nil || snap == nil {
		t.Fatalf("the editor's fetch behind hanging bulk fetches: %v, %v", snap, err)
	}
	backend.mu.Lock()
	defer backend.mu.Unlock()
	if backend.maxHeld != maxBulkQueries {
		t.Errorf("bulk fetches had %d queries in flight at once, want %d (half the slots)", backend.maxHeld, maxBulkQueries)
	}
}

// An editor's fetch whose series a bulk fetch in flight covers joins it rather than fetching
// again, and promotes it: its queries stop waiting for the bulk slots that hanging bulk fetches
// hold.
func TestEditorFetchPromotesTheBulkFetchItJoins(t *testing.T) {
	backend := startHoldingBackend(t)
	c := newClient(t, Config{URL: backend.URL, Timeout: 5 * time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // catches a hang only
	defer cancel()

	// A bulk fetch holds every bulk slot (QueriesPerFetch of them)...
	go c.Fetch(Bulk(ctx), []Series{{Function: "Held1", Module: "example.com/sweep"}})
	backend.waitHeld(t, ctx, maxBulkQueries)
	// ...and the next one waits for them.
	sweep := []Series{{Function: "A", Module: "example.com/sweep"}, {Function: "B", Module: "example.com/sweep"}}
	bulkDone := make(chan error, 1)
	go func() {
		_, err := c.Fetch(Bulk(ctx), sweep)
		bulkDone <- err
	}()
	for {
		c.mu.Lock()
		_, queued := c.snaps.flights[batchKey(Normalize(sweep))]
		c.mu.Unlock()
		if queued {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the second bulk fetch did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	started := c.snaps.started
	c.mu.Unlock()

	snap, err := c.Fetch(ctx, sweep[:1])
	if err != nil || snap == nil {
		t.Fatalf("the editor's fetch of series a queued bulk fetch covers: %v, %v", snap, err)
	}
	if err := <-bulkDone; err != nil {
		t.Errorf("the promoted bulk fetch: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snaps.started != started {
		t.Errorf("the editor's fetch started %d fetches, want none (it joins the bulk fetch)", c.snaps.started-started)
	}
}
