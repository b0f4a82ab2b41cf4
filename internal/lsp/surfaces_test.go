package lsp

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// recorder answers server→client requests like an editor would and remembers them.
type recorder struct {
	mu       sync.Mutex
	requests []lspclient.Message
	settings map[string]any // answer to workspace/configuration
}

func (r *recorder) handle(method string, params json.RawMessage) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, lspclient.Message{Method: method, Params: params})
	switch method {
	case "window/showDocument":
		return map[string]any{"success": true}, nil
	case "workspace/configuration":
		return []any{r.settings}, nil
	}
	return nil, nil
}

func (r *recorder) wait(t *testing.T, method, substr string) lspclient.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, m := range r.requests {
			if m.Method == method && strings.Contains(string(m.Params), substr) {
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server never sent %s with %q", method, substr)
	return lspclient.Message{}
}

var fullCapabilities = map[string]any{
	"workspace": map[string]any{
		"configuration": true,
		"codeLens":      map[string]any{"refreshSupport": true},
	},
	"window": map[string]any{"showDocument": map[string]any{"support": true}, "workDoneProgress": true},
}

type lens struct {
	Range   struct{ Start struct{ Line int } }
	Command struct {
		Title, Command string
		Arguments      []map[string]string
	}
}

func TestCodeLensTitlesRefreshAndJumps(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	rec := &recorder{settings: map[string]any{"prometheusUrl": prom.URL, "grafanaUrl": "http://grafana.example:3000"}}
	s := startSession(t, nil, rec.handle)
	ctx := ctxFor(t, time.Minute)
	if _, err := s.client.Initialize(ctx, demoModule(t), fullCapabilities, map[string]any{"prometheusUrl": prom.URL}); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "workspace/configuration", "am-lsp")
	target := demoFunction(t, fns, "example.com/demo/api", "(*Server).Handle")
	line, _ := openAt(t, s, target.NameSpan.File, target.NameSpan.Start)

	rec.wait(t, "workspace/codeLens/refresh", "")
	rec.wait(t, "window/workDoneProgress/create", "am-lsp/analysis/")
	if _, err := s.client.WaitNotification(ctx, "$/progress", `"kind":"end"`); err != nil {
		t.Errorf("progress never ended: %v", err)
	}

	var lenses []lens
	deadline := time.Now().Add(20 * time.Second)
	var found *lens
	for found == nil && time.Now().Before(deadline) {
		if err := s.client.Call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(target.NameSpan.File)}}, &lenses); err != nil {
			t.Fatal(err)
		}
		for i := range lenses {
			if lenses[i].Range.Start.Line == line && strings.Contains(lenses[i].Command.Title, "req/s") {
				found = &lenses[i]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if found == nil {
		t.Fatalf("no CodeLens with numbers on line %d: %+v", line, lenses)
	}
	// "4.25 req/s · 12.5 % errors · p99 2.2 s": check each number against Prometheus.
	parts := strings.Split(found.Command.Title, " · ")
	if len(parts) != 3 {
		t.Fatalf("title %q does not follow the default format", found.Command.Title)
	}
	card := "| Request rate | [" + parts[0] + "](x) |\n| Error ratio | [" + strings.TrimSuffix(parts[1], " errors") + "](x) |\n| Latency p99 | [" + strings.TrimPrefix(parts[2], "p99 ") + "](x) |"
	got, _, err := cardcheck.Parse(card)
	if err != nil {
		t.Fatal(err)
	}
	q := cardcheck.SpecQueries("Handle", "example.com/demo/api.Server", "5m")
	for _, n := range []cardcheck.Number{cardcheck.RequestRate, cardcheck.ErrorRatio, cardcheck.LatencyP99} {
		want, err := prom.QueryValue(ctx, q[n])
		if err != nil {
			t.Fatal(err)
		}
		if !cardcheck.Close(got[n], want) {
			t.Errorf("CodeLens %s shows %g, Prometheus answers %g", n, got[n], want)
		}
	}
	if found.Command.Command != "am-lsp.openGrafana" {
		t.Errorf("CodeLens command %q, want am-lsp.openGrafana with Grafana set", found.Command.Command)
	}

	// Clicking it: the client supports showDocument, so the server asks it to open the URL.
	var res openResult
	if err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": found.Command.Command, "arguments": []any{found.Command.Arguments[0]}}, &res); err != nil {
		t.Fatal(err)
	}
	want := "http://grafana.example:3000/d/autometrics-function-explorer/?var-function=Handle"
	if res.URL != want || res.Shown != "showDocument" {
		t.Errorf("open result %+v, want %s via showDocument", res, want)
	}
	var status struct {
		Backend string
		OK      bool
		Reason  string
	}
	if err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.status"}, &status); err != nil {
		t.Fatal(err)
	}
	if !status.OK || status.Backend != prom.URL {
		t.Errorf("status = %+v, want ok for %s", status, prom.URL)
	}
	doc := rec.wait(t, "window/showDocument", "autometrics-function-explorer")
	if !strings.Contains(string(doc.Params), `"external":true`) {
		t.Errorf("showDocument without external: %s", doc.Params)
	}
}

