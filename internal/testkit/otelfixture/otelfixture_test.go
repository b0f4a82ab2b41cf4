package otelfixture

import (
	"context"
	"testing"
	"time"
)

// The pipeline turns the emitter's spans into span metrics whose counters equal the counts
// sent: calls by span name, kind and status, with code_function_name for the span named at
// run time.
func TestPipelineCountsSpans(t *testing.T) {
	p := StartT(t, Options{Dimensions: []string{"code.function.name"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Emit(ctx, EmitOptions{Service: "shop", Checkouts: 40, Failures: 10, Counts: 7, Lookups: 5, Pings: 3}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		query string
		want  float64
	}{
		{`sum(traces_span_metrics_calls_total{service_name="shop",span_name="shop.Checkout",span_kind="SPAN_KIND_SERVER"})`, 40},
		{`sum(traces_span_metrics_calls_total{span_name="shop.Checkout",status_code="STATUS_CODE_ERROR"})`, 10},
		{`sum(traces_span_metrics_calls_total{span_name="shop.Reserve",span_kind="SPAN_KIND_INTERNAL"})`, 30},
		{`sum(traces_span_metrics_calls_total{span_name="Inventory.Count"})`, 7},
		{`sum(traces_span_metrics_calls_total{code_function_name="example.com/otelapp/shop.Lookup"})`, 5},
		{`sum(traces_span_metrics_calls_total{span_name="GET /ping",span_kind="SPAN_KIND_SERVER"})`, 3},
		{`sum(traces_span_metrics_duration_milliseconds_count{span_name="shop.Checkout"})`, 40},
	}
	for _, c := range checks {
		if got, err := p.WaitValue(ctx, c.query, c.want); err != nil {
			t.Errorf("%v (got %v); collector log:\n%s", err, got, p.Log())
		}
	}
}
