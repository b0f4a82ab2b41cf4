package promclient

import (
	"context"
	"fmt"
	"testing"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// VictoriaMetrics loaded with the same data (its recording rules replayed by vmalert) gives the
// same numbers, callers, objectives, SLO statuses and trends as Prometheus, with the same
// number of queries.
func TestVictoriaMetricsSameNumbers(t *testing.T) {
	srv := sharedServer(t)
	vm := promfixture.StartVictoriaMetricsT(t, sharedData())
	t.Logf("victoria-metrics started in %v", vm.StartupTime)
	asked := []Series{apiHandle, checkout, mainRun, legacyParse, yamlUnm, idle, pay, plusAdd, odd, fanIn, syncer, missing}
	for _, extra := range [][]string{nil, {`service_name="shop"`}} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			pc := newClient(t, Config{URL: srv.URL, ExtraMatchers: extra})
			vc := newClient(t, Config{URL: vm.URL, ExtraMatchers: extra})
			want, err := pc.Fetch(context.Background(), asked)
			if err != nil {
				t.Fatal(err)
			}
			wantTrend, err := pc.FetchTrend(context.Background(), asked)
			if err != nil {
				t.Fatal(err)
			}
			before := queryCount(t, vm)
			got, err := vc.Fetch(context.Background(), asked)
			if err != nil {
				t.Fatal(err)
			}
			gotTrend, err := vc.FetchTrend(context.Background(), asked)
			if err != nil {
				t.Fatal(err)
			}
			if n := queryCount(t, vm) - before; n != QueriesPerFetch+QueriesPerTrend {
				t.Errorf("%d queries, want %d", n, QueriesPerFetch+QueriesPerTrend)
			}
			if len(got.Stats) != len(want.Stats) || len(got.Warnings) != 0 || len(gotTrend.Warnings) != 0 {
				t.Errorf("%d stats, warnings %q %q; want %d stats, no warnings", len(got.Stats), got.Warnings, gotTrend.Warnings, len(want.Stats))
			}
			rules := 0
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
				if !sameCallers(g.Callers, w.Callers) || fmt.Sprint(g.Objectives) != fmt.Sprint(w.Objectives) {
					t.Errorf("%v: callers %v, objectives %v; prometheus %v, %v", s, g.Callers, g.Objectives, w.Callers, w.Objectives)
				}
				for _, o := range append(w.Objectives, Objective{Name: "directive", Percentile: 99, LatencyThreshold: 0}, Objective{Name: "directive", Percentile: 95, LatencyThreshold: 0.05}) {
					gs, ws := vc.SLO(got, s, o), pc.SLO(want, s, o)
					if gs.Source != ws.Source || !sameNumber(gs.SuccessRate, ws.SuccessRate) || !sameNumber(gs.LatencyAttainment, ws.LatencyAttainment) ||
						!sameNumber(gs.BurnRate, ws.BurnRate) || !sameNumber(gs.ErrorBudgetRemaining, ws.ErrorBudgetRemaining) {
						t.Errorf("%v SLO %v: victoria-metrics %+v, prometheus %+v", s, o, gs, ws)
					}
					if ws.Source == SourceRecordingRules {
						rules++
					}
				}
				gt, wt := gotTrend.Series[s], wantTrend.Series[s]
				if len(gt.RequestRate) != wantTrend.Points {
					t.Errorf("%v: trend of %d points", s, len(gt.RequestRate))
					continue
				}
				// The two compute rates differently where the window is not full of data.
				for i := range wt.RequestRate {
					if fullWindow(srv, wantTrend, i) && (!sameNumber(gt.RequestRate[i], wt.RequestRate[i]) || !sameNumber(gt.ErrorRatio[i], wt.ErrorRatio[i])) {
						t.Errorf("%v trend point %d: victoria-metrics %v, %v; prometheus %v, %v", s, i, gt.RequestRate[i], gt.ErrorRatio[i], wt.RequestRate[i], wt.ErrorRatio[i])
					}
				}
			}
			if !gotTrend.Start.Equal(wantTrend.Start) && gotTrend.Start.Sub(wantTrend.Start) != wantTrend.Step {
				t.Errorf("trend starts %v and %v", gotTrend.Start, wantTrend.Start)
			}
			if rules < 3 {
				t.Errorf("%d SLO statuses from recording rules: the data no longer has them", rules)
			}
		})
	}
}

func sameCallers(a, b []Caller) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Function != b[i].Function || a[i].Module != b[i].Module || !sameNumber(a[i].RequestRate, b[i].RequestRate) {
			return false
		}
	}
	return true
}
