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
			m = append(m, "🔥 "+lensText(a.Name, 40))
			break
		}
	}
	if d := fi.Deploy; d != nil && d.Regression != "" {
		m = append(m, "regression since "+lensText(d.Current.Version, 24))
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
	fmt.Fprintf(&b, "| | %s (until %s) | %s (now) |\n|---|---|---|\n", cellCode(d.Previous.Version), formatUTC(p.At), cellCode(d.Current.Version))
	fmt.Fprintf(&b, "| Request rate | %s | %s |\n", FormatRate(p.RequestRate), FormatRate(c.RequestRate))
	fmt.Fprintf(&b, "| Error ratio | %s | %s |\n", FormatRatio(p.ErrorRatio), FormatRatio(c.ErrorRatio))
	fmt.Fprintf(&b, "| Latency p99 | %s | %s |\n\n", FormatLatency(p.P99), FormatLatency(c.P99))
	if d.Regression != "" {
		fmt.Fprintf(&b, "**Regression** since %s: %s\n\n", codeOrDash(d.Current.Version), text(d.Regression, maxProseText))
	}
	if u := CompareURL(d.Previous, d.Current); u != "" {
		fmt.Fprintf(&b, "%s\n\n", link("Commits "+code(short(d.Previous.Commit), 40)+"…"+code(short(d.Current.Commit), 40)+" on "+RepositoryHost(d.Current), u))
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

// cellCode is codeOrDash for a table cell: a "|" in s, which would end the cell even inside a
// code span, is escaped as "\|" (GFM tables; the backslash is not shown).
func cellCode(s string) string { return strings.ReplaceAll(codeOrDash(s), "|", `\|`) }

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// repositoryHosts are the hosts a repository link may point to, by build_info's
// repository_provider: the provider's own public host, never one the backend names freely
// (github.com.evil.example is not GitHub).
var repositoryHosts = map[string]string{"github": "github.com", "gitlab": "gitlab.com"}

// repository returns v's repository URL without a trailing "/" or ".git", its provider in
// lower case and its host, ok only for an https (or http) URL on the provider's host
// (repositoryHosts) with no user information, query or fragment.
func repository(v promclient.Version) (repo, provider, host string, ok bool) {
	repo = strings.TrimSuffix(strings.TrimRight(v.RepositoryURL, "/"), ".git")
	provider = strings.ToLower(v.RepositoryProvider)
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.Port() != "" || !strings.EqualFold(u.Hostname(), repositoryHosts[provider]) || repositoryHosts[provider] == "" {
		return "", "", "", false
	}
	return repo, provider, strings.ToLower(u.Hostname()), true
}

// CompareURL links the commits between two versions on their repository's host (github.com,
// gitlab.com), "" when the repository, the provider or a commit is unknown, or the repository
// is on any other host. Put it in Markdown through link, naming the host (RepositoryHost).
func CompareURL(prev, cur promclient.Version) string {
	repo, provider, _, ok := repository(cur)
	if !ok || prev.Commit == "" || cur.Commit == "" {
		return ""
	}
	rangePath := url.PathEscape(prev.Commit) + "..." + url.PathEscape(cur.Commit)
	if provider == "gitlab" {
		return repo + "/-/compare/" + rangePath
	}
	return repo + "/compare/" + rangePath
}

// CommitURL links the tree of the repository at commit, "" when unknown or when the
// repository is not on its provider's host (as CompareURL).
func CommitURL(v promclient.Version) string {
	repo, provider, _, ok := repository(v)
	if !ok || v.Commit == "" {
		return ""
	}
	if provider == "gitlab" {
		return repo + "/-/tree/" + url.PathEscape(v.Commit)
	}
	return repo + "/tree/" + url.PathEscape(v.Commit)
}

// RepositoryHost is the host CompareURL and CommitURL of v link to, "" when they link nowhere.
func RepositoryHost(v promclient.Version) string {
	_, _, host, _ := repository(v)
	return host
}

// traceURL fills template with the trace id, "" without a template.
func traceURL(template, traceID string) string {
	if template == "" {
		return ""
	}
	return strings.ReplaceAll(template, config.TraceIDPlaceholder, url.QueryEscape(traceID))
}

func formatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }
