package promclient

import (
	"context"
	"fmt"
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
	// FetchedAt is when the answer arrived by the client's clock (Config.Now): its age, for
	// the cache and the user, not the instant of the numbers. Window is the rate window.
	FetchedAt time.Time
	Window    time.Duration
	// EvaluatedAt is the one instant, in whole seconds, every query of the batch was
	// evaluated at (sent as the query's time, so the backend's clock does not enter): the
	// numbers are those of the window [EvaluatedAt-Window, EvaluatedAt], and FetchIncident
	// evaluates the current version's numbers (Deploy.CurrentNumbers) at it too and asks for
	// the exemplars of that same window. It is the
	// client's clock when the batch started, truncated to the second, unless that clock was
	// more than 2s ahead of the backend's (as the Date header of the backend's answers tells):
	// then it is the backend's time, and a client's first batch, which learns that time from
	// its own answers, is asked once more at it. It is set when the batch's queries were sent,
	// failed or not; zero when none was (no series, or the span discovery failed first).
	EvaluatedAt time.Time

	// Spans is what the backend holds of span metrics, when the batch asked for span
	// placeholders (SpanAuto): the explanation of span series without numbers.
	Spans *SpanDiscovery

	// For SLO: the bucket rates of each series (all objective labels added up) by upper
	// bound, ascending, +Inf last; and the SLO recording rules of the objectives of the batch.
	buckets map[Series][]bucket
	rules   []ruleSeries
	// sloth holds the Sloth recording rules of the span subjects of the batch (SlothRules).
	sloth []slothRule
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
	series = Normalize(series)
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
	series = Normalize(series)
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
	series = Normalize(series)
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

// queryJob is one instant query to run and where its answer goes.
type queryJob struct {
	text string
	into *queryAnswer
}

// queryAll runs instant queries concurrently, within the client's bound on queries in flight,
// all evaluated at the instant at (the zero time: each at the server's current time). A job with
// an empty text is not sent and its answer stays empty.
func (c *Client) queryAll(ctx context.Context, at time.Time, jobs []queryJob) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		if j.text == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := c.acquire(ctx)
			if err != nil {
				j.into.err = err
				return
			}
			defer release()
			vec, notes, err := c.q.Query(ctx, j.text, at, c.cfg.Timeout)
			*j.into = queryAnswer{vec, notes, err}
		}()
	}
	wg.Wait()
}

// maxWarnings is how many distinct backend warnings a snapshot, trend or incident keeps for
// the user; the others are counted in one closing line.
const maxWarnings = 5

// warningList collects a backend's warnings for the user: each cut as snippet does, repeats
// dropped (in constant time each), the first maxWarnings kept and the rest counted, so a
// backend answering thousands of warnings costs linear time and a few lines of card.
// The zero value is empty and ready to use.
type warningList struct {
	kept []string
	seen map[string]struct{}
	more int // distinct warnings beyond the first maxWarnings
}

// add adds the warnings of one answer.
func (w *warningList) add(notes []string) {
	for _, n := range notes {
		n = snippet(n)
		if _, dup := w.seen[n]; dup {
			continue
		}
		if w.seen == nil {
			w.seen = map[string]struct{}{}
		}
		w.seen[n] = struct{}{}
		if len(w.kept) < maxWarnings {
			w.kept = append(w.kept, n)
		} else {
			w.more++
		}
	}
}

// list returns the kept warnings, then "…and N more warnings from the backend" when some were
// dropped; nil when there were none.
func (w *warningList) list() []string {
	if w.more == 0 {
		return w.kept
	}
	plural := "s"
	if w.more == 1 {
		plural = ""
	}
	return append(w.kept[:len(w.kept):len(w.kept)], fmt.Sprintf("…and %d more warning%s from the backend", w.more, plural))
}

// batchAnswers are the answers to the batchQueries of one source's series.
type batchAnswers struct {
	calls, latency, concurrent, buildInfo queryAnswer
}

