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
}

// Lenses returns the summaries of the instrumented functions declared in the open document path
// at version. It never touches the network: numbers come from the cache the background prefetch
// fills, and a function whose numbers are not there yet reads "loading…" until the observer's
// NumbersUpdated asks the editor to refresh.
//
// Its titles are LensTitle's of the functions' full Views (Views, WithIncident); it only leaves
// out what a title does not show (the links, most of a full View's cost on a generated file of
// thousands of functions).
func (w *Workspace) Lenses(path string, version int32) []Lens {
	b := w.numbers.backend()
	jump := TargetPrometheus
	if b.links.Grafana != "" {
		jump = TargetGrafana
	}
	format := compileLensFormat(b.settings.CodeLensFormat)
	var out []Lens
	w.lensViews(path, version, b, func(fn *analysis.Function, views []View) {
		for _, v := range views {
			title := format.title(v)
			if v.Span && len(views) > 1 && v.Status == StatusOK {
				title = spanLensPrefix + title
			}
			out = append(out, Lens{Function: fn, Series: v.Series, Title: title, Jump: jump})
		}
	})
	return out
}

// lensViews calls f, in declaration order, with each measured function declared in the open
// document path at version and its Views from the cached numbers of b's client, with their
// incident data, built for one-line summaries (see lensMemo); f must not keep the slice. It does
// nothing without an analysed package or a client.
func (w *Workspace) lensViews(path string, version int32, b backend, f func(*analysis.Function, []View)) {
	pkg := w.analyses.packageForLens(path, version)
	if pkg == nil || b.client == nil {
		return
	}
	batch := SeriesOfPackage(pkg)
	snap, _ := b.client.Cached(batch)
	inc, _ := b.client.CachedIncident(batch)
	memo := &lensMemo{}
	var vs []View // reused: f keeps none
	for _, fn := range pkg.Functions {
		if !fn.Measured() || fn.NameSpan.File != path {
			continue
		}
		vs = appendViews(vs[:0], fn, b.links, snap, nil, memo)
		for i := range vs {
			vs[i] = vs[i].WithIncident(inc, b.links)
		}
		f(fn, vs)
	}
}

// LensTitle renders a view with a CodeLens template ({rate}, {errors}, {p95}, {p99},
// {concurrent}); without numbers it gives a short reason instead.
func LensTitle(v View, format string) string { return compileLensFormat(format).title(v) }

// lensFormat is a CodeLens template split once into its text and placeholders, so that the
// titles of a file's lenses are rendered without parsing it again for each.
type lensFormat struct {
	parts []lensPart
	size  int // the length of the text parts
}

// lensPart is text (number lensLiteral) or a placeholder.
type lensPart struct {
	text   string
	number lensNumber
}

type lensNumber int

const (
	lensLiteral lensNumber = iota
	lensRate
	lensErrors
	lensP95
	lensP99
	lensConcurrent
)

// lensPlaceholders are the placeholders of a CodeLens template. None is a prefix of another, so
// reading the template from the left and replacing each occurrence gives what a
// strings.Replacer of them would.
var lensPlaceholders = [...]struct {
	name   string
	number lensNumber
}{{"{rate}", lensRate}, {"{errors}", lensErrors}, {"{p95}", lensP95}, {"{p99}", lensP99}, {"{concurrent}", lensConcurrent}}

// compileLensFormat splits format into text and placeholders.
func compileLensFormat(format string) lensFormat {
	var f lensFormat
	lit := 0 // start of the pending text
	for i := 0; i < len(format); {
		matched := false
		if format[i] == '{' {
			for _, p := range lensPlaceholders {
				if strings.HasPrefix(format[i:], p.name) {
					if lit < i {
						f.parts = append(f.parts, lensPart{text: format[lit:i]})
						f.size += i - lit
					}
					f.parts = append(f.parts, lensPart{number: p.number})
					i += len(p.name)
					lit, matched = i, true
					break
				}
			}
		}
		if !matched {
			i++
		}
	}
	if lit < len(format) {
		f.parts = append(f.parts, lensPart{text: format[lit:]})
		f.size += len(format) - lit
	}
	return f
}

// title renders v: its numbers through the template, or a short reason without numbers.
func (f lensFormat) title(v View) string {
	switch v.Status {
	case StatusOK:
		var b strings.Builder
		markers := v.Incident.lensMarkers()
		b.Grow(len(markers) + f.size + 16*len(f.parts))
		b.WriteString(markers)
		for _, p := range f.parts {
			switch p.number {
			case lensLiteral:
				b.WriteString(p.text)
			case lensRate:
				b.WriteString(FormatRate(v.Stats.RequestRate))
			case lensErrors:
				b.WriteString(FormatRatio(v.Stats.ErrorRatio))
			case lensP95:
				b.WriteString(FormatLatency(v.Stats.P95))
			case lensP99:
				b.WriteString(FormatLatency(v.Stats.P99))
			case lensConcurrent:
				b.WriteString(FormatCount(v.Stats.Concurrent))
			}
		}
		return b.String()
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
	w.lensViews(path, version, b, func(fn *analysis.Function, views []View) {
		for _, v := range views {
			for _, s := range v.SLOs {
				if p, ok := problemOf(v, s, threshold); ok {
					out = append(out, SLOWarning{Function: fn, Message: p.Message, Href: links.ObjectivesURL(), Breached: p.Breached})
				}
			}
		}
	})
	return out
}
