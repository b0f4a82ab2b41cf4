package promclient

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// rangeValues runs a range query over the trend's points and returns the values of its only
// series by point, NaN where it has none.
func rangeValues(t *testing.T, srv *promfixture.Server, tr *Trend, promql string) []float64 {
	t.Helper()
	m, _, err := srv.QueryRange(context.Background(), promql, v1.Range{Start: tr.Start, End: tr.Start.Add(time.Duration(tr.Points-1) * tr.Step), Step: tr.Step})
	if err != nil {
		t.Fatal(err)
	}
	out := nanSlice(tr.Points)
	if len(m) > 1 {
		t.Fatalf("%s: %d series, want at most 1", promql, len(m))
	}
	for _, s := range m {
		for _, p := range s.Values {
			out[int(p.Timestamp.Time().Sub(tr.Start)/tr.Step)] = float64(p.Value)
		}
	}
	return out
}

// fullWindow reports whether the rate window ending at point i lies within the data.
func fullWindow(srv *promfixture.Server, tr *Trend, i int) bool {
	at := tr.Start.Add(time.Duration(i) * tr.Step)
	return !at.Add(-tr.Window).Before(srv.First.Add(15*time.Second)) && !at.After(srv.Last)
}

func TestTrendEqualsPrometheusRangeQueries(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	asked := []Series{apiHandle, checkout, legacyParse, yamlUnm, idle, fanIn, syncer, missing}
	before := time.Now()
	tr, err := c.FetchTrend(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	end := tr.Start.Add(time.Duration(tr.Points-1) * tr.Step)
	if tr.Points != 30 || tr.Step != 2*time.Minute || tr.Window != 5*time.Minute || end.UnixMilli()%tr.Step.Milliseconds() != 0 ||
		end.After(before.Add(time.Second)) || end.Before(before.Add(-tr.Step)) {
		t.Errorf("trend %d points every %v from %v to %v (fetched at %v)", tr.Points, tr.Step, tr.Start, end, before)
	}
	if len(tr.Warnings) != 0 || len(tr.Queried) != len(asked) {
		t.Errorf("warnings %q, queried %v", tr.Warnings, tr.Queried)
	}
	truth := map[Series][2]float64{ // rate, error ratio
		apiHandle: {15, 2.0 / 15}, checkout: {5, 0.05}, legacyParse: {2, 0.1}, yamlUnm: {7, 0}, idle: {0, math.NaN()},
		fanIn: {28, 1.5 / 28}, syncer: {10, 0.4},
	}
	if len(tr.Series) != len(truth) {
		t.Errorf("trend of %d series, want %d", len(tr.Series), len(truth))
	}
	gaps, exact := 0, 0
	for s, w := range truth {
		ts, ok := tr.Series[s]
		if !ok || len(ts.RequestRate) != tr.Points || len(ts.ErrorRatio) != tr.Points {
			t.Errorf("%v: %+v", s, ts)
			continue
		}
		metric := "function_calls_total"
		if s == legacyParse {
			metric = "function_calls_count_total"
		}
		rates := rangeValues(t, srv, tr, fmt.Sprintf(`sum(rate(%s{%s}[5m]))`, metric, sel(s)))
		errs := rangeValues(t, srv, tr, fmt.Sprintf(`sum(rate(%s{%s,result="error"}[5m]))`, metric, sel(s)))
		for i := range rates {
			ratio := errs[i] / rates[i]
			if math.IsNaN(errs[i]) && rates[i] > 0 {
				ratio = 0 // no error series at all
			}
			if !sameNumber(ts.RequestRate[i], rates[i]) || !sameNumber(ts.ErrorRatio[i], ratio) {
				t.Errorf("%v point %d: rate %v, error ratio %v; Prometheus answers %v, %v", s, i, ts.RequestRate[i], ts.ErrorRatio[i], rates[i], ratio)
			}
			if fullWindow(srv, tr, i) {
				exact++
				if !sameNumber(ts.RequestRate[i], w[0]) || !sameNumber(ts.ErrorRatio[i], w[1]) {
					t.Errorf("%v point %d: rate %v, error ratio %v; want %v, %v", s, i, ts.RequestRate[i], ts.ErrorRatio[i], w[0], w[1])
				}
			}
			if math.IsNaN(rates[i]) {
				gaps++
			}
		}
	}
	// The data begins 30 minutes before now: the first points of the hour are gaps.
	if gaps == 0 || exact == 0 {
		t.Errorf("%d gaps, %d points with a full window: the data no longer shows both", gaps, exact)
	}
}

func TestTrendCache(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL, TTL: 30 * time.Second})
	now := time.Now()
	var mu sync.Mutex
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	series := fifty()

	if _, ok := c.CachedTrend(series); ok {
		t.Fatalf("CachedTrend answered before any fetch")
	}
	before := queryCount(t, srv)
	var wg sync.WaitGroup
	trends := make([]*Trend, 10)
	for i := range trends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if trends[i], err = c.FetchTrend(context.Background(), series); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, tr := range trends {
		if tr != trends[0] {
			t.Errorf("concurrent FetchTrend calls got different trends")
		}
	}
	first := trends[0]
	if got := first.Series[genSeries[4]].RequestRate[first.Points-1]; !sameNumber(got, 5) {
		t.Errorf("last point of %v = %v, want 5", genSeries[4], got)
	}
	// Fresh: the same set, a subset, Prefetch and Cached cost nothing.
	part, err := c.FetchTrend(context.Background(), []Series{genSeries[1], apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	if len(part.Series) != 2 || len(part.Queried) != 2 || !part.Start.Equal(first.Start) || !sameNumber(part.Series[apiHandle].RequestRate[first.Points-1], 15) {
		t.Errorf("subset from the cache = %+v", part)
	}
	c.PrefetchTrend(series)
	if got, ok := c.CachedTrend(series[:3]); !ok || len(got.Series) != 3 {
		t.Errorf("CachedTrend = %v, %v", got, ok)
	}
	if n := queryCount(t, srv) - before; n != QueriesPerTrend || c.trends.started != 1 {
		t.Errorf("%d queries in %d fetches, want %d in 1", n, c.trends.started, QueriesPerTrend)
	}

	// Stale: a new fetch; Prefetch starts it, FetchTrend of a part joins it.
	advance(31 * time.Second)
	before = queryCount(t, srv)
	c.PrefetchTrend(series)
	again, err := c.FetchTrend(context.Background(), series[5:9])
	if err != nil {
		t.Fatal(err)
	}
	if again.FetchedAt.Equal(first.FetchedAt) || len(again.Series) != 4 {
		t.Errorf("after the TTL: fetched at %v (first %v), %d series", again.FetchedAt, first.FetchedAt, len(again.Series))
	}
	if n := queryCount(t, srv) - before; n != QueriesPerTrend || c.trends.started != 2 {
		t.Errorf("refresh: %d queries in %d fetches, want %d in 2", n, c.trends.started, QueriesPerTrend)
	}
	if tr, err := c.FetchTrend(context.Background(), nil); err != nil || len(tr.Series) != 0 || c.trends.started != 2 {
		t.Errorf("FetchTrend(nil) = %+v, %v", tr, err)
	}
}

// Opening a file of 50 instrumented functions: numbers, SLO and trend cost at most 6 queries.
func TestQueryBudgetFiftyFunctions(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	series := append(fifty()[:48], fanIn, syncer)
	before := queryCount(t, srv)
	c.Prefetch(series)
	c.PrefetchTrend(series)
	snap, err := c.Fetch(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.FetchTrend(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	slos := 0
	for _, s := range series {
		st := snap.Stats[s]
		for _, o := range append(st.Objectives, Objective{Name: "directive", Percentile: 99, LatencyThreshold: 0}) {
			if c.SLO(snap, s, o).Source != "" {
				slos++
			}
		}
	}
	n := queryCount(t, srv) - before
	if n > 6 || n != QueriesPerFetch+QueriesPerTrend {
		t.Errorf("%d queries, want %d (at most 6)", n, QueriesPerFetch+QueriesPerTrend)
	}
	// All have data; all but idle have calls for the directive's objective; Handle carries two
	// objectives, Lookup and Sync one.
	if len(snap.Stats) != 50 || len(tr.Series) != 50 || slos != 49+4 {
		t.Errorf("%d stats, %d trends, %d SLO statuses; want 50, 50, 53", len(snap.Stats), len(tr.Series), slos)
	}
}

// A trend that the backend fails is cached for a short while and reported as a *FetchError;
// a caller that gives up does not cancel it.
func TestTrendHangingBackend(t *testing.T) {
	release := make(chan struct{})
	ts := hangingServer(t, release)
	c := newClient(t, Config{URL: ts.URL, Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if tr, err := c.FetchTrend(ctx, []Series{apiHandle}); tr != nil || err != context.DeadlineExceeded {
		t.Fatalf("FetchTrend = %v, %v; want nil, context.DeadlineExceeded", tr, err)
	}
	tr, err := c.FetchTrend(context.Background(), []Series{apiHandle})
	fe, ok := err.(*FetchError)
	if !ok || fe.Kind != Timeout || tr == nil || tr.Err != err || len(tr.Series) != 0 {
		t.Fatalf("FetchTrend = %+v, %v; want the trend with a timeout", tr, err)
	}
	if again, err2 := c.FetchTrend(context.Background(), []Series{apiHandle}); again != tr || err2 != err || c.trends.started != 1 {
		t.Errorf("second FetchTrend after a failure: %v, %v, %d fetches", again, err2, c.trends.started)
	}
}

// hangingServer answers nothing until release is closed or the request ends.
func hangingServer(t *testing.T, release chan struct{}) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) })
	return ts
}