// jobs returns the queries of q with the answers of a as their destinations.
func (a *batchAnswers) jobs(q batchQueries) []queryJob {
	return []queryJob{{q.calls, &a.calls}, {q.latency, &a.latency}, {q.concurrent, &a.concurrent}, {q.buildInfo, &a.buildInfo}}
}

// numbersErr returns the first error of the answers the numbers need (all but build info,
// which only names services).
func (a *batchAnswers) numbersErr() error {
	for _, x := range []*queryAnswer{&a.calls, &a.latency, &a.concurrent} {
		if x.err != nil {
			return x.err
		}
	}
	return nil
}

// addNotes adds the backend's warnings of every answer to w.
func (a *batchAnswers) addNotes(w *warningList) {
	for _, x := range []*queryAnswer{&a.calls, &a.latency, &a.concurrent, &a.buildInfo} {
		w.add(x.notes)
	}
}

// fetch runs the queries of one batch (those of every source of its series at once) and builds
// its snapshot. When the numbers of any source fail, the snapshot has only the failure.
//
// Span placeholders (SpanAuto) are first resolved to the backend's naming (spans.go).
func (c *Client) fetch(ctx context.Context, series []Series) answer[*Snapshot] {
	resolved, back, spans, err := c.resolveSpans(ctx, series)
	if err != nil {
		snap := &Snapshot{Stats: map[Series]Stats{}, Queried: series, Window: c.cfg.Window, Err: c.classify(err), FetchedAt: c.now()}
		return answer[*Snapshot]{val: snap, at: snap.FetchedAt, failed: true}
	}
	a := c.fetchResolved(ctx, resolved)
	restoreSnapshot(a.val, series, back, spans)
	return a
}

// fetchResolved is fetch for series without placeholders.
func (c *Client) fetchResolved(ctx context.Context, series []Series) answer[*Snapshot] {
	groups := bySource(series)
	var answers []batchAnswers
	run := func(at time.Time) {
		answers = make([]batchAnswers, len(groups))
		var jobs []queryJob
		for i, g := range groups {
			jobs = append(jobs, answers[i].jobs(c.queries(g[0].Source).batch(g))...)
		}
		c.queryAll(ctx, at, jobs)
	}
	// One instant for the whole batch, so its numbers agree with each other and a snapshot can
	// name the exact range they cover.
	at := c.instant()
	started := time.Now()
	run(at)
	// The backend's time is known as of the answers: compare it with the client's clock then,
	// not at the start (a slow batch would hide as much skew as it took).
	if c.aheadOfServer(at.Add(time.Since(started))) {
		// The answers told that the client's clock is ahead of the backend's (the first
		// batch has nothing else to tell it): they are about the backend's future.
		at = c.instant()
		run(at)
	}

	snap := &Snapshot{Stats: map[Series]Stats{}, Queried: series, Window: c.cfg.Window, EvaluatedAt: at}
	var warnings warningList
	for i := range answers {
		answers[i].addNotes(&warnings)
	}
	snap.Warnings = warnings.list()
	for i := range answers {
		if err := answers[i].numbersErr(); err != nil {
			snap.Err = c.classify(err)
			snap.FetchedAt = c.now()
			return answer[*Snapshot]{val: snap, at: snap.FetchedAt, failed: true}
		}
	}
	for i, g := range groups {
		a := &answers[i]
		if err := a.buildInfo.err; err != nil {
			snap.Warnings = append(snap.Warnings, "service and version lookup in build_info failed: "+c.classify(err).Error())
		}
		acc := newAccumulator(c.queries(g[0].Source).src, g)
		acc.extra = c.extra
		acc.addCalls(a.calls.vec)
		acc.addLatency(a.latency.vec)
		acc.addConcurrent(a.concurrent.vec)
		acc.addBuildInfo(a.buildInfo.vec)
		acc.into(snap)
	}
	sortRules(snap.rules)
	sortSlothRules(snap.sloth)
	snap.FetchedAt = c.now()
	return answer[*Snapshot]{val: snap, at: snap.FetchedAt}
}

