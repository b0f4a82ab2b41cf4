package promclient

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// spanVariant is one naming of span metrics, the entry discovery must pick for it, and the
// hand-written PromQL names Prometheus's reference answers use.
type spanVariant struct {
	name   string
	naming promfixture.SpanNaming
	want   SourceID
}

var spanVariants = []spanVariant{
	{"collector", promfixture.CollectorNaming, SpanCollector},
	{"collector without suffixes", promfixture.CollectorNoSuffixNaming, SpanCollector},
	{"collector in seconds", promfixture.CollectorSecondsNaming, SpanCollectorSeconds},
	{"collector with otel_status_code", promfixture.CollectorOtelStatusNaming, SpanCollectorOtelStatus},
	{"legacy names", promfixture.LegacyNaming, SpanLegacy},
	{"tempo", promfixture.TempoNaming, SpanTempo},
	{"connector namespace", promfixture.SpanNaming{Calls: "shop_calls_total", Histogram: "shop_duration_milliseconds",
		Unit: 0.001, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: promfixture.CollectorBucketsMs}, SpanNamespaced},
	{"exporter namespace in seconds", promfixture.SpanNaming{Calls: "myapp_traces_span_metrics_calls_total", Histogram: "myapp_traces_span_metrics_duration_seconds",
		Unit: 1, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: promfixture.TempoBucketsS}, SpanNamespaced},
}

