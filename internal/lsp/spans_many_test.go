package lsp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// manySpansBackend starts Prometheus with span metrics for the fifty traced functions of
// testdata/otelapp/many and returns it with that file.
func manySpansBackend(t testing.TB) (*promfixture.Server, string) {
	t.Helper()
	opts := manySpansOptions(t, 0, 50)
	file, err := filepath.Abs("../../testdata/otelapp/many/many.go")
	if err != nil {
		t.Fatal(err)
	}
	return promfixture.StartT(t, opts), file
}

// manySpansOptions returns backend options holding span metrics of service shop for the
// functions F<from>..F<to-1> of testdata/otelapp/many: F<i> makes 0.5+i calls/s, (i%4)/8 of
// them failing.
func manySpansOptions(t testing.TB, from, to int) promfixture.Options {
	t.Helper()
	opts := promfixture.Options{Now: time.Now(), Before: 30 * time.Minute, After: 90 * time.Minute}
	var spans []promfixture.Span
	for i := from; i < to; i++ {
		spans = append(spans, promfixture.Span{Service: "shop", Name: fmt.Sprintf("many.F%02d", i), Kind: "SPAN_KIND_INTERNAL",
			CallsPerSec: 0.5 + float64(i), ErrorsPerSec: float64(i%4) / 8, Latencies: []float64{0.001 * float64(i+1), 0.05}})
	}
	om, err := promfixture.SpanOpenMetrics(opts, promfixture.CollectorNaming, spans)
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraOpenMetrics = om
	return opts
}

// startOtelapp starts a session on testdata/otelapp against promURL.
func startOtelapp(t testing.TB, promURL string) *testSession {
	t.Helper()
	app, err := filepath.Abs("../../testdata/otelapp")
	if err != nil {
		t.Fatal(err)
	}
	s := startSession(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.client.Initialize(ctx, app, nil, map[string]any{"prometheusUrl": promURL, "cacheTtl": "10m"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Opening a file with fifty traced functions costs a handful of queries (the discovery and one
// batch for the package), and hovering all fifty while the numbers are fresh costs none.
func TestQueriesForFiftyTracedFunctions(t *testing.T) {
	prom, file := manySpansBackend(t)
	s := startOtelapp(t, prom.URL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	at := func(i int) (int, int) {
		off := strings.Index(string(text), fmt.Sprintf("func F%02d", i)) + len("func ")
		pos := textdoc.PositionOf(text, off)
		return int(pos.Line), int(pos.Character)
	}
	line, char := openAt(t, s, file, strings.Index(string(text), "func F00")+len("func "))
	hoverUntilNumbers(t, s, file, line, char)
	s.waitAnalysed(t, file)
	hoverUntilNumbers(t, s, file, line, char)
	afterOpen, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// README (Performance) promises at most 6.
	if n := afterOpen - before; n == 0 || n > 6 {
		t.Errorf("opening a file with 50 traced functions cost %d queries, want 1..6", n)
	}
	for i := 0; i < 50; i++ {
		line, char := at(i)
		card, err := s.client.Hover(ctx, file, line, char)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(card, fmt.Sprintf("`many.F%02d`", i)) || !strings.Contains(card, "req/s") {
			t.Fatalf("hover on F%02d:\n%s", i, card)
		}
	}
	// CodeLenses of the fifty, from the cached numbers: each one's own rate, no query.
	var lenses []lens
	if err := s.client.Call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	withNumbers := 0
	for _, l := range lenses {
		if strings.Contains(l.Command.Title, "req/s") {
			withNumbers++
		}
	}
	if withNumbers != 50 {
		t.Errorf("%d of %d CodeLenses have numbers, want 50: %+v", withNumbers, len(lenses), lenses)
	}
	line, _ = at(7)
	for _, l := range lenses {
		if l.Range.Start.Line == line && !strings.HasPrefix(l.Command.Title, "7.50 req/s") {
			t.Errorf("F07's lens %q, want its rate 7.50 req/s first", l.Command.Title)
		}
	}
	checkHoversFree(ctx, t, prom, before, afterOpen)
}

// checkHoversFree checks that the hovers since afterOpen (the query count after opening the
// file, before the count before) sent no query, and logs both costs.
func checkHoversFree(ctx context.Context, t *testing.T, prom *promfixture.Server, before, afterOpen int) {
	t.Helper()
	afterHovers, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := afterHovers - afterOpen; n != 0 {
		t.Errorf("50 hovers with a fresh cache cost %d queries, want 0", n)
	}
	t.Logf("queries: open %d, 50 hovers %d", afterOpen-before, afterHovers-afterOpen)
}

// BenchmarkWarmHoverTraced is BenchmarkWarmHover on a traced function: numbers cached, card
// cached, no network.
func BenchmarkWarmHoverTraced(b *testing.B) {
	prom, file := manySpansBackend(b)
	s := startOtelapp(b, prom.URL)
	text, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	line, char := openAt(b, s, file, strings.Index(string(text), "func F07")+len("func "))
	hoverUntilNumbers(b, s, file, line, char)
	s.waitAnalysed(b, file)
	hoverUntilNumbers(b, s, file, line, char)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		card, err := s.client.Hover(ctx, file, line, char)
		if err != nil || !strings.Contains(card, "req/s") {
			b.Fatalf("hover: %v\n%s", err, card)
		}
	}
}
