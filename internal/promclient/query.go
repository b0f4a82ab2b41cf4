package promclient

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Kind names one of the numbers of a function.
type Kind int

const (
	RequestRate Kind = iota
	ErrorRatio
	LatencyP95
	LatencyP99
	Concurrent
)

func (k Kind) String() string {
	switch k {
	case RequestRate:
		return "request rate"
	case ErrorRatio:
		return "error ratio"
	case LatencyP95:
		return "latency p95"
	case LatencyP99:
		return "latency p99"
	case Concurrent:
		return "concurrent calls"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// QueriesPerFetch is the number of queries one Fetch sends for the series of one source,
// whatever their number (fewer for a source without the optional parts): calls (with callers and
// success objectives), latency (quantiles and raw buckets, with latency objectives), concurrency
// together with the SLO recording rules, and build_info.
const QueriesPerFetch = 4

// QueriesPerTrend is the number of queries one FetchTrend sends for the series of one source
// (one range query).
const QueriesPerTrend = 1

// SLO recording rules the client reads (spec §5).
const (
	ruleSLIError        = "slo:sli_error:ratio_rate5m"
	ruleBurnRate        = "slo:current_burn_rate:ratio"
	ruleBudgetRemaining = "slo:period_error_budget_remaining:ratio"
	ruleObjective       = "slo:objective:ratio"
	ruleTimePeriod      = "slo:time_period:days" // Sloth's SLO period, in days
	ruleSLIWindow       = 5 * time.Minute
	ruleBudgetPeriod    = 30 * 24 * time.Hour // Sloth's default period
)

// slothRuleNames are the Sloth recording rules read for the subjects of a source with
// SlothRules: the objective itself comes from slo:objective:ratio, the budget period from
// slo:time_period:days.
var slothRuleNames = []string{ruleSLIError, ruleObjective, ruleBurnRate, ruleBudgetRemaining, ruleTimePeriod}

// QueryFor returns the PromQL of one number of one function, as the spec's queries (§3) but
// filtered on both function and module (and the ExtraMatchers), without the build_info join,
// and matching every metric name of the series' source (current and older autometrics-go). It
// answers one series whose value is the number Fetch reports, "" when the source has no such
// number. Meant for links and tests; Fetch batches its own queries.
//
// A span placeholder (SpanAuto) is written in the naming the cached discovery found, else the
// Collector's.
func (c *Client) QueryFor(kind Kind, s Series) string {
	return c.queries(s.Source).numberOf(kind, s)
}

// extraSuffix returns the ExtraMatchers as ",m1,m2" (empty without any).
func (c *Client) extraSuffix() string {
	var b strings.Builder
	for _, m := range c.extra {
		b.WriteString("," + m.String())
	}
	return b.String()
}

// queries returns the query builder of source id with the client's window and matchers.
func (c *Client) queries(id SourceID) sourceQueries {
	if id == SpanAuto || id == SpanAutoByFunction {
		id = c.cachedSpanEntry(id) // callers resolve placeholders first; this only keeps them safe
	}
	var src *Source
	switch {
	case id == SpanNamespaced || id == SpanNamespacedByFunction:
		if src = c.discoveredSource(id); src == nil {
			src = c.sources[SpanCollector] // the discovery changed meanwhile: no series will match
		}
	case int(id) >= len(c.sources) || c.sources[id] == nil:
		panic(fmt.Sprintf("promclient: unknown source %d", int(id))) // a programming error
	default:
		src = c.sources[id]
	}
	extra := c.extraSuffix()
	if IsSpanSource(id) && c.cfg.SpanService != "" && src.ServiceLabel != "" {
		extra += "," + src.ServiceLabel + "=" + quote(c.cfg.SpanService)
	}
	return sourceQueries{src: src, window: c.cfg.Window, extra: extra}
}

// sourceQueries builds the PromQL of one source: every query the client sends is made here,
// from the source's description.
type sourceQueries struct {
	src    *Source
	window time.Duration
	extra  string // the ExtraMatchers as ",m1,m2"
	// at, when not "", evaluates range selectors at a fixed time: " @ <unix seconds>".
	at string
}

// batchQueries holds the queries of one Fetch of one source's series. An empty query is not
// sent (the source lacks that part).
//
//   - calls: the call rates by failure and by everything the numbers are split by (service,
//     version, callers, success objective), added up client-side;
//   - latency: the p95 and p99 of the backend's histogram_quantile, or (the series differ in
//     their labels) the raw bucket rates with the latency objective's labels, for SLO;
//   - concurrent: the gauge, or the SLO recording rules of the objectives the calls of the
//     batch carry and their slo:time_period:days (objectiveRules; the rule series keep their
//     __name__, the sums have none);
//   - buildInfo: services and versions from the info metric, for series that lack them.
//
// The Sloth rules of a SlothRules source come with its latency query (else the concurrent
// one), keeping their __name__ too.
type batchQueries struct {
	calls, latency, concurrent, buildInfo string
}

// subject returns the labels that name a subject, for "by (…)": "function, module".
func (q sourceQueries) subject() string {
	if q.src.ModuleLabel == "" {
		return q.src.FunctionLabel
	}
	return q.src.FunctionLabel + ", " + q.src.ModuleLabel
}

// selector returns the label matchers of a set of series (sorted, non-empty, of this source):
// the functions and the modules of the set, then the extra matchers. The answer may hold other
// (function, module) pairs of the cross product, which the accumulator drops.
func (q sourceQueries) selector(series []Series) string {
	var fns, mods []string
	seenF, seenM := map[string]bool{}, map[string]bool{}
	for _, s := range series {
		if !seenF[s.Function] {
			seenF[s.Function] = true
			fns = append(fns, s.Function)
		}
		if !seenM[s.Module] {
			seenM[s.Module] = true
			mods = append(mods, s.Module)
		}
	}
	m := matcher(q.src.FunctionLabel, fns)
	if q.src.ModuleLabel != "" {
		m += "," + matcher(q.src.ModuleLabel, mods)
	}
	return m + q.extra
}

// seriesSelector returns the matchers of one series.
func (q sourceQueries) seriesSelector(s Series) string {
	m := q.src.FunctionLabel + `=` + quote(s.Function)
	if q.src.ModuleLabel != "" {
		m += `,` + q.src.ModuleLabel + `=` + quote(s.Module)
	}
	return m + q.extra
}

// sumRate sums the rates of the metric under each of names by the labels by, and adds them up.
// rate() over a selector matching two names would fail with "vector cannot contain metrics with
// the same labelset" when a series exists under both, and `A + B` alone would drop what exists
// under one name only, hence `(A + B) or A or B` (folded left for more names).
func (q sourceQueries) sumRate(by string, names []string, m string) string {
	w := formatWindow(q.window)
	one := func(name string) string {
		return `sum by (` + by + `) (rate(` + name + `{` + m + `}[` + w + `]` + q.at + `))`
	}
	out := one(names[0])
	for _, n := range names[1:] {
		b := one(n)
		out = `(` + out + ` + ` + b + `) or ` + out + ` or ` + b
	}
	return out
}

// seconds scales a latency expression in the source's unit to seconds.
func (q sourceQueries) seconds(expr string) string {
	if q.src.LatencySeconds == 1 {
		return expr
	}
	return `(` + expr + `) * ` + strconv.FormatFloat(q.src.LatencySeconds, 'g', -1, 64)
}

// join returns the non-empty labels joined with ", ".
func join(labels ...string) string {
	var out []string
	for _, l := range labels {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, ", ")
}

// Labels of the objectives (spec §2).
const (
	objectiveLabels        = "objective_name, objective_percentile"
	latencyObjectiveLabels = objectiveLabels + ", objective_latency_threshold"
)

// batch builds the queries of one Fetch for series (sorted, non-empty, of this source).
func (q sourceQueries) batch(series []Series) batchQueries {
	src := q.src
	m := q.selector(series)
	callsBy := join(q.subject(), src.ErrorLabel, src.ServiceLabel, src.VersionLabel)
	bucketsBy := join("le", q.subject())
	if c := src.CallerLabels; c != nil {
		callsBy = join(callsBy, c.Function, c.Module, c.Legacy)
	}
	if src.Objectives {
		callsBy = join(callsBy, objectiveLabels)
		bucketsBy = join(bucketsBy, latencyObjectiveLabels)
	}
	var b batchQueries
	b.calls = q.sumRate(callsBy, src.Calls, m)
	if len(src.Buckets) > 0 {
		buckets := q.sumRate(join("le", q.subject()), src.Buckets, m)
		quantile := func(p string) string {
			return `label_replace(` + q.seconds(`histogram_quantile(`+p+`, `+buckets+`)`) + `, "quantile", "` + p + `", "", "")`
		}
		b.latency = quantile("0.95") + ` or ` + quantile("0.99") + ` or ` + q.sumRate(bucketsBy, src.Buckets, m)
	}
	var parts []string
	if src.Concurrent != "" {
		parts = append(parts, `sum by (`+q.subject()+`) (`+src.Concurrent+`{`+m+`})`)
	}
	if src.Objectives {
		parts = append(parts, q.objectiveRules(m))
	}
	if src.SlothRules {
		// With the latency query when there is one: no query more per batch.
		if b.latency != "" {
			b.latency += ` or ` + q.slothRules(series)
		} else {
			parts = append(parts, q.slothRules(series))
		}
	}
	b.concurrent = strings.Join(parts, " or ")
	if src.BuildInfo != "" && (src.ServiceLabel != "" || src.VersionLabel != "") {
		// Only names service and version for series that lack them; it may drop series freely
		// because no number comes from it. topk keeps one info series per target, so a restart
		// with a new version cannot make the join fail.
		named := join(src.ServiceLabel, src.VersionLabel)
		b.buildInfo = `group by (` + join(q.subject(), named) + `) (` +
			`group by (` + join(q.subject(), "instance, job") + `) ({__name__=~"` + strings.Join(src.Calls, "|") + `",` + m + `})` +
			` * on (instance, job) group_left (` + named + `) ` +
			`topk by (instance, job) (1, last_over_time(` + src.BuildInfo + `[` + formatWindow(q.window) + `])))`
	}
	return b
}

// objectiveRules selects the Autometrics SLO recording rules (spec §5) of the objectives that
// the calls matching m carry, and the slo:time_period:days of their sloth_id (Sloth writes it
// with the sloth_* labels only).
//
// As in slothRules, the ExtraMatchers are not in the rules' selector (m, of the calls, has
// them): Sloth's Autometrics rules are sums by objective_name, objective_percentile and
// service_name, so a matcher on any other label (cluster, env, job) would drop every rule and
// leave only the raw counters. The client applies each matcher to the rule series that carry
// its label (ruleOf, excludedBy): a service_name matcher still chooses the rules.
func (q sourceQueries) objectiveRules(m string) string {
	src := q.src
	rules := `{__name__=~"` + strings.Join([]string{ruleSLIError, ruleBurnRate, ruleBudgetRemaining}, "|") + `"}`
	objectives := `group by (` + objectiveLabels + `) ({__name__=~"` +
		strings.Join(append(append([]string(nil), src.Calls...), src.Counts...), "|") + `",` + m + `})`
	used := `(` + rules + ` and on (` + objectiveLabels + `) ` + objectives + `)`
	return used + ` or (` + ruleTimePeriod + ` and on (sloth_id) ` + used + `)`
}

// slothRules selects the Sloth recording rules (slothRuleNames) whose sloth_slo or span_name
// label is the function label value of one of series.
//
// Neither the ExtraMatchers nor the span service setting are in this selector. Sloth's rule
// series carry the sloth_* labels and the SLO's own labels, usually not the cluster or
// environment labels of the metrics they are computed from, so the matchers would drop every
// rule and every span SLO with them. The client applies each matcher afterwards to the rule
// series that carry its label only (slothRuleOf): rules evaluated per cluster still keep to
// the numbers' cluster, rules without the label are kept, and SlothMiss can say which rules a
// matcher left out. The service is compared as sloth_service (SlothSLOs).
func (q sourceQueries) slothRules(series []Series) string {
	var names []string
	seen := map[string]bool{}
	for _, s := range series {
		if !seen[s.Function] {
			seen[s.Function] = true
			names = append(names, s.Function)
		}
	}
	rules := `{__name__=~"` + strings.Join(slothRuleNames, "|") + `",`
	return rules + matcher("sloth_slo", names) + `} or ` + rules + matcher("span_name", names) + `}`
}

// trend is the range query of FetchTrend: call rates by failure.
func (q sourceQueries) trend(series []Series) string {
	return q.sumRate(join(q.subject(), q.src.ErrorLabel), q.src.Calls, q.selector(series))
}

// numberOf returns the PromQL of one number of one series (see Client.QueryFor).
func (q sourceQueries) numberOf(kind Kind, s Series) string {
	src := q.src
	m := q.seriesSelector(s)
	w := formatWindow(q.window)
	calls := `{__name__=~"` + strings.Join(src.Calls, "|") + `",` + m
	rate := func(extra string) string {
		return `sum by (` + q.subject() + `) (rate(` + calls + extra + `}[` + w + `]))`
	}
	switch kind {
	case RequestRate:
		return rate("")
	case ErrorRatio:
		// "or … * 0" makes a function without any error series read 0, not no data.
		failed := `,` + src.ErrorLabel + `=` + quote(src.ErrorValue)
		return `(` + rate(failed) + ` or ` + rate("") + ` * 0) / ` + rate("")
	case LatencyP95, LatencyP99:
		if len(src.Buckets) == 0 {
			return ""
		}
		p := "0.95"
		if kind == LatencyP99 {
			p = "0.99"
		}
		return q.seconds(`histogram_quantile(` + p + `, sum by (` + join("le", q.subject()) + `) (rate({__name__=~"` +
			strings.Join(src.Buckets, "|") + `",` + m + `}[` + w + `])))`)
	case Concurrent:
		if src.Concurrent == "" {
			return ""
		}
		return `sum by (` + q.subject() + `) (` + src.Concurrent + `{` + m + `})`
	}
	return ""
}

// matcher returns label="v" for one value, else label=~"v1|v2|…" with each value regex-quoted.
// Either way the value is a PromQL string literal.
func matcher(label string, values []string) string {
	if len(values) == 1 {
		return label + "=" + quote(values[0])
	}
	vs := append([]string(nil), values...)
	sort.Strings(vs)
	for i, v := range vs {
		vs[i] = regexp.QuoteMeta(v)
	}
	return label + "=~" + quote(strings.Join(vs, "|"))
}

// quote returns s as a PromQL double-quoted string (PromQL strings take Go's escapes).
func quote(s string) string { return strconv.Quote(s) }

// formatWindow renders a duration as PromQL does ("5m", "1h30m").
func formatWindow(d time.Duration) string { return model.Duration(d).String() }
