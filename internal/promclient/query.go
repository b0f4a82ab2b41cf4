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

// Metric names, current and from before autometrics-go v0.7 (spec §2).
const (
	callsMetric          = "function_calls_total"
	legacyCallsMetric    = "function_calls_count_total"
	bucketMetric         = "function_calls_duration_seconds_bucket"
	legacyBucketMetric   = "function_calls_duration_bucket"
	countMetric          = "function_calls_duration_seconds_count"
	legacyCountMetric    = "function_calls_duration_count"
	concurrentMetric     = "function_calls_concurrent"
	buildInfoMetric      = "build_info"
	anyCallsMetricRegexp = callsMetric + "|" + legacyCallsMetric
	anyBucketRegexp      = bucketMetric + "|" + legacyBucketMetric
)

// QueriesPerFetch is the number of queries one Fetch sends, whatever the number of series:
// calls (with callers and success objectives), latency (quantiles and raw buckets, with latency
// objectives), concurrency together with the SLO recording rules, and build_info.
const QueriesPerFetch = 4

// QueriesPerTrend is the number of queries one FetchTrend sends (one range query).
const QueriesPerTrend = 1

// SLO recording rules the client reads (spec §5).
const (
	ruleSLIError        = "slo:sli_error:ratio_rate5m"
	ruleBurnRate        = "slo:current_burn_rate:ratio"
	ruleBudgetRemaining = "slo:period_error_budget_remaining:ratio"
	ruleSLIWindow       = 5 * time.Minute
	ruleBudgetPeriod    = 30 * 24 * time.Hour
)

// QueryFor returns the PromQL of one number of one function, as the spec's queries (§3) but
// filtered on both function and module (and the ExtraMatchers), without the build_info join,
// and matching the metric names of current and older autometrics-go. It answers one series
// whose value is the number Fetch reports. Meant for links and tests; Fetch batches its own
// queries.
func (c *Client) QueryFor(kind Kind, s Series) string {
	m := `function=` + quote(s.Function) + `,module=` + quote(s.Module) + c.extraSuffix()
	w := formatWindow(c.cfg.Window)
	calls := `{__name__=~"` + anyCallsMetricRegexp + `",` + m
	rate := func(extra string) string {
		return `sum by (function, module) (rate(` + calls + extra + `}[` + w + `]))`
	}
	switch kind {
	case RequestRate:
		return rate("")
	case ErrorRatio:
		// "or … * 0" makes a function without any error series read 0, not no data.
		return `(` + rate(`,result="error"`) + ` or ` + rate("") + ` * 0) / ` + rate("")
	case LatencyP95, LatencyP99:
		q := "0.95"
		if kind == LatencyP99 {
			q = "0.99"
		}
		return `histogram_quantile(` + q + `, sum by (le, function, module) (rate({__name__=~"` + anyBucketRegexp + `",` + m + `}[` + w + `])))`
	case Concurrent:
		return `sum by (function, module) (` + concurrentMetric + `{` + m + `})`
	}
	return ""
}

// extraSuffix returns the ExtraMatchers as ",m1,m2" (empty without any).
func (c *Client) extraSuffix() string {
	if len(c.extra) == 0 {
		return ""
	}
	return "," + strings.Join(c.extra, ",")
}

// Grouping labels of the batched queries.
const (
	callsBy   = "function, module, result, service_name, version, caller_function, caller_module, caller, objective_name, objective_percentile"
	bucketsBy = "le, function, module, objective_name, objective_percentile, objective_latency_threshold"
	trendBy   = "function, module, result"
)

// batch holds the queries of one Fetch.
type batch struct {
	calls, latency, concurrent, buildInfo string
}

// batchSelector returns the label matchers of a set of series (sorted, non-empty): the
// functions and the modules of the set, then extra. The answer may hold other (function,
// module) pairs of the cross product, which the caller drops.
func batchSelector(series []Series, extra string) string {
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
	return matcher("function", fns) + "," + matcher("module", mods) + extra
}

// bothNames sums the rate of the current and the legacy metric by the labels by and adds the
// two: rate() over a selector matching both names would fail with "vector cannot contain
// metrics with the same labelset" when a series exists under both names, and `A + B` alone
// would drop what exists under one name only, hence `(A + B) or A or B`.
func bothNames(by, cur, legacy, m string, window time.Duration) string {
	w := formatWindow(window)
	a := `sum by (` + by + `) (rate(` + cur + `{` + m + `}[` + w + `]))`
	b := `sum by (` + by + `) (rate(` + legacy + `{` + m + `}[` + w + `]))`
	return `(` + a + ` + ` + b + `) or ` + a + ` or ` + b
}

// batchQueries builds the queries of one Fetch for a set of series (sorted, non-empty), extra
// being the ExtraMatchers as ",m1,m2".
//
//   - calls: the call rates by result and by everything the numbers are split by (service,
//     version, callers, success objective), added up client-side;
//   - latency: the p95 and p99 of the backend's histogram_quantile, or (the series differ in
//     their labels) the raw bucket rates with the latency objective's labels, for SLO;
//   - concurrent: the gauge, or the SLO recording rules of the objectives the calls of the
//     batch carry (the rule series keep their __name__, the sums have none);
//   - buildInfo: services and versions from build_info, for series that lack them.
func batchQueries(series []Series, window time.Duration, extra string) batch {
	m := batchSelector(series, extra)
	w := formatWindow(window)
	buckets := bothNames("le, function, module", bucketMetric, legacyBucketMetric, m, window)
	quantile := func(q string) string {
		return `label_replace(histogram_quantile(` + q + `, ` + buckets + `), "quantile", "` + q + `", "", "")`
	}
	rules := `{__name__=~"` + strings.Join([]string{ruleSLIError, ruleBurnRate, ruleBudgetRemaining}, "|") + `"` + extra + `}`
	objectives := `group by (objective_name, objective_percentile) ({__name__=~"` +
		anyCallsMetricRegexp + "|" + countMetric + "|" + legacyCountMetric + `",` + m + `})`
	return batch{
		calls:      bothNames(callsBy, callsMetric, legacyCallsMetric, m, window),
		latency:    quantile("0.95") + ` or ` + quantile("0.99") + ` or ` + bothNames(bucketsBy, bucketMetric, legacyBucketMetric, m, window),
		concurrent: `sum by (function, module) (` + concurrentMetric + `{` + m + `}) or (` + rules + ` and on (objective_name, objective_percentile) ` + objectives + `)`,
		// Only names service and version for series that lack them; it may drop series freely
		// because no number comes from it. topk keeps one build_info per target, so a restart
		// with a new version cannot make the join fail.
		buildInfo: `group by (function, module, service_name, version) (` +
			`group by (function, module, instance, job) ({__name__=~"` + anyCallsMetricRegexp + `",` + m + `})` +
			` * on (instance, job) group_left (service_name, version) ` +
			`topk by (instance, job) (1, last_over_time(` + buildInfoMetric + `[` + w + `])))`,
	}
}

// trendQuery is the range query of FetchTrend: call rates by result.
func trendQuery(series []Series, window time.Duration, extra string) string {
	return bothNames(trendBy, callsMetric, legacyCallsMetric, batchSelector(series, extra), window)
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
