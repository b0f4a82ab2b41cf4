package insight

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
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
// either, and the sweep publishes nothing for the cancelled analysis.
func TestCloseDuringSweepAnalysisIsNotAWarning(t *testing.T) {
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
	time.Sleep(200 * time.Millisecond) // the sweep's goroutine sees the cancellation
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("shutdown logged a warning:\n%s", logs.String())
	}
	if n := published.Load(); n != 0 {
		t.Errorf("the cancelled sweep published %d reports", n)
	}
}
