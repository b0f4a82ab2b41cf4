package lsp

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// With the opt-in inlayHints setting, each traced function of a file gets a hint at the end of
// its name line whose rate and error ratio equal Prometheus's own answers for the span; a
// request for a range gets only the hints of that range; with the setting off there are none.
func TestInlayHintsTracedFunctions(t *testing.T) {
	prom, file := manySpansBackend(t)
	app, err := filepath.Abs("../../testdata/otelapp")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func(inlay bool) *testSession {
		s := startSession(t, nil, nil)
		if _, err := s.client.Initialize(ctx, app, nil, map[string]any{"prometheusUrl": prom.URL, "cacheTtl": "10m",
			"inlayHints": inlay, "codeLensFormat": "{rate} · {errors} errors"}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	hints := func(s *testSession, from, to int) []inlayHintResult {
		var out []inlayHintResult
		params := map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file)},
			"range": map[string]any{"start": map[string]any{"line": from, "character": 0}, "end": map[string]any{"line": to, "character": 0}}}
		if err := s.client.Call(ctx, "textDocument/inlayHint", params, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	s := start(true)
	line, char := openAt(t, s, file, strings.Index(string(text), "func F00")+len("func "))
	hoverUntilNumbers(t, s, file, line, char)
	s.waitAnalysed(t, file)
	hoverUntilNumbers(t, s, file, line, char)

	all := hints(s, 0, len(lines))
	if len(all) != 50 {
		t.Fatalf("%d inlay hints, want one per traced function (50): %+v", len(all), all)
	}
	label := regexp.MustCompile(`^([0-9.]+) req/s · ([0-9.]+) ?% errors$`)
	query := func(ctx context.Context, q string) (float64, error) {
		v, _, err := prom.Query(ctx, q)
		if err != nil || len(v) == 0 {
			return math.NaN(), err
		}
		return float64(v[0].Value), nil
	}
	nameOf := regexp.MustCompile(`^func (F\d\d)\(`)
	t.Logf("first hints: %+v", all[:3])
	for _, h := range all {
		src := lines[int(h.Position.Line)]
		m := nameOf.FindStringSubmatch(src)
		if m == nil {
			t.Errorf("hint %q on line %d %q, not on a traced function's name line", h.Label, h.Position.Line, src)
			continue
		}
		if int(h.Position.Character) != len([]rune(src)) {
			t.Errorf("%s: hint at character %d, want the line's end %d", m[1], h.Position.Character, len([]rune(src)))
		}
		parts := label.FindStringSubmatch(h.Label)
		if parts == nil {
			t.Errorf("%s: hint %q, want \"<rate> req/s · <ratio> %% errors\"", m[1], h.Label)
			continue
		}
		qs := cardcheck.SpanQueries(cardcheck.SpanNaming{Calls: "traces_span_metrics_calls_total", Bucket: "traces_span_metrics_duration_milliseconds_bucket", Unit: 0.001, StatusLabel: "status_code"},
			fmt.Sprintf(`span_name="many.%s"`, m[1]), "5m")
		for i, n := range []cardcheck.Number{cardcheck.RequestRate, cardcheck.ErrorRatio} {
			shown, err := strconv.ParseFloat(parts[i+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			if n == cardcheck.ErrorRatio {
				shown /= 100
			}
			want, err := query(ctx, qs[n])
			if err != nil {
				t.Fatal(err)
			}
			// Hints show three significant digits or two decimals.
			if !cardcheck.Close(shown, want) && math.Abs(shown-want) > 0.00005+0.006*want {
				t.Errorf("%s: hint %q shows %s %g, Prometheus answers %g for %s", m[1], h.Label, n, shown, want, qs[n])
			}
		}
	}

	// A range holding only F07's line gets F07's hint alone.
	f07 := strings.Index(string(text), "func F07")
	l07 := strings.Count(string(text[:f07]), "\n")
	if got := hints(s, l07, l07); len(got) != 1 || int(got[0].Position.Line) != l07 {
		t.Errorf("hints for line %d alone: %+v, want F07's only", l07, got)
	}

	off := start(false)
	openAt(t, off, file, f07)
	off.waitAnalysed(t, file)
	hoverUntilNumbers(t, off, file, l07, 5)
	if got := hints(off, 0, len(lines)); len(got) != 0 {
		t.Errorf("with inlayHints off: %d hints, want none: %+v", len(got), got)
	}
}
