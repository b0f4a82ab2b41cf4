package promclient

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// OpenTelemetry span metrics, as the Collector's spanmetrics connector (through the Prometheus
// exporter or remote write) and Grafana Tempo's metrics-generator name them. A span is a subject
// by its name and kind (span_name, span_kind = SPAN_KIND_*): Series.Function is the span name,
// Series.Module the kind. A span named at run time is a subject by the code_function_name
// dimension (the Collector adds it when code.function.name is a configured dimension):
// Series.Function is then the function's runtime name and Series.Module is "". A call failed
// when its status is STATUS_CODE_ERROR; the error ratio is over all calls.
//
// Every naming is one entry below; Client.DiscoverSpans finds which one a backend holds.

// spanSource fills in what every span-metrics entry shares.
func spanSource(id SourceID, name string, calls, buckets, counts []string, latencySeconds float64, statusLabel, serviceLabel string) *Source {
	return &Source{
		ID: id, Name: name,
		FunctionLabel: "span_name", ModuleLabel: "span_kind",
		Calls: calls, Buckets: buckets, Counts: counts, LatencySeconds: latencySeconds,
		ErrorLabel: statusLabel, ErrorValue: StatusCodeError,
		ServiceLabel: serviceLabel,
		SlothRules:   true,
	}
}

// StatusCodeError is the status of a failed span.
const StatusCodeError = "STATUS_CODE_ERROR"

var (
	// The Collector's connector since v0.109 with the exporter's suffixes, and without them
	// (add_metric_suffixes: false, or translation without suffixes): milliseconds either way.
	spanCollector = spanSource(SpanCollector, "OpenTelemetry span metrics (Collector)",
		[]string{"traces_span_metrics_calls_total", "traces_span_metrics_calls"},
		[]string{"traces_span_metrics_duration_milliseconds_bucket", "traces_span_metrics_duration_bucket"},
		[]string{"traces_span_metrics_duration_milliseconds_count", "traces_span_metrics_duration_count"},
		0.001, "status_code", "service_name")
	// The same series keyed by code_function_name.
	spanCollectorByFunction = func() *Source {
		s := *spanCollector
		s.ID, s.Name = SpanCollectorByFunction, "OpenTelemetry span metrics (Collector, by code.function.name)"
		s.FunctionLabel, s.ModuleLabel = "code_function_name", ""
		return &s
	}()
	// histogram.unit: s.
	spanCollectorSeconds = spanSource(SpanCollectorSeconds, "OpenTelemetry span metrics (Collector, seconds)",
		[]string{"traces_span_metrics_calls_total", "traces_span_metrics_calls"},
		[]string{"traces_span_metrics_duration_seconds_bucket"},
		[]string{"traces_span_metrics_duration_seconds_count"},
		1, "status_code", "service_name")
	// Connector versions that label the status otel_status_code.
	spanCollectorOtelStatus = spanSource(SpanCollectorOtelStatus, "OpenTelemetry span metrics (Collector, otel_status_code)",
		[]string{"traces_span_metrics_calls_total", "traces_span_metrics_calls"},
		[]string{"traces_span_metrics_duration_milliseconds_bucket", "traces_span_metrics_duration_bucket"},
		[]string{"traces_span_metrics_duration_milliseconds_count", "traces_span_metrics_duration_count"},
		0.001, "otel_status_code", "service_name")
	// The spanmetrics processor and connector before the traces.span.metrics namespace.
	spanLegacy = spanSource(SpanLegacy, "OpenTelemetry span metrics (legacy names)",
		[]string{"calls_total", "calls"},
		[]string{"duration_milliseconds_bucket", "duration_bucket"},
		[]string{"duration_milliseconds_count", "duration_count"},
		0.001, "status_code", "service_name")
	// Grafana Tempo's metrics-generator: seconds, label service.
	spanTempo = spanSource(SpanTempo, "OpenTelemetry span metrics (Tempo)",
		[]string{"traces_spanmetrics_calls_total"},
		[]string{"traces_spanmetrics_latency_bucket"},
		[]string{"traces_spanmetrics_latency_count"},
		1, "status_code", "service")
)

// SpanFamilies maps the values of the spanMetrics setting to the entries they force; the
// ByFunction entry goes with "collector".
var SpanFamilies = map[string]SourceID{
	"collector":             SpanCollector,
	"collector-seconds":     SpanCollectorSeconds,
	"collector-otel-status": SpanCollectorOtelStatus,
	"legacy":                SpanLegacy,
	"tempo":                 SpanTempo,
}

