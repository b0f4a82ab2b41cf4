package promclient

import (
	"math"
	"sort"
	"strings"

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
}

func slothRuleOf(smp *model.Sample) (slothRule, bool) {
	m := smp.Metric
	r := slothRule{
		record:   string(m[model.MetricNameLabel]),
		slo:      string(m["sloth_slo"]),
		spanName: string(m["span_name"]),
		service:  string(m["sloth_service"]),
		value:    float64(smp.Value),
		key:      m.String(),
	}
	return r, r.slo != ""
}

func sortSlothRules(rs []slothRule) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
}

// SlothSLOs returns, without the network, the status of every Sloth SLO of the span subject
// of s in snap (one per sloth_service and sloth_slo), sorted by service and name; nil when
// there is none.
//
// A Sloth SLO belongs to a span when its recording rules carry span_name equal to the span's
// name (an SLO label), or else when its sloth_slo is the span's name; and, when the span's
// numbers name their services (Stats.ServiceName), when its sloth_service is one of them. Its
// objective is slo:objective:ratio (a success objective: Sloth does not say what the SLI
// counts), its indicator 1 - slo:sli_error:ratio_rate5m over 5m, its burn rate
// slo:current_burn_rate:ratio (else the error ratio over the budget) and its budget left
// slo:period_error_budget_remaining:ratio over Sloth's 30d period. An SLO without
// slo:objective:ratio is left out: its objective is unknown.
func (c *Client) SlothSLOs(snap *Snapshot, s Series) []SLOStatus {
	if snap == nil || len(snap.sloth) == 0 {
		return nil
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
	for _, r := range snap.sloth {
		if r.spanName != s.Function && (r.spanName != "" || r.slo != s.Function) {
			continue
		}
		if services != nil && r.service != "" && !services[r.service] {
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
			continue
		}
		nan := math.NaN()
		st := SLOStatus{
			Objective: Objective{Name: k.slo, Percentile: v.objective * 100},
			Source:    SourceRecordingRules, Window: ruleSLIWindow, BudgetPeriod: ruleBudgetPeriod,
			SuccessRate: nan, LatencyAttainment: nan, BurnRate: v.burn, ErrorBudgetRemaining: v.remaining,
		}
		if !math.IsNaN(v.sli) {
			st.SuccessRate = 1 - v.sli
			if math.IsNaN(st.BurnRate) {
				st.BurnRate = v.sli / (1 - v.objective)
			}
		}
		out = append(out, st)
	}
	return out
}
