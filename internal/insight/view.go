// Package insight joins the two halves of am-lsp: the functions the analysis finds and the
// numbers promclient fetches. It decides what a user is told about one function (View), renders
// that as a hover card or a report row, and keeps per-package analysis of the editor's open
// files fresh in the background (Workspace). It does not know about LSP.
//
// Files: view.go (View, Explain: one View whatever the telemetry source), card.go, lens.go,
// slo.go, table.go, report.go (renderings), links.go (jump targets); workspace.go (the
// Workspace and its three parts: analyses.go, numbers.go, cards.go) and hover.go. New
// background data (a second source's numbers, alerts, versions, exemplars) is fetched in
// numbers.go's prefetch and read by the renderings from what it stored; nothing on the hover
// path waits for it.
package insight

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Status says whether a View has numbers, and if not, why.
type Status int

const (
	// StatusOK: the backend answered and has series for the function.
	StatusOK Status = iota
	// StatusNoSeries: the backend answered but has no series with the function's labels.
	StatusNoSeries
	// StatusBackendError: the backend could not be reached or answered with an error.
	StatusBackendError
	// StatusLoading: the numbers did not arrive before the hover deadline.
	StatusLoading
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNoSeries:
		return "no data"
	case StatusBackendError:
		return "backend error"
	case StatusLoading:
		return "loading"
	}
	return "unknown"
}

// View is everything the user is told about one instrumented or traced function, from one
// source: its Autometrics series, or (Span) the span metrics of the span that measures it. All
// its text (Reason, Notes, names, labels) is plain text, never Markdown: it may come from the
// repository or the backend, and each rendering (Card, LensTitle, the report) escapes it for its
// medium.
type View struct {
	Function *analysis.Function
	Series   promclient.Series
	// Span marks the View of the function's OpenTelemetry span; Scope is then the service the
	// span metrics are kept to.
	Span   bool
	Scope  ServiceScope
	Status Status
	// Reason explains a Status other than OK in words the user can act on. Empty for OK.
	Reason string
	// Notes are further facts the user should know even with numbers: missing instrumentation
	// statements, uncounted errors, backend warnings, stale numbers.
	Notes     []string
	Stats     promclient.Stats
	Window    time.Duration
	FetchedAt time.Time
	// EvaluatedAt is the instant the numbers were evaluated at (see promclient.Snapshot).
	EvaluatedAt time.Time
	Backend     string                     // backend URL without credentials
	Links       map[promclient.Kind]string // Prometheus graph link per number
	Jumps       map[Target]string          // Grafana dashboard, Explore and Prometheus links
	// SLOs are the function's objectives with their measured status.
	SLOs []promclient.SLOStatus
	// NoSLO explains, on a span's View with numbers and no SLOs, which Sloth recording rules
	// would give it one.
	NoSLO string
	// Trend is the last hour of request rate and error ratio, when fetched.
	Trend *promclient.TrendSeries
	// TrendRange is the time the trend covers.
	TrendRange time.Duration
	// Images renders the trend as SVG charts (Markdown images) instead of text sparklines: the
	// client renders images (setting hoverImages).
	Images bool
	// Incident is the function's alerts, deploy and traces, when the refresh fetched them.
	Incident *FunctionIncident
}

// statementsMissing explains a directive-only function.
const statementsMissing = "The //autometrics directive is there but the instrumentation statements are missing, " +
	"so this code emits no metrics: run `go generate` (autometrics) for this file."

// Explain builds the View of fn from a fetch result. snap may be nil when the fetch did not finish
// (fetchErr is then the caller's context error) and may be stale (a cached snapshot shown while
// a refresh is under way).
func Explain(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error) View {
	return explain(fn, links, snap, fetchErr, nil)
}

// explain is Explain, or with a lensMemo the View for one-line summaries (see lensMemo).
func explain(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error, memo *lensMemo) View {
	v := explainNumbers(fn, SeriesOf(fn), links, snap, fetchErr, memo)
	if fn.Instrumentation == analysis.DirectiveOnly && v.Reason != statementsMissing {
		v.Notes = append([]string{statementsMissing}, v.Notes...)
	}
	return v
}

