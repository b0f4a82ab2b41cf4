// Package demodata builds deterministic Autometrics series for the functions of a Go module (by
// default testdata/demo): the data the demo and the end-to-end tests load into a real
// Prometheus. Every function that emits metrics gets its own distinct rates, so a number that
// leaks from one function into another's card shows up as a wrong number.
package demodata

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// Function pairs an analysed function with the series written for it.
type Function struct {
	*analysis.Function
	// Labels are the labels Data was written under (they shadow the analysed function's own,
	// which stay in Function.Labels): for the demo module those of DemoLabels, spelled out
	// independently of analysis, so that a test comparing a card, a report row or analysis
	// itself with them checks analysis.
	Labels analysis.Labels
	Data   promfixture.Function
}

// Build analyses the module in dir (./...) and returns fixture options with series for every
// instrumented function that emits metrics (directive-only functions get none, as in
// production), plus the pairing. For the demo module (DemoModule) the series carry the labels of
// DemoLabels, and analysis must find exactly its functions; for another module (the demo command
// pointed elsewhere) they carry the labels analysis computes.
func Build(ctx context.Context, dir string) (promfixture.Options, []Function, error) {
	pkgs, err := (&analysis.Loader{Dir: dir}).LoadPatterns(ctx, []string{"./..."}, nil)
	if err != nil && len(pkgs) == 0 {
		return promfixture.Options{}, nil, fmt.Errorf("analysing %s: %w", dir, err)
	}
	var out []Function
	var opts promfixture.Options
	demo, missing := false, map[Decl]bool{}
	for _, p := range pkgs {
		if p.Path == DemoModule || strings.HasPrefix(p.Path, DemoModule+"/") {
			demo = true
		}
	}
	if demo {
		for d := range DemoLabels {
			missing[d] = true
		}
	}
	i := 0
	for _, p := range pkgs {
		for _, fn := range p.Instrumented() {
			if !fn.Instrumentation.EmitsMetrics() {
				continue
			}
			labels := fn.Labels
			if demo {
				d := Decl{fn.PkgPath, fn.QualifiedName()}
				l, ok := DemoLabels[d]
				if !ok {
					return promfixture.Options{}, nil, fmt.Errorf("%s: analysis finds %s in package %s, which DemoLabels lacks", dir, d.Name, d.PkgPath)
				}
				labels = l
				delete(missing, d)
			}
			d := Series(i, labels.Function, labels.Module)
			switch labels {
			case analysis.Labels{Function: "Handle", Module: "example.com/demo/api"}:
				// Called from package main: three quarters by Serve, the rest by (*App).Start.
				d.Callers = []promfixture.Caller{
					{Function: "Serve", Module: "main", CallsPerSec: 0.75 * d.CallsPerSec, ErrorsPerSec: 0.75 * d.ErrorsPerSec, Concurrent: d.Concurrent},
					{Function: "Start", Module: "main.App", CallsPerSec: 0.25 * d.CallsPerSec, ErrorsPerSec: 0.25 * d.ErrorsPerSec},
				}
				d.CallsPerSec, d.ErrorsPerSec, d.Concurrent = 0, 0, 0
			case analysis.Labels{Function: "Handle", Module: "example.com/demo/api.Server"}:
				// A success objective carried by the series' own labels.
				d.ObjectiveName, d.ObjectivePercentile = "API", "99"
			}
			out = append(out, Function{Function: fn, Labels: labels, Data: d})
			opts.Functions = append(opts.Functions, d)
			i++
		}
	}
	for d := range missing {
		return promfixture.Options{}, nil, fmt.Errorf("%s: analysis does not find %s in package %s (DemoLabels has it)", dir, d.Name, d.PkgPath)
	}
	opts.BuildInfo = []promfixture.BuildInfo{{ServiceName: "demo", Version: "v1.4.2", Commit: "4f2a9c1", Branch: "main"}}
	if err := addSpans(&opts, pkgs); err != nil {
		return promfixture.Options{}, nil, err
	}
	return opts, out, nil
}

