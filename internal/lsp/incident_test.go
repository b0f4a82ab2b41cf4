package lsp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// TestHoverDuringIncident hovers (*Server).Handle of the demo during WithIncident's incident:
// the card lists the firing and pending alerts with the backend's Markdown escaped, compares
// the new version with the one before the deploy using Prometheus's own numbers and flags the
// regression, links the commits and the slowest traces through traceUrlTemplate; the CodeLens
// starts with the firing alert. None of it is fetched by the hover itself.
func TestHoverDuringIncident(t *testing.T) {
	now := time.Now()
	prom, fns := demoBackend(t, func(o *promfixture.Options, _ []demodata.Function) { *o = demodata.WithIncident(*o, now) })
	s := startInitialized(t, prom.URL, map[string]any{"traceUrlTemplate": "https://tempo.example/trace/{traceId}?orgId=1"})
	target := demoFunction(t, fns, "example.com/demo/api", "(*Server).Handle")
	line, char := openAt(t, s, target.NameSpan.File, target.NameSpan.Start)
	ctx := ctxFor(t, time.Minute)
	var card string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if card, err = s.client.Hover(ctx, target.NameSpan.File, line, char); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(card, "Slowest traces") {
			break
		}
	}
	t.Logf("card:\n%s", card)

	// Alerts: firing first, the backend's Markdown and HTML as text.
	firing := strings.Index(card, "- **firing** `"+demodata.IncidentAlert+"` (page) since ")
	pending := strings.Index(card, "- **pending** `HandleLatencyHigh` (ticket) since ")
	if firing < 0 || pending < firing {
		t.Errorf("alerts missing or out of order")
	}
	if strings.Contains(card, " [runbook](") || strings.Contains(card, " <img") || !strings.Contains(card, `\*\*spike\*\* \[runbook\](javascript:alert(1)) \<img src=x onerror=alert(1)\>`) {
		t.Errorf("the alert summary is not escaped")
	}

	// The deploy: both versions' numbers equal Prometheus's over the same windows.
	row := func(name string) []string {
		m := regexp.MustCompile(`(?m)^\| ` + name + ` \| ([^|]+) \| ([^|]+) \|$`).FindStringSubmatch(card)
		if m == nil {
			t.Fatalf("no %s row in the deploy table", name)
		}
		return []string{strings.TrimSpace(m[1]), strings.TrimSpace(m[2])}
	}
	head := regexp.MustCompile("(?m)^\\| \\| `" + regexp.QuoteMeta(demodata.IncidentPreviousVersion) + "` \\(until ([0-9-]+ [0-9:]+) UTC\\) \\| `" +
		regexp.QuoteMeta(demodata.IncidentVersion) + "` \\(now\\) \\|$").FindStringSubmatch(card)
	if head == nil {
		t.Fatal("no deploy table comparing the two versions")
	}
	until, err := time.Parse("2006-01-02 15:04:05", head[1])
	if err != nil {
		t.Fatal(err)
	}
	errs := row("Error ratio")
	for i, c := range []struct {
		version string
		at      string
	}{{demodata.IncidentPreviousVersion, fmt.Sprintf(" @ %d", until.Unix())}, {demodata.IncidentVersion, ""}} {
		sel := fmt.Sprintf(`function="Handle",module="example.com/demo/api.Server",version=%q`, c.version)
		want, err := prom.QueryValue(ctx, `sum(rate(function_calls_total{`+sel+`,result="error"}[5m]`+c.at+`)) / sum(rate(function_calls_total{`+sel+`}[5m]`+c.at+`))`)
		if err != nil {
			t.Fatal(err)
		}
		shown, err := strconv.ParseFloat(strings.TrimSuffix(errs[i], " %"), 64)
		if err != nil || shown/100 < want*0.99 || shown/100 > want*1.01 {
			t.Errorf("%s error ratio shown %q, Prometheus %v", c.version, errs[i], want)
		}
	}
	if !strings.Contains(card, "**Regression** since `"+demodata.IncidentVersion+"`: error ratio 1.0 % → 25.0 %") {
		t.Error("no regression line")
	}
	if !strings.Contains(card, "(https://github.com/example/demo/compare/4f2a9c1...9e1b7d3)") {
		t.Error("no commit range link")
	}
	// Traces, slowest first, through the template.
	last := -1
	for _, tr := range demodata.IncidentTraces {
		i := strings.Index(card, "(https://tempo.example/trace/"+tr.ID+"?orgId=1)")
		if i < last {
			t.Errorf("trace %s missing or out of order", tr.ID)
		}
		last = i
	}

	var lenses []struct {
		Range   struct{ Start struct{ Line int } }
		Command struct{ Title string }
	}
	if err := s.client.Call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(target.NameSpan.File)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range lenses {
		if l.Range.Start.Line == line {
			found = true
			if want := "🔥 " + demodata.IncidentAlert + " · regression since " + demodata.IncidentVersion + " · "; !strings.HasPrefix(l.Command.Title, want) {
				t.Errorf("CodeLens %q, want it to start with %q", l.Command.Title, want)
			}
		}
	}
	if !found {
		t.Errorf("no CodeLens on line %d: %+v", line, lenses)
	}
}
