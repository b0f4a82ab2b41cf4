package insight

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// A function with a directive that sets nothing and one without a directive render different
// cards (the directive note), so their keys differ; so do two degraded reasons.
func TestCardKeysTellApartWhatTheCardShows(t *testing.T) {
	bare := handleMethod(analysis.Generated)
	withDirective := handleMethod(analysis.Generated)
	withDirective.Directive = &analysis.Directive{Verb: "inst"}
	if newCardKey(bare, Links{}, hoverNumbers{}, "") == newCardKey(withDirective, Links{}, hoverNumbers{}, "") {
		t.Errorf("no directive and an empty directive share a card key")
	}
	if newCardKey(bare, Links{}, hoverNumbers{}, "go.mod broken") == newCardKey(bare, Links{}, hoverNumbers{}, "timeout") {
		t.Errorf("two degraded reasons share a card key")
	}
	if newCardKey(bare, Links{}, hoverNumbers{}, "") != newCardKey(handleMethod(analysis.Generated), Links{}, hoverNumbers{}, "") {
		t.Errorf("the same function and numbers give different card keys")
	}
}

// Waiting for an analysis starts one when no worker runs, but keeps the syntax readings: the
// text did not change.
func TestAwaitingAnalysisKeepsSyntaxReadings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.go")
	docs := textdoc.NewStore()
	docs.Open(path, 1, "package m\n\nfunc F() {}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newAnalyses(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), docs, &notifier{}, func([]*analysis.Package) {})
	a.wait = 50 * time.Millisecond
	if len(a.syntaxOf(path)) == 0 {
		t.Fatal("no syntax reading")
	}
	gen := a.syntaxGen
	a.awaitCurrent(ctx, path, 1)
	a.mu.Lock()
	_, cached := a.syntax[path]
	started := len(a.workers) > 0 || len(a.files) > 0
	a.mu.Unlock()
	if !cached || a.syntaxGen != gen {
		t.Errorf("awaiting the analysis dropped the syntax readings")
	}
	if !started {
		t.Errorf("awaiting the analysis of an idle file did not start one")
	}
	// The analysis it started arrives (and its worker ends before the directory goes).
	a.wait = time.Minute
	if fa, ok := a.awaitCurrent(ctx, path, 1); !ok || fa.pkg == nil {
		t.Errorf("no analysis of version 1 arrived: %+v", fa)
	}
	a.changed(path)
	if a.syntaxGen == gen {
		t.Errorf("a change kept the syntax readings")
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		a.mu.Lock()
		idle := len(a.workers) == 0
		a.mu.Unlock()
		if idle || time.Now().After(deadline) {
			break
		}
	}
}

// A syntax reading is shared: callers of syntaxOf at once get one reading, and the background
// analysis of the same text uses it (a file beyond MaxAnalysedBytes is recorded as that reading,
// which says why it has no types). After an edit it reads anew.
func TestSyntaxReadingsAreShared(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/huge\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "huge.go")
	src, n := hugeSource(MaxAnalysedBytes + 1)
	docs := textdoc.NewStore()
	docs.Open(path, 1, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var loaded [][]*analysis.Package
	a := newAnalyses(ctx, slog.New(slog.DiscardHandler), docs, &notifier{}, func(p []*analysis.Package) { loaded = append(loaded, p) })

	const callers = 4
	got := make(chan []*analysis.Package, callers)
	for range callers {
		go func() { got <- a.syntaxOf(path) }()
	}
	first := <-got
	if len(first) != 1 || len(first[0].Measured()) != n {
		t.Fatalf("syntax reading: %d packages", len(first))
	}
	for range callers - 1 {
		if p := <-got; len(p) != 1 || p[0] != first[0] {
			t.Errorf("concurrent callers got different readings")
		}
	}

	a.analyse(path) // what the file's worker runs, here on the test's goroutine (none is started)
	if len(loaded) != 2 || loaded[0][0] != first[0] {
		t.Fatalf("the analysis read the text again instead of using the syntax reading")
	}
	fa, ok := a.current(path, 1)
	if !ok || fa.pkg != first[0] || fa.pkg.Degraded != largeReason(path) {
		t.Errorf("recorded analysis: %+v", fa)
	}

	// An edit (what changed does, without starting a worker): the next reading is a new one, and
	// the analysis uses that one.
	docs.Open(path, 2, src+"\n")
	a.mu.Lock()
	a.dropSyntaxLocked()
	a.mu.Unlock()
	second := a.syntaxOf(path)
	if second[0] == first[0] {
		t.Fatalf("the reading of version 1 answered for version 2")
	}
	a.analyse(path)
	if len(loaded) != 4 || loaded[2][0] != second[0] {
		t.Errorf("the analysis of version 2 did not use its syntax reading")
	}
}
