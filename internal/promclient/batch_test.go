package promclient

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

func queryCount(t *testing.T, srv *promfixture.Server) int {
	t.Helper()
	n, err := srv.QueryCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fifty() []Series {
	s := append([]Series(nil), genSeries...)
	return append(s, apiHandle, checkout, mainRun, legacyParse, yamlUnm, idle, pay, plusAdd, adminHandle, missing)
}

func TestFetchBatchesFiftySeries(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL, TTL: time.Hour})
	series := fifty()
	if len(series) != 50 {
		t.Fatalf("%d series", len(series))
	}
	before := queryCount(t, srv)
	snap, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	after := queryCount(t, srv)
	if n := after - before; n > 6 || n != QueriesPerFetch {
		t.Errorf("Fetch of 50 series sent %d queries, want %d (at most 6)", n, QueriesPerFetch)
	}
	if len(snap.Stats) != 49 {
		t.Errorf("stats for %d series, want 49 (all but the missing one)", len(snap.Stats))
	}
	for i, s := range genSeries {
		if got := snap.Stats[s].RequestRate; !sameNumber(got, float64(i+1)) {
			t.Errorf("%v rate = %v, want %d", s, got, i+1)
		}
	}

	// Fresh: the same set, a subset, and the same set in another order cost nothing.
	again, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	if again != snap {
		t.Errorf("second Fetch did not return the cached snapshot")
	}
	reversed := make([]Series, len(series))
	for i, s := range series {
		reversed[len(series)-1-i] = s
	}
	if _, err := c.Fetch(context.Background(), reversed); err != nil {
		t.Fatal(err)
	}
	sub, err := c.Fetch(context.Background(), []Series{apiHandle, genSeries[3]})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Stats) != 2 || len(sub.Queried) != 2 || !sameNumber(sub.Stats[genSeries[3]].RequestRate, 4) || !sub.FetchedAt.Equal(snap.FetchedAt) {
		t.Errorf("subset from the cache = %+v", sub)
	}
	c.Prefetch(series) // fresh: no-op
	if n := queryCount(t, srv) - after; n != 0 {
		t.Errorf("fetches while fresh sent %d queries, want 0", n)
	}
	if c.snaps.started != 1 {
		t.Errorf("%d fetches started, want 1", c.snaps.started)
	}
}

func TestConcurrentFetchesShareOne(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	series := fifty()
	before := queryCount(t, srv)
	var wg sync.WaitGroup
	snaps := make([]*Snapshot, 20)
	errs := make([]error, 20)
	for i := range snaps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snaps[i], errs[i] = c.Fetch(context.Background(), series)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
	if n := queryCount(t, srv) - before; n != QueriesPerFetch {
		t.Errorf("20 concurrent fetches sent %d queries, want %d", n, QueriesPerFetch)
	}
	for i, s := range snaps {
		if !s.FetchedAt.Equal(snaps[0].FetchedAt) {
			t.Errorf("fetch %d got another answer (%v vs %v)", i, s.FetchedAt, snaps[0].FetchedAt)
		}
	}
	if c.snaps.started != 1 {
		t.Errorf("%d fetches started, want 1", c.snaps.started)
	}

	// A fetch for part of a set in flight joins it.
	c2 := newClient(t, Config{URL: srv.URL})
	before = queryCount(t, srv)
	c2.Prefetch(series)
	part, err := c2.Fetch(context.Background(), series[10:15])
	if err != nil {
		t.Fatal(err)
	}
	if len(part.Stats) != 5 || len(part.Queried) != 5 {
		t.Errorf("part of the batch: %d stats, %d queried; want 5, 5", len(part.Stats), len(part.Queried))
	}
	if n := queryCount(t, srv) - before; n != QueriesPerFetch || c2.snaps.started != 1 {
		t.Errorf("Prefetch + Fetch of a part sent %d queries in %d fetches, want %d in 1", n, c2.snaps.started, QueriesPerFetch)
	}
}

func TestTTLAndCached(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL, TTL: 30 * time.Second})
	now := time.Now()
	var mu sync.Mutex
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	series := []Series{apiHandle, checkout}

	if _, ok := c.Cached(series); ok {
		t.Fatalf("Cached answered before any fetch")
	}
	first, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Cached([]Series{checkout}); !ok || len(got.Stats) != 1 || got.Stats[checkout].RequestRate != first.Stats[checkout].RequestRate {
		t.Errorf("Cached(subset) = %+v, %v", got, ok)
	}
	if _, ok := c.Cached([]Series{checkout, mainRun}); ok {
		t.Errorf("Cached answered for series it never fetched")
	}

	advance(29 * time.Second)
	before := queryCount(t, srv)
	if s, _ := c.Fetch(context.Background(), series); s != first {
		t.Errorf("refetched before the TTL")
	}
	advance(2 * time.Second)
	// Stale: Cached still answers, without the network.
	if got, ok := c.Cached(series); !ok || got != first {
		t.Errorf("Cached of a stale answer = %v, %v", got, ok)
	}
	if n := queryCount(t, srv) - before; n != 0 {
		t.Errorf("%d queries before the TTL ran out", n)
	}
	second, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Errorf("stale answer returned after the TTL")
	}
	if n := queryCount(t, srv) - before; n != QueriesPerFetch {
		t.Errorf("refresh after the TTL sent %d queries, want %d", n, QueriesPerFetch)
	}

	// Prefetch refreshes in the background; Fetch then joins or reads it.
	advance(time.Minute)
	c.Prefetch(series)
	third, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	if third == second || c.snaps.started != 3 {
		t.Errorf("after Prefetch: new answer %v, %d fetches (want 3)", third != second, c.snaps.started)
	}
}

func TestEmptyFetch(t *testing.T) {
	c := newClient(t, Config{URL: "http://127.0.0.1:1"})
	snap, err := c.Fetch(context.Background(), nil)
	if err != nil || snap == nil || len(snap.Stats) != 0 || c.snaps.started != 0 {
		t.Errorf("Fetch(nil) = %+v, %v; %d fetches", snap, err, c.snaps.started)
	}
}
