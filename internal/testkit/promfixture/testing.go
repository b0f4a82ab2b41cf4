package promfixture

import (
	"context"
	"errors"
	"testing"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
)

// StartT starts Prometheus for a test and stops it in t.Cleanup. When prometheus or promtool is
// missing the test is skipped, except in CI (environment CI=true), where that is a failure.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	return startT(t, opts, Start)
}

// StartVictoriaMetricsT is StartT for VictoriaMetrics.
func StartVictoriaMetricsT(t testing.TB, opts Options) *Server {
	t.Helper()
	return startT(t, opts, StartVictoriaMetrics)
}

func startT(t testing.TB, opts Options, start func(context.Context, Options) (*Server, error)) *Server {
	t.Helper()
	s, err := start(context.Background(), opts)
	if errors.Is(err, ErrNotInstalled) {
		if ci.Enabled() {
			t.Fatalf("%v: CI must have it (install the Debian package)", err)
		}
		t.Skipf("skipping: %v (install the Debian package to run this test)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping %s: %v", s.Backend, err)
		}
	})
	return s
}
