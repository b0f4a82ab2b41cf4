package lsp

import (
	"fmt"
	"net/url"
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
	opened := time.Now() // the card's "now" is an instant between this and the card's arrival
	s := startInitialized(t, prom.URL, map[string]any{"traceUrlTemplate": "https://tempo.example/trace/{traceId}?orgId=1", "grafanaUrl": "http://grafana.example:3000"})
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
	shownBy := time.Now()
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
	// Every row of both columns: the previous version at the deploy, the current one at the
	// instant the card was evaluated. The incident's traffic is a wave, so the current column is
	// checked against Prometheus's least and greatest value between opening the file and the
	// card's arrival (seconds apart, far less than the two versions differ by).
	rows := map[string][]string{"Request rate": row("Request rate"), "Error ratio": row("Error ratio"), "Latency p99": row("Latency p99")}
	for i, c := range []struct {
		version string
		at      string
	}{{demodata.IncidentPreviousVersion, fmt.Sprintf(" @ %d", until.Unix())}, {demodata.IncidentVersion, ""}} {
		sel := fmt.Sprintf(`function="Handle",module="example.com/demo/api.Server",version=%q`, c.version)
		for _, q := range []struct{ row, promql string }{
			{"Request rate", `sum(rate(function_calls_total{` + sel + `}[5m]` + c.at + `))`},
			{"Error ratio", `sum(rate(function_calls_total{` + sel + `,result="error"}[5m]` + c.at + `)) / sum(rate(function_calls_total{` + sel + `}[5m]` + c.at + `))`},
			{"Latency p99", `histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket{` + sel + `}[5m]` + c.at + `)))`},
		} {
			var lo, hi float64
			var err error
			if c.at != "" {
				lo, err = prom.QueryValue(ctx, q.promql)
				hi = lo
			} else {
				lo, hi, err = prom.ValueRange(ctx, q.promql, opened, shownBy)
			}
			if err != nil {
				t.Fatal(err)
			}
			shown := rows[q.row][i]
			got, ok := parseShown(shown)
			if !ok || lo <= 0 || got < lo*0.99 || got > hi*1.01 {
				t.Errorf("%s %s shown %q, Prometheus %v to %v", c.version, q.row, shown, lo, hi)
			}
		}
	}
	if !strings.Contains(card, "**Regression** since `"+demodata.IncidentVersion+"`: error ratio 1.0 % → 25.0 %") {
		t.Error("no regression line")
	}
	if !strings.Contains(card, "(https://github.com/example/demo/compare/4f2a9c1...9e1b7d3)") {
		t.Error("no commit range link")
	}
	// Traces, slowest first, through the template.
	if len(demodata.IncidentTraces) < 2 {
		t.Fatalf("the incident has %d traces, want several to check their order", len(demodata.IncidentTraces))
	}
	last := -1
	for _, tr := range demodata.IncidentTraces {
		i := strings.Index(card, "(https://tempo.example/trace/"+tr.ID+"?orgId=1)")
		if i < 0 {
			t.Errorf("no link to trace %s", tr.ID)
		} else if i < last {
			t.Errorf("trace %s out of order", tr.ID)
		}
		last = max(last, i)
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

	// The snapshot: the same story over an absolute UTC range, with links pinned to it.
	for _, arg := range []map[string]any{
		{"uri": lspclient.FileURI(target.NameSpan.File), "position": map[string]any{"line": line, "character": char}},
		{"function": "Handle", "module": "example.com/demo/api.Server"},
	} {
		var md string
		if err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.snapshot", "arguments": []any{arg}}, &md); err != nil {
			t.Fatal(err)
		}
		checkSnapshot(t, md, prom)
	}
	var md string
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.snapshot", "arguments": []any{map[string]any{"function": "Nope", "module": "x"}}}, &md)
	if err == nil || !strings.Contains(err.Error(), "no analysed function") {
		t.Errorf("snapshot of an unknown function: %v", err)
	}
}

