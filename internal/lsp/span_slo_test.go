package lsp

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// A traced function whose span has Sloth-style recording rules (span_name as an SLO label)
// hovers its SLO status with the rules' numbers, as Prometheus answers them; a traced function
// without rules says which rules would give it one.
func TestHoverTracedFunctionSLOFromSlothRules(t *testing.T) {
	opts := manySpansOptions(t, 6, 9)
	sel := `service_name="shop",span_name="many.F07"`
	sli := func(window string) string {
		return `sum(rate(traces_span_metrics_calls_total{` + sel + `,status_code="STATUS_CODE_ERROR"}[` + window + `])) / sum(rate(traces_span_metrics_calls_total{` + sel + `}[` + window + `]))`
	}
	labels := map[string]string{"sloth_service": "shop", "sloth_slo": "f07-availability", "sloth_id": "shop-f07-availability", "span_name": "many.F07"}
	opts.RecordingRules = []promfixture.Rule{
		{Record: promfixture.RuleObjective, Expr: "vector(0.99)", Labels: labels},
		{Record: promfixture.RuleSLIErrorPrefix + "5m", Expr: sli("5m"), Labels: labels},
		{Record: promfixture.RuleCurrentBurnRate, Expr: "(" + sli("5m") + ") / (1 - 0.99)", Labels: labels},
		{Record: promfixture.RulePeriodBudgetRemaining, Expr: "1 - (" + sli("30d") + ") / (1 - 0.99)", Labels: labels},
	}
	prom := promfixture.StartT(t, opts)
	file, err := filepath.Abs("../../testdata/otelapp/many/many.go")
	if err != nil {
		t.Fatal(err)
	}
	s := startOtelapp(t, prom.URL)
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line, char := openAt(t, s, file, strings.Index(string(text), "func F07")+len("func "))
	s.waitAnalysed(t, file)
	card := hoverUntilNumbers(t, s, file, line, char)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rule := func(record string) float64 {
		v, _, err := prom.Query(ctx, record+`{sloth_slo="f07-availability"}`)
		if err != nil || len(v) != 1 {
			t.Fatalf("%s: %v %v", record, v, err)
		}
		return float64(v[0].Value)
	}
	m := regexp.MustCompile(`SLO \*\*f07-availability\*\* \(99 % success\): measured ([-0-9.]+) % over 5m · error budget left ([-0-9.]+) % \(of 720h, Sloth's default: no slo:time_period:days\) · burn rate ([-0-9.]+)× · from recording rules`).FindStringSubmatch(card)
	if m == nil {
		t.Fatalf("no SLO line from the Sloth rules in the card:\n%s", card)
	}
	shown := func(i int, scale float64) float64 {
		v, err := strconv.ParseFloat(m[i], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v * scale
	}
	for _, c := range []struct {
		what        string
		shown, want float64
	}{
		{"success", shown(1, 0.01), 1 - rule(promfixture.RuleSLIErrorPrefix+"5m")},
		{"budget left", shown(2, 0.01), rule(promfixture.RulePeriodBudgetRemaining)},
		{"burn rate", shown(3, 1), rule(promfixture.RuleCurrentBurnRate)},
	} {
		if math.Abs(c.shown-c.want) > 0.00005+0.005*math.Abs(c.want) {
			t.Errorf("%s: card shows %g, Prometheus's rule answers %g", c.what, c.shown, c.want)
		}
	}
	if want := 1 - 3.0/8/7.5; math.Abs(shown(1, 0.01)-want) > 0.0001 {
		t.Errorf("success %g, the data says %g", shown(1, 0.01), want)
	}

	off := strings.Index(string(text), "func F06") + len("func ")
	pos := strings.Count(string(text[:off]), "\n")
	col := off - strings.LastIndex(string(text[:off]), "\n") - 1
	other := hoverUntilNumbers(t, s, file, pos, col)
	if strings.Contains(other, "SLO **") || !strings.Contains(other, "No SLO:") || !strings.Contains(other, "many.F06") {
		t.Errorf("F06 has no Sloth rules; its card should say so:\n%s", other)
	}
}
