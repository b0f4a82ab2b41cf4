package promclient

import (
	"context"
	"math"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Trend is the recent history of some functions: their request rate and error ratio at
// evenly spaced points, for a sparkline. Trends are shared between callers: do not modify.
type Trend struct {
	// Start is the time of the first point, Step the distance between points, Points their
	// number; the last point is at Start + (Points-1)*Step, a multiple of Step (Unix time)
	// at most Step before the fetch.
	Start  time.Time
	Step   time.Duration
	Points int
	// Window is the rate window of each point.
	Window time.Duration

	Series   map[Series]TrendSeries // only series that had data
	Queried  []Series               // the series asked for, sorted
	Warnings []string               // warnings (and infos) of the backend
	Err      error                  // a *FetchError when the backend failed; Series is then empty

	FetchedAt time.Time
}

// TrendSeries are the points of one function, Trend.Points of each. A point without data is
// NaN, as is the error ratio of a point without calls.
type TrendSeries struct {
	RequestRate, ErrorRatio []float64
}

// FetchTrend returns the trend of series over the last Config.TrendRange: one range query
// (QueriesPerTrend) for all of them. It caches, shares and detaches exactly as Fetch does (a
// fresh trend of a superset answers without a query; a failure is fresh for at most 5s); when
// the backend fails it returns the trend (Err set) and the same *FetchError.
func (c *Client) FetchTrend(ctx context.Context, series []Series) (*Trend, error) {
	series = Normalize(series)
	if len(series) == 0 {
		return c.emptyTrend(), nil
	}
	tr, err := get(ctx, c, c.trends, series, c.fetchTrend)
	if err != nil {
		return nil, err
	}
	tr = subsetTrend(tr, series)
	if tr.Err != nil {
		return tr, tr.Err
	}
	return tr, nil
}

// PrefetchTrend starts fetching the trend of series in the background, unless a fresh trend or
// a fetch in flight covers them.
func (c *Client) PrefetchTrend(series []Series) {
	series = Normalize(series)
	if len(series) == 0 {
		return
	}
	prefetch(c, c.trends, series, c.fetchTrend)
}

// CachedTrend returns the freshest trend covering series, fresh or not, without the network.
func (c *Client) CachedTrend(series []Series) (*Trend, bool) {
	series = Normalize(series)
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.trends.latest(series)
	if !ok {
		return nil, false
	}
	return subsetTrend(a.val, series), true
}

// trendStep is the distance between the points of a trend: TrendRange / TrendPoints, rounded
// down to a whole second (at least one).
func trendStep(cfg Config) time.Duration {
	return max(time.Second, (cfg.TrendRange / time.Duration(cfg.TrendPoints)).Truncate(time.Second))
}

func (c *Client) emptyTrend() *Trend {
	step := trendStep(c.cfg)
	ms := step.Milliseconds()
	end := time.UnixMilli(c.clamp(c.now()).UnixMilli() / ms * ms)
	return &Trend{
		Start: end.Add(-time.Duration(c.cfg.TrendPoints-1) * step), Step: step, Points: c.cfg.TrendPoints,
		Window: c.cfg.Window, Series: map[Series]TrendSeries{}, FetchedAt: c.now(),
	}
}

// subsetTrend returns tr restricted to series (tr itself when it has exactly those).
func subsetTrend(tr *Trend, series []Series) *Trend {
	if len(tr.Queried) == len(series) {
		return tr
	}
	out := *tr
	out.Queried = series
	out.Series = restrict(tr.Series, series)
	return &out
}

// fetchTrend runs the range query of each source of series and builds the trend. When any
// fails, the trend has only the failure.
func (c *Client) fetchTrend(ctx context.Context, series []Series) answer[*Trend] {
	resolved, back, _, err := c.resolveSpans(ctx, series)
	if err != nil {
		tr := c.emptyTrend()
		tr.Queried, tr.Err, tr.FetchedAt = series, c.classify(err), c.now()
		return answer[*Trend]{val: tr, at: tr.FetchedAt, failed: true}
	}
	a := c.fetchTrendResolved(ctx, resolved)
	a.val.Queried = series
	a.val.Series = rekey(a.val.Series, back)
	return a
}

// fetchTrendResolved is fetchTrend for series without span placeholders.
func (c *Client) fetchTrendResolved(ctx context.Context, series []Series) answer[*Trend] {
	tr := c.emptyTrend()
	tr.Queried = series
	r := v1.Range{Start: tr.Start, End: tr.Start.Add(time.Duration(tr.Points-1) * tr.Step), Step: tr.Step}
	var warnings warningList
	for _, g := range bySource(series) {
		q := c.queries(g[0].Source)
		var (
			mat   model.Matrix
			notes []string
			err   error
		)
		var release func()
		if release, err = c.acquire(ctx); err == nil {
			mat, notes, err = c.q.QueryRange(ctx, q.trend(g), r, c.cfg.Timeout)
			release()
		}
		warnings.add(notes)
		tr.Warnings = warnings.list()
		if err != nil {
			tr.Series = map[Series]TrendSeries{}
			tr.Err = c.classify(err)
			tr.FetchedAt = c.now()
			return answer[*Trend]{val: tr, at: tr.FetchedAt, failed: true}
		}
		addTrend(tr, q.src, g, mat)
	}
	tr.FetchedAt = c.now()
	return answer[*Trend]{val: tr, at: tr.FetchedAt}
}

// addTrend adds to tr the points of the series of src in mat (call rates by failure).
func addTrend(tr *Trend, src *Source, series []Series, mat model.Matrix) {
	want := setOf(series)
	type totals struct{ calls, errs []float64 }
	bySeries := map[Series]*totals{}
	for _, stream := range mat {
		s := src.seriesOf(stream.Metric)
		if !want[s] {
			continue
		}
		t := bySeries[s]
		if t == nil {
			t = &totals{calls: nanSlice(tr.Points), errs: make([]float64, tr.Points)}
			bySeries[s] = t
		}
		failed := label(stream.Metric, src.ErrorLabel) == src.ErrorValue
		for _, p := range stream.Values {
			i := int(math.Round(float64(p.Timestamp.Time().Sub(tr.Start)) / float64(tr.Step)))
			if i < 0 || i >= tr.Points {
				continue
			}
			v := float64(p.Value)
			if math.IsNaN(t.calls[i]) {
				t.calls[i] = 0
			}
			t.calls[i] += v
			if failed {
				t.errs[i] += v
			}
		}
	}
	for s, t := range bySeries {
		ratio := nanSlice(tr.Points)
		for i, n := range t.calls {
			if n > 0 {
				ratio[i] = t.errs[i] / n
			}
		}
		tr.Series[s] = TrendSeries{RequestRate: t.calls, ErrorRatio: ratio}
	}
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}