// addSpans writes the span metrics (the Collector's naming, service "demo") of the functions
// traced with a statically named span, after the Autometrics series, with rates of their own.
// The data is anchored now: opts.Now is set.
func addSpans(opts *promfixture.Options, pkgs []*analysis.Package) error {
	var spans []promfixture.Span
	for _, p := range pkgs {
		for _, fn := range p.Functions {
			t := fn.Trace
			if t == nil || !t.NameKnown() || t.SpanName == "" || t.Kind == "" {
				continue
			}
			i := len(spans)
			calls := 2.5 + 1.5*float64(i)
			spans = append(spans, promfixture.Span{
				Service: "demo", Name: t.SpanName, Kind: t.Kind,
				CallsPerSec: calls, ErrorsPerSec: calls / 10, Latencies: []float64{0.004, 0.012, 0.03, 0.08, 0.25},
			})
		}
	}
	if len(spans) == 0 {
		return nil
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	om, err := promfixture.SpanOpenMetrics(*opts, promfixture.CollectorNaming, spans)
	if err != nil {
		return err
	}
	opts.ExtraOpenMetrics += om
	return nil
}

// Series returns the i-th function's deterministic series: rates that differ for every i, an
// error share cycling through 0, 1/8, 2/8 and 3/8, a latency spread over several buckets.
func Series(i int, function, module string) promfixture.Function {
	calls := 0.5 + 0.75*float64(i)
	return promfixture.Function{
		Function:     function,
		Module:       module,
		CallsPerSec:  calls,
		ErrorsPerSec: calls * float64(i%4) / 8,
		Latencies:    latencies(i),
		Concurrent:   float64(i%3 + 1),
		ServiceName:  "demo",
		Version:      "v1.4.2",
		Commit:       "4f2a9c1",
		Branch:       "main",
	}
}

// latencies returns twenty call durations (seconds): mostly fast, with a tail that differs by i,
// so p95 and p99 land in different buckets.
func latencies(i int) []float64 {
	d := []float64{0.003, 0.004, 0.006, 0.008, 0.009, 0.012, 0.015, 0.018, 0.02, 0.022,
		0.03, 0.035, 0.04, 0.045, 0.06, 0.07, 0.08}
	return append(d, 0.15+0.02*float64(i%5), 0.3+0.1*float64(i%3), 1.2)
}

// Incident names of WithIncident.
const (
	IncidentPreviousVersion = "v1.4.2"
	IncidentVersion         = "v1.5.0"
	IncidentAlert           = "HandleErrorBudgetBurn"
	// IncidentSummary is the firing alert's summary: Markdown and HTML that must reach the
	// card as text.
	IncidentSummary = "Checkout errors **spike** [runbook](javascript:alert(1)) <img src=x onerror=alert(1)>"
)

// IncidentTraces are the trace ids of WithIncident's exemplars of (*Server).Handle, slowest
// first, with their durations in seconds.
var IncidentTraces = []struct {
	ID      string
	Seconds float64
}{{"4bf92f3577b34da6a3ce929d0e0e4736", 2.4}, {"00f067aa0ba902b7a3ce929d0e0e4736", 1.3}, {"a3ce929d0e0e47364bf92f3577b34da6", 0.8}}

// WithIncident turns opts (from Build) into an incident, anchored at now, with traffic that
// varies over the hour (waves and a burst 40 minutes ago): (*Server).Handle of
// example.com/demo/api was deployed 25 minutes ago as IncidentVersion, which fails a quarter of
// its calls (its previous version IncidentPreviousVersion failed 1 %) and is slower; build_info
// tells both versions (with a GitHub repository); an alerting rule fires on its error ratio and
// another stays pending; exemplars name its slowest traces. Every other function keeps its
// series (on the previous version's build_info until the deploy, then the new one's).
func WithIncident(opts promfixture.Options, now time.Time) promfixture.Options {
	deploy := now.Add(-25 * time.Minute)
	opts.Now = now
	// Traffic comes in 20-minute waves (±30 %), with a burst of three times the calls for 4
	// minutes 40 minutes ago: the trend sparklines show it.
	traffic := &promfixture.Traffic{Amplitude: 0.3, Period: 20 * time.Minute, SpikeAt: now.Add(-40 * time.Minute), SpikeFor: 4 * time.Minute, SpikeFactor: 3}
	var fns []promfixture.Function
	for _, f := range opts.Functions {
		f.Traffic = traffic
		if f.Function != "Handle" || f.Module != "example.com/demo/api.Server" {
			fns = append(fns, f)
			continue
		}
		before, after := f, f
		before.End, before.Version, before.Commit = deploy, IncidentPreviousVersion, "4f2a9c1"
		before.ErrorsPerSec = before.CallsPerSec / 100
		after.Start, after.Version, after.Commit = deploy, IncidentVersion, "9e1b7d3"
		after.ErrorsPerSec = after.CallsPerSec / 4
		after.Latencies = append(append([]float64(nil), f.Latencies[:len(f.Latencies)-2]...), 1.8, 4.0)
		fns = append(fns, before, after)
	}
	opts.Functions = fns
	repo := "https://github.com/example/demo"
	opts.BuildInfo = []promfixture.BuildInfo{
		{ServiceName: "demo", Version: IncidentPreviousVersion, Commit: "4f2a9c1", Branch: "main", RepositoryURL: repo, RepositoryProvider: "github", End: deploy},
		{ServiceName: "demo", Version: IncidentVersion, Commit: "9e1b7d3", Branch: "main", RepositoryURL: repo, RepositoryProvider: "github", Start: deploy},
	}
	opts.AlertingRules = []promfixture.AlertRule{
		{
			Alert: IncidentAlert,
			Expr: `sum by (function, module, objective_name) (rate(function_calls_total{module="example.com/demo/api.Server",result="error"}[5m]))` +
				` / sum by (function, module, objective_name) (rate(function_calls_total{module="example.com/demo/api.Server"}[5m])) > 0.05`,
			Labels:      map[string]string{"severity": "page"},
			Annotations: map[string]string{"summary": IncidentSummary},
		},
		{Alert: "HandleLatencyHigh", Expr: `histogram_quantile(0.99, sum by (le, function, module) (rate(function_calls_duration_seconds_bucket{module="example.com/demo/api.Server"}[5m]))) > 1`,
			For: time.Hour, Labels: map[string]string{"severity": "ticket"}, Annotations: map[string]string{"summary": "p99 above 1 s"}},
	}
	opts.Exemplars = nil
	for i, tr := range IncidentTraces {
		opts.Exemplars = append(opts.Exemplars, promfixture.Exemplar{Function: "Handle", Module: "example.com/demo/api.Server",
			Seconds: tr.Seconds, TraceID: tr.ID, SpanID: fmt.Sprintf("%016x", i+1), Ago: time.Duration(20+10*i) * time.Second})
	}
	return opts
}
