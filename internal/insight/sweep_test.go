package insight

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// countingHandler counts the log records whose message starts with prefix and, unless pkg is
// empty, whose packages attribute (comma-separated import paths) names pkg.
type countingHandler struct {
	prefix, pkg string
	mu          sync.Mutex
	n           int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, h.prefix) {
		return nil
	}
	named := h.pkg == ""
	r.Attrs(func(a slog.Attr) bool {
		named = named || a.Key == "packages" && slices.Contains(strings.Split(a.Value.String(), ","), h.pkg)
		return !named
	})
	if named {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}

func (h *countingHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// demoWithBackend returns a context bounded to three minutes, the demo module's directory, its
// functions, and a real Prometheus serving their series.
func demoWithBackend(t *testing.T) (context.Context, string, []demodata.Function, *promfixture.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	demo, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	opts, fns, err := demodata.Build(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, demo, fns, promfixture.StartT(t, opts)
}

// A backend outage is no recovery: with the demo's breached SLOs reported and then Prometheus
// stopped, sweeps whose fetches fail keep every file's problems and report no change.
func TestSweepKeepsProblemsWhileTheBackendIsDown(t *testing.T) {
	ctx, demo, fns, prom := demoWithBackend(t)
	// The demo's breached SLOs (Aliased: latency; (*Server).Handle: success rate).
	want := breachedFiles(t, fns, demo, demo)

	failures := &countingHandler{prefix: "workspace SLO sweep: fetch failed", pkg: "example.com/demo/api"}
	w := workspaceOn(t, slog.New(failures), prom.URL, time.Second)
	var mu sync.Mutex
	var reports []map[string][]SLOProblem
	sweep := NewSweep(w, func(changed map[string][]SLOProblem) {
		mu.Lock()
		reports = append(reports, changed)
		mu.Unlock()
	})
	sweep.minPeriod = 200 * time.Millisecond
	sweep.SetRoots([]string{demo})

	breached := func() bool {
		for file := range want {
			list := sweep.Problems(file)
			if len(list) == 0 || !list[0].Breached {
				return false
			}
		}
		return true
	}
	for !breached() {
		if ctx.Err() != nil {
			t.Fatalf("no breached SLO problems for %v", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := map[string]string{}
	for file := range want {
		before[file] = sweep.Problems(file)[0].Message
	}
	mu.Lock()
	seen := len(reports)
	mu.Unlock()

	if err := prom.Stop(); err != nil {
		t.Fatal(err)
	}
	// Two sweeps whose fetch of the package failed: the first has reported by the time the
	// second fetch fails.
	start := failures.count()
	for failures.count() < start+2 {
		if ctx.Err() != nil {
			t.Fatalf("no failed sweep after Prometheus stopped (%d failures logged)", failures.count())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for file, name := range want {
		list := sweep.Problems(file)
		if len(list) == 0 || list[0].Message != before[file] {
			t.Errorf("%s: problems %v while the backend is down, want the last answer's %q", name, list, before[file])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, changed := range reports[seen:] {
		for file, list := range changed {
			if _, ok := want[file]; ok {
				t.Errorf("%s: reported %d problems while the backend is down, want no report", want[file], len(list))
			}
		}
	}
}

// The sweep fetches the packages of the workspace together: the demo's five instrumented
// packages cost one fetch (QueriesPerFetch queries), not one per package, and give the same
// problems as ever.
func TestSweepFetchesThePackagesTogether(t *testing.T) {
	ctx, demo, _, prom := demoWithBackend(t)
	w := workspaceOn(t, nil, prom.URL, time.Hour)
	before, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reported := make(chan map[string][]SLOProblem, 10)
	sweep := NewSweep(w, func(changed map[string][]SLOProblem) { reported <- changed })
	sweep.SetRoots([]string{demo})
	var changed map[string][]SLOProblem
	select {
	case changed = <-reported:
	case <-ctx.Done():
		t.Fatal("the sweep reported nothing")
	}
	files := map[string]bool{}
	for file, list := range changed {
		if len(list) > 0 {
			files[filepath.Base(filepath.Dir(file))] = true
		}
	}
	if !files["api"] {
		t.Fatalf("no problems reported in the api package (the demo's breached SLOs): %v", changed)
	}
	after, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := after - before; n != promclient.QueriesPerFetch {
		t.Fatalf("one sweep of the demo sent %d queries, want %d (one fetch for every package)", n, promclient.QueriesPerFetch)
	}
}

// Groups hold at most groupSeries series, in the packages' order; a package with more is a
// group of its own, and packages without series are left out.
func TestPackageGroups(t *testing.T) {
	pkgWith := func(path string, n int) *analysis.Package {
		p := &analysis.Package{Path: path}
		for i := range n {
			name := fmt.Sprintf("F%d", i)
			p.Functions = append(p.Functions, &analysis.Function{Name: name, PkgPath: path, Instrumentation: analysis.Generated, Labels: analysis.Labels{Function: name, Module: path}})
		}
		return p
	}
	pkgs := []*analysis.Package{pkgWith("a", 150), pkgWith("b", 40), pkgWith("none", 0), pkgWith("c", 10), pkgWith("d", 250), pkgWith("e", 1)}
	var got []string
	for _, g := range packageGroups(pkgs, sloSeriesOfPackage) {
		if len(g.batch) > groupSeries && len(g.pkgs) > 1 {
			t.Errorf("group %s holds %d series", g.paths(), len(g.batch))
		}
		got = append(got, fmt.Sprintf("%s:%d", g.paths(), len(g.batch)))
	}
	want := []string{"a,b,c:200", "d:250", "e:1"}
	if !slices.Equal(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
}

// The report fetches the packages it reads together too: ./... of the demo costs one fetch,
// and every function's numbers are there.
func TestReportFetchesThePackagesTogether(t *testing.T) {
	ctx, demo, fns, prom := demoWithBackend(t)
	client, err := promclient.New(promclient.Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	before, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	views, err := Report(ctx, &analysis.Loader{Dir: demo}, Links{Prom: client}, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	after, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	packages := map[string]bool{}
	for _, v := range views {
		if v.Status != StatusOK && v.Status != StatusNoSeries {
			t.Errorf("%s: status %v (%s)", v.Function.QualifiedName(), v.Status, v.Reason)
		}
		packages[v.Function.PkgPath] = true
	}
	if len(views) < len(fns) || len(packages) < 2 {
		t.Fatalf("%d views in %d packages, want the demo's %d functions", len(views), len(packages), len(fns))
	}
	// What one fetch of every series of the demo costs, asked by a fresh client.
	pkgs, err := (&analysis.Loader{Dir: demo}).LoadPatterns(ctx, []string{"./..."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []promclient.Series
	for _, p := range pkgs {
		all = append(all, SeriesOfPackage(p)...)
	}
	fresh, err := promclient.New(promclient.Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Fetch(ctx, all); err != nil {
		t.Fatal(err)
	}
	once, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := after-before, once-after; n != want || want > 2*promclient.QueriesPerFetch {
		t.Fatalf("the report of %d packages sent %d queries; one fetch of all their series sends %d", len(packages), n, want)
	}
}

// A sweep whose analysis gave syntax-only packages (here the go command cannot finish within
// the loads' 1ns timeout) analyses the roots again once the load it stopped waiting for has
// ended, without a file changing, and reports the problems of the typed packages.
func TestSweepReloadsAfterAProvisionalAnalysis(t *testing.T) {
	ctx, demo, fns, prom := demoWithBackend(t)
	want := breachedFiles(t, fns, demo, demo)
	w := workspaceOn(t, nil, prom.URL, time.Second)
	sweep := NewSweep(w, nil)
	sweep.minPeriod = 200 * time.Millisecond
	sweep.loadTimeout = time.Nanosecond
	sweep.SetRoots([]string{demo})

	state := func() (pkgs []*analysis.Package, loads int) {
		sweep.mu.Lock()
		defer sweep.mu.Unlock()
		return sweep.loaded[demo], sweep.loads
	}
	for {
		if pkgs, _ := state(); pkgs != nil {
			for _, p := range pkgs {
				if !strings.Contains(p.Degraded, "did not finish") || p.Settled == nil {
					t.Fatalf("%s: degraded %q, settled %v after a load with a 1ns timeout", p.Path, p.Degraded, p.Settled)
				}
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no sweep analysis")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sweep.mu.Lock()
	sweep.loadTimeout = 2 * time.Minute
	sweep.mu.Unlock()

	typed := func() bool {
		pkgs, loads := state()
		if loads < 2 || len(pkgs) == 0 {
			return false
		}
		for _, p := range pkgs {
			if p.Degraded != "" {
				return false
			}
		}
		for file := range want {
			if list := sweep.Problems(file); len(list) == 0 || !list[0].Breached {
				return false
			}
		}
		return true
	}
	for !typed() {
		if ctx.Err() != nil {
			pkgs, loads := state()
			t.Fatalf("after %d analyses, no typed one with the breached problems: %d packages, first degraded %q", loads, len(pkgs), pkgs[0].Degraded)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A workspace that never type-checks (its go.mod is broken, the go command fails) is analysed
// again, but less and less often: the delays between its analyses double.
func TestSweepBacksOffAWorkspaceThatNeverTypeChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/broken\n\ngo 1.21\n\nrequire (\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := workspaceOn(t, nil, "http://127.0.0.1:1", 50*time.Millisecond)
	sweep := NewSweep(w, nil)
	sweep.minPeriod = 100 * time.Millisecond
	sweep.SetRoots([]string{dir})

	var first time.Time
	for {
		sweep.mu.Lock()
		loads, last, pkgs := sweep.loads, sweep.provisional[dir].at, sweep.loaded[dir]
		sweep.mu.Unlock()
		if loads == 1 && first.IsZero() {
			first = last
			if len(pkgs) == 0 || !strings.Contains(pkgs[0].Degraded, "go command failed") {
				t.Fatalf("the broken module's analysis: %d packages, %+v", len(pkgs), pkgs)
			}
		}
		if loads >= 4 {
			if first.IsZero() {
				t.Fatal("the first analysis was not seen")
			}
			// At least 100 + 200 + 400 ms between the first and the fourth.
			if floor := 700 * time.Millisecond; last.Sub(first) < floor {
				t.Fatalf("4 analyses in %v, want the delays to double (at least %v)", last.Sub(first), floor)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%d analyses of a workspace that does not type-check within a minute, want it analysed again", loads)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		period time.Duration
		n      int
		want   time.Duration
	}{
		{time.Second, 1, time.Second}, {time.Second, 2, 2 * time.Second}, {time.Second, 4, 8 * time.Second},
		{time.Second, 10, 512 * time.Second}, {time.Second, 11, sweepRetryMax}, {time.Second, 1000, sweepRetryMax}, {time.Hour, 3, time.Hour},
	} {
		if got := retryDelay(c.period, c.n); got != c.want {
			t.Errorf("retryDelay(%v, %d) = %v, want %v", c.period, c.n, got, c.want)
		}
	}
}

// Workspace folder changes apply to the roots as given: cleaned, each once, in order; removing
// a directory that is not a root changes nothing.
func TestChangeRoots(t *testing.T) {
	w := NewWorkspace(slog.New(slog.DiscardHandler), textdoc.NewStore())
	defer w.Close()
	sweep := NewSweep(w, func(map[string][]SLOProblem) {})
	sweep.SetRoots([]string{"/a", "/b/", "/a/"})
	sweep.ChangeRoots([]string{"/c", "/a", ""}, []string{"/b", "/x"})
	if got, want := sweep.Roots(), []string{"/a", "/c"}; !slices.Equal(got, want) {
		t.Fatalf("roots %v, want %v", got, want)
	}
	sweep.ChangeRoots(nil, []string{"/a/", "/c"})
	if got := sweep.Roots(); len(got) != 0 {
		t.Fatalf("roots %v after removing both, want none", got)
	}
}

// A folder change listing a huge number of folders (a hostile or broken client; a notification
// may be 64 MiB) is applied in time linear in its size: the ordered messages behind it, and
// the sweep's lock, are not held for minutes. When every addition searched the roots, 40,000
// folders took 3 s and 300,000 would take minutes; now 1.2 s. The bound only catches a hang.
func TestChangeRootsOfHugeLists(t *testing.T) {
	w := NewWorkspace(slog.New(slog.DiscardHandler), textdoc.NewStore())
	defer w.Close()
	sweep := NewSweep(w, func(map[string][]SLOProblem) {})
	dirs := make([]string, 300_000)
	for i := range dirs {
		dirs[i] = fmt.Sprintf("/nonexistent/am-lsp-test/folder%07d", i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweep.ChangeRoots(append(dirs, dirs...), nil)
		sweep.ChangeRoots(nil, dirs[1:])
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ChangeRoots of 300,000 folders did not return within 30 s")
	}
	if got := sweep.Roots(); len(got) != 1 || got[0] != dirs[0] {
		t.Fatalf("roots after adding 300,000 folders twice and removing all but the first: %d, want only %s", len(got), dirs[0])
	}
}

// workspaceOn returns a workspace that logs to log (nil: nowhere) and reads its numbers from url,
// cached for ttl; it is closed when the test ends.
func workspaceOn(t *testing.T, log *slog.Logger, url string, ttl time.Duration) *Workspace {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := NewWorkspace(log, textdoc.NewStore())
	t.Cleanup(w.Close)
	s := config.Defaults(func(string) string { return "" })
	s.PrometheusURL, s.CacheTTL = url, ttl
	if err := w.Configure(s); err != nil {
		t.Fatal(err)
	}
	return w
}
