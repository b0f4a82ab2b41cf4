package insight

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// startBackend starts a real Prometheus holding opts' Autometrics functions and spans under
// naming.
func startBackend(t *testing.T, opts promfixture.Options, naming promfixture.SpanNaming, spans []promfixture.Span) *promfixture.Server {
	t.Helper()
	opts.Now, opts.Before, opts.After = time.Now(), 30*time.Minute, 90*time.Minute
	if len(spans) > 0 {
		om, err := promfixture.SpanOpenMetrics(opts, naming, spans)
		if err != nil {
			t.Fatal(err)
		}
		opts.ExtraOpenMetrics = om
	}
	return promfixture.StartT(t, opts)
}

func querier(srv *promfixture.Server) cardcheck.Querier {
	return func(ctx context.Context, q string) (float64, error) {
		v, _, err := srv.Query(ctx, q)
		if err != nil || len(v) == 0 {
			return math.NaN(), err
		}
		return float64(v[0].Value), nil
	}
}

// checkout is a function both instrumented with Autometrics and traced with a server span.
func checkout() *analysis.Function {
	return &analysis.Function{
		Name: "Checkout", PkgPath: "example.com/shop", PkgName: "shop",
		Instrumentation: analysis.Generated, Labels: analysis.Labels{Function: "Checkout", Module: "example.com/shop"},
		Trace: &analysis.Trace{Source: analysis.TracerStart, SpanName: "shop.Checkout", Kind: analysis.SpanKindServer},
	}
}

