package promclient

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"
)

// sel renders function and module matchers of s.
func sel(s Series) string {
	return fmt.Sprintf(`function=%s,module=%s`, strconv.Quote(s.Function), strconv.Quote(s.Module))
}

func TestCallersAndObjectives(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	asked := []Series{apiHandle, fanIn, legacyParse, syncer, checkout, idle}
	snap, err := c.Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Series][]Caller{
		apiHandle: {{"ServeHTTP", "net/http", 12}, {"Retry", "example.com/shop/api", 3}},
		// Seven callers with calls, one without: the five busiest.
		fanIn: {{"Handle", "example.com/shop/api.Server", 7}, {"C6", "example.com/shop/x", 6}, {"C5", "example.com/shop/x", 5},
			{"C4", "example.com/shop/x", 4}, {"C3", "example.com/shop/x", 3}},
		// The legacy single caller label, split at its last dot.
		legacyParse: {{"main", "example.com/legacy/cmd", 2}},
		syncer:      {{"Invoice", "example.com/billing", 6}, {"Nightly", "example.com/shop/cron", 4}},
		checkout:    nil,
		idle:        nil,
	}
	for s, callers := range want {
		got := snap.Stats[s].Callers
		if len(got) != len(callers) {
			t.Errorf("%v callers = %+v, want %+v", s, got, callers)
			continue
		}
		// Prometheus's own answer per caller.
		metric, by := "function_calls_total", "caller_function, caller_module"
		if s == legacyParse {
			metric, by = "function_calls_count_total", "caller"
		}
		ref, _, err := srv.Query(context.Background(), fmt.Sprintf(`sum by (%s) (rate(%s{%s}[5m])) > 0`, by, metric, sel(s)))
		if err != nil {
			t.Fatal(err)
		}
		refRate := map[string]float64{}
		for _, smp := range ref {
			k := string(smp.Metric["caller_module"]) + "." + string(smp.Metric["caller_function"])
			if s == legacyParse {
				k = string(smp.Metric["caller"])
			}
			refRate[k] = float64(smp.Value)
		}
		if s == fanIn && len(refRate) != 7 {
			t.Errorf("Prometheus has %d callers of %v with calls, want 7", len(refRate), s)
		}
		for i, w := range callers {
			g := got[i]
			if g.Function != w.Function || g.Module != w.Module || !sameNumber(g.RequestRate, w.RequestRate) {
				t.Errorf("%v caller %d = %+v, want %+v", s, i, g, w)
			}
			if r := refRate[w.Module+"."+w.Function]; !sameNumber(g.RequestRate, r) {
				t.Errorf("%v caller %v rate %v, Prometheus answers %v", s, w.Function, g.RequestRate, r)
			}
		}
	}

	objectives := map[Series][]Objective{
		apiHandle: {{Name: "api", Percentile: 99, LatencyThreshold: 0}, {Name: "api", Percentile: 99, LatencyThreshold: 0.1}},
		fanIn:     {{Name: "db", Percentile: 99.9, LatencyThreshold: 0.1}}, // latency only: the calls counter has no percentile
		syncer:    {{Name: "sync", Percentile: 99, LatencyThreshold: 0}},
		checkout:  nil,
	}
	for s, w := range objectives {
		st := snap.Stats[s]
		if fmt.Sprint(st.Objectives) != fmt.Sprint(w) {
			t.Errorf("%v objectives = %v, want %v", s, st.Objectives, w)
		}
		if len(w) == 0 && st.Objective != nil || len(w) > 0 && (st.Objective == nil || *st.Objective != w[0]) {
			t.Errorf("%v objective = %v, want the first of %v", s, st.Objective, w)
		}
	}
	if got := snap.Stats[fanIn]; !sameNumber(got.RequestRate, 28) || !sameNumber(got.ErrorRatio, 1.5/28) || !sameNumber(got.Concurrent, 2) {
		t.Errorf("fanIn stats = %+v", got)
	}
}

// checkSLO compares an SLOStatus with what it should be.
func checkSLO(t *testing.T, what string, got SLOStatus, source string, measured, burn, remaining float64) {
	t.Helper()
	m := got.SuccessRate
	other := got.LatencyAttainment
	if got.Objective.IsLatency() {
		m, other = other, m
	}
	if got.Source != source || !sameNumber(m, measured) || !math.IsNaN(other) || !sameNumber(got.BurnRate, burn) || !sameNumber(got.ErrorBudgetRemaining, remaining) {
		t.Errorf("%s = %+v; want source %q, measured %v, burn rate %v, budget remaining %v", what, got, source, measured, burn, remaining)
	}
}

