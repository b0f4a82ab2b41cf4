package insight

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
)

// breachedFiles returns the files (under dir instead of the demo's directory) of the demo's
// breached SLOs, Aliased (latency) and (*Server).Handle (success rate), by function name.
func breachedFiles(t *testing.T, fns []demodata.Function, demo, dir string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for _, f := range fns {
		if f.PkgPath == "example.com/demo/api" && (f.QualifiedName() == "Aliased" || f.QualifiedName() == "(*Server).Handle") {
			rel, err := filepath.Rel(demo, f.NameSpan.File)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.Join(dir, rel)] = f.QualifiedName()
		}
	}
	if len(want) != 2 {
		t.Fatalf("demo functions Aliased and (*Server).Handle not found: %v", want)
	}
	return want
}

// reportLog records the sweep's reports.
type reportLog struct {
	mu      sync.Mutex
	reports []map[string][]SLOProblem
}

func (r *reportLog) add(changed map[string][]SLOProblem) {
	r.mu.Lock()
	r.reports = append(r.reports, changed)
	r.mu.Unlock()
}

func (r *reportLog) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reports)
}

// since returns the reports after the first n.
func (r *reportLog) since(n int) []map[string][]SLOProblem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string][]SLOProblem(nil), r.reports[n:]...)
}

// waitBreached waits until every file of want has a breached problem.
func waitBreached(ctx context.Context, t *testing.T, sweep *Sweep, want map[string]string) {
	t.Helper()
	for {
		all := true
		for file := range want {
			if list := sweep.Problems(file); len(list) == 0 || !list[0].Breached {
				all = false
			}
		}
		if all {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no breached SLO problems for %v", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweepState returns the analyses made so far and the provisional state of root.
func sweepState(sweep *Sweep, root string) (loads int, r provisionalLoad, provisional bool) {
	sweep.mu.Lock()
	defer sweep.mu.Unlock()
	r, provisional = sweep.provisional[root]
	return sweep.loads, r, provisional
}

// A reload that fails outright is no recovery: with the demo's breached SLOs reported and its
// go.mod then broken mid-edit (no readable module line: the go command fails, and syntax alone
// cannot name the module the series carry), the sweep keeps the last good analysis and its
// problems, reports no change, warns once over several failed reloads, and, once go.mod is
// repaired, analyses the root again without a file change notification (the provisional
// retry) and holds a good analysis again.
func TestSweepKeepsTheLastGoodAnalysisWhenAReloadFails(t *testing.T) {
	ctx, demo, fns, prom := demoWithBackend(t)
	base := t.TempDir()
	root := filepath.Join(base, "demo")
	if err := demodata.CopyTree(demo, root); err != nil {
		t.Fatal(err)
	}
	if err := demodata.CopyTree(filepath.Join(filepath.Dir(demo), "autometrics-go"), filepath.Join(base, "autometrics-go")); err != nil {
		t.Fatal(err)
	}
	want := breachedFiles(t, fns, demo, root)

	warnings := &countingHandler{prefix: "workspace SLO sweep: analysis failed, keeping"}
	w := workspaceOn(t, slog.New(warnings), prom.URL, time.Second)
	reports := &reportLog{}
	sweep := NewSweep(w, reports.add)
	sweep.minPeriod = 200 * time.Millisecond
	sweep.SetRoots([]string{root})
	waitBreached(ctx, t, sweep, want)
	loads, _, _ := sweepState(sweep, root)
	seen := reports.len()

	gomod := filepath.Join(root, "go.mod")
	intact, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gomod, []byte("modul"), 0o644); err != nil {
		t.Fatal(err)
	}
	sweep.FilesChanged()
	// Two failed reloads: the sweep that made the first has reported by the second.
	for {
		n, r, _ := sweepState(sweep, root)
		if n >= loads+2 && r.n >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d analyses after go.mod broke, want 2 more than %d", n, loads)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for file, name := range want {
		if list := sweep.Problems(file); len(list) == 0 || !list[0].Breached {
			t.Errorf("%s: problems %v after a failed reload, want the last good analysis's breach", name, list)
		}
	}
	for _, changed := range reports.since(seen) {
		for file, list := range changed {
			if name, ok := want[file]; ok {
				t.Errorf("%s: reported %d problems after a failed reload, want no report", name, len(list))
			}
		}
	}
	if n := warnings.count(); n != 1 {
		t.Errorf("%d warnings over failed reloads in a row, want 1", n)
	}

	if err := os.WriteFile(gomod, intact, 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, provisional := sweepState(sweep, root); !provisional {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the root was not analysed again after go.mod was repaired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sweep.mu.Lock()
	pkgs := sweep.loaded[root]
	sweep.mu.Unlock()
	if !good(pkgs) {
		t.Fatalf("after go.mod was repaired: %d packages, failed %v", len(pkgs), failed(pkgs, nil))
	}
	waitBreached(ctx, t, sweep, want)
}

// A file change notified while a reload runs is not lost: the reload may predate the change,
// so another one follows without a further notification.
func TestSweepReloadsAfterAChangeDuringAReload(t *testing.T) {
	ctx, demo, _, prom := demoWithBackend(t)
	w := workspaceOn(t, nil, prom.URL, time.Second)
	sweep := NewSweep(w, nil)
	sweep.minPeriod = 200 * time.Millisecond
	sweep.SetRoots([]string{demo})
	waitLoads := func(n int) {
		t.Helper()
		// The bound only catches a reload that never comes (a period is 1 s).
		deadline := time.Now().Add(30 * time.Second)
		for {
			loads, _, provisional := sweepState(sweep, demo)
			if provisional {
				t.Fatal("the demo's analysis is provisional: reloads would come without a change")
			}
			if loads >= n {
				return
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				t.Fatalf("%d analyses, want %d", loads, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLoads(1)
	calls := 0 // the sweep's goroutine only
	sweep.mu.Lock()
	sweep.afterLoad = func(string) {
		if calls++; calls == 1 {
			sweep.FilesChanged() // a file saved while the reload ran
		}
	}
	sweep.mu.Unlock()
	sweep.FilesChanged()
	waitLoads(3)
}

// The same folder given as a symlink and as its real path is analysed once, and its problems
// are reported under the path given first only; once that one is removed, they move to the
// other path (the folder is analysed under it), and the first path's are cleared.
func TestSweepAnalysesASymlinkedFolderOnce(t *testing.T) {
	ctx, demo, fns, prom := demoWithBackend(t)
	link := filepath.Join(t.TempDir(), "demo")
	if err := os.Symlink(demo, link); err != nil {
		t.Fatal(err)
	}
	real, linked := breachedFiles(t, fns, demo, demo), breachedFiles(t, fns, demo, link)
	w := workspaceOn(t, nil, prom.URL, time.Hour)
	reports := &reportLog{}
	sweep := NewSweep(w, reports.add)
	sweep.SetRoots([]string{link, demo})
	breached := func(files map[string]string) bool {
		for file := range files {
			if list := sweep.Problems(file); len(list) == 0 || !list[0].Breached {
				return false
			}
		}
		return true
	}
	for !breached(linked) && !breached(real) {
		if ctx.Err() != nil {
			t.Fatalf("no breached SLO problems for %v", linked)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !breached(linked) {
		t.Errorf("no breached SLO problems under the path given first (%s)", link)
	}
	if loads, _, _ := sweepState(sweep, link); loads != 1 {
		t.Errorf("%d analyses of one folder given twice, want 1", loads)
	}
	for _, changed := range reports.since(0) {
		for file, list := range changed {
			if !strings.HasPrefix(file, link+string(filepath.Separator)) {
				t.Errorf("%d problems reported under %s, want them under the path given first (%s) only", len(list), file, link)
			}
		}
	}
	if t.Failed() {
		return
	}

	seen := reports.len()
	sweep.ChangeRoots(nil, []string{link})
	waitBreached(ctx, t, sweep, real)
	cleared := map[string]bool{}
	for {
		for _, changed := range reports.since(seen) {
			for file, list := range changed {
				if _, ok := linked[file]; ok && len(list) == 0 {
					cleared[file] = true
				}
			}
		}
		if len(cleared) == len(linked) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("problems under the removed path not cleared: %v of %v", cleared, linked)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
