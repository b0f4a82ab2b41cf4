package promclient

import (
	"context"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// Stats are the numbers of one function over the window.
type Stats struct {
	Series      Series
	RequestRate float64 // calls per second, all results
	ErrorRatio  float64 // error calls / all calls; NaN when RequestRate == 0
	P95, P99    float64 // seconds; NaN without histogram data
	Concurrent  float64 // calls in progress; NaN without the gauge
	// ServiceName and Version come from the series' own labels, else from build_info of the
	// same scrape target. Several values (a function in two services, a rollout) are joined
	// with ", ".
	ServiceName, Version string
}

// Snapshot is the answer to one fetch. Snapshots are shared between callers: do not modify.
type Snapshot struct {
	Stats    map[Series]Stats // only series that had data
	Queried  []Series         // the series asked for, sorted
	Warnings []string         // warnings (and infos) of the backend, for the user
	Err      error            // a *FetchError when the backend failed; Stats is then empty
	// FetchedAt is when the answer arrived; Window is the rate window of the numbers.
	FetchedAt time.Time
	Window    time.Duration
}

// errorTTL is how long a failed fetch counts as fresh (at most TTL): long enough not to hammer
// a backend that is down, short enough to notice it is back.
const errorTTL = 5 * time.Second

// maxEntries bounds the cache; the oldest snapshots go first.
const maxEntries = 256

type entry struct {
	set  map[Series]bool
	snap *Snapshot
}

type flight struct {
	set  map[Series]bool
	done chan struct{}
	snap *Snapshot
}

// Fetch returns the numbers of series. One fetch sends QueriesPerFetch queries for all of them
// together. Answers are cached for Config.TTL (a failure for at most 5s); a fresh answer for
// these series or a superset of them is returned without a query, and a fetch in flight for them
// or a superset is joined rather than repeated.
//
// ctx bounds only this caller's wait: the fetch itself runs detached, bounded by Config.Timeout,
// so a caller that gives up does not cancel it and the next caller gets its answer. If ctx ends
// before the answer exists, Fetch returns (nil, ctx.Err()).
//
// When the backend fails, Fetch returns the snapshot (Err set, no Stats) together with the same
// *FetchError.
func (c *Client) Fetch(ctx context.Context, series []Series) (*Snapshot, error) {
	series = normalize(series)
	if len(series) == 0 {
		return &Snapshot{Stats: map[Series]Stats{}, FetchedAt: c.now(), Window: c.cfg.Window}, nil
	}
	c.mu.Lock()
	if snap := c.freshLocked(series); snap != nil {
		c.mu.Unlock()
		return result(subset(snap, series))
	}
	f := c.flightLocked(series)
	c.mu.Unlock()
	select {
	case <-f.done:
		return result(subset(f.snap, series))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func result(s *Snapshot) (*Snapshot, error) {
	if s.Err != nil {
		return s, s.Err
	}
	return s, nil
}

// Cached returns the freshest snapshot covering series (asked for exactly them or a superset),
// fresh or not, without touching the network. It may hold a failure (Err set).
func (c *Client) Cached(series []Series) (*Snapshot, bool) {
	series = normalize(series)
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Snapshot
	for _, e := range c.cache {
		if covers(e.set, series) && (best == nil || e.snap.FetchedAt.After(best.FetchedAt)) {
			best = e.snap
		}
	}
	if best == nil {
		return nil, false
	}
	return subset(best, series), true
}

// Prefetch starts fetching series in the background, unless a fresh answer or a fetch in flight
// covers them.
func (c *Client) Prefetch(series []Series) {
	series = normalize(series)
	if len(series) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.freshLocked(series) == nil {
		c.flightLocked(series)
	}
}

// freshLocked returns the freshest fresh snapshot covering series, or nil.
func (c *Client) freshLocked(series []Series) *Snapshot {
	now := c.now()
	var best *Snapshot
	for _, e := range c.cache {
		if !covers(e.set, series) {
			continue
		}
		ttl := c.cfg.TTL
		if e.snap.Err != nil && ttl > errorTTL {
			ttl = errorTTL
		}
		if now.Sub(e.snap.FetchedAt) < ttl && (best == nil || e.snap.FetchedAt.After(best.FetchedAt)) {
			best = e.snap
		}
	}
	return best
}

// flightLocked returns a fetch in flight covering series, starting one if there is none.
func (c *Client) flightLocked(series []Series) *flight {
	key := batchKey(series)
	if f, ok := c.flights[key]; ok {
		return f
	}
	for _, f := range c.flights {
		if covers(f.set, series) {
			return f
		}
	}
	f := &flight{set: setOf(series), done: make(chan struct{})}
	c.flights[key] = f
	c.fetches++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		defer cancel()
		snap := c.fetch(ctx, series)
		c.mu.Lock()
		f.snap = snap
		delete(c.flights, key)
		c.cache[key] = &entry{set: f.set, snap: snap}
		c.evictLocked()
		c.mu.Unlock()
		close(f.done)
	}()
	return f
}

func (c *Client) evictLocked() {
	for len(c.cache) > maxEntries {
		oldest := ""
		var at time.Time
		for k, e := range c.cache {
			if oldest == "" || e.snap.FetchedAt.Before(at) {
				oldest, at = k, e.snap.FetchedAt
			}
		}
		delete(c.cache, oldest)
	}
}

// normalize returns series sorted, without duplicates.
func normalize(series []Series) []Series {
	out := append([]Series(nil), series...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Module != out[j].Module {
			return out[i].Module < out[j].Module
		}
		return out[i].Function < out[j].Function
	})
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

func batchKey(series []Series) string {
	var b strings.Builder
	for _, s := range series {
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

// subset returns snap restricted to series (snap itself when it has exactly those).
func subset(snap *Snapshot, series []Series) *Snapshot {
	if len(snap.Queried) == len(series) {
		return snap
	}
	out := *snap
	out.Queried = series
	out.Stats = make(map[Series]Stats, len(series))
	for _, s := range series {
		if st, ok := snap.Stats[s]; ok {
			out.Stats[s] = st
		}
	}
	return &out
}

// fetch runs the queries of one batch and builds its snapshot.
func (c *Client) fetch(ctx context.Context, series []Series) *Snapshot {
	q := batchQueries(series, c.cfg.Window)
	texts := []string{q.calls, q.latency, q.concurrent, q.buildInfo}
	type answer struct {
		vec   model.Vector
		notes []string
		err   error
	}
	answers := make([]answer, len(texts))
	var wg sync.WaitGroup
	for i, text := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case c.sem <- struct{}{}:
			case <-ctx.Done():
				answers[i].err = ctx.Err()
				return
			}
			defer func() { <-c.sem }()
			vec, notes, err := c.q.Query(ctx, text, c.cfg.Timeout)
			answers[i] = answer{vec, notes, err}
		}()
	}
	wg.Wait()

	snap := &Snapshot{Stats: map[Series]Stats{}, Queried: series, Window: c.cfg.Window}
	seenNote := map[string]bool{}
	for _, a := range answers {
		for _, n := range a.notes {
			if !seenNote[n] {
				seenNote[n] = true
				snap.Warnings = append(snap.Warnings, n)
			}
		}
	}
	// The numbers need the first three answers; the build_info lookup only names services.
	for _, a := range answers[:3] {
		if a.err != nil {
			snap.Err = c.classify(a.err)
			snap.FetchedAt = c.now()
			return snap
		}
	}
	if err := answers[3].err; err != nil {
		snap.Warnings = append(snap.Warnings, "service and version lookup in build_info failed: "+c.classify(err).Error())
	}

	want := setOf(series)
	type acc struct {
		stats              Stats
		total, errs        float64
		services, versions map[string]bool
	}
	accs := map[Series]*acc{}
	get := func(m model.Metric) *acc {
		s := Series{Function: string(m["function"]), Module: string(m["module"])}
		if !want[s] {
			return nil // another pair of the functions × modules cross product
		}
		a := accs[s]
		if a == nil {
			nan := math.NaN()
			a = &acc{
				stats:    Stats{Series: s, ErrorRatio: nan, P95: nan, P99: nan, Concurrent: nan},
				services: map[string]bool{}, versions: map[string]bool{},
			}
			accs[s] = a
		}
		return a
	}
	for _, smp := range answers[0].vec {
		a := get(smp.Metric)
		if a == nil {
			continue
		}
		v := float64(smp.Value)
		a.total += v
		if smp.Metric["result"] == "error" {
			a.errs += v
		}
		if sn := smp.Metric["service_name"]; sn != "" {
			a.services[string(sn)] = true
		}
		if ver := smp.Metric["version"]; ver != "" {
			a.versions[string(ver)] = true
		}
	}
	for _, smp := range answers[1].vec {
		if a := get(smp.Metric); a != nil {
			switch smp.Metric["quantile"] {
			case "0.95":
				a.stats.P95 = float64(smp.Value)
			case "0.99":
				a.stats.P99 = float64(smp.Value)
			}
		}
	}
	for _, smp := range answers[2].vec {
		if a := get(smp.Metric); a != nil {
			a.stats.Concurrent = float64(smp.Value)
		}
	}
	// Build info names services only of series that have numbers and no names of their own.
	fromBuild := map[Series][2]map[string]bool{}
	for _, smp := range answers[3].vec {
		s := Series{Function: string(smp.Metric["function"]), Module: string(smp.Metric["module"])}
		if accs[s] == nil {
			continue
		}
		b, ok := fromBuild[s]
		if !ok {
			b = [2]map[string]bool{{}, {}}
			fromBuild[s] = b
		}
		if sn := smp.Metric["service_name"]; sn != "" {
			b[0][string(sn)] = true
		}
		if ver := smp.Metric["version"]; ver != "" {
			b[1][string(ver)] = true
		}
	}
	for s, a := range accs {
		a.stats.RequestRate = a.total
		if a.total > 0 {
			a.stats.ErrorRatio = a.errs / a.total
		}
		b := fromBuild[s]
		if len(a.services) == 0 && b[0] != nil {
			a.services = b[0]
		}
		if len(a.versions) == 0 && b[1] != nil {
			a.versions = b[1]
		}
		a.stats.ServiceName = joinSorted(a.services)
		a.stats.Version = joinSorted(a.versions)
		snap.Stats[s] = a.stats
	}
	snap.FetchedAt = c.now()
	return snap
}

func joinSorted(set map[string]bool) string {
	vs := make([]string, 0, len(set))
	for v := range set {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}