// With recording rules for the objective the series carry, the numbers are the rules', and
// equal Prometheus's answer to the same ratios written over the raw counters.
func TestSLOFromRecordingRules(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{apiHandle, fanIn, syncer})
	if err != nil {
		t.Fatal(err)
	}
	raw := func(obj, extra, window string) float64 {
		t.Helper()
		calls := fmt.Sprintf(`function_calls_total{objective_name=%q,service_name="shop"%s}`, obj, extra)
		return promValue(t, srv, fmt.Sprintf(`sum(rate(%s[%s])) / sum(rate(%s[%s]))`,
			calls[:len(calls)-1]+`,result="error"}`, window, calls, window))
	}
	rawLatency := func(obj, pct, le, window string) float64 {
		t.Helper()
		m := fmt.Sprintf(`objective_name=%q,objective_percentile=%q,service_name="shop"`, obj, pct)
		return promValue(t, srv, fmt.Sprintf(`1 - sum(rate(function_calls_duration_seconds_bucket{%s,le=%q}[%s])) / sum(rate(function_calls_duration_seconds_count{%s}[%s]))`, m, le, window, m, window))
	}
	rule := func(name, obj, pct, slo string) float64 {
		t.Helper()
		return promValue(t, srv, fmt.Sprintf(`%s{objective_name=%q,objective_percentile=%q,service_name="shop",sloth_slo=%q}`, name, obj, pct, slo))
	}

	// Success: Handle makes 15 calls/s, 2 errors/s.
	errs := 2.0 / 15
	if r5, r30 := raw("api", `,objective_percentile="99"`, "5m"), raw("api", `,objective_percentile="99"`, "30d"); !sameNumber(r5, errs) || !sameNumber(r30, errs) {
		t.Fatalf("Prometheus's error ratios %v, %v; the data no longer says %v", r5, r30, errs)
	}
	got := c.SLO(snap, apiHandle, Objective{Name: "api", Percentile: 99, LatencyThreshold: 0})
	checkSLO(t, "api success", got, SourceRecordingRules, 1-errs, errs/(1-0.99), 1-errs/(1-0.99))
	if got.Window != 5*time.Minute || got.BudgetPeriod != 30*24*time.Hour {
		t.Errorf("windows %v, %v; want 5m, 30d", got.Window, got.BudgetPeriod)
	}
	if ref := 1 - rule("slo:sli_error:ratio_rate5m", "api", "99", "success-rate-99"); !sameNumber(got.SuccessRate, ref) {
		t.Errorf("success rate %v, the rule says %v", got.SuccessRate, 1-ref)
	}
	if ref := rule("slo:current_burn_rate:ratio", "api", "99", "success-rate-99"); !sameNumber(got.BurnRate, ref) {
		t.Errorf("burn rate %v, the rule says %v", got.BurnRate, ref)
	}
	if ref := rule("slo:period_error_budget_remaining:ratio", "api", "99", "success-rate-99"); !sameNumber(got.ErrorBudgetRemaining, ref) {
		t.Errorf("budget remaining %v, the rule says %v", got.ErrorBudgetRemaining, ref)
	}

	// Latency: 9.6 of the 15 calls/s take at most 0.1s.
	slow := 1 - 9.6/15
	if r := rawLatency("api", "99", "0.1", "5m"); !sameNumber(r, slow) {
		t.Fatalf("Prometheus's share of slow calls %v, want %v", r, slow)
	}
	got = c.SLO(snap, apiHandle, Objective{Name: "api", Percentile: 99, LatencyThreshold: 0.1})
	checkSLO(t, "api latency", got, SourceRecordingRules, 1-slow, slow/(1-0.99), 1-slow/(1-0.99))
	if ref := rule("slo:period_error_budget_remaining:ratio", "api", "99", "latency-99"); !sameNumber(got.ErrorBudgetRemaining, ref) {
		t.Errorf("latency budget remaining %v, the rule says %v", got.ErrorBudgetRemaining, ref)
	}

	// A latency-only objective at 99.9: half the calls are slower than 0.1s.
	if r := rawLatency("db", "99.9", "0.1", "30d"); !sameNumber(r, 0.5) {
		t.Fatalf("Prometheus's share of slow db calls %v, want 0.5", r)
	}
	checkSLO(t, "db latency", c.SLO(snap, fanIn, Objective{Name: "db", Percentile: 99.9, LatencyThreshold: 0.1}), SourceRecordingRules, 0.5, 0.5/(1-0.999), 1-0.5/(1-0.999))

	// The same function in two services: the rules of the first service of the series.
	checkSLO(t, "sync success", c.SLO(snap, syncer, Objective{Name: "sync", Percentile: 99, LatencyThreshold: 0}), SourceRecordingRules, 0.5, 0.5/(1-0.99), 1-0.5/(1-0.99))
}

