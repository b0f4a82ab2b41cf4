package promclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// sentQuery is one instant query as the backend received it.
type sentQuery struct {
	query string
	at    time.Time // its time parameter; zero when it had none
}

// queryRecorder is a reverse proxy in front of a real Prometheus that records the query and
// the time parameter of every instant query.
type queryRecorder struct {
	mu   sync.Mutex
	sent []sentQuery
}

func (r *queryRecorder) since(n int) []sentQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentQuery(nil), r.sent[n:]...)
}

func (r *queryRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

func startRecorder(t *testing.T, backend string) (*queryRecorder, string) {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := &queryRecorder{}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/api/v1/query") {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			form, err := url.ParseQuery(string(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for k, v := range req.URL.Query() {
				form[k] = append(form[k], v...)
			}
			q := sentQuery{query: form.Get("query")}
			if s := form.Get("time"); s != "" {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				q.at = time.UnixMilli(int64(f * 1000))
			}
			rec.mu.Lock()
			rec.sent = append(rec.sent, q)
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	return rec, front.URL
}

var (
	ramp   = Series{Function: "Ramp", Module: "example.com/clock"}
	steady = Series{Function: "Steady", Module: "example.com/clock"}
)

// clockData: Ramp ran v1 until the deploy 40 minutes before now; its v2 calls begin 17 minutes
// before now, so a window ending 15 minutes before now holds only two minutes of them (its
// numbers there are not those of now). Steady runs throughout. The data ends now, as a scraped
// Prometheus's does: a window in its future is empty.
func clockData(now time.Time) promfixture.Options {
	deploy := now.Add(-40 * time.Minute)
	v2From := now.Add(-17 * time.Minute)
	return promfixture.Options{
		Now: now, Before: time.Hour, After: time.Second,
		Functions: []promfixture.Function{
			{Function: ramp.Function, Module: ramp.Module, CallsPerSec: 4, ErrorsPerSec: 0.04, Latencies: []float64{0.02, 0.3},
				ServiceName: "clock", Version: "v1", End: deploy},
			{Function: ramp.Function, Module: ramp.Module, CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.02, 0.9},
				ServiceName: "clock", Version: "v2", Start: v2From},
			{Function: steady.Function, Module: steady.Module, CallsPerSec: 3, ErrorsPerSec: 0.3, Latencies: []float64{0.05}, Job: "steady"},
		},
		BuildInfo: []promfixture.BuildInfo{
			{ServiceName: "clock", Version: "v1", Commit: "aaa", End: deploy},
			{ServiceName: "clock", Version: "v2", Commit: "bbb", Start: deploy},
		},
	}
}

