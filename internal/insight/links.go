package insight

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/am-lsp/am-lsp/internal/credurl"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Grafana dashboard uids of autometrics-shared (spec §4).
const (
	FunctionExplorerUID = "autometrics-function-explorer"
	ObjectivesUID       = "autometrics-objectives"
)

// Target is where a jump opens a function.
type Target string

const (
	TargetGrafana    Target = "grafana"    // the Function Explorer dashboard
	TargetExplore    Target = "explore"    // Grafana Explore with the request-rate query
	TargetPrometheus Target = "prometheus" // the Prometheus graph page with the request-rate query
)

// Links builds the URLs of jumps. Grafana may be empty (no Grafana configured).
type Links struct {
	Grafana           string // base URL without trailing slash; credentials are stripped
	GrafanaDatasource string // datasource uid for Explore
	Prom              *promclient.Client
	// TraceURLTemplate links exemplar trace ids (config.Settings.TraceURLTemplate).
	TraceURLTemplate string
	// Spans is the service span metrics are kept to (the client's SpanService) and why.
	Spans ServiceScope
}

// URL returns the link for target, falling back to Prometheus when Grafana is not configured.
func (l Links) URL(target Target, s promclient.Series) string {
	if l.Grafana == "" {
		target = TargetPrometheus
	}
	if target == TargetGrafana && s.IsSpan() {
		target = TargetExplore // the Function Explorer dashboard reads Autometrics metrics only
	}
	switch target {
	case TargetGrafana:
		return l.base() + "/d/" + FunctionExplorerUID + "/?var-function=" + url.QueryEscape(s.Function)
	case TargetExplore:
		return l.ExploreURL(l.Prom.QueryFor(promclient.RequestRate, s))
	default:
		return l.Prom.GraphURL(l.Prom.QueryFor(promclient.RequestRate, s))
	}
}

// ExploreURL opens query in Grafana Explore over the last hour.
func (l Links) ExploreURL(query string) string {
	q := map[string]any{"refId": "A", "expr": query}
	left := map[string]any{"queries": []any{q}, "range": map[string]string{"from": "now-1h", "to": "now"}}
	if l.GrafanaDatasource != "" {
		left["datasource"] = l.GrafanaDatasource
		q["datasource"] = map[string]string{"type": "prometheus", "uid": l.GrafanaDatasource}
	}
	b, _ := json.Marshal(left)
	return l.base() + "/explore?left=" + url.QueryEscape(string(b))
}

// ObjectivesURL is the Grafana SLO dashboard, or "" without Grafana.
func (l Links) ObjectivesURL() string {
	if l.Grafana == "" {
		return ""
	}
	return l.base() + "/d/" + ObjectivesUID + "/"
}

func (l Links) base() string {
	return strings.TrimRight(credurl.Redact(l.Grafana), "/")
}
