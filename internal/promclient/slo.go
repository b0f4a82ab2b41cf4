package promclient

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Objective is a service-level objective of a function (spec §1 and §2): Percentile percent
// (such as 99 or 99.9) of the calls succeed, or, with LatencyThreshold > 0 or Latency, take at
// most LatencyThreshold seconds.
type Objective struct {
	Name             string  // objective_name (the --slo name)
	Percentile       float64 // percent, 0 < Percentile < 100
	LatencyThreshold float64 // seconds; 0 for a success objective or an unknown threshold
	// Latency marks a latency objective whose threshold is not known (LatencyThreshold 0): a
	// Sloth SLO named for latency (SlothSLOs).
	Latency bool
}

// IsLatency reports whether o is a latency objective (its threshold known or not).
func (o Objective) IsLatency() bool { return o.LatencyThreshold > 0 || o.Latency }

// Sources of an SLOStatus.
const (
	SourceRecordingRules = "recording rules"
	SourceRawCounters    = "raw counters"
)

// SLOStatus is how a function fares against an objective.
type SLOStatus struct {
	Objective Objective
	// Source is SourceRecordingRules when the numbers come from the SLO recording rules
	// (spec §5) of the objective, SourceRawCounters when they are computed from the
	// function's own counters over the client's window, "" when nothing is known.
	Source string
	// SuccessRate (of a success objective) or LatencyAttainment (of a latency objective: the
	// share of calls that took at most the threshold) is the measured indicator over Window;
	// the other one is NaN. Every number is NaN when unknown.
	SuccessRate, LatencyAttainment float64
	// ErrorBudgetRemaining is 1 - BurnRate over BudgetPeriod (negative once the budget is
	// spent); BurnRate is (1 - measured) / (1 - objective) over Window: 1 spends the budget
	// exactly over the period.
	ErrorBudgetRemaining, BurnRate float64
	// Window is the window of the indicator and of BurnRate; BudgetPeriod that of
	// ErrorBudgetRemaining. With recording rules (a span's Sloth SLO or the Autometrics rules
	// of spec §5) they are 5m and the SLO's period, its slo:time_period:days, else Sloth's
	// default 30d. With raw counters both are the client's window.
	Window, BudgetPeriod time.Duration
	// BudgetPeriodAssumed says BudgetPeriod is Sloth's default 30d because the SLO's recording
	// rules have no slo:time_period:days (budgetPeriod); always false with raw counters.
	BudgetPeriodAssumed bool
}

// Measured is the indicator of s's objective: LatencyAttainment for a latency objective, else
// SuccessRate (NaN when unknown).
func (s SLOStatus) Measured() float64 {
	if s.Objective.IsLatency() {
		return s.LatencyAttainment
	}
	return s.SuccessRate
}

// Breached reports whether the objective is not met over the window: the measured indicator
// is below Percentile/100. Meeting the objective exactly is no breach, and a difference within
// float rounding (a relative 1e-9) counts as meeting it: 1 - 0.001 is not below 99.9 / 100
// although the float division makes it look so. Unknown (NaN) is no breach.
func (s SLOStatus) Breached() bool {
	m, target := s.Measured(), s.Objective.Percentile/100
	return !math.IsNaN(m) && m < target && !closeTo(m, target)
}