func TestOpenCommandFallsBackToShowMessage(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	s := startInitialized(t, prom.URL+"/", nil)
	ctx := ctxFor(t, 30*time.Second)
	target := demoFunction(t, fns, "example.com/demo/billing", "Handle")
	line, char := openAt(t, s, target.NameSpan.File, target.NameSpan.Start)
	var res openResult
	err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.openPrometheus", "arguments": []any{
		map[string]any{"uri": lspclient.FileURI(target.NameSpan.File), "position": map[string]any{"line": line, "character": char}},
	}}, &res)
	if err != nil {
		t.Fatal(err)
	}
	if res.Shown != "showMessage" || !strings.HasPrefix(res.URL, prom.URL+"/graph?g0.expr=") || !strings.Contains(res.URL, "billing") {
		t.Errorf("open result %+v", res)
	}
	if _, err := s.client.WaitNotification(ctx, "window/showMessage", "billing"); err != nil {
		t.Error(err)
	}
	// Not on an instrumented function: a clear error, not a crash.
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.openPrometheus", "arguments": []any{
		map[string]any{"uri": lspclient.FileURI(target.NameSpan.File), "position": map[string]any{"line": 0, "character": 0}},
	}}, nil)
	if code := rpcCode(t, err); code != -32602 || !strings.Contains(err.Error(), "no instrumented function") {
		t.Errorf("open at a plain position: %v", err)
	}
}

func TestSettingsChangeAtRuntime(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	s := startInitialized(t, closedPortURL, nil)
	ctx := ctxFor(t, 30*time.Second)
	target := demoFunction(t, fns, "example.com/demo/api", "Handle")
	line, char := openAt(t, s, target.NameSpan.File, target.NameSpan.Start)
	card := hoverSettled(t, s, target.NameSpan.File, line, char)
	if !strings.Contains(card, "unreachable") {
		t.Fatalf("before the change:\n%s", card)
	}
	var status struct {
		OK     bool
		Reason string
	}
	if err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.status"}, &status); err != nil {
		t.Fatal(err)
	}
	if status.OK || !strings.Contains(status.Reason, "unreachable") {
		t.Errorf("status with Prometheus down = %+v", status)
	}
	if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"am-lsp": map[string]any{"prometheusUrl": prom.URL}}}); err != nil {
		t.Fatal(err)
	}
	card = hoverUntilNumbers(t, s, target.NameSpan.File, line, char)
	if !strings.Contains(card, prom.URL) {
		t.Errorf("the new URL is not used:\n%s", card)
	}
	// An invalid value is reported by name and the last good one stays.
	if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"prometheusUrl": "ftp://nope", "window": "often"}}); err != nil {
		t.Fatal(err)
	}
	msg, err := s.client.WaitNotification(ctx, "window/showMessage", "prometheusUrl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg.Params), "window") {
		t.Errorf("message does not name every invalid setting: %s", msg.Params)
	}
	card = hoverUntilNumbers(t, s, target.NameSpan.File, line, char)
	if !strings.Contains(card, prom.URL) {
		t.Errorf("an invalid setting replaced the last good one:\n%s", card)
	}
}

