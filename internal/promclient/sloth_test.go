package promclient

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// Sloth-style SLOs of spans, as Sloth writes them (labels sloth_service, sloth_slo, sloth_id
// plus the SLO's own labels), recorded over backfilled span metrics: a span's SLO status comes
// from the rules of its name (span_name label, else sloth_slo) in its service, in the batch's
// queries, with the rules' numbers.
func TestSpanSLOFromSlothRules(t *testing.T) {
	opts := promfixture.Options{Now: time.Now(), Before: 30 * time.Minute, After: 90 * time.Minute}
	spans := append([]promfixture.Span{
		{Service: "billing", Name: "shop.Reserve", Kind: "SPAN_KIND_INTERNAL", CallsPerSec: 2, ErrorsPerSec: 1, Latencies: []float64{0.005}},
	}, shopSpans...)
	om, err := promfixture.SpanOpenMetrics(opts, promfixture.CollectorNaming, spans)
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraOpenMetrics = om
	calls := "traces_span_metrics_calls_total"
	sli := func(sel, window string) string {
		return `(sum(rate(` + calls + `{` + sel + `,status_code="STATUS_CODE_ERROR"}[` + window + `])) or vector(0)) / sum(rate(` + calls + `{` + sel + `}[` + window + `]))`
	}
	// slo adds the rules of one Sloth SLO: objective, 5m SLI, and optionally burn rate and
	// budget left over the 30d period.
	slo := func(service, name, sel string, objective string, extra map[string]string, withBurn bool) []promfixture.Rule {
		labels := map[string]string{"sloth_service": service, "sloth_slo": name, "sloth_id": service + "-" + name}
		for k, v := range extra {
			labels[k] = v
		}
		budget := "(1 - " + objective + ")"
		rs := []promfixture.Rule{
			{Record: promfixture.RuleObjective, Expr: "vector(" + objective + ")", Labels: labels},
			{Record: promfixture.RuleErrorBudget, Expr: "vector" + budget, Labels: labels},
			{Record: promfixture.RuleSLIErrorPrefix + "5m", Expr: sli(sel, "5m"), Labels: labels},
		}
		if withBurn {
			rs = append(rs,
				promfixture.Rule{Record: promfixture.RuleCurrentBurnRate, Expr: "(" + sli(sel, "5m") + ") / " + budget, Labels: labels},
				promfixture.Rule{Record: promfixture.RulePeriodBudgetRemaining, Expr: "1 - (" + sli(sel, "30d") + ") / " + budget, Labels: labels})
		}
		return rs
	}
	// checkout names its span through an SLO label; shop.Reserve through its name, in two
	// services; Inventory's rules have no objective.
	opts.RecordingRules = append(opts.RecordingRules, slo("shop", "checkout", `service_name="shop",span_name="shop.Checkout"`, "0.99", map[string]string{"span_name": "shop.Checkout"}, true)...)
	opts.RecordingRules = append(opts.RecordingRules, slo("shop", "shop.Reserve", `service_name="shop",span_name="shop.Reserve"`, "0.999", nil, false)...)
	opts.RecordingRules = append(opts.RecordingRules, slo("billing", "shop.Reserve", `service_name="billing",span_name="shop.Reserve"`, "0.9", nil, true)...)
	srv, err := promfixture.Start(context.Background(), opts)
	skipOrFail(t, err)
	t.Cleanup(func() { _ = srv.Stop() })

	c := newClient(t, Config{URL: srv.URL, SpanService: "shop"})
	checkout := Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: SpanAuto}
	reserve := Series{Function: "shop.Reserve", Module: "SPAN_KIND_INTERNAL", Source: SpanAuto}
	lookup := Series{Function: "example.com/otelapp/shop.Lookup", Source: SpanAutoByFunction}
	ctx := context.Background()
	before, err := srv.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Fetch(ctx, []Series{checkout, reserve, lookup})
	if err != nil {
		t.Fatal(err)
	}
	after, err := srv.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Discovery, then for each of the two resolved sources (span_name, code_function_name)
	// calls and latency, the rules with the latency: no query for the rules.
	if n := after - before; n != 1+2*2 {
		t.Errorf("fetch with Sloth rules cost %d queries", n)
	}
	rule := func(record, sel string) float64 {
		t.Helper()
		return promValue(t, srv, record+`{`+sel+`}`)
	}

	got := c.SlothSLOs(snap, checkout)
	if len(got) != 1 {
		t.Fatalf("checkout SLOs %+v, want one", got)
	}
	sel := `sloth_service="shop",sloth_slo="checkout"`
	errs := rule(promfixture.RuleSLIErrorPrefix+"5m", sel)
	if !sameNumber(errs, 0.25) {
		t.Fatalf("Prometheus's checkout SLI %v; the data no longer says 1 error of 4 calls", errs)
	}
	s := got[0]
	if s.Objective != (Objective{Name: "checkout", Percentile: 99}) && !(s.Objective.Name == "checkout" && closeTo(s.Objective.Percentile, 99)) {
		t.Errorf("objective %+v, want checkout 99", s.Objective)
	}
	if s.Source != SourceRecordingRules || s.Window != 5*time.Minute || s.BudgetPeriod != 30*24*time.Hour {
		t.Errorf("source %q window %v period %v", s.Source, s.Window, s.BudgetPeriod)
	}
	if !sameNumber(s.SuccessRate, 1-errs) || !math.IsNaN(s.LatencyAttainment) {
		t.Errorf("success rate %v latency %v, the rule says %v", s.SuccessRate, s.LatencyAttainment, 1-errs)
	}
	if ref := rule(promfixture.RuleCurrentBurnRate, sel); !sameNumber(s.BurnRate, ref) || !sameNumber(ref, 25) {
		t.Errorf("burn rate %v, the rule says %v (want 25)", s.BurnRate, ref)
	}
	if ref := rule(promfixture.RulePeriodBudgetRemaining, sel); !sameNumber(s.ErrorBudgetRemaining, ref) {
		t.Errorf("budget left %v, the rule says %v", s.ErrorBudgetRemaining, ref)
	}

	// shop.Reserve: the shop service's SLO only (the span's numbers are shop's); no burn-rate
	// rule, so the burn rate is the SLI over the budget, and the budget left is unknown.
	got = c.SlothSLOs(snap, reserve)
	if len(got) != 1 || got[0].Objective.Name != "shop.Reserve" || !closeTo(got[0].Objective.Percentile, 99.9) {
		t.Fatalf("reserve SLOs %+v, want shop's shop.Reserve at 99.9", got)
	}
	ref := rule(promfixture.RuleSLIErrorPrefix+"5m", `sloth_service="shop",sloth_slo="shop.Reserve"`)
	if !sameNumber(got[0].SuccessRate, 1-ref) || !sameNumber(got[0].BurnRate, ref/(1-0.999)) || !math.IsNaN(got[0].ErrorBudgetRemaining) {
		t.Errorf("reserve %+v, rule SLI %v", got[0], ref)
	}

	// No rules name the Lookup function.
	if got := c.SlothSLOs(snap, lookup); got != nil {
		t.Errorf("lookup SLOs %+v, want none", got)
	}

	// Without a service setting, both services' shop.Reserve spans add up and both SLOs show.
	all := newClient(t, Config{URL: srv.URL})
	snap, err = all.Fetch(ctx, []Series{reserve})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.SlothSLOs(snap, reserve); len(got) != 2 || got[0].Objective.Name != "shop.Reserve" || !closeTo(got[0].Objective.Percentile, 90) || !closeTo(got[1].Objective.Percentile, 99.9) {
		t.Errorf("reserve over all services: %+v, want billing's 90 then shop's 99.9", got)
	}
}