// SLO returns the status of series s of snap against objective o, without the network.
//
// When s carries o in its objective labels (Stats.Objectives) and snap holds recording rule
// values for o (same name, percentile and kind, the kind by isLatencySLO of sloth_slo; same
// service_name when the rules have one), the numbers are the rules': they are the objective's,
// over all the functions that share it, and, since the rules are sums by objective and
// service only, over every cluster or environment: an ExtraMatcher applies to the rule series
// that carry its label (excludedBy), as to a span's Sloth rules. The budget period is the
// SLO's slo:time_period:days (matched by sloth_id), else Sloth's default 30d, said by
// BudgetPeriodAssumed.
// Otherwise, for instance for an objective of the code's directive that the series do not
// carry, they are computed from the series' own counters over the window: the success rate is
// 1 - the error ratio; latency attainment is the rate of the bucket whose bound is the
// threshold over the rate of all calls (interpolated linearly between the two bounds around a
// threshold that is not one, unknown above the highest finite bound).
func (c *Client) SLO(snap *Snapshot, s Series, o Objective) SLOStatus {
	nan := math.NaN()
	st := SLOStatus{Objective: o, SuccessRate: nan, LatencyAttainment: nan, ErrorBudgetRemaining: nan, BurnRate: nan}
	if snap == nil || !(o.Percentile > 0 && o.Percentile < 100) || !(o.LatencyThreshold >= 0) || math.IsInf(o.LatencyThreshold, 0) ||
		o.Latency && o.LatencyThreshold == 0 {
		return st
	}
	stats, ok := snap.Stats[s]
	if !ok {
		return st
	}
	budget := 1 - o.Percentile/100
	set := func(measured float64) {
		if o.IsLatency() {
			st.LatencyAttainment = measured
		} else {
			st.SuccessRate = measured
		}
	}
	if carries(stats, o) {
		if r, ok := rulesFor(snap.rules, o, stats.ServiceName); ok {
			st.Source, st.Window = SourceRecordingRules, ruleSLIWindow
			st.BudgetPeriod, st.BudgetPeriodAssumed = budgetPeriod(r.days)
			if !math.IsNaN(r.sli) {
				set(1 - r.sli)
			}
			st.BurnRate, st.ErrorBudgetRemaining = r.burn, r.remaining
			if math.IsNaN(st.BurnRate) && !math.IsNaN(r.sli) {
				st.BurnRate = r.sli / budget // what the rule computes
			}
			return st
		}
	}
	measured := nan
	if o.IsLatency() {
		measured = attainment(snap.buckets[s], o.LatencyThreshold)
	} else if stats.RequestRate > 0 {
		measured = 1 - stats.ErrorRatio
	}
	if math.IsNaN(measured) {
		return st
	}
	st.Source, st.Window, st.BudgetPeriod = SourceRawCounters, snap.Window, snap.Window
	set(measured)
	st.BurnRate = (1 - measured) / budget
	st.ErrorBudgetRemaining = 1 - st.BurnRate
	return st
}

// carries reports whether the series' objective labels hold o.
func carries(st Stats, o Objective) bool {
	for _, x := range st.Objectives {
		if sameObjective(x, o) {
			return true
		}
	}
	return false
}

func sameObjective(a, b Objective) bool {
	return a.Name == b.Name && closeTo(a.Percentile, b.Percentile) && closeTo(a.LatencyThreshold, b.LatencyThreshold)
}

func closeTo(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// attainment returns the share of calls within threshold seconds from cumulative bucket rates
// (ascending bounds, +Inf last), NaN when unknown.
func attainment(bs []bucket, threshold float64) float64 {
	if len(bs) < 2 || !math.IsInf(bs[len(bs)-1].le, 1) {
		return math.NaN()
	}
	total := bs[len(bs)-1].rate
	if !(total > 0) {
		return math.NaN()
	}
	within := math.NaN()
	prevLe, prevRate := 0.0, 0.0
	for _, b := range bs[:len(bs)-1] {
		if closeTo(b.le, threshold) {
			within = b.rate
			break
		}
		if b.le > threshold {
			if threshold > prevLe {
				within = prevRate + (b.rate-prevRate)*(threshold-prevLe)/(b.le-prevLe)
			}
			break
		}
		prevLe, prevRate = b.le, b.rate
	}
	return math.Max(0, math.Min(1, within/total))
}

// objectiveOf returns the objective in the labels of a calls sample (the success objective) or,
// with latency, of a bucket sample.
func objectiveOf(m model.Metric, latency bool) (Objective, bool) {
	name, pct := string(m["objective_name"]), string(m["objective_percentile"])
	if name == "" || pct == "" {
		return Objective{}, false
	}
	p, err := strconv.ParseFloat(pct, 64)
	if err != nil || !(p > 0 && p < 100) {
		return Objective{}, false
	}
	o := Objective{Name: name, Percentile: p}
	if latency {
		t, err := strconv.ParseFloat(string(m["objective_latency_threshold"]), 64)
		if err != nil || !(t > 0) || math.IsInf(t, 0) {
			return Objective{}, false
		}
		o.LatencyThreshold = t
	}
	return o, true
}

// sortedObjectives returns the objectives success first, then by name, percentile, threshold.
func sortedObjectives(set map[Objective]bool) []Objective {
	if len(set) == 0 {
		return nil
	}
	out := make([]Objective, 0, len(set))
	for o := range set {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.IsLatency() != b.IsLatency() {
			return !a.IsLatency()
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Percentile != b.Percentile {
			return a.Percentile < b.Percentile
		}
		return a.LatencyThreshold < b.LatencyThreshold
	})
	return out
}

// ruleSeries is one sample of an Autometrics SLO recording rule (spec §5).
type ruleSeries struct {
	record     string
	objective  string
	percentile float64
	latency    bool // isLatencySLO(sloth_slo); else a success-rate objective
	service    string
	slothID    string // sloth_id: links the SLO's slo:time_period:days, which has no objective labels
	value      float64
	key        string // the labels, for a stable order
}

// ruleOf reads an Autometrics SLO rule sample: one with objective_name and
// objective_percentile, or a slo:time_period:days with a sloth_id (Sloth writes it with the
// sloth_* labels only). A sample that extra excludes (excludedBy) is not read.
func ruleOf(smp *model.Sample, extra []labelMatcher) (ruleSeries, bool) {
	m := smp.Metric
	r := ruleSeries{
		record:    string(m[model.MetricNameLabel]),
		objective: string(m["objective_name"]),
		service:   string(m["service_name"]),
		latency:   isLatencySLO(string(m["sloth_slo"])),
		slothID:   string(m["sloth_id"]),
		value:     float64(smp.Value),
		key:       m.String(),
	}
	if excludedBy(m, extra) != "" {
		return ruleSeries{}, false
	}
	if r.record == ruleTimePeriod && r.slothID != "" {
		return r, true
	}
	p, err := strconv.ParseFloat(string(m["objective_percentile"]), 64)
	if err != nil || r.objective == "" {
		return ruleSeries{}, false
	}
	r.percentile = p
	return r, true
}

func sortRules(rs []ruleSeries) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
}

