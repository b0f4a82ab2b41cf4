package insight

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// FunctionIncident is what the background refresh knows about one function during an incident:
// its active alerts, its deploy and its slowest traces. Text in it comes from the backend:
// render it through text or code (markdown.go).
type FunctionIncident struct {
	// Alerts about the function or its objectives, firing first; at most MaxCardAlerts of
	// AlertsTotal. AlertsNote says why alerts cannot be shown.
	Alerts      []promclient.Alert
	AlertsTotal int
	AlertsNote  string
	// Deploy is nil when the function's version is unknown; VersionsNote says why.
	Deploy       *promclient.Deploy
	VersionsNote string
	// Exemplars are the slowest traced calls in the window; ExemplarsNote says why there are
	// none, when the backend could not tell.
	Exemplars     []promclient.Exemplar
	ExemplarsNote string
	// TraceURLTemplate links trace ids ("" shows them as text).
	TraceURLTemplate string
	FetchedAt        time.Time
}

// MaxCardAlerts bounds the alerts a card lists; the rest are counted.
const MaxCardAlerts = 5

// WithIncident adds the incident data of v's series from inc (which may be nil).
func (v View) WithIncident(inc *promclient.Incident, links Links) View {
	if inc == nil || v.Status != StatusOK {
		return v
	}
	fi := &FunctionIncident{TraceURLTemplate: links.TraceURLTemplate, FetchedAt: inc.FetchedAt}
	if inc.Alerts != nil {
		var objectives []promclient.Objective
		for _, s := range v.SLOs {
			objectives = append(objectives, s.Objective)
		}
		all := inc.Alerts.For(v.Series, objectives)
		fi.AlertsTotal = len(all)
		if len(all) > MaxCardAlerts {
			all = all[:MaxCardAlerts]
		}
		fi.Alerts, fi.AlertsNote = all, inc.Alerts.Note
	}
	if d, ok := inc.Deploys[v.Series]; ok {
		fi.Deploy = &d
	}
	fi.VersionsNote = inc.VersionsNote
	fi.Exemplars, fi.ExemplarsNote = inc.Exemplars[v.Series], inc.ExemplarsNote
	v.Incident = fi
	return v
}

// Firing returns the number of firing alerts of the function.
func (fi *FunctionIncident) Firing() int {
	if fi == nil {
		return 0
	}
	n := 0
	for _, a := range fi.Alerts {
		if a.Firing() {
			n++
		}
	}
	return n
}

// lensMarkers returns what a CodeLens title starts with during an incident: a firing alert, a
// regression since the last deploy.
func (fi *FunctionIncident) lensMarkers() string {
	if fi == nil {
		return ""
	}
	var m []string
	for _, a := range fi.Alerts {
		if a.Firing() {
			m = append(m, "🔥 "+clip(a.Name, 40))
			break
		}
	}
	if d := fi.Deploy; d != nil && d.Regression != "" {
		m = append(m, "regression since "+clip(d.Current.Version, 24))
	}
	if len(m) == 0 {
		return ""
	}
	return strings.Join(m, " · ") + " · "
}

// incidentMarkdown renders the incident part of a card: alerts, the deploy with both versions'
// numbers, and the slowest traces.
func incidentMarkdown(fi *FunctionIncident) string {
	if fi == nil {
		return ""
	}
	var b strings.Builder
	switch {
	case len(fi.Alerts) > 0:
		b.WriteString("**Alerts**\n\n")
		for _, a := range fi.Alerts {
			fmt.Fprintf(&b, "- **%s** %s", text(a.State, 20), code(a.Name, maxLabelText))
			if a.Severity != "" {
				fmt.Fprintf(&b, " (%s)", text(a.Severity, 40))
			}
			if !a.ActiveAt.IsZero() {
				fmt.Fprintf(&b, " since %s", formatUTC(a.ActiveAt))
			}
			if a.Summary != "" {
				fmt.Fprintf(&b, " — %s", text(a.Summary, maxProseText))
			}
			b.WriteString("\n")
		}
		if more := fi.AlertsTotal - len(fi.Alerts); more > 0 {
			fmt.Fprintf(&b, "- … and %d more\n", more)
		}
		b.WriteString("\n")
	case fi.AlertsNote != "":
		fmt.Fprintf(&b, "Alerts: not shown (%s)\n\n", text(fi.AlertsNote, maxProseText))
	}

	if d := fi.Deploy; d != nil {
		b.WriteString(deployMarkdown(d))
	} else if fi.VersionsNote != "" {
		fmt.Fprintf(&b, "Deploys: unknown (%s)\n\n", text(fi.VersionsNote, maxProseText))
	}

	switch {
	case len(fi.Exemplars) > 0:
		b.WriteString("Slowest traces: ")
		for i, e := range fi.Exemplars {
			if i > 0 {
				b.WriteString(" · ")
			}
			id := code(e.TraceID, 64)
			if u := traceURL(fi.TraceURLTemplate, e.TraceID); u != "" {
				id = link(id, u)
			}
			fmt.Fprintf(&b, "%s %s", id, FormatLatency(e.Seconds))
		}
		b.WriteString("\n\n")
	case fi.ExemplarsNote != "":
		fmt.Fprintf(&b, "Traces: not shown (%s)\n\n", text(fi.ExemplarsNote, maxProseText))
	}
	return b.String()
}

