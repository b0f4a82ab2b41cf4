package insight

import (
	"fmt"
	"strings"

	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Card renders a View as the markdown of a hover card: what series it reads, the numbers with a
// Prometheus graph link each, and, when there are no numbers, why.
//
// Everything in a View that comes from the repository or the backend (names, labels, Reason,
// Notes, warnings) is plain text; Card escapes it or puts it in code spans (markdown.go), so the
// only links in the card are the ones am-lsp builds.
func Card(v View) string {
	var b strings.Builder
	if v.Span {
		b.WriteString(spanTitle(v))
	} else {
		fmt.Fprintf(&b, "**Autometrics** · %s", code(v.Function.QualifiedName(), maxLabelText))
	}
	if v.Status == StatusOK && (v.Stats.ServiceName != "" || v.Stats.Version != "") {
		b.WriteString(" · ")
		b.WriteString(text(strings.Trim(strings.Join([]string{v.Stats.ServiceName, v.Stats.Version}, " "), " "), maxLabelText))
	}
	b.WriteString("\n\n")
	if v.Span {
		b.WriteString(spanSeriesLine(v) + "\n\n")
	} else {
		fmt.Fprintf(&b, "Series %s from %s\n\n",
			code(fmt.Sprintf("function=%q, module=%q", v.Series.Function, v.Series.Module), 2*maxProseText), code(v.Backend, maxProseText))
	}
	if v.Status == StatusOK {
		rows := []struct {
			label string
			value string
			kind  promclient.Kind
		}{
			{"Request rate", FormatRate(v.Stats.RequestRate), promclient.RequestRate},
			{"Error ratio", FormatRatio(v.Stats.ErrorRatio), promclient.ErrorRatio},
			{"Latency p95", FormatLatency(v.Stats.P95), promclient.LatencyP95},
			{"Latency p99", FormatLatency(v.Stats.P99), promclient.LatencyP99},
			{"Concurrent calls", FormatCount(v.Stats.Concurrent), promclient.Concurrent},
		}
		fmt.Fprintf(&b, "| over %s | |\n|---|---|\n", formatWindow(v.Window))
		if v.Span {
			rows = rows[:4] // span metrics have no gauge of calls in progress
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s |\n", r.label, link(r.value, v.Links[r.kind]))
		}
		b.WriteString("\n")
		if v.Trend != nil {
			b.WriteString(trendLine(v))
		}
		for _, s := range v.SLOs {
			b.WriteString(sloLine(s) + "\n\n")
		}
		if v.NoSLO != "" {
			b.WriteString(text(v.NoSLO, maxProseText) + "\n\n")
		}
		b.WriteString(incidentMarkdown(v.Incident))
		if len(v.Stats.Callers) > 0 {
			b.WriteString("Top callers: ")
			for i, c := range v.Stats.Callers {
				if i > 0 {
					b.WriteString(", ")
				}
				name := c.Function
				if c.Module != "" {
					name = c.Module + "." + c.Function
				}
				fmt.Fprintf(&b, "%s %s", code(name, maxLabelText), FormatRate(c.RequestRate))
			}
			b.WriteString("\n\n")
		}
	} else {
		fmt.Fprintf(&b, "**%s** — %s\n\n", statusTitle(v.Status), text(v.Reason, maxProseText))
		if v.Links[promclient.RequestRate] != "" {
			fmt.Fprintf(&b, "%s\n\n", link("Open the request-rate query in Prometheus", v.Links[promclient.RequestRate]))
		}
	}
	var jumps []string
	for _, j := range []struct {
		target Target
		label  string
	}{{TargetGrafana, "Grafana dashboard"}, {TargetExplore, "Grafana Explore"}, {TargetPrometheus, "Prometheus"}} {
		if u, ok := v.Jumps[j.target]; ok {
			jumps = append(jumps, link(j.label, u))
		}
	}
	if len(jumps) > 0 {
		fmt.Fprintf(&b, "Open in %s\n\n", strings.Join(jumps, " · "))
	}
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "> %s\n\n", text(n, maxProseText))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// trendLine renders v's trend: small SVG charts when v.Images (the client renders images; the
// error chart has the tightest success objective's allowed error ratio drawn), else text
// sparklines.
func trendLine(v View) string {
	window := formatWindow(v.TrendRange)
	if v.Images {
		return fmt.Sprintf("Last %s: requests %s · errors %s\n\n", window,
			chartImage("requests", trendChart(v.Trend.RequestRate, 0)),
			chartImage("errors", trendChart(v.Trend.ErrorRatio, errorThreshold(v.SLOs))))
	}
	return fmt.Sprintf("Last %s: requests `%s` · errors `%s`\n\n", window, sparkline(v.Trend.RequestRate), sparkline(v.Trend.ErrorRatio))
}

// Cards renders the Views of one function (Autometrics, then its span) as one hover card,
// separated by a rule.
func Cards(views []View) string {
	parts := make([]string, len(views))
	for i, v := range views {
		parts[i] = Card(v)
	}
	return strings.Join(parts, "\n---\n\n")
}

// NotConfiguredCard is the hover card of fn's qualified name when no backend client could be
// built from the settings; title names the source ("Autometrics", "OpenTelemetry span") and
// why is the reason.
func NotConfiguredCard(title, qualifiedName string, why error) string {
	return fmt.Sprintf("**%s** · %s\n\n**Not configured** — %s\n", title, code(qualifiedName, maxLabelText), text(fmt.Sprint(why), maxProseText))
}

func statusTitle(s Status) string {
	switch s {
	case StatusNoSeries:
		return "No data"
	case StatusBackendError:
		return "Prometheus unavailable"
	case StatusLoading:
		return "Loading"
	}
	return s.String()
}