// parseShown reads a number as the card shows it ("12.5 req/s", "25.0 %", "250 ms", "1.2 s")
// in the unit Prometheus answers in (requests per second, a ratio, seconds).
func parseShown(s string) (float64, bool) {
	num, unit, _ := strings.Cut(s, " ")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	scale := map[string]float64{"req/s": 1, "%": 0.01, "ms": 0.001, "s": 1}[unit]
	return v * scale, scale != 0
}

// checkSnapshot checks a snapshot of (*Server).Handle during the incident: absolute range,
// numbers as Prometheus answers them at its end, alerts and deploy, links pinned to the range.
func checkSnapshot(t *testing.T, md string, prom *promfixture.Server) {
	t.Helper()
	m := regexp.MustCompile(`Time range \(UTC\): \*\*(\S+) – (\S+)\*\*`).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("no absolute range:\n%s", md)
	}
	start, err1 := time.Parse(time.RFC3339, m[1])
	end, err2 := time.Parse(time.RFC3339, m[2])
	if err1 != nil || err2 != nil || end.Sub(start) != 5*time.Minute || time.Since(end) > time.Minute || !strings.HasSuffix(m[2], "Z") {
		t.Fatalf("range %q – %q (%v, %v)", m[1], m[2], err1, err2)
	}
	for _, want := range []string{"version `" + demodata.IncidentVersion + "`", "commit `9e1b7d3`", "- **firing** `" + demodata.IncidentAlert + "`",
		"**Regression** since", "[code at `9e1b7d3` on github.com](https://github.com/example/demo/tree/9e1b7d3)"} {
		if !strings.Contains(md, want) {
			t.Errorf("snapshot lacks %q:\n%s", want, md)
		}
	}
	ctx := ctxFor(t, 30*time.Second)
	sel := `function="Handle",module="example.com/demo/api.Server"`
	at := fmt.Sprintf(" @ %d", end.Unix())
	for _, c := range []struct{ row, q, unit string }{
		{"Error ratio", `sum(rate(function_calls_total{` + sel + `,result="error"}[5m]` + at + `)) / sum(rate(function_calls_total{` + sel + `}[5m]` + at + `))`, " %"},
		{"Request rate", `sum(rate(function_calls_total{` + sel + `}[5m]` + at + `))`, " req/s"},
	} {
		rm := regexp.MustCompile(`(?m)^\| ` + c.row + ` \| ([0-9.]+)` + regexp.QuoteMeta(c.unit) + ` \|$`).FindStringSubmatch(md)
		want, err := prom.QueryValue(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if c.unit == " %" {
			want *= 100
		}
		if rm == nil {
			t.Errorf("no %s row:\n%s", c.row, md)
			continue
		}
		got, _ := strconv.ParseFloat(rm[1], 64)
		if got < want*0.995 || got > want*1.005 {
			t.Errorf("%s %v, Prometheus %v at %v", c.row, got, want, end)
		}
	}
	links := regexp.MustCompile(`\[(Grafana dashboard|Grafana Explore|Prometheus)\]\(([^)]+)\)`).FindAllStringSubmatch(md, -1)
	if len(links) != 3 {
		t.Fatalf("pinned links %v", links)
	}
	from, to := strconv.FormatInt(start.UnixMilli(), 10), strconv.FormatInt(end.UnixMilli(), 10)
	for _, l := range links {
		u, err := url.Parse(l[2])
		if err != nil {
			t.Fatalf("%s link %q: %v", l[1], l[2], err)
		}
		q := u.Query()
		switch l[1] {
		case "Grafana dashboard":
			if q.Get("from") != from || q.Get("to") != to || q.Get("var-function") != "Handle" {
				t.Errorf("dashboard link %s, want from=%s to=%s", l[2], from, to)
			}
		case "Grafana Explore":
			if !strings.Contains(q.Get("left"), `"range":{"from":"`+from+`","to":"`+to+`"}`) {
				t.Errorf("explore link range: %s", q.Get("left"))
			}
		case "Prometheus":
			if !strings.HasPrefix(l[2], prom.URL+"/graph?") || q.Get("g0.end_input") != end.Format("2006-01-02 15:04:05") || q.Get("g0.range_input") != "5m" {
				t.Errorf("prometheus link %s", l[2])
			}
		}
	}
}
