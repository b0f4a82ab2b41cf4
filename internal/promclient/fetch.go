package promclient

import (
	"context"
	"math"
	"sort"
	"strconv"
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

	// Callers are the callers with the most calls (caller_function and caller_module labels,
	// or the legacy single caller label split at its last dot), at most MaxCallers, by
	// RequestRate descending (then module, function). Callers without calls in the window
	// and calls without caller labels are left out.
	Callers []Caller

	// Objective is the objective the series carry (objective_* labels): the success
	// objective of the calls counter if there is one, else the latency objective of the
	// histogram; nil when they carry none. Objectives lists every distinct objective found,
	// success objectives first, each group by name, percentile and threshold.
	Objective  *Objective
	Objectives []Objective
}

// MaxCallers is the most callers Stats.Callers holds.
const MaxCallers = 5

// Caller is one caller of a function and the rate of its calls to it.
type Caller struct {
	Function, Module string
	RequestRate      float64 // calls per second
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

	// For SLO: the bucket rates of each series (all objective labels added up) by upper
	// bound, ascending, +Inf last; and the SLO recording rules of the objectives of the batch.
	buckets map[Series][]bucket
	rules   []ruleSeries
}

type bucket struct{ le, rate float64 }

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
	snap, err := get(ctx, c, c.snaps, series, c.fetch)
	if err != nil {
		return nil, err
	}
	return result(subset(snap, series))
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
	a, ok := c.snaps.latest(series)
	if !ok {
		return nil, false
	}
	return subset(a.val, series), true
}

// Prefetch starts fetching series in the background, unless a fresh answer or a fetch in flight
// covers them.
func (c *Client) Prefetch(series []Series) {
	series = normalize(series)
	if len(series) == 0 {
		return
	}
	prefetch(c, c.snaps, series, c.fetch)
}

// subset returns snap restricted to series (snap itself when it has exactly those).
func subset(snap *Snapshot, series []Series) *Snapshot {
	if len(snap.Queried) == len(series) {
		return snap
	}
	out := *snap
	out.Queried = series
	out.Stats = restrict(snap.Stats, series)
	return &out
}

// restrict returns the entries of m for series.
func restrict[V any](m map[Series]V, series []Series) map[Series]V {
	out := make(map[Series]V, len(series))
	for _, s := range series {
		if v, ok := m[s]; ok {
			out[s] = v
		}
	}
	return out
}

// queryAnswer is the answer to one instant query.
type queryAnswer struct {
	vec   model.Vector
	notes []string
	err   error
}

// queryAll runs instant queries concurrently, within the client's bound on queries in flight.
func (c *Client) queryAll(ctx context.Context, texts []string) []queryAnswer {
	answers := make([]queryAnswer, len(texts))
	var wg sync.WaitGroup
	for i, text := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.acquire(ctx); err != nil {
				answers[i].err = err
				return
			}
			defer c.release()
			vec, notes, err := c.q.Query(ctx, text, c.cfg.Timeout)
			answers[i] = queryAnswer{vec, notes, err}
		}()
	}
	wg.Wait()
	return answers
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.sem }

// addNotes appends the notes not yet in list.
func addNotes(list []string, notes []string) []string {
	for _, n := range notes {
		seen := false
		for _, l := range list {
			if l == n {
				seen = true
				break
			}
		}
		if !seen {
			list = append(list, n)
		}
	}
	return list
}

