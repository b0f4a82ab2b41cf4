package insight

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// slothSpanCard fetches the span of a traced function (span name, kind) from srv through
// client and returns its view and card.
func slothSpanCard(t *testing.T, client *promclient.Client, name string, kind string) (View, string) {
	t.Helper()
	fn := &analysis.Function{Name: "F", PkgPath: "example.com/shop", PkgName: "shop",
		Trace: &analysis.Trace{Source: analysis.TracerStart, SpanName: name, Kind: kind}}
	series, ok := SpanSeriesOf(fn)
	if !ok {
		t.Fatalf("no span series of %s", name)
	}
	links := Links{Prom: client}
	snap, err := client.Fetch(context.Background(), []promclient.Series{series})
	if err != nil {
		t.Fatal(err)
	}
	v := ExplainSpan(fn, links, snap, nil)
	if v.Status != StatusOK {
		t.Fatalf("%s: status %v: %+v", name, v.Status, v)
	}
	return v, Card(v)
}

// The card of a span with Sloth SLOs (promfixture.SlothShopRules): objectives with their own
// digits, the budget period of slo:time_period:days (or Sloth's default, said so), a latency
// SLO as a latency objective that draws no error threshold, and an SLO exactly at its
// objective is no breach; every number as Prometheus's rules answer.
func TestSpanCardOfSlothSLOs(t *testing.T) {
	srv := startBackend(t, promfixture.Options{RecordingRules: promfixture.SlothShopRules()}, promfixture.CollectorNaming, promfixture.SlothShopSpans)
	client := testClient(t, srv.URL)
	ctx := context.Background()
	rule := func(q string) float64 {
		t.Helper()
		v, err := querier(srv)(ctx, q)
		if err != nil || math.IsNaN(v) {
			t.Fatalf("%s: %v %v", q, v, err)
		}
		return v
	}
	v, card := slothSpanCard(t, client, "shop.Checkout", analysis.SpanKindServer)
	t.Logf("card:\n%s", card)

	// Objective digits: 0.99999 is 99.999 %, not 99.99900000000001 %.
	if !strings.Contains(card, "SLO **checkout** (99.999 % success)") || strings.Contains(card, "99.99900000000001") {
		t.Errorf("checkout's objective is not shown as 99.999 %%:\n%s", card)
	}
	// The period of slo:time_period:days (28 days).
	if !strings.Contains(card, "(of 672h) · burn rate") {
		t.Errorf("checkout's budget period is not slo:time_period:days's 28 days:\n%s", card)
	}
	success := regexp.MustCompile(`SLO \*\*checkout\*\* \(99\.999 % success\): measured ([0-9.]+) % over 5m · error budget left – \(of 672h\) · burn rate ([0-9.]+)× · from recording rules`).FindStringSubmatch(card)
	if success == nil || strings.Contains(card, "99.99900000000001") {
		t.Errorf("no checkout line:\n%s", card)
	} else {
		checkShown(t, "checkout success", success[1], 0.01, 1-rule(`slo:sli_error:ratio_rate5m{sloth_slo="checkout"}`))
		checkShown(t, "checkout burn rate", success[2], 1, rule(`slo:current_burn_rate:ratio{sloth_slo="checkout"}`))
	}

	// The latency SLO: a share of calls within its threshold, over Sloth's default period
	// (its rules have no slo:time_period:days), not a success rate.
	latency := regexp.MustCompile(`SLO \*\*checkout-latency\*\* \(99\.9999 % of calls within the SLO's latency threshold\): measured ([0-9.]+) % over 5m · error budget left – \(of 720h, Sloth's default: no slo:time_period:days\) · burn rate ([0-9.]+)× · from recording rules`).FindStringSubmatch(card)
	if latency == nil {
		t.Errorf("no latency line for checkout-latency:\n%s", card)
	} else {
		checkShown(t, "checkout-latency attainment", latency[1], 0.01, 1-rule(`slo:sli_error:ratio_rate5m{sloth_slo="checkout-latency"}`))
	}
	if !strings.Contains(card, "(of 720h, Sloth's default: no slo:time_period:days)") {
		t.Errorf("checkout-latency's period is not said to be Sloth's default:\n%s", card)
	}
	if strings.Contains(card, "99.9999 % success") {
		t.Errorf("the latency SLO is shown as a success objective:\n%s", card)
	}
	// The error chart's threshold is the success objective's (1 - 0.99999), not the tighter
	// latency objective's.
	if got := errorThreshold(v.SLOs); math.Abs(got-(1-0.99999)) > 1e-12 {
		t.Errorf("error chart threshold %g, want the success objective's %g", got, 1-0.99999)
	}

	// In `report --burning`: the latency SLO reads as one, with no threshold it does not know.
	problems := SLOProblems([]View{v}, 2)
	var table, js bytes.Buffer
	if err := WriteProblemsTable(&table, problems); err != nil {
		t.Fatal(err)
	}
	if err := WriteProblemsJSON(&js, problems); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !strings.Contains(table.String(), "checkout-latency 99.9999 % latency") || !strings.Contains(table.String(), "checkout 99.999 %") {
		t.Errorf("problems table:\n%s", table.String())
	}
	for _, r := range rows {
		var want any // the field is left out of a success objective's row
		if r["objective"] == "checkout-latency" {
			want = true
		}
		if _, threshold := r["latencyThresholdSeconds"]; r["latency"] != want || threshold {
			t.Errorf("problem row %v", r)
		}
	}

	// Exactly at the objective (SLI 0.001 against 99.9 %): met, so no breach, no problem.
	if sli := rule(`slo:sli_error:ratio_rate5m{sloth_slo="shop.Ship"}`); sli != 0.001 {
		t.Fatalf("Prometheus's ship SLI %v, want 0.001", sli)
	}
	ship, shipCard := slothSpanCard(t, client, "shop.Ship", analysis.SpanKindInternal)
	if len(ship.SLOs) != 1 || !strings.Contains(shipCard, "SLO **shop.Ship** (99.9 % success): measured 99.90 % over 5m") {
		t.Fatalf("ship: %+v\n%s", ship.SLOs, shipCard)
	}
	if b := Breach(ship.SLOs[0], 0); b != "" {
		t.Errorf("exactly at the objective, yet %q", b)
	}
	if p := SLOProblems([]View{ship}, 2); len(p) != 0 {
		t.Errorf("exactly at the objective, yet problems %+v", p)
	}
}