// A function both instrumented and traced shows two labelled sections, each with the numbers
// Prometheus gives for its own series; the span's service is named.
func TestCardOfAFunctionBothInstrumentedAndTraced(t *testing.T) {
	srv := startBackend(t, promfixture.Options{Functions: []promfixture.Function{{
		Function: "Checkout", Module: "example.com/shop", CallsPerSec: 2, ErrorsPerSec: 0.5, Latencies: []float64{0.01, 0.2},
	}}}, promfixture.CollectorNaming, []promfixture.Span{
		{Service: "shop", Name: "shop.Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.003, 0.04, 0.3, 1.2}},
	})
	links := Links{Prom: testClient(t, srv.URL)}
	fn := checkout()
	pkg := &analysis.Package{Path: "example.com/shop", Functions: []*analysis.Function{fn}}
	batch := SeriesOfPackage(pkg)
	if len(batch) != 2 {
		t.Fatalf("batch %v, want the Autometrics series and the span's", batch)
	}
	snap, err := links.Prom.Fetch(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	views := Views(fn, links, snap, nil)
	if len(views) != 2 || views[0].Span || !views[1].Span || views[0].Status != StatusOK || views[1].Status != StatusOK {
		t.Fatalf("views: %+v", views)
	}
	card := Cards(views)
	t.Logf("card:\n%s", card)
	am, span := cardcheck.Section(card, "**Autometrics**"), cardcheck.Section(card, "**OpenTelemetry span**")
	if am == "" || span == "" {
		t.Fatalf("card lacks a labelled section:\n%s", card)
	}
	ctx := context.Background()
	problems, err := cardcheck.Compare(ctx, am, querier(srv), "Checkout", "example.com/shop", "5m")
	if err != nil {
		t.Fatal(err)
	}
	sel := `span_name="shop.Checkout",span_kind="SPAN_KIND_SERVER"`
	more, err := cardcheck.CompareQueries(ctx, span, querier(srv), cardcheck.SpanQueries(cardcheck.SpanNaming{
		Calls: "traces_span_metrics_calls_total", Bucket: "traces_span_metrics_duration_milliseconds_bucket", Unit: 0.001, StatusLabel: "status_code",
	}, sel, "5m"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(problems, more...) {
		t.Error(p)
	}
	for _, want := range []string{"`shop.Checkout` (server)", "of all services", "· shop"} {
		if !strings.Contains(span, want) {
			t.Errorf("span section lacks %q:\n%s", want, span)
		}
	}
	if strings.Contains(span, "Concurrent calls") || strings.Contains(span, "Grafana dashboard") {
		t.Errorf("span section shows Autometrics-only parts:\n%s", span)
	}
	titles := map[string]bool{}
	for _, v := range views {
		titles[LensTitle(v, "{rate}")] = true
	}
	if !titles["2.00 req/s"] || !titles["4.00 req/s"] {
		t.Errorf("lens titles %v", titles)
	}
}

// Why a traced function has no numbers, in words a user can act on.
func TestExplainSpanWithoutNumbers(t *testing.T) {
	ctx := context.Background()
	amOnly := startBackend(t, promfixture.Options{Functions: []promfixture.Function{{Function: "F", Module: "m", CallsPerSec: 1}}}, promfixture.SpanNaming{}, nil)
	tempo := startBackend(t, promfixture.Options{}, promfixture.TempoNaming, []promfixture.Span{
		{Service: "shop", Name: "shop.Checkout", Kind: "SPAN_KIND_SERVER", CallsPerSec: 1, Latencies: []float64{0.1}},
	})
	traced := func(tr analysis.Trace) *analysis.Function {
		return &analysis.Function{Name: "Lookup", PkgPath: "example.com/shop", PkgName: "shop", Trace: &tr}
	}
	dynamic := analysis.Trace{Source: analysis.TracerStart, Kind: analysis.SpanKindInternal, Unnamed: true,
		Why: "the span name is computed at run time", CodeFunction: "example.com/shop.Lookup"}
	cases := []struct {
		name string
		srv  *promfixture.Server
		fn   *analysis.Function
		want []string
	}{
		{"no span metrics at all", amOnly, checkout(), []string{"has no OpenTelemetry span metrics", "spanmetrics connector"}},
		{"no series for the span", tempo, traced(analysis.Trace{Source: analysis.TracerStart, SpanName: "shop.Refund", Kind: analysis.SpanKindServer}),
			[]string{`span_name="shop.Refund"`, `span_kind="SPAN_KIND_SERVER"`}},
		{"dynamic name, backend without code_function_name", tempo, traced(dynamic),
			[]string{"computed at run time", "no code_function_name label", "code.function.name"}},
		{"otelhttp route span", tempo, traced(analysis.Trace{Source: analysis.OtelhttpHandler, Kind: analysis.SpanKindServer, SpanNamePattern: "(GET|HEAD) /ping"}),
			[]string{"method and route", `"(GET\|HEAD) /ping"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			links := Links{Prom: testClient(t, c.srv.URL)}
			pkg := &analysis.Package{Functions: []*analysis.Function{c.fn}}
			snap, err := links.Prom.Fetch(ctx, SeriesOfPackage(pkg))
			if err != nil {
				t.Fatal(err)
			}
			v := ExplainSpan(c.fn, links, snap, nil)
			if v.Status != StatusNoSeries {
				t.Fatalf("status %v: %+v", v.Status, v)
			}
			card := Card(v)
			for _, w := range c.want {
				if !strings.Contains(card, w) {
					t.Errorf("card lacks %q:\n%s", w, card)
				}
			}
			if _, _, err := cardcheck.Parse(card); err == nil {
				t.Errorf("a card without numbers shows numbers:\n%s", card)
			}
		})
	}
}

// Span names, services and the code's service.name are repository or backend text: a span card
// renders them as text, with no link am-lsp did not build and no HTML.
func TestSpanCardsEscapeRepositoryAndBackendText(t *testing.T) {
	client := testClient(t, "http://prom.example:9090")
	hostile := "x`](https://evil.example) <img src=x onerror=alert(1)> **b**"
	links := Links{Prom: client, Spans: ServiceScope{Service: hostile, From: "service.name in [a](https://evil.example):1"}}
	fn := &analysis.Function{Name: "F", PkgPath: "example.com/x", PkgName: "x",
		Trace: &analysis.Trace{Source: analysis.TracerStart, SpanName: hostile, Kind: analysis.SpanKindServer}}
	series, _ := SpanSeriesOf(fn)
	ok := &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{series: {
		Series: series, RequestRate: 1, ErrorRatio: 0, P95: 0.1, P99: 0.2, ServiceName: "[a](https://evil.example), <b>x</b>",
	}}, Window: 5 * time.Minute, FetchedAt: time.Now()}
	empty := &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{}, Window: 5 * time.Minute,
		Spans: &promclient.SpanDiscovery{Found: true, Source: promclient.SpanCollector}}
	pattern := &analysis.Function{Name: "G", Trace: &analysis.Trace{Source: analysis.OtelhttpHandler, SpanNamePattern: hostile, Kind: analysis.SpanKindServer}}
	for name, md := range map[string]string{
		"numbers":   Card(ExplainSpan(fn, links, ok, nil)),
		"no series": Card(ExplainSpan(fn, links, empty, nil)),
		"pattern":   Card(ExplainSpan(pattern, links, empty, nil)),
	} {
		html := render(t, md)
		for _, m := range hrefPattern.FindAllStringSubmatch(html, -1) {
			if !strings.HasPrefix(m[1], "http://prom.example:9090/graph?") {
				t.Errorf("%s: a link am-lsp did not build: %s\n%s", name, m[1], md)
			}
		}
		for _, bad := range []string{"<img", "<b>", "<strong>b", "raw HTML omitted"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: rendered card has %q:\n%s", name, bad, html)
			}
		}
	}
}