// accumulator adds up the samples of one source's batch answers into the numbers of each
// series asked for. Samples of series not asked for (other pairs of the functions × modules
// cross product of the selector) are dropped.
type accumulator struct {
	src    *Source
	want   map[Series]bool
	totals map[Series]*seriesTotals
	rules  []ruleSeries
	sloth  []slothRule
	extra  []labelMatcher // the ExtraMatchers, applied to the rules (ruleOf, slothRuleOf)
}

// seriesTotals are the sums of one series while its samples arrive.
type seriesTotals struct {
	stats              Stats
	total, errs        float64
	services, versions map[string]bool
	// infoServices and infoVersions come from the build info; used when the series' own
	// labels name none.
	infoServices, infoVersions map[string]bool
	callers                    map[callerKey]float64
	objectives                 map[Objective]bool
	buckets                    map[float64]float64 // upper bound in seconds → rate
}

// callerKey names a caller.
type callerKey struct{ Module, Function string }

func newAccumulator(src *Source, series []Series) *accumulator {
	return &accumulator{src: src, want: setOf(series), totals: map[Series]*seriesTotals{}}
}

// of returns the totals of the series of m, nil when it was not asked for.
func (a *accumulator) of(m model.Metric) *seriesTotals {
	s := a.src.seriesOf(m)
	if !a.want[s] {
		return nil
	}
	t := a.totals[s]
	if t == nil {
		nan := math.NaN()
		t = &seriesTotals{
			stats:    Stats{Series: s, ErrorRatio: nan, P95: nan, P99: nan, Concurrent: nan},
			services: map[string]bool{}, versions: map[string]bool{},
			callers: map[callerKey]float64{}, objectives: map[Objective]bool{},
		}
		a.totals[s] = t
	}
	return t
}

// label returns the value of label name of m ("" when name is "").
func label(m model.Metric, name string) string {
	if name == "" {
		return ""
	}
	return string(m[model.LabelName(name)])
}

// addCalls adds the call rates by failure, service, version, caller and success objective.
func (a *accumulator) addCalls(vec model.Vector) {
	for _, smp := range vec {
		t := a.of(smp.Metric)
		if t == nil {
			continue
		}
		v := float64(smp.Value)
		t.total += v
		if label(smp.Metric, a.src.ErrorLabel) == a.src.ErrorValue {
			t.errs += v
		}
		if sn := label(smp.Metric, a.src.ServiceLabel); sn != "" {
			t.services[sn] = true
		}
		if ver := label(smp.Metric, a.src.VersionLabel); ver != "" {
			t.versions[ver] = true
		}
		if k, ok := callerOf(a.src.CallerLabels, smp.Metric); ok {
			t.callers[k] += v
		}
		if a.src.Objectives {
			if o, ok := objectiveOf(smp.Metric, false); ok {
				t.objectives[o] = true
			}
		}
	}
}

// addLatency adds the quantiles (labelled quantile, in seconds) and the raw bucket rates
// (labelled le, in the source's unit) with their latency objectives, and reads the recording
// rules (with a __name__).
func (a *accumulator) addLatency(vec model.Vector) {
	for _, smp := range vec {
		if a.addRule(smp) {
			continue
		}
		t := a.of(smp.Metric)
		if t == nil {
			continue
		}
		if le, ok := smp.Metric["le"]; ok {
			bound, err := strconv.ParseFloat(string(le), 64)
			if err != nil {
				continue
			}
			if t.buckets == nil {
				t.buckets = map[float64]float64{}
			}
			t.buckets[bound*a.src.LatencySeconds] += float64(smp.Value)
			if a.src.Objectives {
				if o, ok := objectiveOf(smp.Metric, true); ok {
					t.objectives[o] = true
				}
			}
			continue
		}
		switch smp.Metric["quantile"] {
		case "0.95":
			t.stats.P95 = float64(smp.Value)
		case "0.99":
			t.stats.P99 = float64(smp.Value)
		}
	}
}

