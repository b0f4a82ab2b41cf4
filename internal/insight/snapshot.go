package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Snapshot returns Markdown to share what am-lsp shows about fn right now: the function, its
// service, version and commit, every number of the card, its SLOs, alerts, deploy and traces,
// the absolute time range they cover (UTC, ISO 8601), and Grafana and Prometheus links pinned
// to that range, so that a teammate opening them later sees the same data. It fetches (or
// reuses the cached) numbers and incident data, bounded by ctx and the query timeout.
func (w *Workspace) Snapshot(ctx context.Context, fn *analysis.Function) (string, error) {
	b := w.numbers.backend()
	if b.client == nil {
		return "", fmt.Errorf("no usable Prometheus URL is configured: %v", b.configErr)
	}
	ctx, cancel := context.WithTimeout(ctx, b.settings.QueryTimeout+time.Second)
	defer cancel()
	snap, err := b.client.Fetch(ctx, w.batchFor(fn, nil))
	if snap == nil {
		return "", fmt.Errorf("no numbers for %s: %v", fn.QualifiedName(), err)
	}
	if snap.Err != nil {
		var fe *promclient.FetchError
		if errors.As(snap.Err, &fe) {
			return "", errors.New(describeError(fe, b.client.DisplayURL()))
		}
		return "", snap.Err
	}
	inc, _ := b.client.FetchIncident(ctx, snap)
	v := Explain(fn, b.links, snap, nil).WithIncident(inc, b.links)
	return SnapshotMarkdown(v, b.links), nil
}

// FunctionByLabels returns the instrumented function of the open files' packages (typed
// analysis, else the syntax-only reading) whose series are s, or nil.
func (w *Workspace) FunctionByLabels(s promclient.Series) *analysis.Function {
	pkgs := w.analyses.packages()
	for _, path := range w.analyses.docs.Paths() {
		pkgs = append(pkgs, w.analyses.syntaxOf(path)...)
	}
	for _, p := range pkgs {
		for _, fn := range p.Instrumented() {
			if SeriesOf(fn) == s {
				return fn
			}
		}
	}
	return nil
}

// SnapshotMarkdown renders v (with numbers evaluated at v.EvaluatedAt over v.Window) as a
// snapshot whose time range is exactly the one of its numbers.
func SnapshotMarkdown(v View, links Links) string {
	end := v.EvaluatedAt.UTC()
	if end.IsZero() {
		end = v.FetchedAt.UTC().Truncate(time.Second)
	}
	start := end.Add(-v.Window)
	var b strings.Builder
	fmt.Fprintf(&b, "### am-lsp snapshot · %s\n\n", code(v.Function.QualifiedName(), maxLabelText))
	fmt.Fprintf(&b, "- Function %s in module %s (series %s)\n", code(v.Function.QualifiedName(), maxLabelText),
		code(v.Series.Module, maxLabelText), code(fmt.Sprintf("function=%q, module=%q", v.Series.Function, v.Series.Module), 2*maxProseText))
	var build []string
	if v.Stats.ServiceName != "" {
		build = append(build, "service "+code(v.Stats.ServiceName, maxLabelText))
	}
	if v.Stats.Version != "" {
		build = append(build, "version "+code(v.Stats.Version, maxLabelText))
	}
	var deploy *promclient.Deploy
	if v.Incident != nil {
		deploy = v.Incident.Deploy
	}
	if deploy != nil && deploy.Current.Commit != "" {
		build = append(build, "commit "+code(deploy.Current.Commit, maxLabelText))
	}
	if len(build) > 0 {
		fmt.Fprintf(&b, "- %s\n", strings.Join(build, " · "))
	}
	fmt.Fprintf(&b, "- Time range (UTC): **%s – %s** (the %s window of every number)\n", start.Format(time.RFC3339), end.Format(time.RFC3339), formatWindow(v.Window))
	fmt.Fprintf(&b, "- Backend %s\n\n", code(v.Backend, maxProseText))

	if v.Status == StatusOK {
		fmt.Fprintf(&b, "| over %s | |\n|---|---|\n", formatWindow(v.Window))
		for _, r := range []struct{ label, value string }{
			{"Request rate", FormatRate(v.Stats.RequestRate)},
			{"Error ratio", FormatRatio(v.Stats.ErrorRatio)},
			{"Latency p95", FormatLatency(v.Stats.P95)},
			{"Latency p99", FormatLatency(v.Stats.P99)},
			{"Concurrent calls", FormatCount(v.Stats.Concurrent)},
		} {
			fmt.Fprintf(&b, "| %s | %s |\n", r.label, r.value)
		}
		b.WriteString("\n")
		for _, s := range v.SLOs {
			b.WriteString(sloLine(s) + "\n\n")
		}
		b.WriteString(incidentMarkdown(v.Incident))
	} else {
		fmt.Fprintf(&b, "**%s** — %s\n\n", statusTitle(v.Status), text(v.Reason, maxProseText))
	}

	pinned := PinnedLinks(links, v.Series, start, end)
	var parts []string
	for _, l := range pinned {
		parts = append(parts, link(l.Label, l.URL))
	}
	if deploy != nil {
		if u := CommitURL(deploy.Current); u != "" {
			parts = append(parts, link("code at "+code(short(deploy.Current.Commit), 40)+" on "+RepositoryHost(deploy.Current), u))
		}
	}
	fmt.Fprintf(&b, "Pinned to this range: %s\n", strings.Join(parts, " · "))
	return b.String()
}

// PinnedLink is a link to a function's data over an absolute time range.
type PinnedLink struct{ Label, URL string }

// PinnedLinks returns the Grafana dashboard and Explore (when Grafana is configured) and
// Prometheus graph links of s over [start, end]: Grafana's from/to in epoch milliseconds,
// Prometheus's end time (UTC) and range.
func PinnedLinks(l Links, s promclient.Series, start, end time.Time) []PinnedLink {
	from, to := strconv.FormatInt(start.UnixMilli(), 10), strconv.FormatInt(end.UnixMilli(), 10)
	query := l.Prom.QueryFor(promclient.RequestRate, s)
	var out []PinnedLink
	if l.Grafana != "" {
		out = append(out, PinnedLink{"Grafana dashboard", l.URL(TargetGrafana, s) + "&from=" + from + "&to=" + to})
		q := map[string]any{"refId": "A", "expr": query}
		left := map[string]any{"queries": []any{q}, "range": map[string]string{"from": from, "to": to}}
		if l.GrafanaDatasource != "" {
			left["datasource"] = l.GrafanaDatasource
			q["datasource"] = map[string]string{"type": "prometheus", "uid": l.GrafanaDatasource}
		}
		js, _ := json.Marshal(left)
		out = append(out, PinnedLink{"Grafana Explore", l.base() + "/explore?left=" + url.QueryEscape(string(js))})
	}
	endText := url.QueryEscape(end.UTC().Format("2006-01-02 15:04:05"))
	out = append(out, PinnedLink{"Prometheus", l.Prom.GraphURL(query) + "&g0.range_input=" + formatWindow(end.Sub(start)) +
		"&g0.end_input=" + endText + "&g0.moment_input=" + endText})
	return out
}
