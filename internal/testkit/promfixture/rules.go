package promfixture

import (
	"fmt"
	"strconv"
	"strings"
)

// SLOWindows are the windows of the slo:sli_error:ratio_rate<window> rules (spec §5).
var SLOWindows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}

// SLO rule names (spec §5).
const (
	RuleSLIErrorPrefix          = "slo:sli_error:ratio_rate" // + a window of SLOWindows
	RuleObjective               = "slo:objective:ratio"
	RuleErrorBudget             = "slo:error_budget:ratio"
	RuleCurrentBurnRate         = "slo:current_burn_rate:ratio"
	RulePeriodBurnRate          = "slo:period_burn_rate:ratio"
	RulePeriodBudgetRemaining   = "slo:period_error_budget_remaining:ratio"
	RuleTimePeriod              = "slo:time_period:days"
	sloGrouping                 = "objective_name, objective_percentile, service_name"
	callsSelectorRegexp         = `function_calls(_count)?_total`
	durationBucketSelectorRegex = `function_calls_duration(_seconds)?_bucket`
	durationCountSelectorRegex  = `function_calls_duration(_seconds)?_count`
)

// Rule is a recording rule: the series of Expr, with Labels added (replacing any of the same
// name), recorded as Record.
type Rule struct {
	Record, Expr string
	Labels       map[string]string
}

// SLORules returns recording rules that carry the names of the Sloth-generated Autometrics SLO
// rules (spec §5), for the given objective percentiles such as "99" or "99.9": for each, a
// success-rate set (labelled sloth_slo="success-rate-P") over the calls counter and a latency
// set (sloth_slo="latency-P") over the histogram, where a call is good when it took at most its
// objective_latency_threshold. Every series is grouped by objective_name, objective_percentile
// and service_name. RulesYAML writes them as a rule file.
//
// Unlike Sloth's, each rule is computed from the raw Autometrics metrics only, never from
// another rule's output, so that one pass (Options.RecordingRules) can evaluate them all; and
// a success SLI whose calls have no error series reads 0, not nothing. The rules are:
// slo:sli_error:ratio_rate<W> for W in SLOWindows (the share of bad calls over W),
// slo:objective:ratio, slo:error_budget:ratio (1 - objective), slo:current_burn_rate:ratio
// (the 5m error ratio / the error budget), slo:period_burn_rate:ratio (the same over 30d) and
// slo:period_error_budget_remaining:ratio (1 - the period burn rate), and, as in
// autometrics-shared's rules file, slo:time_period:days = 30 with the sloth_* labels only (no
// objective labels). SLORulesWithPeriod writes another period or none.
func SLORules(percentiles ...string) ([]Rule, error) {
	return SLORulesWithPeriod("30", percentiles...)
}

// SLORulesWithPeriod is SLORules with slo:time_period:days = periodDays (a number of days such
// as "28"), or without that rule when periodDays is "". The budget rules still cover 30d.
func SLORulesWithPeriod(periodDays string, percentiles ...string) ([]Rule, error) {
	var out []Rule
	for _, p := range percentiles {
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || !(pct > 0 && pct < 100) {
			return nil, fmt.Errorf("promfixture: SLO percentile %q: want a number between 0 and 100", p)
		}
		target := strconv.FormatFloat(pct/100, 'g', -1, 64)
		budget := "(1 - " + target + ")"
		for _, latency := range []bool{false, true} {
			kind, sli := "success-rate", successErrorRatio
			present := `{__name__=~"` + callsSelectorRegexp + `",objective_percentile=` + strconv.Quote(p) + `}`
			if latency {
				kind, sli = "latency", latencyErrorRatio
				present = `{__name__=~"` + durationCountSelectorRegex + `",objective_percentile=` + strconv.Quote(p) + `}`
			}
			slo := kind + "-" + p
			labels := map[string]string{"sloth_service": "autometrics", "sloth_slo": slo, "sloth_id": "autometrics-" + slo}
			for _, w := range SLOWindows {
				out = append(out, Rule{RuleSLIErrorPrefix + w, sli(p, w), with(labels, "sloth_window", w)})
			}
			group := "group by (" + sloGrouping + ") (" + present + ")"
			out = append(out,
				Rule{RuleObjective, target + " * " + group, labels},
				Rule{RuleErrorBudget, budget + " * " + group, labels},
				Rule{RuleCurrentBurnRate, "(" + sli(p, "5m") + ")\n/ " + budget, labels},
				Rule{RulePeriodBurnRate, "(" + sli(p, "30d") + ")\n/ " + budget, labels},
				Rule{RulePeriodBudgetRemaining, "1 - (" + sli(p, "30d") + ")\n/ " + budget, labels},
			)
			if periodDays != "" {
				out = append(out, Rule{RuleTimePeriod, "vector(" + periodDays + ")", labels})
			}
		}
	}
	return out, nil
}