// Entries discovery builds for a naming under another namespace: the Collector's names with a
// connector namespace other than traces.span.metrics, or a Prometheus exporter namespace in
// front ("myapp_traces_span_metrics_calls_total"). Their description is the discovery's
// (SpanDiscovery.Namespaced), not the table's.
const (
	SpanNamespaced SourceID = 240 + iota
	SpanNamespacedByFunction
)

// IsSpanSource reports whether id is one of the span-metrics entries.
func IsSpanSource(id SourceID) bool {
	return (id >= SpanCollector && id <= SpanTempo) || id == SpanNamespaced || id == SpanNamespacedByFunction
}

// spanDiscoveryOrder is the order discovery tries the entries in: the more specific first.
var spanDiscoveryOrder = []SourceID{SpanCollectorOtelStatus, SpanCollectorSeconds, SpanCollector, SpanTempo, SpanLegacy}

// SpanDiscovery is what a backend holds of span metrics.
type SpanDiscovery struct {
	// Found is false when the backend has no span metrics at all (Source is then SpanCollector,
	// the default naming).
	Found bool
	// Source is the naming of the spans' series; ByFunction, when not zero, the entry that
	// reads them by code_function_name (the backend has that label).
	Source, ByFunction SourceID
	// Forced: the spanMetrics setting chose Source, no query was sent.
	Forced bool
	// Names are the metric names seen, for explanations.
	Names []string
	// Namespaced and NamespacedByFunction describe SpanNamespaced and SpanNamespacedByFunction
	// when Source is SpanNamespaced (nil otherwise).
	Namespaced, NamespacedByFunction *Source
}

// discoveryTTL is how long a discovery stays valid; a failed one is retried after the TTL of
// numbers.
const discoveryTTL = 10 * time.Minute