// promAt is Prometheus's own answer to promql evaluated at the instant at (with @).
func promAt(t *testing.T, srv *promfixture.Server, promql string, at time.Time) float64 {
	t.Helper()
	v, err := srv.QueryValue(context.Background(), strings.ReplaceAll(promql, "[5m]", fmt.Sprintf("[5m] @ %d", at.Unix())))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every query of a batch, and the current version's column of its deploy comparison, are
// evaluated at the one instant of the injected clock (whole seconds), and the numbers are
// Prometheus's own at that instant, not at the server's now.
func TestBatchIsEvaluatedAtTheClientsClock(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	srv := promfixture.StartT(t, clockData(now))
	rec, front := startRecorder(t, srv.URL)
	ctx := context.Background()

	want := now.Add(-15 * time.Minute)
	clock := want.Add(700 * time.Millisecond) // truncated to want
	c := newClient(t, Config{URL: front, Now: func() time.Time { return clock }})

	snap, err := c.Fetch(ctx, []Series{ramp, steady})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.EvaluatedAt.Equal(want) {
		t.Fatalf("EvaluatedAt = %v, want the injected clock truncated, %v", snap.EvaluatedAt, want)
	}
	sent := rec.since(0)
	if len(sent) != QueriesPerFetch {
		t.Errorf("the fetch sent %d queries, want %d", len(sent), QueriesPerFetch)
	}
	for _, q := range sent {
		if !q.at.Equal(want) {
			t.Errorf("query evaluated at %v, want %v: %.120s…", q.at, want, q.query)
		}
	}

	sel := `function="Ramp",module="example.com/clock"`
	rate := `sum(rate(function_calls_total{` + sel + `}[5m]))`
	errRatio := `sum(rate(function_calls_total{` + sel + `,result="error"}[5m])) / ` + rate
	p99 := `histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket{` + sel + `}[5m])))`
	st := snap.Stats[ramp]
	for _, n := range []struct {
		name      string
		got       float64
		promql    string
		atNowDiff bool // the data makes this number differ between want and now
	}{
		{"request rate", st.RequestRate, rate, true},
		{"error ratio", st.ErrorRatio, errRatio, false},
		{"p99", st.P99, p99, false},
		{"steady request rate", snap.Stats[steady].RequestRate, `sum(rate(function_calls_total{function="Steady"}[5m]))`, false},
	} {
		w := promAt(t, srv, n.promql, want)
		if !sameNumber(n.got, w) {
			t.Errorf("%s = %v, Prometheus says %v at %v", n.name, n.got, w, want)
		}
		if n.atNowDiff {
			if atNow := promAt(t, srv, n.promql, now); sameNumber(w, atNow) {
				t.Errorf("%s is %v at %v and at %v: the data no longer tells the instants apart", n.name, w, want, now)
			}
		}
	}
	if st.Version != "v2" {
		t.Fatalf("Ramp's version at %v = %q, want v2", want, st.Version)
	}

	before := rec.count()
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	var comparison int
	for _, q := range rec.since(before) {
		if !q.at.Equal(want) {
			t.Errorf("incident query evaluated at %v, want %v: %.120s…", q.at, want, q.query)
		}
		if strings.Contains(q.query, "am_side") {
			comparison++
		}
	}
	if comparison != 1 {
		t.Errorf("%d version comparison queries, want 1", comparison)
	}
	d, ok := inc.Deploys[ramp]
	if !ok || d.Note != "" || d.Current.Version != "v2" || d.Previous.Version != "v1" {
		t.Fatalf("deploy of Ramp: %+v (note %q)", d, inc.VersionsNote)
	}
	cur := d.CurrentNumbers
	if !cur.At.Equal(want) {
		t.Errorf("the current version's numbers are at %v, the batch's at %v", cur.At, want)
	}
	v2 := strings.ReplaceAll(sel, `"example.com/clock"`, `"example.com/clock",version="v2"`)
	for _, n := range []struct {
		name     string
		got      float64
		promql   string
		fromSnap float64
	}{
		{"request rate", cur.RequestRate, `sum(rate(function_calls_total{` + v2 + `}[5m]))`, st.RequestRate},
		{"error ratio", cur.ErrorRatio, `sum(rate(function_calls_total{` + v2 + `,result="error"}[5m])) / sum(rate(function_calls_total{` + v2 + `}[5m]))`, st.ErrorRatio},
		{"p99", cur.P99, `histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket{` + v2 + `}[5m])))`, st.P99},
	} {
		// Only v2 ran in the window: the column and the card agree too.
		if w := promAt(t, srv, n.promql, want); !sameNumber(n.got, w) || !sameNumber(n.got, n.fromSnap) {
			t.Errorf("current version's %s = %v; Prometheus says %v at %v, the snapshot %v", n.name, n.got, w, want, n.fromSnap)
		}
	}
}

// A client clock ten minutes ahead of the backend's would ask about the backend's future, where
// the windows are empty: the first batch learns the backend's time from its answers and asks
// again at it; later batches start there. The numbers are Prometheus's own at that instant.
func TestClockAheadOfTheBackend(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	srv := promfixture.StartT(t, clockData(now))
	rec, front := startRecorder(t, srv.URL)
	ctx := context.Background()
	const ahead = 10 * time.Minute
	c := newClient(t, Config{URL: front, Now: func() time.Time { return time.Now().Add(ahead) }})

	before := time.Now()
	snap, err := c.Fetch(ctx, []Series{steady})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	at := snap.EvaluatedAt
	if at.After(after) || at.Before(before.Add(-time.Minute)) || !at.Truncate(time.Second).Equal(at) {
		t.Fatalf("EvaluatedAt = %v: not the backend's time in whole seconds (the fetch ran from %v to %v)", at, before, after)
	}
	sent := rec.since(0)
	if len(sent) != 2*QueriesPerFetch {
		t.Fatalf("the first fetch sent %d queries, want %d (once at the client's clock, once at the backend's)", len(sent), 2*QueriesPerFetch)
	}
	for i, q := range sent {
		if i < QueriesPerFetch && !q.at.After(after) {
			t.Errorf("first round evaluated at %v, not at the client's clock (ahead of %v)", q.at, after)
		}
		if i >= QueriesPerFetch && !q.at.Equal(at) {
			t.Errorf("second round evaluated at %v, want %v", q.at, at)
		}
	}
	promql := `sum(rate(function_calls_total{function="Steady"}[5m]))`
	if w := promAt(t, srv, promql, at); !sameNumber(snap.Stats[steady].RequestRate, w) || w == 0 {
		t.Errorf("request rate %v, Prometheus says %v at %v", snap.Stats[steady].RequestRate, w, at)
	}
	if v, err := srv.QueryValue(ctx, fmt.Sprintf("sum(count_over_time(function_calls_total{function=\"Steady\"}[5m] @ %d)) or vector(0)", after.Add(ahead).Unix())); err != nil || v != 0 {
		t.Errorf("at the client's clock Prometheus has %v samples of Steady (%v): the test no longer shows an empty future", v, err)
	}

	// The next batch knows the backend's time: one round.
	n := rec.count()
	next, err := c.Fetch(ctx, []Series{ramp})
	if err != nil {
		t.Fatal(err)
	}
	sent = rec.since(n)
	if len(sent) != QueriesPerFetch {
		t.Errorf("the second fetch sent %d queries, want %d", len(sent), QueriesPerFetch)
	}
	for _, q := range sent {
		if !q.at.Equal(next.EvaluatedAt) || q.at.After(time.Now()) {
			t.Errorf("second fetch evaluated at %v (EvaluatedAt %v)", q.at, next.EvaluatedAt)
		}
	}
	if _, ok := next.Stats[ramp]; !ok {
		t.Error("no numbers for Ramp at the backend's time")
	}
}
