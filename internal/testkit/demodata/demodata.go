// Package demodata builds deterministic Autometrics series for the functions of a Go module (by
// default testdata/demo): the data the demo and the end-to-end tests load into a real
// Prometheus. Every function that emits metrics gets its own distinct rates, so a number that
// leaks from one function into another's card shows up as a wrong number.
package demodata

import (
	"context"
	"fmt"
	"strings"

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
	return opts, out, nil
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
