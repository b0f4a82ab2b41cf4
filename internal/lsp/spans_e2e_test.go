package lsp

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/otelfixture"
)

// The whole OpenTelemetry path, live: the real SDK sends spans to a real Collector, whose span
// metrics a real Prometheus scrapes; hovering the traced functions of testdata/otelapp shows
// numbers equal to Prometheus's own answers, for a span named by a constant expression, a span
// on a struct field's tracer, a span named at run time (through code_function_name), and a call
// of a traced function from another package. The service comes from the code's service.name.
func TestHoverTracedFunctionsOnLiveCollector(t *testing.T) {
	p := otelfixture.StartT(t, otelfixture.Options{Dimensions: []string{"code.function.name"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A first round creates the series (a counter's first sample shows no increase to rate()),
	// the second is what the numbers measure.
	rounds := []struct {
		emit otelfixture.EmitOptions
		want map[string]float64 // counters after the round
	}{
		{otelfixture.EmitOptions{Service: "shop", Checkouts: 4, Failures: 2, Counts: 1, Lookups: 1, Pings: 1}, map[string]float64{
			`sum(traces_span_metrics_calls_total{span_name="shop.Checkout"})`:                            4,
			`sum(traces_span_metrics_duration_milliseconds_count{span_name="shop.Checkout"})`:            4,
			`sum(traces_span_metrics_calls_total{span_name="Inventory.Count"})`:                          1,
			`sum(traces_span_metrics_calls_total{code_function_name="example.com/otelapp/shop.Lookup"})`: 1,
		}},
		{otelfixture.EmitOptions{Service: "shop", Checkouts: 40, Failures: 10, Counts: 7, Lookups: 5, Pings: 3}, map[string]float64{
			`sum(traces_span_metrics_calls_total{span_name="shop.Checkout"})`:                            44,
			`sum(traces_span_metrics_duration_milliseconds_count{span_name="shop.Checkout"})`:            44,
			`sum(traces_span_metrics_calls_total{span_name="Inventory.Count"})`:                          8,
			`sum(traces_span_metrics_calls_total{code_function_name="example.com/otelapp/shop.Lookup"})`: 6,
		}},
	}
	for _, r := range rounds {
		if err := p.Emit(ctx, r.emit); err != nil {
			t.Fatal(err)
		}
		for q, want := range r.want {
			if _, err := p.WaitValue(ctx, q, want); err != nil {
				t.Fatalf("%v\n%s", err, p.Log())
			}
		}
	}
	// No new samples from here on: the rates Prometheus answers stay put between the hover and
	// the reference queries. rate() extrapolates to the end of its window while the last sample
	// is less than 1.1 scrape intervals (1 s) old, so the answers only stay put once the last
	// sample is older than that: the sleep lets time pass rather than wait for an event (the
	// collector has exited when StopCollector returns), and a busy machine only makes it longer.
	p.StopCollector()
	time.Sleep(3 * time.Second)

	app, err := filepath.Abs("../../testdata/otelapp")
	if err != nil {
		t.Fatal(err)
	}
	s := startSession(t, nil, nil)
	if _, err := s.client.Initialize(ctx, app, nil, map[string]any{"prometheusUrl": p.Prometheus.URL, "cacheTtl": "10m"}); err != nil {
		t.Fatal(err)
	}
	query := func(ctx context.Context, q string) (float64, error) {
		v, _, err := p.Prometheus.Query(ctx, q)
		if err != nil || len(v) == 0 {
			return math.NaN(), err
		}
		return float64(v[0].Value), nil
	}
	naming := cardcheck.SpanNaming{Calls: "traces_span_metrics_calls_total", Bucket: "traces_span_metrics_duration_milliseconds_bucket", Unit: 0.001, StatusLabel: "status_code"}
	shop := filepath.Join(app, "shop", "shop.go")
	src, err := os.ReadFile(shop)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at, selector, title string
	}{
		{"func Checkout", `service_name="shop",span_name="shop.Checkout",span_kind="SPAN_KIND_SERVER"`, "`shop.Checkout` (server)"},
		{"func (inv *Inventory) Count", `service_name="shop",span_name="Inventory.Count",span_kind="SPAN_KIND_INTERNAL"`, "`Inventory.Count` (internal)"},
		{"func Lookup", `service_name="shop",code_function_name="example.com/otelapp/shop.Lookup"`, "named at run time"},
	} {
		off := strings.Index(string(src), c.at)
		if off < 0 {
			t.Fatalf("%q not in %s", c.at, shop)
		}
		off += strings.LastIndex(c.at, " ") + 1
		line, char := openAt(t, s, shop, off)
		card := hoverUntilNumbers(t, s, shop, line, char)
		problems, err := cardcheck.CompareQueries(ctx, card, query, cardcheck.SpanQueries(naming, c.selector, "5m"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range problems {
			t.Errorf("%s: %s\n%s", c.at, pr, card)
		}
		for _, want := range []string{"**OpenTelemetry span**", c.title, `service ` + "`shop`" + ` (service.name in cmd/shopd/main.go:`} {
			if !strings.Contains(card, want) {
				t.Errorf("%s: card lacks %q:\n%s", c.at, want, card)
			}
		}
	}
	// The checkout's error ratio is the failures sent over all calls, as Prometheus counts them.
	line, char := openAt(t, s, shop, strings.Index(string(src), "func Checkout")+5)
	checkout := hoverUntilNumbers(t, s, shop, line, char)
	got, _, err := cardcheck.Parse(checkout)
	if err != nil {
		t.Fatal(err)
	}
	// The card equals Prometheus's rate() ratio (checked above); that ratio approximates the
	// counters' 12 failures of 44 calls, each series extrapolated by rate() on its own.
	if r := got[cardcheck.ErrorRatio]; math.Abs(r-12.0/44) > 0.05 {
		t.Errorf("error ratio %v, want about the 12 failures of 44 calls sent", r)
	}
	if math.IsNaN(got[cardcheck.LatencyP99]) || !(got[cardcheck.LatencyP99] > 0) {
		t.Errorf("no latency from the live histogram: %v", got[cardcheck.LatencyP99])
	}

	// A call of Checkout in another package hovers the same card.
	caller := filepath.Join(app, "caller", "caller.go")
	csrc, err := os.ReadFile(caller)
	if err != nil {
		t.Fatal(err)
	}
	line, char = openAt(t, s, caller, strings.Index(string(csrc), "Checkout(")+2)
	card := hoverUntilNumbers(t, s, caller, line, char)
	if cardcheck.Section(card, "**OpenTelemetry span**") == "" || !strings.Contains(card, "`shop.Checkout` (server)") {
		t.Errorf("hover on the call:\n%s", card)
	}
	callGot, _, err := cardcheck.Parse(card)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []cardcheck.Number{cardcheck.RequestRate, cardcheck.ErrorRatio, cardcheck.LatencyP99} {
		if !cardcheck.Close(callGot[n], got[n]) {
			t.Errorf("%s on the call %v, on the declaration %v", n, callGot[n], got[n])
		}
	}
}