func TestHoverShowsTrendCallersAndSLO(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	s := startInitialized(t, prom.URL, map[string]any{"grafanaUrl": "http://grafana.example"})
	ctx := ctxFor(t, time.Minute)
	fn := demoFunction(t, fns, "example.com/demo/api", "Handle")
	line, char := openAt(t, s, fn.NameSpan.File, fn.NameSpan.Start)
	card := hoverUntilNumbers(t, s, fn.NameSpan.File, line, char)
	for wait := time.Now().Add(15 * time.Second); !strings.Contains(card, "Last 1h") && time.Now().Before(wait); {
		time.Sleep(50 * time.Millisecond) // the trend may come a moment after the numbers
		card = hoverUntilNumbers(t, s, fn.NameSpan.File, line, char)
	}
	value := func(q string) float64 {
		v, err := prom.QueryValue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sel := `function="Handle", module="example.com/demo/api"`
	// Callers, with the rate Prometheus gives each.
	for _, c := range []struct{ name, fn, mod string }{{"main.Serve", "Serve", "main"}, {"main.App.Start", "Start", "main.App"}} {
		want := value(`sum(rate(function_calls_total{` + sel + `, caller_function="` + c.fn + `", caller_module="` + c.mod + `"}[5m]))`)
		i := strings.Index(card, "`"+c.name+"` ")
		if i < 0 {
			t.Fatalf("card lists no caller %s:\n%s", c.name, card)
		}
		shown := strings.Fields(card[i+len(c.name)+3:])[0] + " req/s"
		got, _, err := cardcheck.Parse("| Request rate | [" + shown + "](x) |")
		if err != nil {
			t.Fatal(err)
		}
		if !cardcheck.Close(got[cardcheck.RequestRate], want) {
			t.Errorf("caller %s: card %s, Prometheus %g", c.name, shown, want)
		}
	}
	// The trend: thirty points of request rate and error ratio.
	i := strings.Index(card, "Last 1h: requests `")
	if i < 0 {
		t.Fatalf("no trend:\n%s", card)
	}
	spark := strings.SplitN(card[i+len("Last 1h: requests `"):], "`", 2)[0]
	if n := len([]rune(spark)); n < 25 || n > 31 {
		t.Errorf("request sparkline %q has %d points", spark, n)
	}
	if strings.Contains(card, "data:image") {
		t.Errorf("hoverImages is off by default, yet the card has an image:\n%s", card)
	}
	// With hoverImages the trend is two SVG charts; the error chart draws the 1 % error ratio
	// that the 99 % success objective allows.
	if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"hoverImages": true}}); err != nil {
		t.Fatal(err)
	}
	charts := chartImages.FindAllStringSubmatch(card, -1)
	for wait := time.Now().Add(15 * time.Second); len(charts) != 2 && time.Now().Before(wait); {
		time.Sleep(50 * time.Millisecond)
		card = hoverUntilNumbers(t, s, fn.NameSpan.File, line, char)
		charts = chartImages.FindAllStringSubmatch(card, -1)
	}
	if len(charts) != 2 || strings.Contains(card, "requests `") {
		t.Fatalf("with hoverImages the trend must be two chart images, not sparklines:\n%s", card)
	}
	for _, c := range charts {
		svg, err := base64.StdEncoding.DecodeString(c[2])
		if err != nil {
			t.Fatal(err)
		}
		var chart struct {
			Lines []struct{} `xml:"line"`
			Paths []struct {
				D string `xml:"d,attr"`
			} `xml:"path"`
		}
		if err := xml.Unmarshal(svg, &chart); err != nil {
			t.Fatalf("%s chart is not XML: %v\n%s", c[1], err, svg)
		}
		if c[1] == "requests" {
			points := 0
			for _, p := range chart.Paths {
				points += strings.Count(p.D, "M") + strings.Count(p.D, "L")
			}
			if points != len([]rune(spark)) {
				t.Errorf("request chart draws %d points, the sparkline had %d", points, len([]rune(spark)))
			}
		}
		if wantLines := map[string]int{"requests": 0, "errors": 1}[c[1]]; len(chart.Lines) != wantLines {
			t.Errorf("%s chart has %d threshold lines, want %d", c[1], len(chart.Lines), wantLines)
		}
	}
	if len(card) > 16<<10 {
		t.Errorf("the card with charts is %d bytes", len(card))
	}
	// The directive's objective (--slo API --success-target 99), from the raw counters.
	success := 1 - value(cardcheck.SpecQueries("Handle", "example.com/demo/api", "5m")[cardcheck.ErrorRatio])
	wantSLO := fmt.Sprintf("SLO **API** (99 %% success): measured %.2f %%", success*100)
	if !strings.Contains(card, wantSLO) {
		t.Errorf("card lacks %q:\n%s", wantSLO, card)
	}
	// Breached (success well below 99 %): an error diagnostic that leads with the objective and
	// the burn rate, pointing at the SLO dashboard.
	msg, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", `"code":"slo"`)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		URI         string
		Diagnostics []diagnosticResult
	}
	if err := json.Unmarshal(msg.Params, &p); err != nil {
		t.Fatal(err)
	}
	var slo *diagnosticResult
	for i := range p.Diagnostics {
		if p.Diagnostics[i].Code == "slo" && p.Diagnostics[i].Range.Start.Line == uint32(line) {
			slo = &p.Diagnostics[i]
		}
	}
	wantMsg := fmt.Sprintf("SLO \"API\" 99 %%: %.1f %% success over 5m, burn rate ", success*100)
	if slo == nil || slo.Severity != severityError || !strings.HasPrefix(slo.Message, wantMsg) || !strings.HasSuffix(slo.Message, "(breached)") ||
		slo.CodeDescription == nil || slo.CodeDescription.Href != "http://grafana.example/d/autometrics-objectives/" {
		t.Errorf("SLO diagnostic on line %d: %+v in %s", line, slo, msg.Params)
	}
}