// deployMarkdown renders a deploy: when, which versions, both versions' numbers and the
// regression, a link to the commits between them.
func deployMarkdown(d *promclient.Deploy) string {
	var b strings.Builder
	cur := versionLabel(d.Current)
	if d.Previous.Version == "" {
		fmt.Fprintf(&b, "Version %s running since %s (the only one in the last %s)\n\n", cur, formatUTC(d.At), formatWindow(promclient.VersionLookback))
		return b.String()
	}
	fmt.Fprintf(&b, "**Deployed** %s at %s, replacing %s\n\n", cur, formatUTC(d.At), versionLabel(d.Previous))
	if d.Note != "" {
		fmt.Fprintf(&b, "> %s\n\n", text(d.Note, maxProseText))
		return b.String()
	}
	p, c := d.PreviousNumbers, d.CurrentNumbers
	fmt.Fprintf(&b, "| | %s (until %s) | %s (now) |\n|---|---|---|\n", codeOrDash(d.Previous.Version), formatUTC(p.At), codeOrDash(d.Current.Version))
	fmt.Fprintf(&b, "| Request rate | %s | %s |\n", FormatRate(p.RequestRate), FormatRate(c.RequestRate))
	fmt.Fprintf(&b, "| Error ratio | %s | %s |\n", FormatRatio(p.ErrorRatio), FormatRatio(c.ErrorRatio))
	fmt.Fprintf(&b, "| Latency p99 | %s | %s |\n\n", FormatLatency(p.P99), FormatLatency(c.P99))
	if d.Regression != "" {
		fmt.Fprintf(&b, "**Regression** since %s: %s\n\n", codeOrDash(d.Current.Version), text(d.Regression, maxProseText))
	}
	if u := CompareURL(d.Previous, d.Current); u != "" {
		fmt.Fprintf(&b, "%s\n\n", link("Commits "+code(short(d.Previous.Commit), 40)+"…"+code(short(d.Current.Commit), 40), u))
	}
	return b.String()
}

func versionLabel(v promclient.Version) string {
	s := code(v.Version, maxLabelText)
	if v.Commit != "" {
		s += " (" + code(short(v.Commit), 40) + ")"
	}
	return s
}

func codeOrDash(s string) string {
	if s == "" {
		return "–"
	}
	return code(s, maxLabelText)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// CompareURL links the commits between two versions on their repository's host (GitHub,
// GitLab), "" when the repository, the provider or a commit is unknown. Put it in Markdown
// through link.
func CompareURL(prev, cur promclient.Version) string {
	repo := strings.TrimSuffix(strings.TrimRight(cur.RepositoryURL, "/"), ".git")
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		prev.Commit == "" || cur.Commit == "" {
		return ""
	}
	rangePath := url.PathEscape(prev.Commit) + "..." + url.PathEscape(cur.Commit)
	switch strings.ToLower(cur.RepositoryProvider) {
	case "github":
		return repo + "/compare/" + rangePath
	case "gitlab":
		return repo + "/-/compare/" + rangePath
	}
	return ""
}

// CommitURL links the tree of the repository at commit, "" when unknown.
func CommitURL(v promclient.Version) string {
	repo := strings.TrimSuffix(strings.TrimRight(v.RepositoryURL, "/"), ".git")
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || v.Commit == "" {
		return ""
	}
	switch strings.ToLower(v.RepositoryProvider) {
	case "github":
		return repo + "/tree/" + url.PathEscape(v.Commit)
	case "gitlab":
		return repo + "/-/tree/" + url.PathEscape(v.Commit)
	}
	return ""
}

// traceURL fills template with the trace id, "" without a template.
func traceURL(template, traceID string) string {
	if template == "" {
		return ""
	}
	return strings.ReplaceAll(template, config.TraceIDPlaceholder, url.QueryEscape(traceID))
}

func formatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }
