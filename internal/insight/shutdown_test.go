package insight

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type startObserver struct{ started chan string }

func (o startObserver) AnalysisStarted(path string) {
	select {
	case o.started <- path:
	default:
	}
}
func (startObserver) AnalysisFinished(string)         {}
func (startObserver) NumbersUpdated()                 {}
func (startObserver) AnalysisDegraded(string, string) {}

// withFakeGo puts first on PATH a `go` shell script whose body body(its directory) returns, and
// returns testdata/demo/api/handle.go and its text.
func withFakeGo(t *testing.T, body func(bin string) string) (string, []byte) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\n"+body(bin)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	file, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "api", "handle.go"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, text
}

// Closing the workspace while an analysis runs (a normal shutdown) cancels it without a warning.
func TestCloseDuringAnalysisIsNotAWarning(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	file, text := withFakeGo(t, func(string) string { return "touch " + started + "; exec sleep 30" })
	var logs syncBuffer
	docs := textdoc.NewStore()
	w := NewWorkspace(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), docs)
	obs := startObserver{started: make(chan string, 1)}
	w.SetObserver(obs)
	docs.Open(file, 1, string(text))
	w.Changed(file)
	select {
	case <-obs.started:
	case <-time.After(time.Minute):
		t.Fatal("the analysis never started")
	}
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) { // the go command is running
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the analysis never ran the go command; logs:\n%s", logs.String())
		}
	}
	w.Close()
	for start := time.Now(); !strings.Contains(logs.String(), "analysis cancelled"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the cancelled analysis never ended; logs:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("shutdown logged a warning:\n%s", logs.String())
	}
}

// A load that outlasts the loader's timeout gives a syntax-only result at first; once the work
// it stopped waiting for ends, the file is analysed again without any edit and gets types.
func TestAnalysisRetriesWhenTheAbandonedLoadSettles(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	// The first go command waits until the test releases it (a minute at most); the later ones
	// are the real go command, which the loader's timeout leaves 2 s (a load of the demo's api
	// package takes about half a second on a quiet machine; a retry that times out on a busy
	// one is retried again once it settled, with the type cache filled).
	var release string
	file, text := withFakeGo(t, func(bin string) string {
		marker := filepath.Join(bin, "slow-once")
		release = filepath.Join(bin, "release")
		return "if [ ! -e " + marker + " ]; then touch " + marker + "; i=0; while [ ! -e " + release + " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; fi\n" +
			"exec " + realGo + " \"$@\""
	})
	docs := textdoc.NewStore()
	docs.Open(file, 1, string(text))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newAnalyses(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), docs, &notifier{}, func([]*analysis.Package) {})
	a.loader.Timeout = 2 * time.Second
	a.changed(file)
	sawSyntaxOnly := false
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("no typed analysis after the slow load ended (syntax-only seen first: %v)", sawSyntaxOnly)
		}
		fa, ok := a.current(file, 1)
		if !ok || fa.pkg == nil {
			continue
		}
		if fa.pkg.Degraded != "" {
			if !sawSyntaxOnly {
				sawSyntaxOnly = true
				if err := os.WriteFile(release, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		break
	}
	if !sawSyntaxOnly {
		t.Error("the first load did not time out: the test shows nothing")
	}
}

// Closing the workspace while the workspace-wide SLO sweep analyses the roots is no warning
// either, the sweep's go command has ended when Close returns, and the sweep publishes nothing
// for the cancelled analysis.
func TestCloseDuringSweepAnalysisIsNotAWarning(t *testing.T) {
	marked := markChildren(t)
	started := filepath.Join(t.TempDir(), "started")
	file, _ := withFakeGo(t, func(string) string { return "touch " + started + "; exec sleep 30" })
	var logs syncBuffer
	w := NewWorkspace(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), textdoc.NewStore())
	s := config.Defaults(func(string) string { return "" })
	s.PrometheusURL = "http://127.0.0.1:1" // never asked: the analysis does not end
	if err := w.Configure(s); err != nil {
		t.Fatal(err)
	}
	var published atomic.Int32
	sweep := NewSweep(w, func(map[string][]SLOProblem) { published.Add(1) })
	sweep.SetRoots([]string{filepath.Dir(filepath.Dir(file))})
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the sweep never ran the go command; logs:\n%s", logs.String())
		}
	}
	w.Close()
	if procs := marked(); len(procs) > 0 {
		t.Errorf("the sweep's go command still runs after Close returned: %+v", procs)
	}
	time.Sleep(200 * time.Millisecond) // the sweep's goroutine sees the cancellation
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("shutdown logged a warning:\n%s", logs.String())
	}
	if n := published.Load(); n != 0 {
		t.Errorf("the cancelled sweep published %d reports", n)
	}
}

// loadGoroutines returns the stacks of the goroutines running a load's go command or type
// checks: in analysis.Loader.check or a checkSession method (the goroutines they start run
// closures that call those; one that returned from them is only exiting).
func loadGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, frame := range []string{"analysis.(*Loader).check(", "analysis.runGo(", "analysis.(*checkSession).exportData(",
			"analysis.(*checkSession).checkRoot(", "analysis.(*checkSession).checkDependency(", "analysis.(*checkSession).importsData("} {
			if strings.Contains(g, frame) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// markChildren puts a marker in the environment that every process the test starts inherits,
// and returns a function that finds those still running (killed at the end of the test).
func markChildren(t *testing.T) func() []childproc.Process {
	marker := fmt.Sprintf("AM_LSP_TEST_MARKER=%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
	name, value, _ := strings.Cut(marker, "=")
	t.Setenv(name, value)
	marked := func() []childproc.Process {
		return childproc.Find(func(p childproc.Process) bool { return strings.Contains(p.Environ, "\x00"+marker+"\x00") })
	}
	t.Cleanup(func() { childproc.Kill(marked()) })
	return marked
}

// typeCacheFiles returns the files of the type cache under dir (temporary ones included).
func typeCacheFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// Close waits for the workspace SLO sweep's loads as for the editor's: closed while the sweep
// type-checks the demo module's dependencies into an empty type cache, it returns only once no
// go command the workspace started still runs, no goroutine is left checking types, and nothing
// more is written to the type cache. This holds whether the sweep still waits for its load or
// gave up waiting (the loader's Timeout) while the load goes on to fill the type cache.
func TestCloseWaitsForTheSweepsLoads(t *testing.T) {
	t.Run("while the sweep waits", func(t *testing.T) { closeDuringSweepLoad(t, 0) })
	t.Run("after the sweep gave up waiting", func(t *testing.T) { closeDuringSweepLoad(t, time.Millisecond) })
}

// closeDuringSweepLoad closes a workspace whose sweep (with loads bounded by timeout, 0 for the
// default) type-checks the demo module into an empty type cache, and checks that nothing of
// the load is left.
func closeDuringSweepLoad(t *testing.T, timeout time.Duration) {
	for start := time.Now(); len(loadGoroutines()) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("loads of earlier tests still run:\n%s", strings.Join(loadGoroutines(), "\n\n"))
		}
	}
	// An empty type cache, so that the sweep type-checks for a while; the go command's own build
	// cache stays where it is.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	types := filepath.Join(cacheHome, "am-lsp", "types")
	// Every go command the workspace starts inherits the marker.
	marked := markChildren(t)

	demo, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	w := NewWorkspace(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), textdoc.NewStore())
	w.analyses.loader.Timeout = timeout // the sweep's loaders take the editor's
	s := config.Defaults(func(string) string { return "" })
	s.PrometheusURL = "http://127.0.0.1:1" // nothing listens: fetches fail at once
	if err := w.Configure(s); err != nil {
		t.Fatal(err)
	}
	NewSweep(w, func(map[string][]SLOProblem) {}).SetRoots([]string{demo})
	// The first export data in the cache: the go command has listed the packages and the type
	// checks of the dependencies are under way. With a timeout, the sweep stopped waiting for
	// them and went on with syntax-only packages, whose fetch failed.
	for start := time.Now(); len(typeCacheFiles(types)) == 0 || (timeout > 0 && !strings.Contains(logs.String(), "fetch failed")); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("the sweep never wrote the type cache (or, with a timeout, fetched); logs:\n%s", logs.String())
		}
	}
	if len(loadGoroutines()) == 0 {
		t.Fatal("the load had ended before Close: the test shows nothing")
	}
	closeStart := time.Now()
	w.Close()
	took := time.Since(closeStart)
	left := loadGoroutines()
	procs := marked()
	written := typeCacheFiles(types)
	t.Logf("Close took %v; %d type cache files", took, len(written))
	if len(left) > 0 {
		t.Errorf("%d goroutines of a load still run after Close returned, such as:\n%s", len(left), left[0])
	}
	for _, p := range procs {
		t.Errorf("a go command the workspace started still runs after Close returned: %d %s", p.PID, p.Cmdline)
	}
	// Nothing still running may write the cache later: give it time to show.
	time.Sleep(time.Second)
	if later := typeCacheFiles(types); len(later) != len(written) {
		t.Errorf("the type cache had %d files when Close returned and %d a second later", len(written), len(later))
	}
}
