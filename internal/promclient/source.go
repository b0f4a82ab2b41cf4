package promclient

import (
	"fmt"

	"github.com/prometheus/common/model"
)

// SourceID names a telemetry source: a naming of the metrics that answer how often a function
// is called, how often it fails and how long it takes. The zero value is Autometrics.
type SourceID uint8

// Sources. Add one by adding its ID here and its description to the sources table.
const (
	Autometrics SourceID = iota
	// OpenTelemetry span metrics (spans.go): subjects are span name and kind, or
	// code_function_name for the ByFunction entries.
	SpanCollector
	SpanCollectorByFunction
	SpanCollectorSeconds
	SpanCollectorOtelStatus
	SpanLegacy
	SpanTempo
)

func (id SourceID) String() string {
	if int(id) < len(sources) && sources[id] != nil {
		return sources[id].Name
	}
	return fmt.Sprintf("SourceID(%d)", int(id))
}

// Source describes how one naming of telemetry answers the questions am-lsp asks about a
// subject (a function): its metric families, the labels that select a subject's series, the
// condition that marks a failed call and the unit of its latency histogram. Every query the
// client sends (Fetch, FetchTrend, QueryFor) is built from it; caching, batching, deadlines,
// authentication, error classification and SLO arithmetic are shared by all sources.
//
// A source is data, not code: adding one (another span metrics naming, say) is a new entry in
// the sources table. The optional parts (Concurrent, CallerLabels, Objectives, BuildInfo) are
// Autometrics features; a source without them leaves them empty and its Stats say NaN or
// nothing for them.
type Source struct {
	// ID is the source's index in the sources table.
	ID SourceID
	// Name is shown to users ("Autometrics").
	Name string

	// FunctionLabel and ModuleLabel are the labels whose values are Series.Function and
	// Series.Module. ModuleLabel may be "" when the function label alone names a subject;
	// Series.Module is then "".
	FunctionLabel, ModuleLabel string

	// Calls are the names of the counter of calls, Buckets those of the latency histogram's
	// buckets and Counts those of its _count series: the current name first, then older
	// ones. The numbers add up every name a series exists under.
	Calls, Buckets, Counts []string
	// LatencySeconds is the histogram's unit in seconds: 1 for seconds, 0.001 for
	// milliseconds. Stats latencies and SLO thresholds are always in seconds.
	LatencySeconds float64
	// ErrorLabel=ErrorValue marks the calls that failed (result="error").
	ErrorLabel, ErrorValue string
	// ServiceLabel and VersionLabel, when not "", name the service and version of a series.
	ServiceLabel, VersionLabel string

	// Concurrent is the gauge of calls in progress ("" for none).
	Concurrent string
	// CallerLabels are the labels naming a caller: caller function, caller module, and a
	// legacy single label "module.function" (nil for none).
	CallerLabels *CallerLabels
	// Objectives says the series carry objective_name, objective_percentile and (buckets)
	// objective_latency_threshold, and that Sloth-style SLO recording rules may exist for
	// them.
	Objectives bool
	// BuildInfo is the info metric joined on (instance, job) to name the service and version
	// of series that lack them ("" for none).
	BuildInfo string
	// SlothRules says Sloth SLO recording rules name a subject by their sloth_slo or span_name
	// label (the subject's function label value): see Client.SlothSLOs.
	SlothRules bool
}

// CallerLabels name the caller of a call.
type CallerLabels struct {
	Function, Module string // caller_function, caller_module
	Legacy           string // caller ("module.function"), read when the two are absent
}

// sources is the table of telemetry sources, by SourceID.
var sources = []*Source{
	Autometrics: {
		ID:            Autometrics,
		Name:          "Autometrics",
		FunctionLabel: "function",
		ModuleLabel:   "module",
		// Current names, then those from before autometrics-go v0.7 (spec §2).
		Calls:          []string{"function_calls_total", "function_calls_count_total"},
		Buckets:        []string{"function_calls_duration_seconds_bucket", "function_calls_duration_bucket"},
		Counts:         []string{"function_calls_duration_seconds_count", "function_calls_duration_count"},
		LatencySeconds: 1,
		ErrorLabel:     "result",
		ErrorValue:     "error",
		ServiceLabel:   "service_name",
		VersionLabel:   "version",
		Concurrent:     "function_calls_concurrent",
		CallerLabels:   &CallerLabels{Function: "caller_function", Module: "caller_module", Legacy: "caller"},
		Objectives:     true,
		BuildInfo:      "build_info",
	},
	SpanCollector:           spanCollector,
	SpanCollectorByFunction: spanCollectorByFunction,
	SpanCollectorSeconds:    spanCollectorSeconds,
	SpanCollectorOtelStatus: spanCollectorOtelStatus,
	SpanLegacy:              spanLegacy,
	SpanTempo:               spanTempo,
}

// Series names the series of one subject: the source whose naming they follow and the values
// of that source's function and module labels. The zero Source is Autometrics, so
// Series{Function: f, Module: m} names an Autometrics function.
type Series struct {
	Function, Module string
	Source           SourceID
}

func (s Series) String() string {
	name := s.Module + "." + s.Function
	if s.Source != Autometrics {
		if s.Module == "" {
			name = s.Function
		}
		return s.Source.String() + " " + name
	}
	return name
}

// seriesOf returns the series a sample of src belongs to.
func (src *Source) seriesOf(m model.Metric) Series {
	s := Series{Function: string(m[model.LabelName(src.FunctionLabel)]), Source: src.ID}
	if src.ModuleLabel != "" {
		s.Module = string(m[model.LabelName(src.ModuleLabel)])
	}
	return s
}

// bySource splits sorted series into runs of one source, in SourceID order.
func bySource(series []Series) [][]Series {
	var out [][]Series
	for i := 0; i < len(series); {
		j := i + 1
		for j < len(series) && series[j].Source == series[i].Source {
			j++
		}
		out = append(out, series[i:j])
		i = j
	}
	return out
}
