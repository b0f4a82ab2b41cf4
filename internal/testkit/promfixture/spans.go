package promfixture

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Span describes the span metrics of one span (one service, name and kind) as constant rates,
// for Options.ExtraOpenMetrics through SpanOpenMetrics.
type Span struct {
	Service, Name, Kind string // Kind is a span_kind value such as SPAN_KIND_SERVER
	// CodeFunction, when not "", is the code_function_name label.
	CodeFunction string
	// CallsPerSec is the rate of all calls, ErrorsPerSec the part with STATUS_CODE_ERROR
	// (the rest is STATUS_CODE_UNSET). The error series exists only when ErrorsPerSec > 0.
	CallsPerSec, ErrorsPerSec float64
	// Latencies (seconds): every call takes one of them, all equally often. Empty: no histogram.
	Latencies []float64
	// Labels are added to every series of the span, e.g. the cluster a scrape config or
	// external label adds; they must not name a label the span already has.
	Labels map[string]string
}

// SpanNaming is how a span-metrics producer names its series.
type SpanNaming struct {
	Calls        string    // counter, e.g. traces_span_metrics_calls_total
	Histogram    string    // histogram base name, e.g. traces_span_metrics_duration_milliseconds (series _bucket, _count, _sum)
	Unit         float64   // the histogram's unit in seconds (0.001 for milliseconds)
	StatusLabel  string    // status_code or otel_status_code
	ServiceLabel string    // service_name or service
	Buckets      []float64 // bucket bounds in Unit
}

// Bucket bounds of the Collector's connector (milliseconds) and of Tempo (seconds).
var (
	CollectorBucketsMs = []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000}
	TempoBucketsS      = []float64{0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384}
)

// Namings of the span-metrics variants users have.
var (
	CollectorNaming = SpanNaming{Calls: "traces_span_metrics_calls_total", Histogram: "traces_span_metrics_duration_milliseconds",
		Unit: 0.001, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: CollectorBucketsMs}
	CollectorNoSuffixNaming = SpanNaming{Calls: "traces_span_metrics_calls", Histogram: "traces_span_metrics_duration",
		Unit: 0.001, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: CollectorBucketsMs}
	CollectorSecondsNaming = SpanNaming{Calls: "traces_span_metrics_calls_total", Histogram: "traces_span_metrics_duration_seconds",
		Unit: 1, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: TempoBucketsS}
	CollectorOtelStatusNaming = SpanNaming{Calls: "traces_span_metrics_calls_total", Histogram: "traces_span_metrics_duration_milliseconds",
		Unit: 0.001, StatusLabel: "otel_status_code", ServiceLabel: "service_name", Buckets: CollectorBucketsMs}
	LegacyNaming = SpanNaming{Calls: "calls_total", Histogram: "duration_milliseconds",
		Unit: 0.001, StatusLabel: "status_code", ServiceLabel: "service_name", Buckets: CollectorBucketsMs}
	TempoNaming = SpanNaming{Calls: "traces_spanmetrics_calls_total", Histogram: "traces_spanmetrics_latency",
		Unit: 1, StatusLabel: "status_code", ServiceLabel: "service", Buckets: TempoBucketsS}
)

// SpanOpenMetrics returns the OpenMetrics families (without "# EOF", timestamps in seconds) of
// spans under naming, sampled as the fixture samples functions: every Step over opts.Span(),
// counters growing linearly, so rate() reads the configured rates back exactly. Pass the same
// opts (with Now set) as Start gets, and put the result in Options.ExtraOpenMetrics.
func SpanOpenMetrics(opts Options, naming SpanNaming, spans []Span) (string, error) {
	opts.applyDefaults()
	first, last := opts.Span()
	type sample struct {
		labels string
		slope  float64
	}
	var calls, buckets, counts, sums []sample
	for _, sp := range spans {
		if sp.Name == "" || sp.Kind == "" || sp.Service == "" {
			return "", fmt.Errorf("promfixture: span %+v: Service, Name and Kind are required", sp)
		}
		if sp.CallsPerSec < 0 || sp.ErrorsPerSec < 0 || sp.ErrorsPerSec > sp.CallsPerSec {
			return "", fmt.Errorf("promfixture: span %s: need 0 <= ErrorsPerSec <= CallsPerSec", sp.Name)
		}
		statuses := []struct {
			code string
			rate float64
		}{{"STATUS_CODE_UNSET", sp.CallsPerSec - sp.ErrorsPerSec}, {"STATUS_CODE_ERROR", sp.ErrorsPerSec}}
		for _, st := range statuses {
			if st.rate <= 0 && st.code == "STATUS_CODE_ERROR" {
				continue
			}
			labels := map[string]string{
				naming.ServiceLabel: sp.Service, "span_name": sp.Name, "span_kind": sp.Kind,
				naming.StatusLabel: st.code, "job": "otelcol", "instance": "127.0.0.1:8889",
			}
			if sp.CodeFunction != "" {
				labels["code_function_name"] = sp.CodeFunction
			}
			for k, v := range sp.Labels {
				if _, ok := labels[k]; ok || k == "le" {
					return "", fmt.Errorf("promfixture: span %s: label %q is the fixture's own", sp.Name, k)
				}
				labels[k] = v
			}
			calls = append(calls, sample{labelText(labels, "", ""), st.rate})
			if len(sp.Latencies) == 0 {
				continue
			}
			var sum float64
			for _, l := range sp.Latencies {
				sum += l / naming.Unit
			}
			perCall := st.rate / float64(len(sp.Latencies))
			for _, b := range naming.Buckets {
				n := 0
				for _, l := range sp.Latencies {
					if l/naming.Unit <= b {
						n++
					}
				}
				buckets = append(buckets, sample{labelText(labels, "le", strconv.FormatFloat(b, 'g', -1, 64)), perCall * float64(n)})
			}
			buckets = append(buckets, sample{labelText(labels, "le", "+Inf"), st.rate})
			counts = append(counts, sample{labelText(labels, "", ""), st.rate})
			sums = append(sums, sample{labelText(labels, "", ""), perCall * sum})
		}
	}
	var b strings.Builder
	write := func(name string, samples []sample) {
		for _, s := range samples {
			for t := first; !t.After(last); t = t.Add(opts.Step) {
				v := s.slope * t.Sub(first).Seconds()
				fmt.Fprintf(&b, "%s%s %s %s\n", name, s.labels, strconv.FormatFloat(v, 'g', -1, 64), string(appendSeconds(nil, t.UnixMilli())))
			}
		}
	}
	if family, ok := strings.CutSuffix(naming.Calls, "_total"); ok {
		fmt.Fprintf(&b, "# TYPE %s counter\n", family)
	} else {
		fmt.Fprintf(&b, "# TYPE %s unknown\n", naming.Calls) // OpenMetrics counters end in _total
	}
	write(naming.Calls, calls)
	if len(buckets) > 0 {
		fmt.Fprintf(&b, "# TYPE %s histogram\n", naming.Histogram)
		write(naming.Histogram+"_bucket", buckets)
		write(naming.Histogram+"_count", counts)
		write(naming.Histogram+"_sum", sums)
	}
	return b.String(), nil
}

// labelText renders labels (plus extra=value when extra is not "") as {a="x",…}, sorted.
func labelText(labels map[string]string, extra, value string) string {
	keys := make([]string, 0, len(labels)+1)
	for k := range labels {
		keys = append(keys, k)
	}
	if extra != "" {
		keys = append(keys, extra)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := labels[k]
		if k == extra {
			v = value
		}
		parts[i] = k + `="` + escapeLabelValue(v) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