// Under the extra matcher cluster="eu", a span's Sloth rules without a cluster label still give
// its SLOs; a span whose rules are all left out (another cluster, another service) is told so,
// not that it has no rules.
func TestSpanCardOfSlothSLOsUnderExtraMatchers(t *testing.T) {
	srv := startBackend(t, promfixture.Options{RecordingRules: promfixture.SlothShopRules()}, promfixture.CollectorNaming, promfixture.SlothShopSpans)
	client, err := promclient.New(promclient.Config{URL: srv.URL, ExtraMatchers: []string{`cluster="eu"`}})
	if err != nil {
		t.Fatal(err)
	}
	v, card := slothSpanCard(t, client, "shop.Checkout", analysis.SpanKindServer)
	if math.Abs(v.Stats.RequestRate-4) > 1e-9 {
		t.Fatalf("checkout in eu: %v req/s, want 4 (the matcher keeps the numbers to eu)", v.Stats.RequestRate)
	}
	if len(v.SLOs) != 2 || !strings.Contains(card, "SLO **checkout** (99.999 % success)") || strings.Contains(card, "No SLO") {
		t.Errorf("checkout's SLOs vanished under cluster=\"eu\": %+v\n%s", v.SLOs, card)
	}
	_, card = slothSpanCard(t, client, "shop.Reserve", analysis.SpanKindInternal)
	for _, want := range []string{
		`has Sloth recording rules with span_name or sloth_slo "shop.Reserve", but`,
		`carry a label value the labelMatchers setting excludes (cluster="eu")`,
		`belong to sloth_service "billing", not to the span's service "shop"`,
	} {
		if !strings.Contains(card, want) {
			t.Errorf("reserve's card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "has no Sloth recording rules") {
		t.Errorf("reserve's card claims there are no rules:\n%s", card)
	}
}

// checkShown compares a number shown in a card (times scale) with Prometheus's answer.
func checkShown(t *testing.T, what, shown string, scale, want float64) {
	t.Helper()
	v, err := strconv.ParseFloat(shown, 64)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := v * scale; math.Abs(got-want) > 0.00005+0.005*math.Abs(want) {
		t.Errorf("%s: card shows %g, Prometheus's rule answers %g", what, got, want)
	}
}

// The card of an Autometrics function whose SLO rules (spec §5) carry slo:time_period:days
// shows that period; without it, the card says the 30d is Sloth's default, as for a span; and
// a matcher on a label the rules lack (job) does not turn the rules into raw counters. Every
// number is Prometheus's rule answer.
func TestAutometricsCardSLOPeriod(t *testing.T) {
	rules, err := promfixture.SLORulesWithPeriod("28", "99")
	if err != nil {
		t.Fatal(err)
	}
	noPeriod, err := promfixture.SLORulesWithPeriod("", "99.9")
	if err != nil {
		t.Fatal(err)
	}
	handle := handleMethod(analysis.Generated)
	sync := &analysis.Function{Name: "Sync", PkgPath: "example.com/app", PkgName: "app", Instrumentation: analysis.Generated,
		Labels: analysis.Labels{Function: "Sync", Module: "example.com/app"}}
	srv := startBackend(t, promfixture.Options{
		RecordingRules: append(rules, noPeriod...),
		Functions: []promfixture.Function{
			{Function: "Handle", Module: "example.com/app.Server", CallsPerSec: 4, ErrorsPerSec: 1, ObjectiveName: "api", ObjectivePercentile: "99", ServiceName: "shop"},
			{Function: "Sync", Module: "example.com/app", CallsPerSec: 2, ErrorsPerSec: 1, ObjectiveName: "sync", ObjectivePercentile: "99.9", ServiceName: "shop"},
		},
	}, promfixture.CollectorNaming, nil)
	client, err := promclient.New(promclient.Config{URL: srv.URL, ExtraMatchers: []string{`job="app"`}})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := client.Fetch(context.Background(), []promclient.Series{SeriesOf(handle), SeriesOf(sync)})
	if err != nil {
		t.Fatal(err)
	}
	rule := func(q string) float64 {
		t.Helper()
		v, err := querier(srv)(context.Background(), q)
		if err != nil || math.IsNaN(v) {
			t.Fatalf("%s: %v %v", q, v, err)
		}
		return v
	}
	for _, c := range []struct {
		fn            *analysis.Function
		name, pct     string
		slo, ofPeriod string
	}{
		{handle, "api", "99", "success-rate-99", "(of 672h)"},
		{sync, "sync", "99.9", "success-rate-99.9", "(of 720h, Sloth's default: no slo:time_period:days)"},
	} {
		card := Card(Explain(c.fn, Links{Prom: client}, snap, nil))
		m := regexp.MustCompile(`SLO \*\*` + c.name + `\*\* \(` + regexp.QuoteMeta(c.pct) + ` % success\): measured ([-0-9.]+) % over 5m · error budget left ([-0-9.]+) % ` +
			regexp.QuoteMeta(c.ofPeriod) + ` · burn rate ([-0-9.]+)× · from recording rules`).FindStringSubmatch(card)
		if m == nil {
			t.Errorf("%s: no SLO line from recording rules over %s:\n%s", c.name, c.ofPeriod, card)
			continue
		}
		sel := `{objective_name="` + c.name + `",sloth_slo="` + c.slo + `"}`
		checkShown(t, c.name+" measured", m[1], 0.01, 1-rule(`slo:sli_error:ratio_rate5m`+sel))
		checkShown(t, c.name+" budget left", m[2], 0.01, rule(`slo:period_error_budget_remaining:ratio`+sel))
		checkShown(t, c.name+" burn rate", m[3], 1, rule(`slo:current_burn_rate:ratio`+sel))
	}
}
