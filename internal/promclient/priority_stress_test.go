package promclient

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Under a storm of bulk and editor fetches (Fetch, FetchTrend, Prefetch, PrefetchTrend) of
// overlapping series, some of them promoted while queued, some given up by their callers, and
// many timing out (the backend holds the queries naming "Held" functions until the client's
// timeout ends them), every query slot comes back: once no fetch is in flight, neither the
// client's slots nor its bulk slots hold anything. Run with -race.
func TestPrioritySlotsNeverLeak(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if strings.Contains(r.Form.Get("query"), "Held") {
			<-r.Context().Done() // a fault: the client's timeout ends it
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "query_range") {
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
			return
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	defer ts.Close()
	c := newClient(t, Config{URL: ts.URL, Timeout: 40 * time.Millisecond, TTL: time.Millisecond})
	hang, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // catches a hang only
	defer cancel()

	all := []Series{
		{Function: "Held1", Module: "m"}, {Function: "A", Module: "m"}, {Function: "B", Module: "m"},
		{Function: "C", Module: "m"}, {Function: "D", Module: "m"}, {Function: "Held2", Module: "m"},
	}
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 150 {
				var series []Series
				for _, s := range all {
					if rng.IntN(2) == 0 {
						series = append(series, s)
					}
				}
				ctx := hang
				var stop context.CancelFunc = func() {}
				if rng.IntN(3) == 0 { // a caller that gives up early
					ctx, stop = context.WithTimeout(hang, time.Duration(rng.IntN(20))*time.Millisecond)
				}
				if rng.IntN(2) == 0 {
					ctx = Bulk(ctx)
				}
				switch rng.IntN(4) {
				case 0:
					c.Fetch(ctx, series)
				case 1:
					c.FetchTrend(ctx, series)
				case 2:
					c.Prefetch(series)
				case 3:
					c.PrefetchTrend(series)
				}
				stop()
			}
		}()
	}
	wg.Wait()
	for {
		c.mu.Lock()
		inFlight := len(c.snaps.flights) + len(c.trends.flights) + len(c.alerts.flights) + len(c.history.flights) + len(c.incidents.flights)
		c.mu.Unlock()
		if inFlight == 0 {
			break
		}
		if hang.Err() != nil {
			t.Fatalf("%d fetches still in flight", inFlight)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, b := len(c.sem), len(c.bulk); n != 0 || b != 0 {
		t.Errorf("with no fetch in flight %d query slots and %d bulk slots are still taken, want 0 and 0", n, b)
	}
	c.mu.Lock()
	started := c.snaps.started + c.trends.started
	c.mu.Unlock()
	if started < 100 {
		t.Errorf("only %d fetches started: the storm did not exercise the slots", started)
	}
}
