package insight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// replacerLensTitle is LensTitle as it was written before titles were rendered from a compiled
// template: one strings.Replacer per title. The tests hold the template to it.
func replacerLensTitle(v View, format string) string {
	if v.Status != StatusOK {
		return LensTitle(v, format) // the reasons did not change
	}
	return v.Incident.lensMarkers() + strings.NewReplacer(
		"{rate}", FormatRate(v.Stats.RequestRate),
		"{errors}", FormatRatio(v.Stats.ErrorRatio),
		"{p95}", FormatLatency(v.Stats.P95),
		"{p99}", FormatLatency(v.Stats.P99),
		"{concurrent}", FormatCount(v.Stats.Concurrent),
	).Replace(format)
}

// lensFormats are CodeLens templates that try the placeholder scan: repeats, placeholders in
// and next to braces, cut-off and unknown ones, none at all, non-ASCII text.
var lensFormats = []string{
	config.DefaultCodeLensFormat,
	"{rate}", "{rate}{rate}", "{{rate}}", "{rat{rate}e}", "{p9{p99}}", "{p95}{p99}{concurrent}{errors}{rate}",
	"{concurrent", "concurrent}", "{}", "{unknown} {rate", "no placeholders", "$(pulse) {rate} · ✓ {errors} … {p99}",
	"{RATE} {Rate} { rate}", "{errors}errors{errors}", "}{rate}{",
}

// The compiled template renders every title as the strings.Replacer it replaces, numbers that
// are NaN, zero or large included, with and without incident markers.
func TestLensFormatRendersAsTheReplacer(t *testing.T) {
	fn := handleMethod(analysis.Generated)
	client := testClient(t, "http://127.0.0.1:9")
	stats := []promclient.Stats{
		{RequestRate: 4, ErrorRatio: 0.25, P95: 0.1, P99: 0.243, Concurrent: 2},
		{RequestRate: math.NaN(), ErrorRatio: math.NaN(), P95: math.NaN(), P99: math.Inf(1), Concurrent: math.NaN()},
		{RequestRate: 0, ErrorRatio: 0, P95: 0, P99: 0, Concurrent: 0},
		{RequestRate: 12345.6, ErrorRatio: 0.00012, P95: 2.5, P99: 0.9996, Concurrent: 123456},
	}
	incident := &FunctionIncident{
		Alerts: []promclient.Alert{{Name: "Burn", State: "firing"}},
		Deploy: &promclient.Deploy{Current: promclient.Version{Version: "v2"}, Regression: "error ratio up"},
	}
	n := 0
	for _, st := range stats {
		v := Explain(fn, Links{Prom: client}, &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{SeriesOf(fn): st}}, nil)
		for _, inc := range []*FunctionIncident{nil, incident} {
			v.Incident = inc
			for _, f := range lensFormats {
				if got, want := LensTitle(v, f), replacerLensTitle(v, f); got != want {
					t.Errorf("format %q, stats %+v: title %q, the replacer gives %q", f, st, got, want)
				}
				n++
			}
		}
	}
	down := Explain(fn, Links{Prom: client}, &promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.Unreachable, Err: errors.New("refused")}}, nil)
	if got := LensTitle(down, "{rate}"); got != "Autometrics: no data (Prometheus unreachable)" {
		t.Errorf("down: %q", got)
	}
	if n != len(stats)*2*len(lensFormats) {
		t.Errorf("%d titles compared", n)
	}
}

