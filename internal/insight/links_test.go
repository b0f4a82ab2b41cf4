package insight

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/am-lsp/am-lsp/internal/promclient"
)

func TestLinks(t *testing.T) {
	prom := testClient(t, "http://prom.example:9090/prometheus")
	s := promclient.Series{Function: "Handle", Module: "example.com/app.Server"}
	l := Links{Grafana: "https://admin:pw@grafana.example/g", GrafanaDatasource: "P1", Prom: prom}

	if got, want := l.URL(TargetGrafana, s), "https://grafana.example/g/d/autometrics-function-explorer/?var-function=Handle"; got != want {
		t.Errorf("grafana: %s, want %s", got, want)
	}
	explore := l.URL(TargetExplore, s)
	u, err := url.Parse(explore)
	if err != nil || u.Path != "/g/explore" {
		t.Fatalf("explore: %s (%v)", explore, err)
	}
	var left struct {
		Datasource string
		Queries    []struct{ Expr string }
	}
	if err := json.Unmarshal([]byte(u.Query().Get("left")), &left); err != nil {
		t.Fatal(err)
	}
	if left.Datasource != "P1" || len(left.Queries) != 1 || left.Queries[0].Expr != prom.QueryFor(promclient.RequestRate, s) {
		t.Errorf("explore state: %+v", left)
	}
	if got := l.URL(TargetPrometheus, s); !strings.HasPrefix(got, "http://prom.example:9090/prometheus/graph?g0.expr=") {
		t.Errorf("prometheus: %s", got)
	}
	if got := l.ObjectivesURL(); got != "https://grafana.example/g/d/autometrics-objectives/" {
		t.Errorf("objectives: %s", got)
	}
	for _, link := range []string{l.URL(TargetGrafana, s), explore, l.ObjectivesURL()} {
		if strings.Contains(link, "pw") || strings.Contains(link, "admin") {
			t.Errorf("link leaks credentials: %s", link)
		}
	}
	noGrafana := Links{Prom: prom}
	if got := noGrafana.URL(TargetGrafana, s); !strings.Contains(got, "/prometheus/graph?") || noGrafana.ObjectivesURL() != "" {
		t.Errorf("without Grafana the jump must open Prometheus: %s", got)
	}
}

// A Grafana password with "/" or "#" is not taken for the path: no link shows it.
func TestGrafanaLinksWithoutDelimitedPassword(t *testing.T) {
	l := Links{Grafana: "https://admin:p/w#x@grafana.example/g", Prom: testClient(t, "https://bob:q/r#s@prom.example")}
	s := promclient.Series{Function: "Handle", Module: "example.com/app"}
	for _, link := range []string{l.URL(TargetGrafana, s), l.URL(TargetExplore, s), l.URL(TargetPrometheus, s), l.ObjectivesURL()} {
		if strings.Contains(link, "p/w") || strings.Contains(link, "q/r") || strings.Contains(link, "admin") || strings.Contains(link, "bob") {
			t.Errorf("a credential shows in %s", link)
		}
		if !strings.HasPrefix(link, "https://grafana.example/g/") && !strings.HasPrefix(link, "https://prom.example/graph?") {
			t.Errorf("link %s is not under the configured hosts", link)
		}
	}
}

// A span has no Function Explorer dashboard: its Grafana jump opens Explore with its query.
func TestSpanGrafanaJumpOpensExplore(t *testing.T) {
	c, err := promclient.New(promclient.Config{URL: "http://prom:9090"})
	if err != nil {
		t.Fatal(err)
	}
	l := Links{Grafana: "https://grafana.example", Prom: c}
	s := promclient.Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: promclient.SpanAuto}
	u := l.URL(TargetGrafana, s)
	if !strings.HasPrefix(u, "https://grafana.example/explore?") || !strings.Contains(u, "traces_span_metrics_calls_total") {
		t.Errorf("Grafana jump of a span: %s", u)
	}
}