// explainNumbers builds the View of fn's series (its Autometrics series, or its span's); with a
// memo, without Links and Jumps (see lensMemo).
func explainNumbers(fn *analysis.Function, series promclient.Series, links Links, snap *promclient.Snapshot, fetchErr error, memo *lensMemo) View {
	client := links.Prom
	v := View{Function: fn, Series: series, Backend: client.DisplayURL()}
	if memo == nil {
		v.Links, v.Jumps = viewLinks(links, series)
	}
	switch {
	case snap == nil && fetchErr != nil && !isContextError(fetchErr):
		v.Status = StatusBackendError
		v.Reason = describeError(fetchErr, v.Backend)
		return v
	case snap == nil:
		v.Status = StatusLoading
		v.Reason = memo.loading(v.Backend)
		return v
	case snap.Err != nil:
		v.Status = StatusBackendError
		v.Reason = memo.failed(snap, v.Backend)
		v.FetchedAt = snap.FetchedAt
		return v
	}
	v.Window = snap.Window
	v.FetchedAt, v.EvaluatedAt = snap.FetchedAt, snap.EvaluatedAt
	v.Notes = append(v.Notes, snap.Warnings...)
	if fetchErr != nil {
		v.Notes = append(v.Notes, fmt.Sprintf("Showing numbers from %s; a refresh is under way.", snap.FetchedAt.Format(time.TimeOnly)))
	}
	stats, ok := snap.Stats[series]
	switch {
	case ok:
		v.Status = StatusOK
		v.Stats = stats
		if series.IsSpan() {
			// The directive's objectives are the Autometrics series'; a span's come from Sloth.
			v.SLOs = client.SlothSLOs(snap, series)
			if len(v.SLOs) == 0 {
				v.NoSLO = noSlothSLO(series, stats, v.Backend, client.SlothMiss(snap, series))
			}
			break
		}
		for _, o := range objectivesOf(fn, stats) {
			v.SLOs = append(v.SLOs, client.SLO(snap, series, o))
		}
	case fn.Instrumentation == analysis.DirectiveOnly:
		v.Status = StatusNoSeries
		v.Reason = statementsMissing
	default:
		v.Status = StatusNoSeries
		v.Reason = fmt.Sprintf("%s has no series with function=%q, module=%q in the last %s. "+
			"Check that this code is deployed and scraped by this backend, and that the labels match.",
			v.Backend, series.Function, series.Module, formatWindow(snap.Window))
	}
	return v
}

// lensMemo builds the Views of one-line summaries (CodeLens titles, SLO verdicts) of many
// functions from one snapshot, a generated file's thousands among them: passed to explain, it
// leaves the Views' Links and Jumps nil (no one-line rendering shows them, and they were most of
// a View's cost), and writes the reason of a missing or failed snapshot, the same for every
// function, once. Everything else is as in Explain's View. A nil *lensMemo builds full Views.
type lensMemo struct {
	snap                        *promclient.Snapshot // whose failure failedReason describes
	backend                     string               // the backend both reasons name
	loadingReason, failedReason string
}

// loading is the reason of a View whose numbers have not arrived from backend.
func (m *lensMemo) loading(backend string) string {
	if m == nil || m.loadingReason == "" || m.backend != backend {
		r := fmt.Sprintf("Numbers are still loading from %s; hover again in a moment.", backend)
		if m != nil {
			*m = lensMemo{backend: backend, loadingReason: r}
		}
		return r
	}
	return m.loadingReason
}

// failed is the reason of a View of snap, which holds the backend's failure (Err).
func (m *lensMemo) failed(snap *promclient.Snapshot, backend string) string {
	if m == nil || m.failedReason == "" || m.snap != snap || m.backend != backend {
		r := describeError(snap.Err, backend)
		if m != nil {
			*m = lensMemo{snap: snap, backend: backend, failedReason: r}
		}
		return r
	}
	return m.failedReason
}

// viewLinks returns the Prometheus graph link of each number of series and its jumps (Grafana
// dashboard, Explore, Prometheus).
func viewLinks(links Links, series promclient.Series) (map[promclient.Kind]string, map[Target]string) {
	client := links.Prom
	numbers, jumps := map[promclient.Kind]string{}, map[Target]string{}
	for _, t := range []Target{TargetGrafana, TargetExplore, TargetPrometheus} {
		if t == TargetGrafana && series.IsSpan() {
			continue // the Function Explorer dashboard reads Autometrics metrics
		}
		if links.Grafana != "" || t == TargetPrometheus {
			jumps[t] = links.URL(t, series)
		}
	}
	for _, k := range []promclient.Kind{promclient.RequestRate, promclient.ErrorRatio, promclient.LatencyP95, promclient.LatencyP99, promclient.Concurrent} {
		numbers[k] = client.GraphURL(client.QueryFor(k, series))
	}
	return numbers, jumps
}

// SeriesOf returns the labels a function's series carry.
func SeriesOf(fn *analysis.Function) promclient.Series {
	return promclient.Series{Function: fn.Labels.Function, Module: fn.Labels.Module}
}

