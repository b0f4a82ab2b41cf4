package lsp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// These tests run the server in process against a REAL Prometheus loaded with deterministic
// data for testdata/demo, and check what the hover shows against Prometheus's own answers.

func demoModule(t testing.TB) string {
	dir, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// demoBackend starts Prometheus with the demo data; adjust may change the data first.
func demoBackend(t testing.TB, adjust func(*promfixture.Options, []demodata.Function)) (*promfixture.Server, []demodata.Function) {
	t.Helper()
	return demoBackendOn(t, promfixture.StartT, adjust)
}

// demoBackendOn is demoBackend on the backend start starts (Prometheus or VictoriaMetrics).
func demoBackendOn(t testing.TB, start func(testing.TB, promfixture.Options) *promfixture.Server, adjust func(*promfixture.Options, []demodata.Function)) (*promfixture.Server, []demodata.Function) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, fns, err := demodata.Build(ctx, demoModule(t))
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(&opts, fns)
	}
	return start(t, opts), fns
}

func demoFunction(t testing.TB, fns []demodata.Function, pkgPath, qualified string) demodata.Function {
	t.Helper()
	for _, f := range fns {
		if f.PkgPath == pkgPath && f.QualifiedName() == qualified {
			return f
		}
	}
	t.Fatalf("no %s in %s among the demo functions", qualified, pkgPath)
	return demodata.Function{}
}

// openAt opens file in the session and returns the LSP position of byte offset.
func openAt(t testing.TB, s *testSession, file string, offset int) (line, char int) {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.client.Open(file, string(text)); err != nil {
		t.Fatal(err)
	}
	pos := textdoc.PositionOf(text, offset)
	return int(pos.Line), int(pos.Character)
}