// chartImages finds the trend charts of a card: alt text and base64 SVG.
var chartImages = regexp.MustCompile(`!\[(requests|errors)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)`)

// count returns how many requests of method the server sent so far.
func (r *recorder) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.requests {
		if m.Method == method {
			n++
		}
	}
	return n
}

// TestSettingsChangeRefreshesCodeLens: a settings change alone, with no new numbers (the backend
// here never answers), makes the server ask the client for its CodeLens again, so a new
// codeLensFormat shows without a restart.
func TestSettingsChangeRefreshesCodeLens(t *testing.T) {
	const unreachable = "http://127.0.0.1:9"
	rec := &recorder{settings: map[string]any{"prometheusUrl": unreachable}}
	s := startSession(t, nil, rec.handle)
	ctx := ctxFor(t, time.Minute)
	if _, err := s.client.Initialize(ctx, demoModule(t), fullCapabilities, map[string]any{"prometheusUrl": unreachable}); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "workspace/codeLens/refresh", "") // the pulled settings were applied
	before := rec.count("workspace/codeLens/refresh")
	if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{
		"settings": map[string]any{"prometheusUrl": unreachable, "codeLensFormat": "{rate} (custom)"},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for rec.count("workspace/codeLens/refresh") == before {
		if time.Now().After(deadline) {
			t.Fatalf("no workspace/codeLens/refresh after the settings change (%d before)", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