// fullLenses is what Lenses answered before it left the links out: every function's full View
// (Views, WithIncident), titled by the strings.Replacer, with each format. It reads the same
// package and cached numbers as Lenses.
func fullLenses(w *Workspace, path string, version int32, formats []string) (lenses map[string][]Lens, warnings []SLOWarning) {
	b := w.numbers.backend()
	pkg := w.analyses.packageForLens(path, version)
	if pkg == nil || b.client == nil {
		return nil, nil
	}
	batch := SeriesOfPackage(pkg)
	snap, _ := b.client.Cached(batch)
	inc, _ := b.client.CachedIncident(batch)
	jump := TargetPrometheus
	if b.links.Grafana != "" {
		jump = TargetGrafana
	}
	lenses = map[string][]Lens{}
	for _, fn := range pkg.Measured() {
		if fn.NameSpan.File != path {
			continue
		}
		views := Views(fn, b.links, snap, nil)
		for _, v := range views {
			v = v.WithIncident(inc, b.links)
			if len(v.Links) != 5 || len(v.Jumps) == 0 {
				panic(fmt.Sprintf("a full View of %s lacks links: %v %v", fn.QualifiedName(), v.Links, v.Jumps))
			}
			for _, f := range formats {
				title := replacerLensTitle(v, f)
				if v.Span && len(views) > 1 && v.Status == StatusOK {
					title = spanLensPrefix + title
				}
				lenses[f] = append(lenses[f], Lens{Function: fn, Series: v.Series, Title: title, Jump: jump})
			}
			for _, s := range v.SLOs {
				if p, ok := problemOf(v, s, b.settings.BurnRateThreshold); ok {
					warnings = append(warnings, SLOWarning{Function: fn, Message: p.Message, Href: b.links.ObjectivesURL(), Breached: p.Breached})
				}
			}
		}
	}
	return lenses, warnings
}