// SeriesOfPackage returns the series of every function of pkg that is instrumented or traced
// (Autometrics series and span placeholders), without duplicates, in promclient's batch order
// (Normalize): the batch am-lsp asks the backend for in one go.
//
// A Package is not modified once built, so its batch is computed once and the same slice is
// returned to every caller (hovers and lenses ask for it on each request): callers must not
// modify it.
func SeriesOfPackage(pkg *analysis.Package) []promclient.Series {
	return packageBatches.of(pkg)
}

// packageBatches memoizes SeriesOfPackage.
var packageBatches = batchMemo{}

// batchMemo maps a Package to its batch. Keys are weak pointers: an entry does not keep its
// Package alive and is removed once the Package is collected, so the memo holds the batches
// of the packages still in use and nothing more.
type batchMemo struct {
	m sync.Map // weak.Pointer[analysis.Package] → []promclient.Series
}

func (b *batchMemo) of(pkg *analysis.Package) []promclient.Series {
	if pkg == nil {
		return nil
	}
	key := weak.Make(pkg)
	if v, ok := b.m.Load(key); ok {
		return v.([]promclient.Series)
	}
	batch := seriesOfPackage(pkg)
	if v, loaded := b.m.LoadOrStore(key, batch); loaded {
		return v.([]promclient.Series)
	}
	runtime.AddCleanup(pkg, func(k weak.Pointer[analysis.Package]) { b.m.Delete(k) }, key)
	return batch
}

// len returns the number of batches held (tests).
func (b *batchMemo) len() int {
	n := 0
	b.m.Range(func(any, any) bool { n++; return true })
	return n
}

func seriesOfPackage(pkg *analysis.Package) []promclient.Series {
	var all []promclient.Series
	for _, fn := range pkg.Functions {
		if fn.Measured() {
			all = append(all, seriesOfFunction(fn)...)
		}
	}
	return promclient.Normalize(all)
}

func isContextError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func describeError(err error, backend string) string {
	var fe *promclient.FetchError
	if errors.As(err, &fe) {
		switch fe.Kind {
		case promclient.Unreachable:
			return fmt.Sprintf("Prometheus at %s is unreachable: %v. Is it running, and is the URL right (setting prometheusUrl or AM_PROMETHEUS_URL)?", backend, fe.Err)
		case promclient.Timeout:
			return fmt.Sprintf("Prometheus at %s did not answer in time: %v.", backend, fe.Err)
		case promclient.Unauthorized:
			return fmt.Sprintf("Prometheus at %s refused the request: authentication failed (%v). Check the credentials am-lsp sends.", backend, fe.Err)
		default:
			return fmt.Sprintf("Prometheus at %s answered with an error: %v.", backend, fe.Err)
		}
	}
	return fmt.Sprintf("Prometheus at %s: %v.", backend, err)
}

func formatWindow(d time.Duration) string {
	if d <= 0 {
		return "window"
	}
	s := d.String()
	// "5m0s" → "5m", "1h0m0s" → "1h"
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s = s[:len(s)-len(suffix)+1]
		}
	}
	return s
}

// FormatRate formats calls per second with at least three significant digits.
func FormatRate(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0 req/s"
	case v >= 100:
		return fmt.Sprintf("%.0f req/s", v)
	case v >= 10:
		return fmt.Sprintf("%.1f req/s", v)
	case v >= 1:
		return fmt.Sprintf("%.2f req/s", v)
	default:
		return fmt.Sprintf("%.3g req/s", v)
	}
}

// FormatRatio formats an error ratio (0..1) as a percentage; NaN (no calls) is a dash.
func FormatRatio(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0 %"
	case v >= 0.1:
		return fmt.Sprintf("%.1f %%", v*100)
	default:
		return fmt.Sprintf("%.3g %%", v*100)
	}
}

// FormatLatency formats seconds as milliseconds below one second, seconds above.
func FormatLatency(seconds float64) string {
	switch {
	case math.IsNaN(seconds) || math.IsInf(seconds, 0):
		return "–"
	case seconds >= 0.9995: // 999.5 ms and up would print as "1e+03 ms"
		return fmt.Sprintf("%.3g s", seconds)
	default:
		return fmt.Sprintf("%.3g ms", seconds*1000)
	}
}

// FormatCount formats a gauge value such as concurrent calls.
func FormatCount(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.4g", v)
}

// WithTrend adds the trend of v's series from trend (which may be nil or failed).
func (v View) WithTrend(trend *promclient.Trend) View {
	if trend == nil || trend.Err != nil {
		return v
	}
	if ts, ok := trend.Series[v.Series]; ok {
		v.Trend = &ts
		v.TrendRange = time.Duration(trend.Points) * trend.Step
	}
	return v
}
