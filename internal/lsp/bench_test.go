package lsp

import (
	"context"
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
