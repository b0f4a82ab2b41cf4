package insight

import (
	"fmt"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Functions traced with OpenTelemetry spans get a View of their own, read from span metrics:
// the same numbers, card, lens and report row as an Autometrics function, labelled as a span.
// A function both instrumented and traced has two Views (Views), Autometrics first.

// SpanSeriesOf returns the series of the span that measures fn, as a promclient placeholder
// (the backend's naming is discovered when numbers are fetched): the span name and kind when the
// name is known statically, else the function's code_function_name. ok is false when fn is not
// traced, or its span is named by a pattern (otelhttp's "{method} {route}") that no one series
// stands for.
func SpanSeriesOf(fn *analysis.Function) (promclient.Series, bool) {
	t := fn.Trace
	switch {
	case t == nil:
		return promclient.Series{}, false
	case t.SpanName != "" && !t.Unnamed:
		kind := t.Kind
		if kind == "" {
			kind = analysis.SpanKindInternal
		}
		return promclient.Series{Function: t.SpanName, Module: kind, Source: promclient.SpanAuto}, true
	case t.Unnamed && t.CodeFunction != "":
		return promclient.Series{Function: t.CodeFunction, Source: promclient.SpanAutoByFunction}, true
	}
	return promclient.Series{}, false
}

// seriesOfFunction returns the series fn's numbers come from: the Autometrics series when it is
// instrumented, the span's when traced.
func seriesOfFunction(fn *analysis.Function) []promclient.Series {
	var out []promclient.Series
	if fn.Instrumentation != analysis.NotInstrumented {
		out = append(out, SeriesOf(fn))
	}
	if s, ok := SpanSeriesOf(fn); ok {
		out = append(out, s)
	}
	return out
}

// Views returns what the user is told about fn: the Autometrics View when it is instrumented,
// the span View when it is traced (both, Autometrics first, when it is both).
func Views(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error) []View {
	return views(fn, links, snap, fetchErr, nil)
}

// views is Views, or with a lensMemo the Views for one-line summaries (see lensMemo).
func views(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error, memo *lensMemo) []View {
	return appendViews(nil, fn, links, snap, fetchErr, memo)
}

// appendViews appends the Views of views to out.
func appendViews(out []View, fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error, memo *lensMemo) []View {
	if fn.Instrumentation != analysis.NotInstrumented {
		out = append(out, explain(fn, links, snap, fetchErr, memo))
	}
	if fn.Traced() {
		out = append(out, explainSpan(fn, links, snap, fetchErr, memo))
	}
	return out
}

// ServiceScope is which service span metrics are kept to, and why; the card says it.
type ServiceScope struct {
	Service string // "" for all services
	From    string // "setting serviceName", "OTEL_SERVICE_NAME", "service.name in cmd/x/main.go:12"
	// Note, when not empty, says why no service was chosen although the code names some.
	Note string
}

// ExplainSpan builds the span View of a traced function from a fetch result (see Explain).
func ExplainSpan(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error) View {
	return explainSpan(fn, links, snap, fetchErr, nil)
}

// explainSpan is ExplainSpan, or with a lensMemo the View for one-line summaries (see lensMemo).
func explainSpan(fn *analysis.Function, links Links, snap *promclient.Snapshot, fetchErr error, memo *lensMemo) View {
	t := fn.Trace
	series, ok := SpanSeriesOf(fn)
	if !ok {
		v := View{Function: fn, Series: series, Span: true, Backend: links.Prom.DisplayURL()}
		if memo == nil {
			v.Links, v.Jumps = map[promclient.Kind]string{}, map[Target]string{}
		}
		v.Status = StatusNoSeries
		v.Reason = spanNameUnknown(t)
		return v
	}
	v := explainNumbers(fn, series, links, snap, fetchErr, memo)
	v.Span = true
	v.Scope = links.Spans
	if note := spanDiscoveryNote(snap); note != "" && v.Status == StatusOK {
		v.Notes = append(v.Notes, note)
	}
	if t.Kind == "" {
		v.Notes = append(v.Notes, "The span kind comes from options the analysis cannot read; the numbers are those of an INTERNAL span.")
	}
	if v.Status != StatusNoSeries || snap == nil {
		return v
	}
	switch d := snap.Spans; {
	case d != nil && !d.Found:
		v.Reason = fmt.Sprintf("%s has no OpenTelemetry span metrics. Enable the Collector's spanmetrics connector "+
			"(connectors: span_metrics, in a traces pipeline, exported to Prometheus) or Tempo's metrics-generator; "+
			"if they use a naming am-lsp does not recognise, set spanMetrics.", v.Backend)
	case series.Source == promclient.SpanAutoByFunction && d != nil && d.ByFunction == 0:
		v.Reason = fmt.Sprintf("%s, and the span metrics on %s have no code_function_name label: add code.function.name "+
			"to the spanmetrics connector's dimensions (and the attribute to the span) to get numbers for this function.",
			upperFirst(t.Why), v.Backend)
	case series.Source == promclient.SpanAutoByFunction:
		v.Reason = fmt.Sprintf("%s; %s has no span metrics with code_function_name=%q in the last %s. "+
			"Check that the span carries the code.function.name attribute.", upperFirst(t.Why), v.Backend, series.Function, formatWindow(snap.Window))
	default:
		v.Reason = fmt.Sprintf("%s has no span metrics for span_name=%q, span_kind=%q%s in the last %s. "+
			"Check that this code is deployed, its spans reach the collector, and the span name matches.",
			v.Backend, series.Function, series.Module, scopeClause(links.Spans), formatWindow(snap.Window))
	}
	return v
}

// spanNameUnknown explains a span whose name no series stands for.
func spanNameUnknown(t *analysis.Trace) string {
	if t.SpanNamePattern != "" {
		return fmt.Sprintf("otelhttp names this server span after the request's method and route (%s): "+
			"the method is known only at run time, so no single span name stands for this handler.", fmt.Sprintf("%q", t.SpanNamePattern))
	}
	return upperFirst(t.Why) + "; without code_function_name am-lsp cannot tell its spans from others."
}

func scopeClause(s ServiceScope) string {
	if s.Service == "" {
		return ""
	}
	return fmt.Sprintf(" in service %q", s.Service)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// spanTitle is the card's title for a span View: "OpenTelemetry span `shop.Checkout` (server)".
func spanTitle(v View) string {
	t := v.Function.Trace
	name := t.SpanName
	switch {
	case t.SpanNamePattern != "":
		name = t.SpanNamePattern
	case t.Unnamed:
		name = "named at run time"
	}
	kind := strings.ToLower(strings.TrimPrefix(t.Kind, "SPAN_KIND_"))
	if kind == "" {
		kind = "kind unknown"
	}
	return fmt.Sprintf("**OpenTelemetry span** %s (%s) · %s", code(name, maxLabelText), kind, code(v.Function.QualifiedName(), maxLabelText))
}

// spanSeriesLine says which series a span View reads and from which service(s).
func spanSeriesLine(v View) string {
	var sel string
	if v.Series.Source == promclient.SpanAutoByFunction {
		sel = fmt.Sprintf("code_function_name=%q", v.Series.Function)
	} else {
		sel = fmt.Sprintf("span_name=%q, span_kind=%q", v.Series.Function, v.Series.Module)
	}
	scope := "all services"
	if v.Scope.Service != "" {
		scope = fmt.Sprintf("service %s (%s)", code(v.Scope.Service, maxLabelText), text(v.Scope.From, maxProseText))
	}
	line := fmt.Sprintf("Span metrics %s of %s from %s", code(sel, 2*maxProseText), scope, code(v.Backend, maxProseText))
	if v.Series.Function == "" {
		line = fmt.Sprintf("Span metrics of %s from %s", scope, code(v.Backend, maxProseText))
	}
	if v.Status == StatusOK && v.Scope.Service == "" && strings.Contains(v.Stats.ServiceName, ",") {
		line += fmt.Sprintf(" — **the services %s add up here**; set serviceName to keep to one", code(v.Stats.ServiceName, maxLabelText))
	}
	if v.Scope.Note != "" {
		line += " (" + text(v.Scope.Note, maxProseText) + ")"
	}
	return line
}

// spanLensPrefix marks a span's lens when the function has an Autometrics one too.
const spanLensPrefix = "span: "

// spanDiscoveryNote is shown when the numbers come from a naming other than the default.
func spanDiscoveryNote(snap *promclient.Snapshot) string {
	if snap == nil || snap.Spans == nil || !snap.Spans.Found || snap.Spans.Source == promclient.SpanCollector {
		return ""
	}
	return "Span metrics read as " + snap.Spans.Naming() + "."
}

// sloSeriesOfPackage is SeriesOfPackage without the span series: the SLO sweep judges
// objectives, which only Autometrics series carry. (The sweep fetches several packages'
// series together, so the editor's one-package answers do not serve it.)
func sloSeriesOfPackage(pkg *analysis.Package) []promclient.Series {
	var out []promclient.Series
	for _, s := range SeriesOfPackage(pkg) {
		if !s.IsSpan() {
			out = append(out, s)
		}
	}
	return out
}