// fetch runs the queries of one batch and builds its snapshot.
func (c *Client) fetch(ctx context.Context, series []Series) answer[*Snapshot] {
	q := batchQueries(series, c.cfg.Window, c.extraSuffix())
	answers := c.queryAll(ctx, []string{q.calls, q.latency, q.concurrent, q.buildInfo})

	snap := &Snapshot{Stats: map[Series]Stats{}, Queried: series, Window: c.cfg.Window}
	for _, a := range answers {
		snap.Warnings = addNotes(snap.Warnings, a.notes)
	}
	// The numbers need the first three answers; the build_info lookup only names services.
	for _, a := range answers[:3] {
		if a.err != nil {
			snap.Err = c.classify(a.err)
			snap.FetchedAt = c.now()
			return answer[*Snapshot]{val: snap, at: snap.FetchedAt, failed: true}
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
		callers            map[[2]string]float64 // module, function
		objectives         map[Objective]bool
		buckets            map[float64]float64
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
				callers: map[[2]string]float64{}, objectives: map[Objective]bool{},
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
		if k, ok := callerOf(smp.Metric); ok {
			a.callers[k] += v
		}
		if o, ok := objectiveOf(smp.Metric, false); ok {
			a.objectives[o] = true
		}
	}
	for _, smp := range answers[1].vec {
		a := get(smp.Metric)
		if a == nil {
			continue
		}
		if le, ok := smp.Metric["le"]; ok {
			bound, err := strconv.ParseFloat(string(le), 64)
			if err != nil {
				continue
			}
			if a.buckets == nil {
				a.buckets = map[float64]float64{}
			}
			a.buckets[bound] += float64(smp.Value)
			if o, ok := objectiveOf(smp.Metric, true); ok {
				a.objectives[o] = true
			}
			continue
		}
		switch smp.Metric["quantile"] {
		case "0.95":
			a.stats.P95 = float64(smp.Value)
		case "0.99":
			a.stats.P99 = float64(smp.Value)
		}
	}
	for _, smp := range answers[2].vec {
		if _, ok := smp.Metric[model.MetricNameLabel]; ok {
			if r, ok := ruleOf(smp); ok {
				snap.rules = append(snap.rules, r)
			}
			continue
		}
		if a := get(smp.Metric); a != nil {
			a.stats.Concurrent = float64(smp.Value)
		}
	}
	sortRules(snap.rules)
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
		a.stats.Callers = topCallers(a.callers)
		a.stats.Objectives = sortedObjectives(a.objectives)
		if len(a.stats.Objectives) > 0 {
			o := a.stats.Objectives[0]
			a.stats.Objective = &o
		}
		if a.buckets != nil {
			if snap.buckets == nil {
				snap.buckets = map[Series][]bucket{}
			}
			snap.buckets[s] = sortedBuckets(a.buckets)
		}
		snap.Stats[s] = a.stats
	}
	snap.FetchedAt = c.now()
	return answer[*Snapshot]{val: snap, at: snap.FetchedAt}
}

// callerOf returns the caller (module, function) of a sample of the calls query.
func callerOf(m model.Metric) ([2]string, bool) {
	fn, mod := string(m["caller_function"]), string(m["caller_module"])
	if fn == "" && mod == "" {
		legacy := string(m["caller"])
		if legacy == "" {
			return [2]string{}, false
		}
		fn = legacy
		if i := strings.LastIndexByte(legacy, '.'); i >= 0 {
			mod, fn = legacy[:i], legacy[i+1:]
		}
	}
	return [2]string{mod, fn}, true
}

// topCallers returns the MaxCallers callers with the highest rates.
func topCallers(rates map[[2]string]float64) []Caller {
	var out []Caller
	for k, r := range rates {
		if r > 0 {
			out = append(out, Caller{Module: k[0], Function: k[1], RequestRate: r})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RequestRate != out[j].RequestRate {
			return out[i].RequestRate > out[j].RequestRate
		}
		if out[i].Module != out[j].Module {
			return out[i].Module < out[j].Module
		}
		return out[i].Function < out[j].Function
	})
	if len(out) > MaxCallers {
		out = out[:MaxCallers]
	}
	return out
}

func sortedBuckets(m map[float64]float64) []bucket {
	out := make([]bucket, 0, len(m))
	for le, r := range m {
		out = append(out, bucket{le, r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

func joinSorted(set map[string]bool) string {
	vs := make([]string, 0, len(set))
	for v := range set {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}