// spanDiscoveryQuery is the one query of DiscoverSpans: every calls and histogram-count name of
// every entry that has span_name, with which of the optional labels (otel_status_code,
// code_function_name) exist, by name. It looks over the rate window, as the numbers do, so a
// series the numbers can read is never missed (an instant selector would miss one gone stale).
func (c *Client) spanDiscoveryQuery() string {
	names := map[string]bool{}
	for _, id := range spanDiscoveryOrder {
		src := c.sources[id]
		for _, n := range append(append([]string(nil), src.Calls...), src.Counts...) {
			names[n] = true
		}
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	// Any namespace: "<ns>_calls_total" and "<ns>_duration[_milliseconds|_seconds]_count".
	list = append(list, ".+_calls(_total)?", ".+_duration(_milliseconds|_seconds)?_count")
	re := strings.Join(list, "|")
	w := formatWindow(c.cfg.Window)
	part := func(extra, mark string) string {
		return `label_replace(group by (__name__) (last_over_time({__name__=~"` + re + `",span_name!=""` + extra + c.extraSuffix() + `}[` + w + `])), "am_lsp", "` + mark + `", "", "")`
	}
	return part("", "name") + " or " + part(`,otel_status_code!=""`, "otel_status_code") + " or " + part(`,code_function_name!=""`, "code_function_name")
}

// DiscoverSpans finds, with one query (cached for ten minutes per client, a failure for the TTL
// of numbers), which span-metrics naming the backend holds. The query runs detached, bounded by
// Config.Timeout, with the semaphore and authentication of every query; concurrent callers share
// it, and ctx bounds only this caller's wait. The Config's SpanMetrics, when set, forces the
// naming without a query.
func (c *Client) DiscoverSpans(ctx context.Context) (SpanDiscovery, error) {
	if c.cfg.SpanMetrics != "" {
		id, ok := SpanFamilies[c.cfg.SpanMetrics]
		if !ok {
			return SpanDiscovery{}, fmt.Errorf("spanMetrics %q is not one of %s", c.cfg.SpanMetrics, strings.Join(SpanFamilyNames(), ", "))
		}
		d := SpanDiscovery{Found: true, Source: id, Forced: true}
		if id == SpanCollector {
			d.ByFunction = SpanCollectorByFunction
		}
		return d, nil
	}
	c.mu.Lock()
	e := c.spans
	if e == nil || (!e.running() && !c.now().Before(e.until)) {
		e = &spanDiscoveryEntry{done: make(chan struct{})}
		c.spans = e
		c.discoveries++
		go c.discover(e)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.d, e.err
	case <-ctx.Done():
		return SpanDiscovery{}, ctx.Err()
	}
}

// discover runs the discovery query of e and publishes its answer.
func (c *Client) discover(e *spanDiscoveryEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	var a queryAnswer
	c.queryAll(ctx, c.instant(), []queryJob{{c.spanDiscoveryQuery(), &a}})
	var err error
	var d SpanDiscovery
	until := c.now().Add(discoveryTTL)
	if a.err != nil {
		err, until = c.classify(a.err), c.now().Add(min(c.cfg.TTL, 5*time.Second))
	} else {
		d = readDiscovery(c.sources, a.vec)
	}
	c.mu.Lock()
	e.d, e.err, e.until = d, err, until
	close(e.done)
	c.mu.Unlock()
}

// spanDiscoveryEntry is a DiscoverSpans answer, in flight until done is closed; d, err and until
// are set before.
type spanDiscoveryEntry struct {
	done  chan struct{}
	d     SpanDiscovery
	err   error
	until time.Time
}

func (e *spanDiscoveryEntry) running() bool {
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}

// readDiscovery picks the entry whose names the answer holds.
func readDiscovery(table []*Source, vec model.Vector) SpanDiscovery {
	names := map[string]bool{}
	otelStatus, byFunction := map[string]bool{}, map[string]bool{}
	for _, s := range vec {
		n := string(s.Metric[model.MetricNameLabel])
		switch string(s.Metric["am_lsp"]) {
		case "name":
			names[n] = true
		case "otel_status_code":
			otelStatus[n] = true
		case "code_function_name":
			byFunction[n] = true
		}
	}
	d := SpanDiscovery{Source: SpanCollector}
	for n := range names {
		d.Names = append(d.Names, n)
	}
	sort.Strings(d.Names)
	has := func(list []string, in map[string]bool) bool {
		for _, n := range list {
			if in[n] {
				return true
			}
		}
		return false
	}
	for _, id := range spanDiscoveryOrder {
		src := table[id]
		if !has(src.Calls, names) {
			continue
		}
		if id == SpanCollectorSeconds && !has(src.Counts, names) {
			continue // the calls are the Collector's, the histogram is not in seconds
		}
		if (src.ErrorLabel == "otel_status_code") != has(src.Calls, otelStatus) {
			continue
		}
		d.Found, d.Source = true, id
		if id == SpanCollector && has(src.Calls, byFunction) {
			d.ByFunction = SpanCollectorByFunction
		}
		break
	}
	if !d.Found {
		readNamespaced(&d, names, otelStatus, byFunction)
	}
	return d
}

// readNamespaced looks for the Collector's names under another namespace
// ("<ns>_calls_total", "<ns>_duration_milliseconds_count", ...) and describes them.
func readNamespaced(d *SpanDiscovery, names, otelStatus, byFunction map[string]bool) {
	var calls string
	for _, n := range d.Names {
		if strings.HasSuffix(n, "_calls_total") || (strings.HasSuffix(n, "_calls") && calls == "") {
			calls = n
		}
	}
	if calls == "" {
		return
	}
	ns := strings.TrimSuffix(strings.TrimSuffix(calls, "_total"), "_calls")
	buckets := []string{ns + "_duration_milliseconds_bucket", ns + "_duration_bucket"}
	counts := []string{ns + "_duration_milliseconds_count", ns + "_duration_count"}
	unit := 0.001
	if names[ns+"_duration_seconds_count"] {
		buckets, counts, unit = []string{ns + "_duration_seconds_bucket"}, []string{ns + "_duration_seconds_count"}, 1
	}
	status := "status_code"
	if otelStatus[calls] {
		status = "otel_status_code"
	}
	src := spanSource(SpanNamespaced, "OpenTelemetry span metrics (namespace "+ns+")",
		[]string{ns + "_calls_total", ns + "_calls"}, buckets, counts, unit, status, "service_name")
	d.Found, d.Source, d.Namespaced = true, SpanNamespaced, src
	if byFunction[calls] {
		byFn := *src
		byFn.ID, byFn.Name = SpanNamespacedByFunction, src.Name+" by code.function.name"
		byFn.FunctionLabel, byFn.ModuleLabel = "code_function_name", ""
		d.ByFunction, d.NamespacedByFunction = SpanNamespacedByFunction, &byFn
	}
}

// Naming names the naming discovered (or forced), for users.
func (d SpanDiscovery) Naming() string {
	if d.Namespaced != nil {
		return d.Namespaced.Name
	}
	return d.Source.String()
}

// discoveredSource returns the description of a namespaced entry from the cached discovery,
// or nil.
func (c *Client) discoveredSource(id SourceID) *Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.spans
	if e == nil || e.running() {
		return nil
	}
	switch id {
	case SpanNamespaced:
		return e.d.Namespaced
	case SpanNamespacedByFunction:
		return e.d.NamespacedByFunction
	}
	return nil
}