// addConcurrent reads the gauge sums (no __name__) and the SLO recording rules (with one).
func (a *accumulator) addConcurrent(vec model.Vector) {
	for _, smp := range vec {
		if a.addRule(smp) {
			continue
		}
		if t := a.of(smp.Metric); t != nil {
			t.stats.Concurrent = float64(smp.Value)
		}
	}
}

// addRule records smp when it is a recording rule sample (it has a __name__: the sums and
// quantiles have none) and reports whether it was one.
func (a *accumulator) addRule(smp *model.Sample) bool {
	if _, ok := smp.Metric[model.MetricNameLabel]; !ok {
		return false
	}
	if a.src.SlothRules {
		if r, ok := slothRuleOf(smp, a.extra); ok {
			a.sloth = append(a.sloth, r)
		}
	} else if r, ok := ruleOf(smp, a.extra); ok {
		a.rules = append(a.rules, r)
	}
	return true
}

// addBuildInfo records the services and versions of the build info, for series that already
// have numbers (call it last).
func (a *accumulator) addBuildInfo(vec model.Vector) {
	for _, smp := range vec {
		t := a.totals[a.src.seriesOf(smp.Metric)]
		if t == nil {
			continue
		}
		if t.infoServices == nil {
			t.infoServices, t.infoVersions = map[string]bool{}, map[string]bool{}
		}
		if sn := label(smp.Metric, a.src.ServiceLabel); sn != "" {
			t.infoServices[sn] = true
		}
		if ver := label(smp.Metric, a.src.VersionLabel); ver != "" {
			t.infoVersions[ver] = true
		}
	}
}

// into adds the finished numbers, buckets and rules to snap.
func (a *accumulator) into(snap *Snapshot) {
	snap.rules = append(snap.rules, a.rules...)
	snap.sloth = append(snap.sloth, a.sloth...)
	for s, t := range a.totals {
		t.stats.RequestRate = t.total
		if t.total > 0 {
			t.stats.ErrorRatio = t.errs / t.total
		}
		if len(t.services) == 0 && t.infoServices != nil {
			t.services = t.infoServices
		}
		if len(t.versions) == 0 && t.infoVersions != nil {
			t.versions = t.infoVersions
		}
		t.stats.ServiceName = joinSorted(t.services)
		t.stats.Version = joinSorted(t.versions)
		t.stats.Callers = topCallers(t.callers)
		t.stats.Objectives = sortedObjectives(t.objectives)
		if len(t.stats.Objectives) > 0 {
			o := t.stats.Objectives[0]
			t.stats.Objective = &o
		}
		if t.buckets != nil {
			if snap.buckets == nil {
				snap.buckets = map[Series][]bucket{}
			}
			snap.buckets[s] = sortedBuckets(t.buckets)
		}
		snap.Stats[s] = t.stats
	}
}

// callerOf returns the caller of a sample of the calls query.
func callerOf(labels *CallerLabels, m model.Metric) (callerKey, bool) {
	if labels == nil {
		return callerKey{}, false
	}
	fn, mod := label(m, labels.Function), label(m, labels.Module)
	if fn == "" && mod == "" {
		legacy := label(m, labels.Legacy)
		if legacy == "" {
			return callerKey{}, false
		}
		fn = legacy
		if i := strings.LastIndexByte(legacy, '.'); i >= 0 {
			mod, fn = legacy[:i], legacy[i+1:]
		}
	}
	return callerKey{Module: mod, Function: fn}, true
}

// topCallers returns the MaxCallers callers with the highest rates.
func topCallers(rates map[callerKey]float64) []Caller {
	var out []Caller
	for k, r := range rates {
		if r > 0 {
			out = append(out, Caller{Module: k.Module, Function: k.Function, RequestRate: r})
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