// SlothSLO returns the recording rules Sloth writes for one SLO, those am-lsp reads of a span:
// slo:objective:ratio (objective, a ratio such as "0.999"), slo:error_budget:ratio,
// slo:sli_error:ratio_rate5m (errorRatio5m: an expression of the share of bad events over 5m),
// slo:current_burn_rate:ratio and, when periodDays is not "", slo:time_period:days (Sloth's
// metadata rule). Every series carries sloth_service, sloth_slo and sloth_id, plus labels (the
// SLO's own labels, such as span_name, or a cluster label of rules evaluated per cluster).
func SlothSLO(service, name, objective, errorRatio5m, periodDays string, labels map[string]string) []Rule {
	l := map[string]string{"sloth_service": service, "sloth_slo": name, "sloth_id": service + "-" + name}
	for k, v := range labels {
		l[k] = v
	}
	budget := "(1 - " + objective + ")"
	rs := []Rule{
		{Record: RuleObjective, Expr: "vector(" + objective + ")", Labels: l},
		{Record: RuleErrorBudget, Expr: "vector" + budget, Labels: l},
		{Record: RuleSLIErrorPrefix + "5m", Expr: errorRatio5m, Labels: l},
		{Record: RuleCurrentBurnRate, Expr: "(" + errorRatio5m + ") / " + budget, Labels: l},
	}
	if periodDays != "" {
		rs = append(rs, Rule{Record: RuleTimePeriod, Expr: "vector(" + periodDays + ")", Labels: l})
	}
	return rs
}

// RulesYAML returns rules as a Prometheus (or vmalert) rule file of one group.
func RulesYAML(rules []Rule) string {
	var b strings.Builder
	b.WriteString("groups:\n- name: promfixture\n  rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - record: %s\n    expr: |\n", r.Record)
		for _, line := range strings.Split(r.Expr, "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
		if len(r.Labels) > 0 {
			b.WriteString("    labels:\n")
			for _, l := range labelSet(r.Labels) {
				fmt.Fprintf(&b, "      %s: %s\n", l[0], strconv.Quote(l[1]))
			}
		}
	}
	return b.String()
}

// successErrorRatio is the share of calls with result="error" over w.
func successErrorRatio(p, w string) string {
	sel := func(extra string) string {
		return `sum by (` + sloGrouping + `) (rate({__name__=~"` + callsSelectorRegexp + `",objective_percentile=` + strconv.Quote(p) + extra + `}[` + w + `]))`
	}
	return "(" + sel(`,result="error"`) + "\n  or 0 * " + sel("") + ")\n/ " + sel("")
}

// latencyErrorRatio is the share of calls slower than their objective_latency_threshold over w:
// the bucket whose le equals the threshold is found by giving both the same value in a label of
// its own, which "and" then compares along with all the others.
func latencyErrorRatio(p, w string) string {
	sel := func(re string) string {
		return `rate({__name__=~"` + re + `",objective_percentile=` + strconv.Quote(p) + `}[` + w + `])`
	}
	count := `sum by (` + sloGrouping + `) (` + sel(durationCountSelectorRegex) + `)`
	within := `sum by (` + sloGrouping + `) (` +
		`label_replace(` + sel(durationBucketSelectorRegex) + `, "am_threshold", "$1", "le", "(.*)")` +
		"\n  and " +
		`label_replace(` + sel(durationBucketSelectorRegex) + `, "am_threshold", "$1", "objective_latency_threshold", "(.*)"))`
	return "(" + count + "\n  - " + within + ")\n/ " + count
}