// demoFiles returns the Go files of the demo module.
func demoFiles(t *testing.T, demo string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(demo, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The CodeLens titles (and the SLO warnings) built without links are those of the full Views,
// for every function of the demo module, Autometrics and span Views, with every template: with
// the numbers of a real Prometheus during an incident (firing alert, regression, breached SLOs),
// and with a backend that refuses connections.
func TestLensTitlesEqualThoseOfTheFullViews(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	demo, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	opts, _, err := demodata.Build(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	prom := promfixture.StartT(t, demodata.WithIncident(opts, time.Now()))
	for _, backend := range []struct{ name, url string }{{"prometheus", prom.URL}, {"refused", refusedURL(t)}} {
		t.Run(backend.name, func(t *testing.T) {
			docs := textdoc.NewStore()
			w := NewWorkspace(slog.New(slog.DiscardHandler), docs)
			defer w.Close()
			s := config.Defaults(func(string) string { return "" })
			s.PrometheusURL, s.CacheTTL, s.GrafanaURL = backend.url, time.Hour, "http://grafana.example:3000"
			if err := w.Configure(s); err != nil {
				t.Fatal(err)
			}
			files := demoFiles(t, demo)
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				docs.Open(f, 1, string(src))
				w.Changed(f)
			}
			// Settled: every file analysed with types, no title waiting for numbers and, from
			// Prometheus, the incident's alert in a title.
			settled := func() bool {
				incident := false
				for _, f := range files {
					if !w.Analysed(f) {
						return false
					}
					for _, l := range w.Lenses(f, 1) {
						if strings.HasSuffix(l.Title, "loading…") {
							return false
						}
						incident = incident || strings.HasPrefix(l.Title, "🔥 "+demodata.IncidentAlert)
					}
				}
				return incident || backend.name == "refused"
			}
			for !settled() {
				if ctx.Err() != nil {
					t.Fatal("the demo's lenses did not settle")
				}
				time.Sleep(50 * time.Millisecond)
			}
			counts := map[string]int{}
			for _, f := range files {
				want, wantWarnings := fullLenses(w, f, 1, lensFormats)
				got := w.Lenses(f, 1)
				if !slices.Equal(got, want[config.DefaultCodeLensFormat]) {
					t.Errorf("%s: lenses\n%+v\nthe full Views give\n%+v", filepath.Base(f), got, want[config.DefaultCodeLensFormat])
				}
				if gotWarnings := w.SLOWarnings(f, 1); !slices.Equal(gotWarnings, wantWarnings) {
					t.Errorf("%s: SLO warnings\n%+v\nthe full Views give\n%+v", filepath.Base(f), gotWarnings, wantWarnings)
				}
				counts["warnings"] += len(wantWarnings)
				// Every template, on the Views Lenses titles.
				var views []View
				w.lensViews(f, 1, w.numbers.backend(), func(_ *analysis.Function, vs []View) { views = append(views, vs...) })
				for _, format := range lensFormats {
					compiled := compileLensFormat(format)
					for i, v := range views {
						title := compiled.title(v)
						if v.Span && v.Status == StatusOK && i > 0 && views[i-1].Function == v.Function {
							title = spanLensPrefix + title
						}
						if i >= len(want[format]) || title != want[format][i].Title {
							t.Errorf("%s, format %q: lens %d %q, the full View's %+v", filepath.Base(f), format, i, title, want[format])
						}
					}
				}
				for _, l := range got {
					switch {
					case strings.Contains(l.Title, "req/s"):
						counts["numbers"]++
					case strings.Contains(l.Title, "unreachable"):
						counts["unreachable"]++
					}
					if l.Series.IsSpan() {
						counts["spans"]++
					}
				}
			}
			t.Logf("%s: %v", backend.name, counts)
			if backend.name == "prometheus" && (counts["numbers"] < 10 || counts["spans"] == 0 || counts["warnings"] == 0) {
				t.Errorf("the demo's lenses lack numbers, spans or SLO warnings: %v", counts)
			}
			if backend.name == "refused" && counts["unreachable"] < 10 {
				t.Errorf("the demo's lenses do not say the backend is unreachable: %v", counts)
			}
		})
	}
}

// hugeSource is a generated Go file of at least size bytes of instrumented functions F0, F1…,
// as the bench command's huge-document measure writes it. It returns the text and how many
// functions it declares.
func hugeSource(size int) (string, int) {
	var sb strings.Builder
	sb.WriteString("// Package huge is a generated file of instrumented functions.\npackage huge\n\nimport \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n")
	n := 0
	for ; sb.Len() < size; n++ {
		fmt.Fprintf(&sb, "\n// F%d is instrumented.\n//\n//autometrics:inst\nfunc F%d() int {\n\tamCtx := autometrics.PreInstrument(autometrics.NewContext(\n\t\tnil,\n\t\tautometrics.WithConcurrentCalls(true),\n\t\tautometrics.WithCallerName(true),\n\t)) //autometrics:shadow-ctx\n\tdefer autometrics.Instrument(amCtx, nil) //autometrics:defer\n\n\treturn %d\n}\n", n, n, n)
	}
	return sb.String(), n
}

// BenchmarkLensesHugeDocument measures the CodeLens answer of a 2 MB generated file (about 6 500
// instrumented functions, read from syntax alone) once its analysis is recorded, with a backend
// that refuses connections (the bench command's huge-document case). Run:
// go test -run '^$' -bench LensesHugeDocument -benchmem ./internal/insight/
func BenchmarkLensesHugeDocument(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/huge\n\ngo 1.22\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	src, n := hugeSource(2 << 20)
	path := filepath.Join(dir, "huge.go")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	docs := textdoc.NewStore()
	w := NewWorkspace(slog.New(slog.NewTextHandler(io.Discard, nil)), docs)
	b.Cleanup(w.Close)
	s, err := config.Merge(config.Defaults(nil), []byte(`{"prometheusUrl": "`+refused+`", "cacheTtl": "1h"}`))
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Configure(s); err != nil {
		b.Fatal(err)
	}
	docs.Open(path, 1, src)
	w.Changed(path)
	// Until the analysis is recorded and the failed fetch cached, the answer changes.
	want := "Autometrics: no data (Prometheus unreachable)"
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		_, analysed := w.analyses.current(path, 1)
		lenses := w.Lenses(path, 1)
		if analysed && len(lenses) == n && lenses[n-1].Title == want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no settled lenses within a minute: analysed %v, %d lenses of %d", analysed, len(lenses), n)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if lenses := w.Lenses(path, 1); len(lenses) != n {
			b.Fatalf("%d lenses, want %d", len(lenses), n)
		}
	}
}
