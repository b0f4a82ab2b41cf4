package insight

import (
	"fmt"
	"math"

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

// noSlothSLO explains why a span has no SLO status: no Sloth recording rules name it.
func noSlothSLO(series promclient.Series, stats promclient.Stats, backend string) string {
	of := ""
	if stats.ServiceName != "" {
		of = fmt.Sprintf(" and sloth_service %q", stats.ServiceName)
	}
	return fmt.Sprintf("No SLO: %s has no Sloth recording rules (slo:objective:ratio, slo:sli_error:ratio_rate5m) "+
		"with span_name or sloth_slo %q%s.", backend, series.Function, of)
}

// Breach says whether an SLO status needs the user's attention: the objective is not met over
// the window, or the budget burns faster than burnThreshold (0 disables that check). The
// returned text explains it; "" means no breach.
func Breach(s promclient.SLOStatus, burnThreshold float64) string {
	target := s.Objective.Percentile / 100
	measured, what := s.SuccessRate, "success rate"
	if s.Objective.IsLatency() {
		measured, what = s.LatencyAttainment, fmt.Sprintf("share of calls within %s", FormatLatency(s.Objective.LatencyThreshold))
	}
	switch {
	case !math.IsNaN(measured) && measured < target:
		return fmt.Sprintf("SLO %q is breached: %s %s over %s, objective %g %%", s.Objective.Name, what, formatPercent(measured), formatWindow(s.Window), s.Objective.Percentile)
	case burnThreshold > 0 && !math.IsNaN(s.BurnRate) && s.BurnRate > burnThreshold:
		return fmt.Sprintf("SLO %q burns its error budget %.1f× as fast as it allows over %s (threshold %g×)", s.Objective.Name, s.BurnRate, formatWindow(s.Window), burnThreshold)
	}
	return ""
}

// sloLine renders one SLO status for the hover card (markdown; the name escaped).
func sloLine(s promclient.SLOStatus) string {
	o := s.Objective
	goal := fmt.Sprintf("%g %% success", o.Percentile)
	measured := s.SuccessRate
	if o.IsLatency() {
		goal = fmt.Sprintf("%g %% of calls within %s", o.Percentile, FormatLatency(o.LatencyThreshold))
		measured = s.LatencyAttainment
	}
	name := text(o.Name, maxLabelText)
	if s.Source == "" {
		return fmt.Sprintf("SLO **%s** (%s): no numbers yet", name, goal)
	}
	line := fmt.Sprintf("SLO **%s** (%s): measured %s over %s · error budget left %s", name, goal,
		formatPercent(measured), formatWindow(s.Window), formatPercent(s.ErrorBudgetRemaining))
	if s.BudgetPeriod != s.Window && s.BudgetPeriod > 0 {
		line += " (of " + formatWindow(s.BudgetPeriod) + ")"
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
