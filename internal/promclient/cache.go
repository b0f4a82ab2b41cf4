package promclient

import (
	"context"
	"sort"
	"strings"
	"time"
)

// errorTTL is how long a failed fetch counts as fresh (at most TTL): long enough not to hammer
// a backend that is down, short enough to notice it is back.
const errorTTL = 5 * time.Second

// maxEntries bounds each cache; the oldest answers go first.
const maxEntries = 256

// answer is what one fetch of a batch produced: a *Snapshot or a *Trend.
type answer[T any] struct {
	val    T
	at     time.Time // when it arrived
	failed bool
}

// batchCache holds the answers of one kind by batch of series, and the fetches in flight.
// Client.mu guards all of it; no method takes the lock itself.
type batchCache[T any] struct {
	entries map[string]*cacheEntry[T]
	flights map[string]*flight[T]
	started int // fetches started (tests)
}

type cacheEntry[T any] struct {
	set map[Series]bool
	ans answer[T]
}

type flight[T any] struct {
	set  map[Series]bool
	done chan struct{}
	ans  answer[T]
	// promote, for a bulk fetch (see Bulk), is closed when an editor request joins it; nil
	// for the others.
	promote chan struct{}
}

// joinLocked notes that a caller joins f: an editor request (bulk false) promotes a bulk fetch.
// c.mu must be held.
func (f *flight[T]) joinLocked(bulk bool) {
	if !bulk && f.promote != nil {
		close(f.promote)
		f.promote = nil
	}
}

func newBatchCache[T any]() *batchCache[T] {
	return &batchCache[T]{entries: map[string]*cacheEntry[T]{}, flights: map[string]*flight[T]{}}
}

// fresh returns the freshest fresh answer covering series (asked for them or a superset).
func (b *batchCache[T]) fresh(now time.Time, ttl time.Duration, series []Series) (answer[T], bool) {
	var best answer[T]
	found := false
	for _, e := range b.entries {
		if !covers(e.set, series) {
			continue
		}
		t := ttl
		if e.ans.failed && t > errorTTL {
			t = errorTTL
		}
		if now.Sub(e.ans.at) < t && (!found || e.ans.at.After(best.at)) {
			best, found = e.ans, true
		}
	}
	return best, found
}

// latest returns the freshest answer covering series, fresh or not.
func (b *batchCache[T]) latest(series []Series) (answer[T], bool) {
	var best answer[T]
	found := false
	for _, e := range b.entries {
		if covers(e.set, series) && (!found || e.ans.at.After(best.at)) {
			best, found = e.ans, true
		}
	}
	return best, found
}

// flightLocked returns a fetch in flight covering series, starting one with run if there is
// none; bulk says the caller is bulk work (see Bulk): a fetch it starts is a bulk fetch, and a
// caller that is not promotes the bulk fetch it joins. c.mu must be held. run is bounded by
// Config.Timeout and does not depend on any caller's context.
func flightLocked[T any](c *Client, b *batchCache[T], series []Series, bulk bool, run func(context.Context, []Series) answer[T]) *flight[T] {
	key := batchKey(series)
	if f, ok := b.flights[key]; ok {
		f.joinLocked(bulk)
		return f
	}
	for _, f := range b.flights {
		if covers(f.set, series) {
			f.joinLocked(bulk)
			return f
		}
	}
	f := &flight[T]{set: setOf(series), done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	if bulk {
		f.promote = make(chan struct{})
		ctx = context.WithValue(ctx, promoteKey{}, (<-chan struct{})(f.promote))
	}
	b.flights[key] = f
	b.started++
	go func() {
		defer cancel()
		ans := run(ctx, series)
		c.mu.Lock()
		f.ans = ans
		delete(b.flights, key)
		b.entries[key] = &cacheEntry[T]{set: f.set, ans: ans}
		b.evictLocked()
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

// get returns a fresh answer covering series, else joins or starts a fetch and waits for it
// until ctx ends. A ctx marked by Bulk starts a bulk fetch.
func get[T any](ctx context.Context, c *Client, b *batchCache[T], series []Series, run func(context.Context, []Series) answer[T]) (T, error) {
	c.mu.Lock()
	if a, ok := b.fresh(c.now(), c.cfg.TTL, series); ok {
		c.mu.Unlock()
		return a.val, nil
	}
	f := flightLocked(c, b, series, isBulk(ctx), run)
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.ans.val, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// prefetch starts a fetch of series unless a fresh answer or a fetch in flight covers them. It
// is editor work: it promotes a bulk fetch that covers them.
func prefetch[T any](c *Client, b *batchCache[T], series []Series, run func(context.Context, []Series) answer[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := b.fresh(c.now(), c.cfg.TTL, series); !ok {
		flightLocked(c, b, series, false, run)
	}
}

func (b *batchCache[T]) evictLocked() {
	for len(b.entries) > maxEntries {
		oldest := ""
		var at time.Time
		for k, e := range b.entries {
			if oldest == "" || e.ans.at.Before(at) {
				oldest, at = k, e.ans.at
			}
		}
		delete(b.entries, oldest)
	}
}

// Normalize returns series sorted (by source, module, function), without duplicates: the
// order every batch is kept in. Series already in that order are returned as they are (no
// copy: batches built with Normalize, as the editor's are, cost nothing to look up); otherwise
// the result is a new slice. Either way the caller's slice is not modified.
func Normalize(series []Series) []Series {
	if isNormal(series) {
		return series
	}
	out := append([]Series(nil), series...)
	sort.Slice(out, func(i, j int) bool { return seriesLess(out[i], out[j]) })
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

// isNormal reports whether series are strictly increasing (sorted, no duplicates).
func isNormal(series []Series) bool {
	for i := 1; i < len(series); i++ {
		if !seriesLess(series[i-1], series[i]) {
			return false
		}
	}
	return true
}

func seriesLess(a, b Series) bool {
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Module != b.Module {
		return a.Module < b.Module
	}
	return a.Function < b.Function
}

func batchKey(series []Series) string {
	var b strings.Builder
	for _, s := range series {
		b.WriteByte(byte(s.Source))
		b.WriteString(s.Module)
		b.WriteByte(0)
		b.WriteString(s.Function)
		b.WriteByte(0)
	}
	return b.String()
}

func setOf(series []Series) map[Series]bool {
	m := make(map[Series]bool, len(series))
	for _, s := range series {
		m[s] = true
	}
	return m
}

func covers(set map[Series]bool, series []Series) bool {
	if len(set) < len(series) {
		return false
	}
	for _, s := range series {
		if !set[s] {
			return false
		}
	}
	return true
}