// SpanFamilyNames are the values of the spanMetrics setting, sorted.
func SpanFamilyNames() []string {
	var out []string
	for n := range SpanFamilies {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Discoveries is the number of discovery queries the client has sent (for tests and the
// benchmark's count of queries).
func (c *Client) Discoveries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.discoveries
}

// Placeholder sources for callers that do not know the backend's naming: a Series with Source
// SpanAuto (span name and kind) or SpanAutoByFunction (code_function_name) is read under the
// entry DiscoverSpans finds, inside Fetch and FetchTrend, and its numbers come back under the
// placeholder Series. Without span metrics on the backend (or without code_function_name for
// SpanAutoByFunction) such a series has no numbers and Snapshot.Spans says why.
const (
	SpanAuto SourceID = 250 + iota
	SpanAutoByFunction
)

// IsSpan reports whether s is read from span metrics (a placeholder or an entry).
func (s Series) IsSpan() bool {
	return IsSpanSource(s.Source) || s.Source == SpanAuto || s.Source == SpanAutoByFunction
}

// entryFor returns the entry a placeholder source reads under d.
func (d SpanDiscovery) entryFor(id SourceID) (SourceID, bool) {
	switch {
	case id == SpanAuto && d.Found:
		return d.Source, true
	case id == SpanAutoByFunction && d.Found && d.ByFunction != 0:
		return d.ByFunction, true
	}
	return 0, false
}

// resolveSpans replaces the placeholder series of a batch by the entries the backend's naming
// uses (one DiscoverSpans, cached), dropping those the backend cannot answer. back maps each
// replacement to the series asked for; spans is the discovery, nil when the batch has no
// placeholder.
func (c *Client) resolveSpans(ctx context.Context, series []Series) (out []Series, back map[Series]Series, spans *SpanDiscovery, err error) {
	auto := false
	for _, s := range series {
		auto = auto || s.Source == SpanAuto || s.Source == SpanAutoByFunction
	}
	if !auto {
		return series, nil, nil, nil
	}
	d, err := c.DiscoverSpans(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	back = map[Series]Series{}
	for _, s := range series {
		if s.Source != SpanAuto && s.Source != SpanAutoByFunction {
			out = append(out, s)
			continue
		}
		if id, ok := d.entryFor(s.Source); ok {
			r := Series{Function: s.Function, Module: s.Module, Source: id}
			back[r] = s
			out = append(out, r)
		}
	}
	return Normalize(out), back, &d, nil
}

// rekey returns m with the keys in back replaced by the series asked for.
func rekey[V any](m map[Series]V, back map[Series]Series) map[Series]V {
	if len(back) == 0 || m == nil {
		return m
	}
	out := make(map[Series]V, len(m))
	for s, v := range m {
		if asked, ok := back[s]; ok {
			s = asked
		}
		out[s] = v
	}
	return out
}

// restoreSnapshot puts the numbers of replaced series back under the series asked for.
func restoreSnapshot(snap *Snapshot, asked []Series, back map[Series]Series, spans *SpanDiscovery) {
	snap.Queried, snap.Spans = asked, spans
	if len(back) == 0 {
		return
	}
	snap.Stats = rekey(snap.Stats, back)
	for s, st := range snap.Stats {
		st.Series = s
		snap.Stats[s] = st
	}
	snap.buckets = rekey(snap.buckets, back)
}

// cachedSpanEntry is the entry a placeholder reads under the cached discovery (the Collector's
// naming before the first discovery), for links.
func (c *Client) cachedSpanEntry(id SourceID) SourceID {
	c.mu.Lock()
	var d SpanDiscovery
	if e := c.spans; e != nil && !e.running() && e.err == nil {
		d = e.d
	}
	c.mu.Unlock()
	if c.cfg.SpanMetrics != "" {
		d, _ = c.DiscoverSpans(context.Background()) // forced: no query
	}
	if r, ok := d.entryFor(id); ok {
		return r
	}
	if id == SpanAutoByFunction {
		return SpanCollectorByFunction
	}
	return SpanCollector
}
