package promclient

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// Autometrics functions with the Sloth-generated SLO rules of spec §5, read as a span's Sloth
// SLOs are: the budget period from slo:time_period:days (28d for api; none for sync, then
// Sloth's default 30d, said to be assumed), a latency SLO by the word "latency" in sloth_slo
// (pay's rules are named pay-latency-95, not latency-95), and ExtraMatchers applied to the
// rule series that carry their label only (the rules are sums without job). Every number is
// the rules' answer from Prometheus.
func TestAutometricsSLORulesLikeSloth(t *testing.T) {
	api := Series{Function: "Handle", Module: "example.com/shop/api"}
	sync := Series{Function: "Sync", Module: "example.com/shop/cron"}
	pay := Series{Function: "Pay", Module: "example.com/shop/pay"}
	opts := promfixture.Options{
		Now: time.Now(), Before: 30 * time.Minute, After: 90 * time.Minute, RuleInterval: 4 * time.Minute,
		Functions: []promfixture.Function{
			{Function: api.Function, Module: api.Module, CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.01, 0.05, 0.2, 0.5},
				ObjectiveName: "api", ObjectivePercentile: "99", ObjectiveLatencyThreshold: "0.1", ServiceName: "shop"},
			{Function: sync.Function, Module: sync.Module, CallsPerSec: 2, ErrorsPerSec: 1, Latencies: []float64{0.01},
				ObjectiveName: "sync", ObjectivePercentile: "99.9", ServiceName: "shop"},
			{Function: pay.Function, Module: pay.Module, CallsPerSec: 5, ErrorsPerSec: 1, Latencies: []float64{0.05, 0.2},
				ObjectiveName: "pay", ObjectivePercentile: "95", ObjectiveLatencyThreshold: "0.1", ServiceName: "shop"},
		},
	}
	for _, set := range []struct{ days, pct string }{{"28", "99"}, {"", "99.9"}, {"30", "95"}} {
		rules, err := promfixture.SLORulesWithPeriod(set.days, set.pct)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if r.Labels["sloth_slo"] == "latency-95" {
				l := map[string]string{}
				for k, v := range r.Labels {
					l[k] = v
				}
				l["sloth_slo"], l["sloth_id"] = "pay-latency-95", "autometrics-pay-latency-95"
				r.Labels = l
			}
			opts.RecordingRules = append(opts.RecordingRules, r)
		}
	}
	srv, err := promfixture.Start(context.Background(), opts)
	skipOrFail(t, err)
	t.Cleanup(func() { _ = srv.Stop() })

	rule := func(name, obj, slo string) float64 {
		t.Helper()
		v := promValue(t, srv, fmt.Sprintf(`%s{objective_name=%q,sloth_slo=%q}`, name, obj, slo))
		if math.IsNaN(v) {
			t.Fatalf("Prometheus has no %s of %s %s", name, obj, slo)
		}
		return v
	}
	// fromRules checks a status against the rules of sloth_slo slo, and its period.
	fromRules := func(what string, got SLOStatus, obj, slo string, period time.Duration, assumed bool) {
		t.Helper()
		checkSLO(t, what, got, SourceRecordingRules, 1-rule(ruleSLIError, obj, slo), rule(ruleBurnRate, obj, slo), rule(ruleBudgetRemaining, obj, slo))
		if got.Window != 5*time.Minute || got.BudgetPeriod != period || got.BudgetPeriodAssumed != assumed {
			t.Errorf("%s: window %v, period %v (assumed %v); want 5m, %v (assumed %v)", what, got.Window, got.BudgetPeriod, got.BudgetPeriodAssumed, period, assumed)
		}
	}
	apiSuccess, apiLatency := Objective{Name: "api", Percentile: 99}, Objective{Name: "api", Percentile: 99, LatencyThreshold: 0.1}
	syncSuccess := Objective{Name: "sync", Percentile: 99.9}
	paySuccess, payLatency := Objective{Name: "pay", Percentile: 95}, Objective{Name: "pay", Percentile: 95, LatencyThreshold: 0.1}
	if d := promValue(t, srv, `slo:time_period:days{sloth_slo="success-rate-99"}`); d != 28 {
		t.Fatalf("Prometheus's period of success-rate-99 %v, want 28", d)
	}
	if d := promValue(t, srv, `slo:time_period:days{sloth_slo="success-rate-99.9"}`); !math.IsNaN(d) {
		t.Fatalf("Prometheus has a period of success-rate-99.9: %v", d)
	}
	if d := promValue(t, srv, `slo:time_period:days{sloth_slo="pay-latency-95"}`); d != 30 {
		t.Fatalf("Prometheus's period of pay-latency-95 %v, want 30", d)
	}

	all := []Series{api, sync, pay}
	check := func(t *testing.T, c *Client) {
		snap, err := c.Fetch(context.Background(), all)
		if err != nil {
			t.Fatal(err)
		}
		fromRules("api success", c.SLO(snap, api, apiSuccess), "api", "success-rate-99", 28*24*time.Hour, false)
		fromRules("api latency", c.SLO(snap, api, apiLatency), "api", "latency-99", 28*24*time.Hour, false)
		fromRules("sync success", c.SLO(snap, sync, syncSuccess), "sync", "success-rate-99.9", 30*24*time.Hour, true)
		fromRules("pay success", c.SLO(snap, pay, paySuccess), "pay", "success-rate-95", 30*24*time.Hour, false)
		fromRules("pay latency", c.SLO(snap, pay, payLatency), "pay", "pay-latency-95", 30*24*time.Hour, false)
	}
	t.Run("no matchers", func(t *testing.T) {
		check(t, newClient(t, Config{URL: srv.URL}))
	})
	// The calls carry job="app", the rules (sums by objective and service) do not: the
	// matcher restricts the calls, and the rules are still used.
	t.Run("a matcher on a label the rules lack", func(t *testing.T) {
		c := newClient(t, Config{URL: srv.URL, ExtraMatchers: []string{`job="app"`, `service_name="shop"`}})
		q := c.queries(Autometrics).batch(Normalize(all)).concurrent
		rules := regexp.MustCompile(`\{__name__=~"slo:[^{}]*\}`).FindAllString(q, -1)
		if len(rules) == 0 || !strings.Contains(q, `job="app"`) {
			t.Errorf("rules query %s", q)
		}
		for _, s := range rules {
			if strings.Contains(s, "job") {
				t.Errorf("the rules' selector %s has the matcher", s)
			}
		}
		check(t, c)
	})
	// A matcher on a label the rules carry applies to them: api's success rules are left
	// out (its numbers then come from its counters), its latency rules are used.
	t.Run("a matcher on a label the rules carry", func(t *testing.T) {
		c := newClient(t, Config{URL: srv.URL, ExtraMatchers: []string{`sloth_slo!="success-rate-99"`}})
		snap, err := c.Fetch(context.Background(), all)
		if err != nil {
			t.Fatal(err)
		}
		success := promValue(t, srv, `sum(rate(function_calls_total{function="Handle",result="error"}[5m])) / sum(rate(function_calls_total{function="Handle"}[5m]))`)
		checkSLO(t, "api success", c.SLO(snap, api, apiSuccess), SourceRawCounters, 1-success, success/(1-0.99), 1-success/(1-0.99))
		fromRules("api latency", c.SLO(snap, api, apiLatency), "api", "latency-99", 28*24*time.Hour, false)
	})
}

// One rule tells latency SLOs for Autometrics' and a span's Sloth rules: the word latency.
func TestIsLatencySLO(t *testing.T) {
	for name, want := range map[string]bool{
		// autometrics-shared's own names
		"latency-90": true, "latency-99_9": true, "success-rate-99": false, "success-rate-99_9": false,
		"checkout-latency": true, "latency_p99": true, "pay-latency-95": true, "API Latency": true,
		"latencyfoo": false, "checkout": false, "": false,
	} {
		if got := isLatencySLO(name); got != want {
			t.Errorf("isLatencySLO(%q) = %v, want %v", name, got, want)
		}
	}
}