// startSlothSpans starts a Prometheus holding promfixture.SlothShopSpans and SlothShopRules.
func startSlothSpans(t *testing.T) *promfixture.Server {
	t.Helper()
	opts := promfixture.Options{Now: time.Now(), Before: 30 * time.Minute, After: 90 * time.Minute}
	om, err := promfixture.SpanOpenMetrics(opts, promfixture.CollectorNaming, promfixture.SlothShopSpans)
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraOpenMetrics, opts.RecordingRules = om, promfixture.SlothShopRules()
	srv, err := promfixture.Start(context.Background(), opts)
	skipOrFail(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// Under the extra matcher cluster="eu" the span numbers keep to cluster eu, and the Sloth rules
// still count: those without a cluster label are used, those with one must be eu's. Rules that
// name a span but are not used are reported (SlothMiss), never taken for no rules.
func TestSlothSLOsUnderExtraMatchers(t *testing.T) {
	srv := startSlothSpans(t)
	ctx := context.Background()
	span := func(name, kind string) Series { return Series{Function: name, Module: kind, Source: SpanAuto} }
	checkout, reserve, pay := span("shop.Checkout", "SPAN_KIND_SERVER"), span("shop.Reserve", "SPAN_KIND_INTERNAL"), span("shop.Pay", "SPAN_KIND_INTERNAL")
	lookup := span("shop.Lookup", "SPAN_KIND_INTERNAL")

	eu := newClient(t, Config{URL: srv.URL, ExtraMatchers: []string{`cluster="eu"`}})
	snap, err := eu.Fetch(ctx, []Series{checkout, reserve, pay, lookup})
	if err != nil {
		t.Fatal(err)
	}
	if st := snap.Stats[checkout]; !sameNumber(st.RequestRate, 4) {
		t.Fatalf("checkout in eu: %+v, want 4 req/s (the cluster matcher keeps to eu)", st)
	}
	got := eu.SlothSLOs(snap, checkout)
	if len(got) != 2 || got[0].Objective.Name != "checkout" || got[1].Objective.Name != "checkout-latency" {
		t.Fatalf("checkout SLOs under cluster=\"eu\": %+v, want checkout and checkout-latency (their rules have no cluster label)", got)
	}
	if ref := promValue(t, srv, `slo:sli_error:ratio_rate5m{sloth_slo="checkout"}`); !sameNumber(got[0].SuccessRate, 1-ref) {
		t.Errorf("checkout success %v, the rule says %v", got[0].SuccessRate, 1-ref)
	}
	if m := eu.SlothMiss(snap, checkout); m.Services != nil || m.Excluded != nil || m.NoObjective != nil {
		t.Errorf("checkout has SLOs, yet a miss %+v", m)
	}

	// Pay's rules are per cluster: eu's (99 %) only.
	if got := eu.SlothSLOs(snap, pay); len(got) != 1 || got[0].Objective.Percentile != 99 {
		t.Errorf("pay SLOs under cluster=\"eu\": %+v, want eu's 99 %% only", got)
	}

	// Reserve's rules are in another service, or in cluster us: no SLO, and the miss says so.
	if got := eu.SlothSLOs(snap, reserve); got != nil {
		t.Errorf("reserve SLOs %+v, want none", got)
	}
	m := eu.SlothMiss(snap, reserve)
	if len(m.Services) != 1 || m.Services[0] != "billing" || len(m.Excluded) != 1 || m.Excluded[0] != `cluster="eu"` || m.NoObjective != nil {
		t.Errorf("reserve's miss %+v, want service billing and the matcher cluster=\"eu\"", m)
	}
	// No rule names Lookup: nothing to report.
	if m := eu.SlothMiss(snap, lookup); m.Services != nil || m.Excluded != nil || m.NoObjective != nil {
		t.Errorf("lookup's miss %+v, want empty (no rules name it)", m)
	}

	// Without the matcher, reserve's cluster-us rules are used: the matcher was what left them
	// out.
	all := newClient(t, Config{URL: srv.URL})
	snap, err = all.Fetch(ctx, []Series{reserve})
	if err != nil {
		t.Fatal(err)
	}
	if got := all.SlothSLOs(snap, reserve); len(got) != 1 || got[0].Objective.Name != "shop.Reserve" {
		t.Errorf("reserve SLOs without a matcher: %+v, want shop's", got)
	}
}

// A Sloth SLO's budget period is its slo:time_period:days (Sloth's 30d default only when the
// rule is absent, said by BudgetPeriodAssumed); its objective has the digits of the ratio
// without float noise; an SLO named for latency is a latency objective, measured as
// LatencyAttainment; an SLO measured exactly at its objective is not breached.
func TestSlothSLOPeriodKindDigitsAndBreach(t *testing.T) {
	srv := startSlothSpans(t)
	ctx := context.Background()
	checkout := Series{Function: "shop.Checkout", Module: "SPAN_KIND_SERVER", Source: SpanAuto}
	ship := Series{Function: "shop.Ship", Module: "SPAN_KIND_INTERNAL", Source: SpanAuto}
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(ctx, []Series{checkout, ship})
	if err != nil {
		t.Fatal(err)
	}
	got := c.SlothSLOs(snap, checkout)
	if len(got) != 2 {
		t.Fatalf("checkout SLOs %+v, want two", got)
	}
	success, latency := got[0], got[1]

	if days := promValue(t, srv, `slo:time_period:days{sloth_slo="checkout"}`); days != 28 {
		t.Fatalf("Prometheus's checkout period %v, want 28 days", days)
	}
	if success.BudgetPeriod != 28*24*time.Hour || success.BudgetPeriodAssumed {
		t.Errorf("checkout period %v (assumed %v), want slo:time_period:days's 28d", success.BudgetPeriod, success.BudgetPeriodAssumed)
	}
	if latency.BudgetPeriod != 30*24*time.Hour || !latency.BudgetPeriodAssumed {
		t.Errorf("checkout-latency period %v (assumed %v), want Sloth's default 30d, said to be assumed", latency.BudgetPeriod, latency.BudgetPeriodAssumed)
	}

	if success.Objective.Percentile != 99.999 || latency.Objective.Percentile != 99.9999 {
		t.Errorf("objectives %v and %v, want exactly 99.999 and 99.9999", success.Objective.Percentile, latency.Objective.Percentile)
	}

	if success.Objective.IsLatency() || math.IsNaN(success.SuccessRate) || !math.IsNaN(success.LatencyAttainment) {
		t.Errorf("checkout is a success objective: %+v", success)
	}
	ref := promValue(t, srv, `slo:sli_error:ratio_rate5m{sloth_slo="checkout-latency"}`)
	if !sameNumber(ref, 0.5) {
		t.Fatalf("Prometheus's latency SLI %v; the data no longer says 2 calls of 4 are slower than 100ms", ref)
	}
	if !latency.Objective.IsLatency() || latency.Objective.LatencyThreshold != 0 || !sameNumber(latency.LatencyAttainment, 1-ref) || !math.IsNaN(latency.SuccessRate) {
		t.Errorf("checkout-latency: %+v, want a latency objective of unknown threshold measured %v within it", latency, 1-ref)
	}
	if !sameNumber(latency.Measured(), 1-ref) || !sameNumber(success.Measured(), success.SuccessRate) {
		t.Errorf("measured %v and %v", latency.Measured(), success.Measured())
	}

	at := c.SlothSLOs(snap, ship)
	if len(at) != 1 {
		t.Fatalf("ship SLOs %+v, want one", at)
	}
	if sli := promValue(t, srv, `slo:sli_error:ratio_rate5m{sloth_slo="shop.Ship"}`); sli != 0.001 {
		t.Fatalf("Prometheus's ship SLI %v, want 0.001", sli)
	}
	if at[0].Breached() {
		t.Errorf("ship measures %v against %v %%: exactly the objective, not a breach", at[0].SuccessRate, at[0].Objective.Percentile)
	}
	below := at[0]
	below.SuccessRate -= 1e-6
	if !below.Breached() {
		t.Errorf("%v against %v %% is a breach", below.SuccessRate, below.Objective.Percentile)
	}
	if success.Breached() != (success.SuccessRate < 0.99999) {
		t.Errorf("checkout %v against 99.999 %%: breached %v", success.SuccessRate, success.Breached())
	}
}