// hoverUntilNumbers hovers until the card has numbers (the first hover can come before the
// background prefetch has finished, or for a span, before the code was read for its service) and
// returns the card.
func hoverUntilNumbers(t testing.TB, s *testSession, file string, line, char int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var card string
	for ctx.Err() == nil {
		var err error
		card, err = s.client.Hover(ctx, file, line, char)
		if err != nil {
			t.Fatal(err)
		}
		// Span cards read all services until the code was read for a service.name.
		if strings.Contains(card, "req/s") && !strings.Contains(card, insight.ScopeScanningNote) {
			return card
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no numbers in the hover at %s:%d:%d:\n%s", file, line, char, card)
	return ""
}

func startInitialized(t testing.TB, promURL string, extra map[string]any) *testSession {
	t.Helper()
	s := startSession(t, nil, nil)
	opts := map[string]any{"prometheusUrl": promURL}
	for k, v := range extra {
		opts[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The workspace root is an empty directory: these tests look at what opening files
	// does, without the workspace-wide SLO sweep of a root's packages (editors/nvim tests it).
	if _, err := s.client.Initialize(ctx, t.TempDir(), nil, opts); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHoverNumbersEqualPrometheus(t *testing.T) {
	for _, backend := range []struct {
		name  string
		start func(testing.TB, promfixture.Options) *promfixture.Server
	}{{"prometheus", promfixture.StartT}, {"victoria-metrics", promfixture.StartVictoriaMetricsT}} {
		t.Run(backend.name, func(t *testing.T) { testHoverNumbers(t, backend.start) })
	}
}

// testHoverNumbers checks the hover's numbers against the backend's own answer to the spec's
// queries, for every form of function the labels distinguish.
func testHoverNumbers(t *testing.T, start func(testing.TB, promfixture.Options) *promfixture.Server) {
	prom, fns := demoBackendOn(t, start, func(opts *promfixture.Options, fns []demodata.Function) {
		for i := range opts.Functions {
			if opts.Functions[i].Function == "Legacy" {
				opts.Functions[i].Legacy = true // function_calls_count_total, function_calls_duration
			}
		}
	})
	s := startInitialized(t, prom.URL, nil)
	cases := []struct {
		name, pkg, qualified string
	}{
		{"plain function", "example.com/demo/api", "Handle"},
		{"pointer-receiver method", "example.com/demo/api", "(*Server).Handle"},
		{"package main", "example.com/demo", "Serve"},
		{"same name, other package", "example.com/demo/billing", "Handle"},
		{"legacy metric names", "example.com/demo/api", "Legacy"},
		{"dot in the last path element", "example.com/demo/yaml.v3", "Decode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fn := demoFunction(t, fns, c.pkg, c.qualified)
			line, char := openAt(t, s, fn.NameSpan.File, fn.NameSpan.Start+1)
			card := hoverUntilNumbers(t, s, fn.NameSpan.File, line, char)
			if !strings.Contains(card, `function="`+fn.Labels.Function+`", module="`+fn.Labels.Module+`"`) {
				t.Errorf("card does not name the series it reads:\n%s", card)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			problems, err := cardcheck.Compare(ctx, card, prom.QueryValue, fn.Labels.Function, fn.Labels.Module, "5m")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			if !strings.Contains(card, prom.URL+"/graph?g0.expr=") && !strings.Contains(card, prom.URL+"/vmui") {
				t.Errorf("card has no Prometheus graph links:\n%s", card)
			}
		})
	}
}

// TestHoverOnACallShowsTheCallee hovers `api.Handle(…)` in package main: the card is the
// callee's (module example.com/demo/api), not main's.
func TestHoverOnACallShowsTheCallee(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	s := startInitialized(t, prom.URL, nil)
	mainFile := filepath.Join(demoModule(t), "main.go")
	text, err := os.ReadFile(mainFile)
	if err != nil {
		t.Fatal(err)
	}
	call := strings.Index(string(text), "api.Handle(")
	if call < 0 {
		t.Fatal("testdata/demo/main.go no longer calls api.Handle")
	}
	line, char := openAt(t, s, mainFile, call+len("api.H"))
	card := hoverUntilNumbers(t, s, mainFile, line, char)
	callee := demoFunction(t, fns, "example.com/demo/api", "Handle")
	if !strings.Contains(card, `module="example.com/demo/api"`) {
		t.Fatalf("hover on the call is not the callee's card:\n%s", card)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	problems, err := cardcheck.Compare(ctx, card, prom.QueryValue, callee.Labels.Function, callee.Labels.Module, "5m")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	// The call is not the declaration: no range (not a 0:0–0:0 one). On the declaration's
	// name the range is the name.
	rangeOf := func(file string, line, char int) *struct{ Start, End struct{ Line, Character int } } {
		var h struct {
			Range *struct{ Start, End struct{ Line, Character int } } `json:"range"`
		}
		if err := s.client.Call(ctx, "textDocument/hover", map[string]any{
			"textDocument": map[string]any{"uri": lspclient.FileURI(file)},
			"position":     map[string]any{"line": line, "character": char},
		}, &h); err != nil {
			t.Fatal(err)
		}
		return h.Range
	}
	if r := rangeOf(mainFile, line, char); r != nil {
		t.Errorf("hover on a call has range %+v, want none", *r)
	}
	declLine, declChar := openAt(t, s, callee.NameSpan.File, callee.NameSpan.Start)
	if r := rangeOf(callee.NameSpan.File, declLine, declChar); r == nil || r.Start.Line != declLine || r.Start.Character != declChar || r.End.Character != declChar+len("Handle") {
		t.Errorf("hover on the declaration's name has range %+v, want the name at %d:%d", r, declLine, declChar)
	}
}

// TestQueriesPerFileAndPerHover counts the queries Prometheus itself served: opening a file with
// 50 instrumented functions costs at most 6, hovering each of them afterwards costs none.
func TestQueriesPerFileAndPerHover(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	s := startInitialized(t, prom.URL, map[string]any{"cacheTtl": "10m"})
	var many []demodata.Function
	for _, f := range fns {
		if f.PkgPath == "example.com/demo/many" {
			many = append(many, f)
		}
	}
	if len(many) != 50 {
		t.Fatalf("testdata/demo/many has %d instrumented functions, want 50", len(many))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	line, char := openAt(t, s, many[0].NameSpan.File, many[0].NameSpan.Start)
	hoverUntilNumbers(t, s, many[0].NameSpan.File, line, char)
	// The refresh fetches the incident data (version history, exemplars) after the numbers;
	// the card shows the version once it is there.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if card, err := s.client.Hover(ctx, many[0].NameSpan.File, line, char); err != nil || strings.Contains(card, "running since") {
			break
		}
	}
	afterOpen, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := afterOpen - before; n > 6+promclient.QueriesPerIncident || n == 0 {
		t.Errorf("opening a file with 50 instrumented functions cost %d queries, want 1..%d", n, 6+promclient.QueriesPerIncident)
	}
	text, _ := os.ReadFile(many[0].NameSpan.File)
	for _, f := range many {
		pos := textdoc.PositionOf(text, f.NameSpan.Start)
		card, err := s.client.Hover(ctx, f.NameSpan.File, int(pos.Line), int(pos.Character))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(card, `function="`+f.Labels.Function+`"`) || !strings.Contains(card, "req/s") {
			t.Fatalf("hover on %s:\n%s", f.Name, card)
		}
	}
	checkHoversFree(ctx, t, prom, before, afterOpen)
}

// TestHoverExplainsMissingNumbers covers the cards without numbers: no series, directive without
// statements, Prometheus down, Prometheus hanging (answers within the deadline, server survives).
func TestHoverExplainsMissingNumbers(t *testing.T) {
	module := demoModule(t)
	handleFile := filepath.Join(module, "api", "handle.go")
	text, err := os.ReadFile(handleFile)
	if err != nil {
		t.Fatal(err)
	}
	at := func(name string) int {
		i := strings.Index(string(text), "func "+name+"(")
		if i < 0 {
			t.Fatalf("no func %s in %s", name, handleFile)
		}
		return i + len("func ")
	}

	t.Run("no series", func(t *testing.T) {
		prom := promfixture.StartT(t, promfixture.Options{Functions: []promfixture.Function{demodata.Series(0, "Other", "example.com/other")}})
		s := startInitialized(t, prom.URL, nil)
		line, char := openAt(t, s, handleFile, at("Handle"))
		card := hoverSettled(t, s, handleFile, line, char)
		for _, want := range []string{"No data", `function="Handle", module="example.com/demo/api"`, prom.URL} {
			if !strings.Contains(card, want) {
				t.Errorf("card lacks %q:\n%s", want, card)
			}
		}
		line, char = openAt(t, s, handleFile, at("Pending"))
		card = hoverSettled(t, s, handleFile, line, char)
		if !strings.Contains(card, "instrumentation statements are missing") || !strings.Contains(card, "go generate") {
			t.Errorf("directive-only card:\n%s", card)
		}
	})

	t.Run("prometheus down", func(t *testing.T) {
		s := startInitialized(t, "http://am:s3cret@127.0.0.1:1/prefix", nil)
		line, char := openAt(t, s, handleFile, at("Handle"))
		card := hoverSettled(t, s, handleFile, line, char)
		if !strings.Contains(card, "unreachable") || !strings.Contains(card, "http://127.0.0.1:1/prefix") {
			t.Errorf("card does not explain the outage:\n%s", card)
		}
		if strings.Contains(card, "s3cret") {
			t.Errorf("card leaks the password:\n%s", card)
		}
	})

	t.Run("prometheus hangs", func(t *testing.T) {
		hanging := promfixture.Hanging(t)
		// The backend never answers and the query timeout is a minute: a hover that waited for
		// the backend would take that long (beyond lspclient.HangBound) and then say the backend
		// did not answer in time, where one that keeps to its deadline says the numbers are
		// loading. How close hovers keep to the deadline is the bench's to measure
		// (internal/cmd/bench, "hover while Prometheus hangs").
		s := startInitialized(t, hanging, map[string]any{"hoverDeadline": "300ms", "queryTimeout": "60s"})
		line, char := openAt(t, s, handleFile, at("Handle"))
		for i := 0; i < 6; i++ { // straight after opening, while the background analysis runs
			card, took, err := s.client.HoverWithinHangBound(context.Background(), handleFile, line, char)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(card, "**Loading**") || strings.Contains(card, "| Request rate |") {
				t.Errorf("card while Prometheus hangs:\n%s", card)
			}
			t.Logf("hover %d: %s", i, took)
		}
	})
}

// hoverSettled hovers until the card no longer says it is loading.
func hoverSettled(t *testing.T, s *testSession, file string, line, char int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		card, err := s.client.Hover(ctx, file, line, char)
		if err != nil {
			t.Fatal(err)
		}
		if card == "" {
			t.Fatalf("no hover at %s:%d:%d", file, line, char)
		}
		if !strings.Contains(card, "**Loading**") || ctx.Err() != nil {
			return card
		}
		time.Sleep(50 * time.Millisecond)
	}
}
