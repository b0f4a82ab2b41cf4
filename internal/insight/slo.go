package insight

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// objectivesOf returns the objectives of a function: those its series carry in their
// objective_* labels, then those of its //autometrics directive that the series do not carry
// (code not deployed yet, or an older library).
func objectivesOf(fn *analysis.Function, stats promclient.Stats) []promclient.Objective {
	var out []promclient.Objective
	seen := map[promclient.Objective]bool{}
	add := func(o promclient.Objective) {
		if o.Name != "" && o.Percentile > 0 && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	for _, o := range stats.Objectives {
		add(o)
	}
	if d := fn.Directive; d != nil && d.SLO != "" {
		if d.SuccessTarget > 0 {
			add(promclient.Objective{Name: d.SLO, Percentile: d.SuccessTarget})
		}
		if d.LatencyMs > 0 && d.LatencyTarget > 0 {
			add(promclient.Objective{Name: d.SLO, Percentile: d.LatencyTarget, LatencyThreshold: d.LatencyMs / 1000})
		}
	}
	return out
}

// noSlothSLO explains why a span has no SLO status, as miss (promclient.SlothMiss) tells: Sloth
// rules that name the span but belong to other services, were left out by the extra matchers,
// or have no objective; only when none of these exist does it say that no Sloth recording
// rules name the span. It never says there are no rules when rules were read but not used.
func noSlothSLO(series promclient.Series, stats promclient.Stats, backend string, miss promclient.SlothMiss) string {
	of := ""
	if stats.ServiceName != "" {
		of = fmt.Sprintf(" and sloth_service %q", stats.ServiceName)
	}
	var why []string
	if len(miss.NoObjective) > 0 {
		why = append(why, fmt.Sprintf("the rules of %s have no slo:objective:ratio between 0 and 1, so the objective is unknown", quoteAll(miss.NoObjective)))
	}
	if len(miss.Excluded) > 0 {
		why = append(why, fmt.Sprintf("rules that name it carry a label value the labelMatchers setting excludes (%s)", strings.Join(miss.Excluded, ", ")))
	}
	if len(miss.Services) > 0 {
		why = append(why, fmt.Sprintf("rules that name it belong to sloth_service %s, not to the span's service %q", quoteAll(miss.Services), stats.ServiceName))
	}
	if len(why) > 0 {
		return fmt.Sprintf("No SLO: %s has Sloth recording rules with span_name or sloth_slo %q, but %s.",
			backend, series.Function, strings.Join(why, "; "))
	}
	return fmt.Sprintf("No SLO: %s has no Sloth recording rules (slo:objective:ratio, slo:sli_error:ratio_rate5m) "+
		"with span_name or sloth_slo %q%s.", backend, series.Function, of)
}

// quoteAll returns the names quoted and joined with ", ".
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// formatPercentile formats an objective's percentile without float noise and without losing
// its digits: 99, 99.95, 99.999 (10 significant digits at most).
func formatPercentile(p float64) string {
	return strconv.FormatFloat(p, 'g', 10, 64)
}

// withinLatency names the latency bound of a latency objective: "within 250ms", or, for a
// Sloth SLO whose threshold is only in its rules, "within the SLO's latency threshold".
func withinLatency(o promclient.Objective) string {
	if o.LatencyThreshold > 0 {
		return "within " + FormatLatency(o.LatencyThreshold)
	}
	return "within the SLO's latency threshold"
}

// Breach says whether an SLO status needs the user's attention: the objective is not met over
// the window (SLOStatus.Breached: meeting it exactly is no breach), or the budget burns faster
// than burnThreshold (0 disables that check). The returned text explains it; "" means no
// breach.
func Breach(s promclient.SLOStatus, burnThreshold float64) string {
	what := "success rate"
	if s.Objective.IsLatency() {
		what = "share of calls " + withinLatency(s.Objective)
	}
	switch {
	case s.Breached():
		return fmt.Sprintf("SLO %q is breached: %s %s over %s, objective %s %%", s.Objective.Name, what, formatPercent(s.Measured()), formatWindow(s.Window), formatPercentile(s.Objective.Percentile))
	case burnThreshold > 0 && !math.IsNaN(s.BurnRate) && s.BurnRate > burnThreshold:
		return fmt.Sprintf("SLO %q burns its error budget %.1f× as fast as it allows over %s (threshold %g×)", s.Objective.Name, s.BurnRate, formatWindow(s.Window), burnThreshold)
	}
	return ""
}

// sloLine renders one SLO status for the hover card (markdown; the name escaped).
func sloLine(s promclient.SLOStatus) string {
	o := s.Objective
	goal := formatPercentile(o.Percentile) + " % success"
	if o.IsLatency() {
		goal = formatPercentile(o.Percentile) + " % of calls " + withinLatency(o)
	}
	measured := s.Measured()
	name := text(o.Name, maxLabelText)
	if s.Source == "" {
		return fmt.Sprintf("SLO **%s** (%s): no numbers yet", name, goal)
	}
	line := fmt.Sprintf("SLO **%s** (%s): measured %s over %s · error budget left %s", name, goal,
		formatPercent(measured), formatWindow(s.Window), formatPercent(s.ErrorBudgetRemaining))
	if s.BudgetPeriod != s.Window && s.BudgetPeriod > 0 {
		line += " (of " + formatWindow(s.BudgetPeriod)
		if s.BudgetPeriodAssumed && s.Source == promclient.SourceRecordingRules {
			line += ", Sloth's default: no slo:time_period:days"
		}
		line += ")"
	}
	if !math.IsNaN(s.BurnRate) {
		line += fmt.Sprintf(" · burn rate %.2f×", s.BurnRate)
	}
	return line + " · from " + s.Source
}

func formatPercent(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2f %%", v*100)
}

// sparkline draws values as Unicode blocks scaled from 0 to their maximum; gaps are spaces.
func sparkline(values []float64) string {
	const blocks = "▁▂▃▄▅▆▇█"
	levels := []rune(blocks)
	hi := 0.0
	for _, v := range values {
		if !math.IsNaN(v) && v > hi {
			hi = v
		}
	}
	out := make([]rune, 0, len(values))
	for _, v := range values {
		switch {
		case math.IsNaN(v):
			out = append(out, ' ')
		case hi == 0:
			out = append(out, levels[0])
		default:
			i := int(math.Round(v / hi * float64(len(levels)-1)))
			out = append(out, levels[i])
		}
	}
	return string(out)
}
