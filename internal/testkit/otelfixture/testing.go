package otelfixture

import (
	"context"
	"errors"
	"testing"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
)

// StartT starts the pipeline for a test and stops it in t.Cleanup. When the collector or
// Prometheus is missing the test is skipped, except in CI (CI=true), where that is a failure.
func StartT(t testing.TB, opts Options) *Pipeline {
	t.Helper()
	p, err := Start(context.Background(), opts)
	if errors.Is(err, ErrNoCollector) || errors.Is(err, promfixture.ErrNotInstalled) {
		if ci.Enabled() {
			t.Fatalf("%v: CI must have it", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stopping the pipeline: %v", err)
		}
	})
	return p
}
