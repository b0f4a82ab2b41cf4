package insight

import (
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Lens is the one-line summary of an instrumented function, shown as a CodeLens or inlay hint.
type Lens struct {
	Function *analysis.Function
	Series   promclient.Series
	Title    string // e.g. "4.00 req/s · 25.0 % errors · p99 243 ms", or "no data: …"
	Jump     Target // where clicking it goes: Grafana when configured, else Prometheus
	View     View   // everything known about the function, from cached numbers
}

// Lenses returns the summaries of the instrumented functions declared in the open document path
// at version. It never touches the network: numbers come from the cache the background prefetch
// fills, and a function whose numbers are not there yet reads "loading…" until the observer's
// NumbersUpdated asks the editor to refresh.
func (w *Workspace) Lenses(path string, version int32) []Lens {
	b := w.numbers.backend()
	client, links, format := b.client, b.links, b.settings.CodeLensFormat
	pkg := w.analyses.packageForLens(path, version)
	if pkg == nil || client == nil {
		return nil
	}
	batch := SeriesOfPackage(pkg)
	snap, _ := client.Cached(batch)
	inc, _ := client.CachedIncident(batch)
	jump := TargetPrometheus
	if links.Grafana != "" {
		jump = TargetGrafana
	}
	var out []Lens
	for _, fn := range pkg.Measured() {
		if fn.NameSpan.File != path {
			continue
		}
		views := Views(fn, links, snap, nil)
		for _, v := range views {
			v = v.WithIncident(inc, links)
			title := LensTitle(v, format)
			if v.Span && len(views) > 1 && v.Status == StatusOK {
				title = spanLensPrefix + title
			}
			out = append(out, Lens{Function: fn, Series: v.Series, Title: title, Jump: jump, View: v})
		}
	}
	return out
}

// LensTitle renders a view with a CodeLens template ({rate}, {errors}, {p95}, {p99},
// {concurrent}); without numbers it gives a short reason instead.
func LensTitle(v View, format string) string {
	switch v.Status {
	case StatusOK:
		return v.Incident.lensMarkers() + strings.NewReplacer(
			"{rate}", FormatRate(v.Stats.RequestRate),
			"{errors}", FormatRatio(v.Stats.ErrorRatio),
			"{p95}", FormatLatency(v.Stats.P95),
			"{p99}", FormatLatency(v.Stats.P99),
			"{concurrent}", FormatCount(v.Stats.Concurrent),
		).Replace(format)
	case StatusLoading:
		return sourceLabel(v) + ": loading…"
	case StatusNoSeries:
		if v.Span {
			return "OpenTelemetry span: no data (" + lensText(firstSentence(v.Reason), maxProseText) + ")"
		}
		if v.Reason == statementsMissing {
			return "Autometrics: no data (instrumentation statements missing: run go generate)"
		}
		return "Autometrics: no data for these labels"
	default:
		return sourceLabel(v) + ": no data (" + shortError(v.Reason) + ")"
	}
}

// lensText returns text from the repository or the backend (an alert name, a version, a
// reason) for a CodeLens title: clipped to n characters on one line, and with "$(" written
// "$ (", since VS Code draws "$(name)" in a lens title as the icon name (an editor that does
// not still shows the words).
func lensText(s string, n int) string { return strings.ReplaceAll(clip(s, n), "$(", "$ (") }

// sourceLabel names where a View's numbers come from, for one-line titles.
func sourceLabel(v View) string {
	if v.Span {
		return "OpenTelemetry span"
	}
	return "Autometrics"
}

// shortError keeps the gist of a backend error reason for a one-line title.
func shortError(reason string) string {
	switch {
	case strings.Contains(reason, "unreachable"):
		return "Prometheus unreachable"
	case strings.Contains(reason, "authentication failed"):
		return "authentication failed"
	case strings.Contains(reason, "in time"):
		return "Prometheus timed out"
	default:
		return "Prometheus error"
	}
}

// SLOWarning is a diagnostic about a function whose objective is breached or whose error budget
// burns too fast.
type SLOWarning struct {
	Function *analysis.Function
	Message  string
	Href     string // the Grafana SLO dashboard, or "" without Grafana
	// Breached is true when the objective is not met (else its budget only burns too fast).
	Breached bool
}

// SLOWarnings returns the warnings for the instrumented functions declared in the open document
// path at version, from cached numbers only (no network).
func (w *Workspace) SLOWarnings(path string, version int32) []SLOWarning {
	b := w.numbers.backend()
	links, threshold := b.links, b.settings.BurnRateThreshold
	var out []SLOWarning
	for _, l := range w.Lenses(path, version) {
		for _, s := range l.View.SLOs {
			if p, ok := problemOf(l.View, s, threshold); ok {
				out = append(out, SLOWarning{Function: l.Function, Message: p.Message, Href: links.ObjectivesURL(), Breached: p.Breached})
			}
		}
	}
	return out
}
