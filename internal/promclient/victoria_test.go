package promclient

import (
	"context"
	"testing"

	"github.com/am-lsp/am-lsp/internal/promfixture"
)

// VictoriaMetrics loaded with the same data gives the same numbers as Prometheus, with the same
// number of queries.
func TestVictoriaMetricsSameNumbers(t *testing.T) {
	srv := sharedServer(t)
	vm := promfixture.StartVictoriaMetricsT(t, sharedData())
	t.Logf("victoria-metrics started in %v", vm.StartupTime)
	asked := []Series{apiHandle, checkout, mainRun, legacyParse, yamlUnm, idle, pay, plusAdd, odd, missing}
	want, err := newClient(t, Config{URL: srv.URL}).Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	before := queryCount(t, vm)
	got, err := newClient(t, Config{URL: vm.URL}).Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if n := queryCount(t, vm) - before; n != QueriesPerFetch {
		t.Errorf("%d queries, want %d", n, QueriesPerFetch)
	}
	if len(got.Stats) != len(want.Stats) || len(got.Warnings) != 0 {
		t.Errorf("%d stats, warnings %q; want %d stats, no warnings", len(got.Stats), got.Warnings, len(want.Stats))
	}
	for s, w := range want.Stats {
		g := got.Stats[s]
		for _, k := range allKinds {
			if !sameNumber(statOf(g, k), statOf(w, k)) {
				t.Errorf("%v %v: victoria-metrics %v, prometheus %v", s, k, statOf(g, k), statOf(w, k))
			}
		}
		if g.ServiceName != w.ServiceName || g.Version != w.Version {
			t.Errorf("%v: service, version %q, %q; prometheus %q, %q", s, g.ServiceName, g.Version, w.ServiceName, w.Version)
		}
	}
}
