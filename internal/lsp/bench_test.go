package lsp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
