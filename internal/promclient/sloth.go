package promclient

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/common/model"
)

// slothRule is one sample of a Sloth recording rule read for a span subject.
type slothRule struct {
	record   string
	slo      string // sloth_slo
	spanName string // span_name, when the SLO's labels add it
	service  string // sloth_service
	value    float64
	key      string // the labels, for a stable order
	// excludedBy is the first of the ExtraMatchers whose label the series carries with a
	// value the matcher does not accept, as PromQL; "" when the series is kept.
	excludedBy string
}

// slothRuleOf reads a Sloth rule sample (false without sloth_slo) and applies extra to it as
// excludedBy does: a matcher applies to a series that carries its label and is ignored for one
// that does not (see sourceQueries.slothRules).
func slothRuleOf(smp *model.Sample, extra []labelMatcher) (slothRule, bool) {
	m := smp.Metric
	r := slothRule{
		record:   string(m[model.MetricNameLabel]),
		slo:      string(m["sloth_slo"]),
		spanName: string(m["span_name"]),
		service:  string(m["sloth_service"]),
		value:    float64(smp.Value),
		key:      m.String(),
	}
	r.excludedBy = excludedBy(m, extra)
	return r, r.slo != ""
}

func sortSlothRules(rs []slothRule) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
}

// SlothSLOs returns, without the network, the status of every Sloth SLO of the span subject
// of s in snap (one per sloth_service and sloth_slo), sorted by service and name; nil when
// there is none (SlothMiss says why).
//
// A Sloth SLO belongs to a span when its recording rules carry span_name equal to the span's
// name (an SLO label), or else when its sloth_slo is the span's name; and, when the span's
// numbers name their services (Stats.ServiceName), when its sloth_service is one of them. Rule
// series that carry the label of an ExtraMatcher must match it; those without the label are
// used (see sourceQueries.slothRules).
//
// Sloth does not say what an SLI counts. An SLO whose sloth_slo has the word "latency" (such
// as "checkout-latency" or "latency_p99") is a latency objective of unknown threshold
// (Objective.Latency): its indicator is LatencyAttainment, the share of calls within the
// threshold; any other is a success objective (SuccessRate). The objective is
// slo:objective:ratio (as a percentile rounded to 12 significant digits, so 0.99999 is
// 99.999), the indicator 1 - slo:sli_error:ratio_rate5m over 5m, the burn rate
// slo:current_burn_rate:ratio (else the error ratio over the budget), the budget left
// slo:period_error_budget_remaining:ratio over the SLO's period, slo:time_period:days (Sloth's
// default 30d when absent, with BudgetPeriodAssumed). An SLO without a slo:objective:ratio
// strictly between 0 and 1 is left out: its objective is unknown.
func (c *Client) SlothSLOs(snap *Snapshot, s Series) []SLOStatus {
	out, _ := slothOf(snap, s)
	return out
}

// SlothMiss says why a span has no Sloth SLO status: which rules name it but were not used.
// All empty: no Sloth rule names the span at all.
type SlothMiss struct {
	// Services are the sloth_service values (sorted) of rules that name the span but belong to
	// other services than the span's numbers.
	Services []string
	// Excluded are the ExtraMatchers (as PromQL, sorted) that left out rules
	// naming the span: the rules carry the matcher's label with a value it does not accept.
	Excluded []string
	// NoObjective are the sloth_slo names (sorted) of SLOs of the span without a usable
	// slo:objective:ratio.
	NoObjective []string
}

// SlothMiss returns, without the network, why SlothSLOs finds no SLO for s in snap. Meaningful
// when SlothSLOs returns nil.
func (c *Client) SlothMiss(snap *Snapshot, s Series) SlothMiss {
	_, miss := slothOf(snap, s)
	return miss
}

func slothOf(snap *Snapshot, s Series) ([]SLOStatus, SlothMiss) {
	var miss SlothMiss
	if snap == nil || len(snap.sloth) == 0 {
		return nil, miss
	}
	var services map[string]bool
	if sn := snap.Stats[s].ServiceName; sn != "" {
		services = map[string]bool{}
		for _, x := range strings.Split(sn, ", ") {
			services[x] = true
		}
	}
	type sloKey struct{ service, slo string }
	found := map[sloKey]*ruleValues{}
	var keys []sloKey
	otherServices, excluded := map[string]bool{}, map[string]bool{}
	for _, r := range snap.sloth {
		if r.spanName != s.Function && (r.spanName != "" || r.slo != s.Function) {
			continue
		}
		if services != nil && r.service != "" && !services[r.service] {
			otherServices[r.service] = true
			continue
		}
		if r.excludedBy != "" {
			excluded[r.excludedBy] = true
			continue
		}
		k := sloKey{r.service, r.slo}
		v := found[k]
		if v == nil {
			v = newRuleValues()
			found[k] = v
			keys = append(keys, k)
		}
		v.add(r.record, r.value)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].service != keys[j].service {
			return keys[i].service < keys[j].service
		}
		return keys[i].slo < keys[j].slo
	})
	var out []SLOStatus
	for _, k := range keys {
		v := found[k]
		if !(v.objective > 0 && v.objective < 1) {
			miss.NoObjective = append(miss.NoObjective, k.slo)
			continue
		}
		nan := math.NaN()
		st := SLOStatus{
			Objective: Objective{Name: k.slo, Percentile: roundPercentile(v.objective * 100), Latency: isLatencySLO(k.slo)},
			Source:    SourceRecordingRules, Window: ruleSLIWindow,
			SuccessRate: nan, LatencyAttainment: nan, BurnRate: v.burn, ErrorBudgetRemaining: v.remaining,
		}
		st.BudgetPeriod, st.BudgetPeriodAssumed = budgetPeriod(v.days)
		if !math.IsNaN(v.sli) {
			if st.Objective.Latency {
				st.LatencyAttainment = 1 - v.sli
			} else {
				st.SuccessRate = 1 - v.sli
			}
			if math.IsNaN(st.BurnRate) {
				st.BurnRate = v.sli / (1 - v.objective)
			}
		}
		out = append(out, st)
	}
	if out != nil {
		return out, SlothMiss{}
	}
	miss.Excluded = sortedKeys(excluded)
	miss.Services = sortedKeys(otherServices)
	sort.Strings(miss.NoObjective)
	return nil, miss
}

// isLatencySLO reports whether a sloth_slo name has the word "latency" (any case), words being
// separated by anything but letters and digits. It is the one rule for both kinds of Sloth
// rules: a span's (SlothSLOs: "checkout-latency", "latency_p99") and Autometrics' own (spec
// §5, ruleOf), whose latency SLOs are named latency-90, latency-95, latency-99 and
// latency-99_9 and whose success SLOs success-rate-P. "latencyfoo" has no such word.
func isLatencySLO(name string) bool {
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if strings.EqualFold(w, "latency") {
			return true
		}
	}
	return false
}

// roundPercentile rounds a percentile computed from a ratio to 12 significant digits: the
// float noise of the product goes (0.99999 * 100 is 99.99900000000001), the digits a
// configuration can hold stay.
func roundPercentile(p float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(p, 'g', 12, 64), 64)
	if err != nil {
		return p
	}
	return r
}
