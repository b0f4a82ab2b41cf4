package lsp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// BenchmarkWarmHover measures a hover on an instrumented method through the whole JSON-RPC
// path (framing, dispatch, analysis lookup, cached numbers, markdown), with the numbers already
// prefetched from a real Prometheus. Run: go test -run '^$' -bench WarmHover ./internal/lsp/
func BenchmarkWarmHover(b *testing.B) {
	prom, fns := demoBackend(b, nil)
	s := startInitialized(b, prom.URL, map[string]any{"cacheTtl": "1h"})
	fn := demoFunction(b, fns, "example.com/demo/api", "(*Server).Handle")
	line, char := openAt(b, s, fn.NameSpan.File, fn.NameSpan.Start+1)
	hoverUntilNumbers(b, s, fn.NameSpan.File, line, char)
	s.waitAnalysed(b, fn.NameSpan.File)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		card, err := s.client.Hover(ctx, fn.NameSpan.File, line, char)
		if err != nil || !strings.Contains(card, "req/s") {
			b.Fatalf("hover: %v\n%s", err, card)
		}
	}
}

// BenchmarkWarmHoverCallSite is BenchmarkWarmHover on a call in another package (main calling
// api.Handle): the typed resolution of the call and the callee's package batch.
func BenchmarkWarmHoverCallSite(b *testing.B) {
	prom, fns := demoBackend(b, nil)
	s := startInitialized(b, prom.URL, map[string]any{"cacheTtl": "1h"})
	callee := demoFunction(b, fns, "example.com/demo/api", "Handle")
	mainFile := filepath.Join(filepath.Dir(filepath.Dir(callee.NameSpan.File)), "main.go")
	src, err := os.ReadFile(mainFile)
	if err != nil {
		b.Fatal(err)
	}
	call := strings.Index(string(src), `api.Handle("42")`)
	if call < 0 {
		b.Fatal("no api.Handle call in main.go")
	}
	line, char := openAt(b, s, mainFile, call+len("api.H"))
	hoverUntilNumbers(b, s, mainFile, line, char)
	s.waitAnalysed(b, mainFile)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		card, err := s.client.Hover(ctx, mainFile, line, char)
		if err != nil || !strings.Contains(card, "req/s") {
			b.Fatalf("hover: %v\n%s", err, card)
		}
	}
}

// BenchmarkCodeLensHugeDocument measures the CodeLens answer of a 2 MB generated file (about
// 6 500 instrumented functions, read from syntax alone) through the whole JSON-RPC path, test
// client's decoding included, once the lenses say the backend is unreachable (the bench
// command's huge-document case). Run: go test -run '^$' -bench CodeLensHugeDocument -benchmem ./internal/lsp/
func BenchmarkCodeLensHugeDocument(b *testing.B) {
	src, _ := largeSource(2 << 20)
	dir := b.TempDir()
	file := filepath.Join(dir, "large.go")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/large\n\ngo 1.26\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	s := startInitialized(b, closedPortURL, nil)
	if err := s.client.Open(file, src); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	want := strings.Count(src, "//autometrics:inst")
	params := map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file)}}
	var lenses []codeLensResult
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if err := s.client.Call(ctx, "textDocument/codeLens", params, &lenses); err != nil {
			b.Fatal(err)
		}
		if len(lenses) == want && strings.Contains(lenses[want-1].Command.Title, "unreachable") {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no settled CodeLenses within a minute: %d of %d", len(lenses), want)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		lenses = nil
		if err := s.client.Call(ctx, "textDocument/codeLens", params, &lenses); err != nil || len(lenses) != want {
			b.Fatalf("%d CodeLenses, want %d: %v", len(lenses), want, err)
		}
	}
}