// shopSpans are the spans every variant's backend holds.
var shopSpans = []promfixture.Span{
	{Service: "shop", Name: "shop.Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.003, 0.04, 0.3, 1.2}},
	{Service: "shop", Name: "shop.Reserve", Kind: "SPAN_KIND_INTERNAL", CallsPerSec: 3, Latencies: []float64{0.005}},
	{Service: "shop", Name: "lookup sku-1", Kind: "SPAN_KIND_INTERNAL", CodeFunction: "example.com/otelapp/shop.Lookup", CallsPerSec: 0.5, ErrorsPerSec: 0.25, Latencies: []float64{0.009, 0.09}},
	{Service: "shop", Name: "lookup sku-2", Kind: "SPAN_KIND_INTERNAL", CodeFunction: "example.com/otelapp/shop.Lookup", CallsPerSec: 1.5, Latencies: []float64{0.009}},
}

// startSpans starts a Prometheus holding spans under naming.
func startSpans(t *testing.T, naming promfixture.SpanNaming, spans []promfixture.Span) *promfixture.Server {
	t.Helper()
	opts := promfixture.Options{Now: time.Now(), Before: 30 * time.Minute, After: 90 * time.Minute}
	om, err := promfixture.SpanOpenMetrics(opts, naming, spans)
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraOpenMetrics = om
	srv, err := promfixture.Start(context.Background(), opts)
	skipOrFail(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// referenceQueries are the numbers of one span written out by hand in the naming's own
// names: rate of all calls, errors over all calls (0 without an error series), quantiles
// scaled to seconds.
func referenceQueries(n promfixture.SpanNaming, selector string) map[Kind]string {
	all := `sum(rate(` + n.Calls + `{` + selector + `}[5m]))`
	q := func(p string) string {
		return `histogram_quantile(` + p + `, sum by (le) (rate(` + n.Histogram + `_bucket{` + selector + `}[5m]))) * ` + strconv.FormatFloat(n.Unit, 'g', -1, 64)
	}
	return map[Kind]string{
		RequestRate: all,
		ErrorRatio:  `(sum(rate(` + n.Calls + `{` + selector + `,` + n.StatusLabel + `="STATUS_CODE_ERROR"}[5m])) or vector(0)) / ` + all,
		LatencyP95:  q("0.95"),
		LatencyP99:  q("0.99"),
	}
}

// Every naming variant: discovery picks its entry with one query (cached), and the numbers of
// span subjects equal Prometheus's answers to hand-written queries and the rates written.
func TestSpanMetricsEveryNaming(t *testing.T) {
	for _, v := range spanVariants {
		t.Run(v.name, func(t *testing.T) {
			srv := startSpans(t, v.naming, shopSpans)
			c := newClient(t, Config{URL: srv.URL})
			ctx := context.Background()
			d, err := c.DiscoverSpans(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Found || d.Source != v.want {
				t.Fatalf("discovered %+v, want %v", d, v.want)
			}
			if again, _ := c.DiscoverSpans(ctx); again.Source != d.Source || c.Discoveries() != 1 {
				t.Errorf("discovery not cached: %d queries", c.Discoveries())
			}
			checkout := Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: d.Source}
			reserve := Series{Function: "shop.Reserve", Module: "SPAN_KIND_INTERNAL", Source: d.Source}
			wrongKind := Series{Function: "shop.Reserve", Module: "SPAN_KIND_CLIENT", Source: d.Source}
			snap, err := c.Fetch(ctx, []Series{checkout, reserve, wrongKind})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := snap.Stats[wrongKind]; ok {
				t.Errorf("a span of another kind has numbers: %+v", snap.Stats[wrongKind])
			}
			for _, c2 := range []struct {
				s        Series
				selector string
				rate     float64
			}{
				{checkout, `span_name="shop.Checkout",span_kind="SPAN_KIND_SERVER"`, 4},
				{reserve, `span_name="shop.Reserve",span_kind="SPAN_KIND_INTERNAL"`, 3},
			} {
				st, ok := snap.Stats[c2.s]
				if !ok {
					t.Fatalf("no numbers for %v: %+v", c2.s, snap.Stats)
				}
				if !sameNumber(st.RequestRate, c2.rate) {
					t.Errorf("%v: rate %v, want the %v written", c2.s, st.RequestRate, c2.rate)
				}
				for k, q := range referenceQueries(v.naming, c2.selector) {
					want := promValue(t, srv, q)
					if got := statOf(st, k); !sameNumber(got, want) {
						t.Errorf("%v %v = %v, Prometheus says %v (%s)", c2.s, k, got, want, q)
					}
					if ref := promValue(t, srv, c.QueryFor(k, c2.s)); !sameNumber(ref, want) {
						t.Errorf("%v QueryFor(%v) answers %v, want %v", c2.s, k, ref, want)
					}
				}
				if st.ServiceName != "shop" {
					t.Errorf("%v: service %q", c2.s, st.ServiceName)
				}
			}
			if st := snap.Stats[checkout]; !sameNumber(st.ErrorRatio, 0.25) {
				t.Errorf("checkout error ratio %v, want 1/4", st.ErrorRatio)
			}
			if d.ByFunction != 0 {
				byFn := Series{Function: "example.com/otelapp/shop.Lookup", Source: d.ByFunction}
				snap, err := c.Fetch(ctx, []Series{byFn})
				if err != nil {
					t.Fatal(err)
				}
				st := snap.Stats[byFn]
				if !sameNumber(st.RequestRate, 2) || !sameNumber(st.ErrorRatio, 0.125) {
					t.Errorf("by code_function_name: rate %v, error ratio %v; want 2 and 1/8 over both span names", st.RequestRate, st.ErrorRatio)
				}
			} else if v.want == SpanCollector || v.want == SpanNamespaced {
				t.Errorf("the backend has code_function_name but discovery did not say so")
			}
		})
	}
}

// Two services with the same span name: without a service the numbers add both up and say
// so; with SpanService they are that service's only. Autometrics series are not restricted.
func TestSpanMetricsServices(t *testing.T) {
	spans := []promfixture.Span{
		{Service: "shop", Name: "Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.01}},
		{Service: "billing", Name: "Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 6, Latencies: []float64{0.5}},
	}
	srv := startSpans(t, promfixture.CollectorNaming, spans)
	s := Series{Function: "Checkout", Module: "SPAN_KIND_SERVER", Source: SpanCollector}
	ctx := context.Background()
	all, err := newClient(t, Config{URL: srv.URL}).Fetch(ctx, []Series{s})
	if err != nil {
		t.Fatal(err)
	}
	if st := all.Stats[s]; !sameNumber(st.RequestRate, 10) || st.ServiceName != "billing, shop" || !sameNumber(st.ErrorRatio, 0.1) {
		t.Errorf("all services: %+v", st)
	}
	c := newClient(t, Config{URL: srv.URL, SpanService: "shop"})
	one, err := c.Fetch(ctx, []Series{s})
	if err != nil {
		t.Fatal(err)
	}
	if st := one.Stats[s]; !sameNumber(st.RequestRate, 4) || st.ServiceName != "shop" || !sameNumber(st.ErrorRatio, 0.25) {
		t.Errorf("service shop: %+v", st)
	}
	for _, k := range []Kind{RequestRate, ErrorRatio, LatencyP99} {
		if q := c.QueryFor(k, s); !strings.Contains(q, `service_name="shop"`) {
			t.Errorf("QueryFor(%v) does not keep to the service: %s", k, q)
		}
	}
	if q := c.QueryFor(RequestRate, Series{Function: "F", Module: "m"}); strings.Contains(q, "service_name") {
		t.Errorf("the span service restricts Autometrics queries: %s", q)
	}
}

// A backend with Autometrics metrics only: discovery says there are no span metrics. A forced
// naming sends no query; an unknown one is refused.
func TestSpanDiscoveryWithoutSpans(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	d, err := c.DiscoverSpans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Found || len(d.Names) != 0 {
		t.Errorf("span metrics found among Autometrics series: %+v", d)
	}
	forced := newClient(t, Config{URL: srv.URL, SpanMetrics: "tempo"})
	if d, err := forced.DiscoverSpans(context.Background()); err != nil || d.Source != SpanTempo || !d.Forced || forced.Discoveries() != 0 {
		t.Errorf("forced: %+v %v, %d queries", d, err, forced.Discoveries())
	}
	if _, err := New(Config{URL: srv.URL, SpanMetrics: "zipkin"}); err == nil || !strings.Contains(err.Error(), "collector") {
		t.Errorf("an unknown spanMetrics: %v", err)
	}
}

// Placeholders: a caller that does not know the naming asks with SpanAuto and gets the numbers
// of the discovered entry under its own series, in Fetch and FetchTrend; the discovery is one
// query for the client's lifetime. Without span metrics the placeholders have no numbers and the
// snapshot says there are none.
func TestSpanPlaceholders(t *testing.T) {
	srv := startSpans(t, promfixture.TempoNaming, shopSpans)
	c := newClient(t, Config{URL: srv.URL})
	ctx := context.Background()
	auto := Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: SpanAuto}
	byFn := Series{Function: "example.com/otelapp/shop.Lookup", Source: SpanAutoByFunction}
	snap, err := c.Fetch(ctx, []Series{auto, byFn, apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Spans == nil || snap.Spans.Source != SpanTempo || snap.Spans.ByFunction != 0 {
		t.Errorf("snapshot's span discovery: %+v", snap.Spans)
	}
	st, ok := snap.Stats[auto]
	if !ok || st.Series != auto {
		t.Fatalf("no numbers under the placeholder: %+v", snap.Stats)
	}
	concrete, err := c.Fetch(ctx, []Series{{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: SpanTempo}})
	if err != nil {
		t.Fatal(err)
	}
	want := concrete.Stats[Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: SpanTempo}]
	if !sameNumber(st.RequestRate, want.RequestRate) || !sameNumber(st.P99, want.P99) || !sameNumber(st.ErrorRatio, want.ErrorRatio) {
		t.Errorf("placeholder %+v, concrete %+v", st, want)
	}
	if _, ok := snap.Stats[byFn]; ok {
		t.Errorf("Tempo has no code_function_name, yet the placeholder has numbers")
	}
	if ref := promValue(t, srv, c.QueryFor(RequestRate, auto)); !sameNumber(ref, st.RequestRate) {
		t.Errorf("QueryFor(placeholder) answers %v, want %v", ref, st.RequestRate)
	}
	tr, err := c.FetchTrend(ctx, []Series{auto})
	if err != nil {
		t.Fatal(err)
	}
	if ts, ok := tr.Series[auto]; !ok || len(ts.RequestRate) == 0 {
		t.Errorf("no trend under the placeholder: %+v", tr.Series)
	}
	if n := c.Discoveries(); n != 1 {
		t.Errorf("%d discovery queries, want 1", n)
	}

	none := newClient(t, Config{URL: sharedServer(t).URL})
	snap, err = none.Fetch(ctx, []Series{auto, apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Stats[auto]; ok || snap.Spans == nil || snap.Spans.Found {
		t.Errorf("a backend without span metrics: spans %+v, stats %+v", snap.Spans, snap.Stats[auto])
	}
	if _, ok := snap.Stats[apiHandle]; !ok {
		t.Errorf("the Autometrics series of the batch lost its numbers")
	}
}

// Concurrent callers share one discovery query; a caller that gives up does not cancel it.
func TestSpanDiscoveryShared(t *testing.T) {
	srv := startSpans(t, promfixture.CollectorNaming, shopSpans)
	c := newClient(t, Config{URL: srv.URL})
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.DiscoverSpans(gaveUp); err == nil {
		t.Error("a cancelled caller got an answer")
	}
	done := make(chan SpanDiscovery, 8)
	for i := 0; i < 8; i++ {
		go func() {
			d, err := c.DiscoverSpans(context.Background())
			if err != nil {
				t.Error(err)
			}
			done <- d
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; d.Source != SpanCollector || !d.Found {
			t.Errorf("discovered %+v", d)
		}
	}
	if n := c.Discoveries(); n != 1 {
		t.Errorf("%d discovery queries for nine callers, want 1", n)
	}
}