// ruleValues are the values of one SLO's recording rules (NaN for those absent); days is the
// period of slo:time_period:days.
type ruleValues struct{ sli, burn, remaining, objective, days float64 }

func newRuleValues() *ruleValues {
	nan := math.NaN()
	return &ruleValues{sli: nan, burn: nan, remaining: nan, objective: nan, days: nan}
}

// add records the value of one sample of rule record; the first sample of each rule (in label
// order) wins, and other rules are ignored.
func (v *ruleValues) add(record string, value float64) {
	var p *float64
	switch record {
	case ruleSLIError:
		p = &v.sli
	case ruleBurnRate:
		p = &v.burn
	case ruleBudgetRemaining:
		p = &v.remaining
	case ruleObjective:
		p = &v.objective
	case ruleTimePeriod:
		p = &v.days
	default:
		return
	}
	if math.IsNaN(*p) {
		*p = value
	}
}

// rulesFor returns the recording rule values of o for a series of the services in services
// (joined with ", "): those of the first of its services that has some, else those without a
// service_name. The period (days) is that of the slo:time_period:days of the rules' sloth_id.
func rulesFor(rs []ruleSeries, o Objective, services string) (ruleValues, bool) {
	periods := map[string]float64{}
	for _, r := range rs {
		if _, seen := periods[r.slothID]; r.record == ruleTimePeriod && r.slothID != "" && !seen {
			periods[r.slothID] = r.value
		}
	}
	byService := map[string]*ruleValues{}
	for _, r := range rs {
		if r.objective != o.Name || !closeTo(r.percentile, o.Percentile) || r.latency != o.IsLatency() {
			continue
		}
		v := byService[r.service]
		if v == nil {
			v = newRuleValues()
			byService[r.service] = v
		}
		v.add(r.record, r.value)
		if d, ok := periods[r.slothID]; ok {
			v.add(ruleTimePeriod, d)
		}
	}
	var names []string
	if services != "" {
		names = strings.Split(services, ", ")
	}
	for _, s := range append(names, "") {
		if v := byService[s]; v != nil {
			return *v, true
		}
	}
	return ruleValues{}, false
}

// budgetPeriod returns the budget period of an SLO whose slo:time_period:days is days (NaN
// when its rules have none): days, else Sloth's default 30d with assumed true. One rule for
// a span's Sloth SLOs and the Autometrics rules; a period that is not a positive number of
// days a time.Duration holds counts as absent.
func budgetPeriod(days float64) (period time.Duration, assumed bool) {
	if days > 0 && !math.IsInf(days, 0) && days*24 < float64(math.MaxInt64/time.Hour) {
		return time.Duration(days * 24 * float64(time.Hour)), false
	}
	return ruleBudgetPeriod, true
}

// sortedKeys returns the keys of set, sorted (nil when there is none).
func sortedKeys(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
