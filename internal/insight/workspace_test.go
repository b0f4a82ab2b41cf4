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