// Objectives the series do not carry (from the code's directive) are computed from the series'
// own counters over the window, as Prometheus computes the same ratios.
func TestSLOFromRawCounters(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{checkout, apiHandle, fanIn, idle, mainRun})
	if err != nil {
		t.Fatal(err)
	}
	m := sel(checkout)
	success := 1 - promValue(t, srv, fmt.Sprintf(`sum(rate(function_calls_total{%s,result="error"}[5m])) / sum(rate(function_calls_total{%s}[5m]))`, m, m))
	if !sameNumber(success, 0.95) {
		t.Fatalf("Prometheus's success rate %v, want 0.95", success)
	}
	got := c.SLO(snap, checkout, Objective{Name: "checkout", Percentile: 99, LatencyThreshold: 0})
	checkSLO(t, "checkout success", got, SourceRawCounters, success, (1-success)/(1-0.99), 1-(1-success)/(1-0.99))
	if got.Window != 5*time.Minute || got.BudgetPeriod != 5*time.Minute {
		t.Errorf("windows %v, %v; want the client's", got.Window, got.BudgetPeriod)
	}

	within := promValue(t, srv, fmt.Sprintf(`sum(rate(function_calls_duration_seconds_bucket{%s,le="0.05"}[5m])) / sum(rate(function_calls_duration_seconds_count{%s}[5m]))`, m, m))
	if !sameNumber(within, 2.0/3) {
		t.Fatalf("Prometheus's share within 50ms %v, want 2/3", within)
	}
	checkSLO(t, "checkout latency", c.SLO(snap, checkout, Objective{Name: "checkout", Percentile: 95, LatencyThreshold: 0.05}), SourceRawCounters, within, (1-within)/(1-0.95), 1-(1-within)/(1-0.95))
	// 0.03s is no bucket bound: linear between the 0.025 (1/3 of the calls) and 0.05 (2/3) buckets.
	checkSLO(t, "checkout latency 30ms", c.SLO(snap, checkout, Objective{Name: "checkout", Percentile: 99, LatencyThreshold: 0.03}), SourceRawCounters, 0.4, 0.6/(1-0.99), 1-0.6/(1-0.99))

	nan := math.NaN()
	// Above the highest finite bound nothing is known; nor without calls or histogram.
	checkSLO(t, "checkout latency 20s", c.SLO(snap, checkout, Objective{Name: "checkout", Percentile: 99, LatencyThreshold: 20}), "", nan, nan, nan)
	checkSLO(t, "idle success", c.SLO(snap, idle, Objective{Name: "idle", Percentile: 99, LatencyThreshold: 0}), "", nan, nan, nan)
	checkSLO(t, "missing", c.SLO(snap, missing, Objective{Name: "x", Percentile: 99, LatencyThreshold: 0}), "", nan, nan, nan)
	checkSLO(t, "bad percentile", c.SLO(snap, checkout, Objective{Name: "x", Percentile: 100, LatencyThreshold: 0}), "", nan, nan, nan)
	checkSLO(t, "nil snapshot", c.SLO(nil, checkout, Objective{Name: "x", Percentile: 99, LatencyThreshold: 0}), "", nan, nan, nan)

	// Another objective than the one the series carry: their own counters, not the rules.
	checkSLO(t, "api other objective", c.SLO(snap, apiHandle, Objective{Name: "other", Percentile: 99, LatencyThreshold: 0}), SourceRawCounters, 13.0/15, (2.0/15)/(1-0.99), 1-(2.0/15)/(1-0.99))
	// The db objective at another percentile: the rules do not apply either.
	checkSLO(t, "db at 99", c.SLO(snap, fanIn, Objective{Name: "db", Percentile: 99, LatencyThreshold: 0.1}), SourceRawCounters, 0.5, 0.5/(1-0.99), 1-0.5/(1-0.99))
}

func TestAttainment(t *testing.T) {
	inf := math.Inf(1)
	bs := []bucket{{0.1, 2}, {0.5, 6}, {1, 8}, {inf, 10}}
	nan := math.NaN()
	for _, tc := range []struct {
		threshold, want float64
	}{
		{0.1, 0.2}, {0.05, 0.1}, {0.3, 0.4}, {1, 0.8}, {0.5 + 1e-12, 0.6}, {2, nan},
	} {
		if got := attainment(bs, tc.threshold); !sameNumber(got, tc.want) {
			t.Errorf("attainment at %v = %v, want %v", tc.threshold, got, tc.want)
		}
	}
	for _, bad := range [][]bucket{nil, {{inf, 3}}, {{0.1, 0}, {inf, 0}}, {{0.1, 1}, {1, 2}}} {
		if got := attainment(bad, 0.1); !math.IsNaN(got) {
			t.Errorf("attainment(%v) = %v, want NaN", bad, got)
		}
	}
}
