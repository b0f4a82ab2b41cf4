// Package promfixture runs a real Prometheus (or VictoriaMetrics) loaded with deterministic
// Autometrics series, for tests and for the demo. The data is written as OpenMetrics text,
// turned into TSDB blocks by promtool and served by the prometheus binary of the machine; the
// counters grow linearly from Before until After the anchor time, so rate() over any window
// that ends between the two reads back the configured rates exactly (see the design notes:
// backfilled data that ends "now" would make rate() at now read low).
//
// Recording rules (such as SLORules, the spec's SLO rule names) can be evaluated over the whole
// span of the data and stored with it; the server can require basic auth and serve under a
// route prefix.
//
// The main API (Start, StartVictoriaMetrics, WriteOpenMetrics) does not need a test; StartT
// and StartVictoriaMetricsT wrap them for tests.
package promfixture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultBuckets are the latency buckets of autometrics-go (spec §1), +Inf excluded.
var DefaultBuckets = []float64{.005, .0075, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10}

// Default time layout of the generated samples.
const (
	DefaultBefore = 2 * time.Hour
	DefaultAfter  = 3 * time.Hour
	DefaultStep   = 15 * time.Second
)

// Function describes the series one instrumented function has produced, as constant rates.
type Function struct {
	Function, Module             string // the function and module labels (spec §2)
	CallerFunction, CallerModule string // caller labels; empty means absent

	// CallsPerSec is the rate of all calls, ErrorsPerSec the part of it with result="error"
	// (0 <= ErrorsPerSec <= CallsPerSec). The result="error" series exists only when
	// ErrorsPerSec > 0, as with autometrics-go, which creates it on the first error.
	CallsPerSec, ErrorsPerSec float64

	// Latencies describes the duration distribution: every call takes one of these durations
	// (seconds), all equally often. The histogram over DefaultBuckets follows exactly: the
	// bucket le=b grows at CallsPerSec * (share of Latencies <= b). Empty means no histogram.
	Latencies []float64

	// Concurrent is the value of the function_calls_concurrent gauge; the gauge is written
	// only when it is not zero (autometrics-go emits it only WithConcurrentCalls).
	Concurrent float64

	// Objective labels; empty means absent. As with autometrics-go, every series carries
	// objective_name; the calls counter carries the success objective (objective_percentile
	// = ObjectivePercentile) and the histogram the latency objective: objective_percentile
	// (LatencyObjectivePercentile, default ObjectivePercentile) and
	// objective_latency_threshold, both only when ObjectiveLatencyThreshold is set. A
	// latency-only objective leaves ObjectivePercentile empty.
	ObjectiveName, ObjectivePercentile, ObjectiveLatencyThreshold string
	LatencyObjectivePercentile                                    string

	// Callers, when set, split the function's calls among several callers: each caller gets
	// the function's whole set of series (calls, histogram with the same Latencies, gauge)
	// with its own caller labels and rates, as if it were a Function of its own. CallsPerSec,
	// ErrorsPerSec, Concurrent, CallerFunction and CallerModule must then be zero.
	Callers []Caller

	// Build labels carried by the series themselves; empty means absent.
	ServiceName, Version, Commit, Branch string

	// Job and Instance are the scrape target labels; defaults "app" and "127.0.0.1:8080".
	Job, Instance string

	// Legacy uses the names of autometrics-go before v0.7: function_calls_count_total and
	// function_calls_duration (no _seconds), and a single `caller` label.
	Legacy bool

	// Labels are added to every series of the function.
	Labels map[string]string

	// Start and End, when not zero, bound the function's samples to [Start, End): the
	// process that emits them starts at Start (its counters count from 0 there) and is gone
	// at End. Two Functions with different Versions and adjacent bounds make a deploy.
	Start, End time.Time

	// Traffic, when set, shapes the rates over time (all of the function's counters alike,
	// so ratios, quantiles and SLOs stay what the constant rates say): the rates above are
	// then the average over the wave. Nil keeps them constant.
	Traffic *Traffic
}

// Traffic is a shape of request rates over time: a wave of relative Amplitude (0 <= Amplitude
// < 1) and Period around 1, times SpikeFactor during [SpikeAt, SpikeAt+SpikeFor).
type Traffic struct {
	Amplitude   float64
	Period      time.Duration
	SpikeAt     time.Time
	SpikeFor    time.Duration
	SpikeFactor float64
}

// integral returns the integral of the traffic's rate multiplier from a to b, in seconds.
func (tr *Traffic) integral(a, b time.Time) float64 {
	if tr == nil {
		return b.Sub(a).Seconds()
	}
	p := tr.Period.Seconds()
	wave := b.Sub(a).Seconds()
	if p > 0 {
		phase := func(t time.Time) float64 { return 2 * math.Pi * float64(t.UnixMilli()%int64(p*1000)) / (p * 1000) }
		wave -= tr.Amplitude * p / (2 * math.Pi) * (math.Cos(phase(b)) - math.Cos(phase(a)))
	}
	if tr.SpikeFor > 0 && tr.SpikeFactor > 0 {
		lo, hi := maxTime(a, tr.SpikeAt), b
		if e := tr.SpikeAt.Add(tr.SpikeFor); e.Before(hi) {
			hi = e
		}
		if hi.After(lo) {
			// The wave's own share of the spike window is multiplied too; approximated by
			// its mean (1) so that the integral stays closed-form.
			wave += (tr.SpikeFactor - 1) * hi.Sub(lo).Seconds()
		}
	}
	return wave
}

// Caller is one caller of a Function with its share of the calls.
type Caller struct {
	Function, Module                      string // caller_function, caller_module (or legacy caller)
	CallsPerSec, ErrorsPerSec, Concurrent float64
}

// BuildInfo is one build_info series (gauge, value 1).
type BuildInfo struct {
	Job, Instance                                         string // defaults as for Function
	ServiceName, Version, Commit, Branch                  string
	RepositoryURL, RepositoryProvider, AutometricsVersion string
	Labels                                                map[string]string
	// Start and End bound the samples as for Function.
	Start, End time.Time
}

// Options says what data to load and how to run the server.
type Options struct {
	// Port, when not zero, is the loopback port the (final) Prometheus listens on, e.g. to
	// restart a backend at the same URL; by default a free port is picked.
	Port int

	Functions []Function
	BuildInfo []BuildInfo

	// ExtraOpenMetrics is appended verbatim before "# EOF": whole metric families with
	// explicit timestamps in seconds. StartVictoriaMetrics converts its sample lines to the
	// text format with millisecond timestamps.
	ExtraOpenMetrics string

	// Now anchors the data (default time.Now()). Samples are written every Step (default
	// 15s) from Now-Before (default 2h) to Now+After (default 3h).
	Now                 time.Time
	Before, After, Step time.Duration

	// RecordingRules are evaluated over the whole span of the data, every RuleInterval, and
	// their results stored with it, as if they had run all along (Prometheus: range queries
	// against a first server on the raw data, as promtool tsdb create-blocks-from rules
	// makes them, then a restart with the results' blocks; VictoriaMetrics: vmalert in
	// replay mode). They are not loaded for live evaluation. A rule must not read another
	// rule's output: all are evaluated in one pass over the raw data. SLORules makes such
	// rules.
	RecordingRules []Rule
	// RuleInterval is the evaluation interval of RecordingRules (default 1m, at most 5m so
	// that an instant query always finds a recent sample).
	RuleInterval time.Duration

	// BasicAuthUser and BasicAuthPassword make the server require basic auth (Prometheus:
	// --web.config.file with a bcrypt hash made by htpasswd of the Debian package
	// apache2-utils; VictoriaMetrics: -httpAuth.*). The Server's own requests send them.
	BasicAuthUser, BasicAuthPassword string

	// RoutePrefix serves everything under a path prefix such as "/prom" (Prometheus:
	// --web.external-url and --web.route-prefix; VictoriaMetrics: -http.pathPrefix).
	// Server.URL includes it.
	RoutePrefix string

	// ExtraConfig is appended to the generated prometheus.yml (which has no scrape job), e.g. a
	// remote_read section. Prometheus only.
	ExtraConfig string

	// AlertingRules are evaluated live by the final Prometheus every second (Prometheus only);
	// Start returns once each has been evaluated.
	AlertingRules []AlertRule
	// Exemplars are served by a scrape target on 127.0.0.1 that Prometheus scrapes every
	// second with exemplar storage on (Prometheus only); Start returns once all are stored.
	Exemplars []Exemplar

	// Args are extra command-line flags for the server, e.g. "--query.max-samples=10".
	Args []string

	// Prometheus, Promtool and VictoriaMetrics name the binaries; defaults are looked up in PATH.
	Prometheus, Promtool, VictoriaMetrics string

	// StartTimeout bounds the start (default 60s).
	StartTimeout time.Duration
}

func (o *Options) applyDefaults() {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Before <= 0 {
		o.Before = DefaultBefore
	}
	if o.After <= 0 {
		o.After = DefaultAfter
	}
	if o.Step <= 0 {
		o.Step = DefaultStep
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.RuleInterval <= 0 {
		o.RuleInterval = time.Minute
	}
	o.RoutePrefix = strings.TrimRight(o.RoutePrefix, "/")
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// check validates opts (defaults applied).
func (o *Options) check() error {
	if _, err := families(*o); err != nil {
		return err
	}
	if err := o.checkIncident(); err != nil {
		return err
	}
	if p := o.RoutePrefix; p != "" && (!strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#% ")) {
		return fmt.Errorf("promfixture: RoutePrefix %q: want a path such as /prom", p)
	}
	for _, r := range o.RecordingRules {
		if !metricName.MatchString(r.Record) || strings.TrimSpace(r.Expr) == "" {
			return fmt.Errorf("promfixture: recording rule %q: want a metric name and an expression", r.Record)
		}
		for k := range r.Labels {
			if !labelName.MatchString(k) || k == "__name__" {
				return fmt.Errorf("promfixture: recording rule %s: label name %q", r.Record, k)
			}
		}
	}
	if o.RuleInterval > 5*time.Minute || o.RuleInterval%time.Second != 0 {
		return fmt.Errorf("promfixture: RuleInterval %v: want whole seconds, at most 5m", o.RuleInterval)
	}
	if (o.BasicAuthUser == "") != (o.BasicAuthPassword == "") || strings.ContainsAny(o.BasicAuthUser, ":\n") {
		return errors.New("promfixture: BasicAuthUser and BasicAuthPassword go together; the user has no colon")
	}
	return nil
}

// Span returns the time range [first, last] of the generated samples.
func (o Options) Span() (first, last time.Time) {
	o.applyDefaults()
	first = o.Now.Add(-o.Before).Truncate(o.Step)
	last = first
	for !last.Add(o.Step).After(o.Now.Add(o.After)) {
		last = last.Add(o.Step)
	}
	return first, last
}

// Metric family names (spec §2).
const (
	callsFamily          = "function_calls"       // samples function_calls_total
	legacyCallsFamily    = "function_calls_count" // samples function_calls_count_total
	durationFamily       = "function_calls_duration_seconds"
	legacyDurationFamily = "function_calls_duration"
	concurrentFamily     = "function_calls_concurrent"
	buildInfoFamily      = "build_info"
)

type format int

const (
	openMetrics format = iota // timestamps in seconds, # EOF
	promText                  // Prometheus text exposition, timestamps in ms
)

// series is one generated series: value(t) = start + slope * (t - first).
type series struct {
	name   string
	labels [][2]string // sorted by name
	slope  float64     // per second (0 for gauges)
	value  float64     // constant part
	// start and end, when not zero, bound the samples to [start, end); a counter counts
	// from value at start.
	start, end time.Time
	// traffic shapes a counter's slope over time (nil: constant).
	traffic *Traffic
}

type family struct {
	name, typ string
	series    []series
}

// WriteOpenMetrics writes the data of opts as OpenMetrics text terminated by "# EOF", as
// promtool tsdb create-blocks-from openmetrics reads it.
func WriteOpenMetrics(w io.Writer, opts Options) error {
	opts.applyDefaults()
	first, last := opts.Span()
	return writeData(w, opts, openMetrics, first, last.Add(time.Nanosecond), true)
}

// writeData writes the samples of opts with from <= t < to, and ExtraOpenMetrics when extra.
func writeData(w io.Writer, opts Options, f format, from, to time.Time, extra bool) error {
	opts.applyDefaults()
	fams, err := families(opts)
	if err != nil {
		return err
	}
	first, last := opts.Span()
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	for _, fam := range fams {
		if len(fam.series) == 0 {
			continue
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", fam.name, fam.typ)
		for _, s := range fam.series {
			prefix := seriesText(s)
			origin := first
			if s.start.After(first) {
				origin = s.start
			}
			t := first
			if lo := maxTime(from, s.start); lo.After(first) {
				t = first.Add((lo.Sub(first) + opts.Step - 1) / opts.Step * opts.Step)
			}
			for ; !t.After(last) && t.Before(to) && (s.end.IsZero() || t.Before(s.end)); t = t.Add(opts.Step) {
				v := s.value + s.slope*s.traffic.integral(origin, t)
				line = append(line[:0], prefix...)
				line = append(line, ' ')
				line = strconv.AppendFloat(line, v, 'g', -1, 64)
				line = append(line, ' ')
				ms := t.UnixMilli()
				if f == openMetrics {
					line = appendSeconds(line, ms)
				} else {
					line = strconv.AppendInt(line, ms, 10)
				}
				line = append(line, '\n')
				if _, err := bw.Write(line); err != nil {
					return err
				}
			}
		}
	}
	if x := strings.TrimSpace(opts.ExtraOpenMetrics); extra && x != "" {
		x = strings.TrimSpace(strings.TrimSuffix(x, "# EOF"))
		if f == promText {
			converted, err := openMetricsToText(x)
			if err != nil {
				return err
			}
			x = converted
		}
		bw.WriteString(strings.TrimSpace(x))
		bw.WriteString("\n")
	}
	if f == openMetrics {
		bw.WriteString("# EOF\n")
	}
	return bw.Flush()
}

// overlap reports whether the time bounds of a and b intersect (zero bounds are open).
func overlap(a, b series) bool {
	return (a.end.IsZero() || b.start.Before(a.end)) && (b.end.IsZero() || a.start.Before(b.end))
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// appendSeconds appends ms/1000 as a decimal without float rounding ("1700000000.015").
func appendSeconds(b []byte, ms int64) []byte {
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	b = strconv.AppendInt(b, sec, 10)
	if frac != 0 {
		b = append(b, '.')
		b = append(b, fmt.Sprintf("%03d", frac)...)
	}
	return b
}

func seriesText(s series) []byte {
	var b []byte
	b = append(b, s.name...)
	if len(s.labels) > 0 {
		b = append(b, '{')
		for i, l := range s.labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, l[0]...)
			b = append(b, '=', '"')
			b = append(b, escapeLabelValue(l[1])...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return b
}

var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabelValue(v string) string { return labelValueEscaper.Replace(v) }

func labelSet(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// formatLe renders a bucket bound the way the Go client does.
func formatLe(b float64) string {
	if math.IsInf(b, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(b, 'g', -1, 64)
}

func families(opts Options) ([]family, error) {
	calls := family{name: callsFamily, typ: "counter"}
	legacyCalls := family{name: legacyCallsFamily, typ: "counter"}
	dur := family{name: durationFamily, typ: "histogram"}
	legacyDur := family{name: legacyDurationFamily, typ: "histogram"}
	conc := family{name: concurrentFamily, typ: "gauge"}
	bi := family{name: buildInfoFamily, typ: "gauge"}

	fns, err := expandCallers(opts.Functions)
	if err != nil {
		return nil, err
	}
	seen := map[string][]series{}
	var start, end time.Time // bounds of the series being added
	var traffic *Traffic     // shape of the series being added
	add := func(fam *family, name string, labels map[string]string, slope, value float64) error {
		s := series{name: name, labels: labelSet(labels), slope: slope, value: value, start: start, end: end, traffic: traffic}
		key := string(seriesText(s))
		for _, o := range seen[key] {
			if overlap(o, s) {
				return fmt.Errorf("promfixture: duplicate series %s (same labels, overlapping Start and End)", key)
			}
		}
		seen[key] = append(seen[key], s)
		fam.series = append(fam.series, s)
		return nil
	}

	for i, fn := range fns {
		if fn.Function == "" || fn.Module == "" {
			return nil, fmt.Errorf("promfixture: function %d: Function and Module are required", i)
		}
		if fn.CallsPerSec < 0 || fn.ErrorsPerSec < 0 || fn.ErrorsPerSec > fn.CallsPerSec {
			return nil, fmt.Errorf("promfixture: %s.%s: need 0 <= ErrorsPerSec <= CallsPerSec", fn.Module, fn.Function)
		}
		for _, l := range fn.Latencies {
			if !(l >= 0) || math.IsInf(l, 0) {
				return nil, fmt.Errorf("promfixture: %s.%s: latency %v is not a finite non-negative number", fn.Module, fn.Function, l)
			}
		}
		if !fn.End.IsZero() && !fn.End.After(fn.Start) {
			return nil, fmt.Errorf("promfixture: %s.%s: End must be after Start", fn.Module, fn.Function)
		}
		start, end, traffic = fn.Start, fn.End, fn.Traffic
		job, inst := fn.Job, fn.Instance
		if job == "" {
			job = "app"
		}
		if inst == "" {
			inst = "127.0.0.1:8080"
		}
		base := map[string]string{}
		for k, v := range fn.Labels {
			base[k] = v
		}
		base["function"], base["module"] = fn.Function, fn.Module
		base["service_name"], base["version"], base["commit"], base["branch"] = fn.ServiceName, fn.Version, fn.Commit, fn.Branch
		base["job"], base["instance"] = job, inst
		if fn.Legacy {
			caller := fn.CallerFunction
			if fn.CallerModule != "" && fn.CallerFunction != "" {
				caller = fn.CallerModule + "." + fn.CallerFunction
			}
			base["caller"] = caller
		} else {
			base["caller_function"], base["caller_module"] = fn.CallerFunction, fn.CallerModule
		}
		objective := with(base, "objective_name", fn.ObjectiveName, "objective_percentile", fn.ObjectivePercentile)

		cf, cname, df, dname := &calls, callsFamily+"_total", &dur, durationFamily
		if fn.Legacy {
			cf, cname, df, dname = &legacyCalls, legacyCallsFamily+"_total", &legacyDur, legacyDurationFamily
		}
		if err := add(cf, cname, with(objective, "result", "ok"), fn.CallsPerSec-fn.ErrorsPerSec, 0); err != nil {
			return nil, err
		}
		if fn.ErrorsPerSec > 0 {
			if err := add(cf, cname, with(objective, "result", "error"), fn.ErrorsPerSec, 0); err != nil {
				return nil, err
			}
		}
		if len(fn.Latencies) > 0 {
			hl := with(objective, "objective_percentile", "")
			if fn.ObjectiveLatencyThreshold != "" {
				pct := fn.LatencyObjectivePercentile
				if pct == "" {
					pct = fn.ObjectivePercentile
				}
				hl = with(hl, "objective_percentile", pct, "objective_latency_threshold", fn.ObjectiveLatencyThreshold)
			}
			n := float64(len(fn.Latencies))
			for _, b := range append(append([]float64(nil), DefaultBuckets...), math.Inf(1)) {
				k := 0
				for _, l := range fn.Latencies {
					if l <= b {
						k++
					}
				}
				if err := add(df, dname+"_bucket", with(hl, "le", formatLe(b)), fn.CallsPerSec*float64(k)/n, 0); err != nil {
					return nil, err
				}
			}
			sum := 0.0
			for _, l := range fn.Latencies {
				sum += l
			}
			if err := add(df, dname+"_sum", hl, fn.CallsPerSec*sum/n, 0); err != nil {
				return nil, err
			}
			if err := add(df, dname+"_count", hl, fn.CallsPerSec, 0); err != nil {
				return nil, err
			}
		}
		if fn.Concurrent != 0 {
			if err := add(&conc, concurrentFamily, base, 0, fn.Concurrent); err != nil {
				return nil, err
			}
		}
	}
	for _, b := range opts.BuildInfo {
		if !b.End.IsZero() && !b.End.After(b.Start) {
			return nil, fmt.Errorf("promfixture: build_info %s: End must be after Start", b.Version)
		}
		start, end, traffic = b.Start, b.End, nil
		job, inst := b.Job, b.Instance
		if job == "" {
			job = "app"
		}
		if inst == "" {
			inst = "127.0.0.1:8080"
		}
		l := with(b.Labels, "job", job, "instance", inst, "service_name", b.ServiceName, "version", b.Version,
			"commit", b.Commit, "branch", b.Branch, "repository_url", b.RepositoryURL,
			"repository_provider", b.RepositoryProvider, "autometrics_version", b.AutometricsVersion)
		if err := add(&bi, buildInfoFamily, l, 0, 1); err != nil {
			return nil, err
		}
	}
	return []family{calls, legacyCalls, dur, legacyDur, conc, bi}, nil
}

// expandCallers replaces each Function that has Callers by one Function per caller.
func expandCallers(fns []Function) ([]Function, error) {
	out := make([]Function, 0, len(fns))
	for _, fn := range fns {
		if len(fn.Callers) == 0 {
			out = append(out, fn)
			continue
		}
		if fn.CallsPerSec != 0 || fn.ErrorsPerSec != 0 || fn.Concurrent != 0 || fn.CallerFunction != "" || fn.CallerModule != "" {
			return nil, fmt.Errorf("promfixture: %s.%s: with Callers, the rates, Concurrent and the caller labels go in the callers", fn.Module, fn.Function)
		}
		for _, c := range fn.Callers {
			f := fn
			f.Callers = nil
			f.CallerFunction, f.CallerModule = c.Function, c.Module
			f.CallsPerSec, f.ErrorsPerSec, f.Concurrent = c.CallsPerSec, c.ErrorsPerSec, c.Concurrent
			out = append(out, f)
		}
	}
	return out, nil
}

// openMetricsToText converts OpenMetrics sample lines (timestamps in seconds) to the text
// exposition format with millisecond timestamps. Comment lines are dropped.
func openMetricsToText(om string) (string, error) {
	var b strings.Builder
	for _, line := range strings.Split(om, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return "", fmt.Errorf("promfixture: ExtraOpenMetrics line %q has no value", line)
		}
		head, last := line[:i], line[i+1:]
		// A line has a timestamp when it has two fields after the series (value and time).
		j := strings.LastIndexByte(strings.TrimRight(head, " "), ' ')
		if j < 0 || strings.HasSuffix(head, "}") {
			return "", errors.New("promfixture: ExtraOpenMetrics lines need explicit timestamps for VictoriaMetrics: " + line)
		}
		sec, err := strconv.ParseFloat(last, 64)
		if err != nil {
			return "", fmt.Errorf("promfixture: ExtraOpenMetrics line %q: bad timestamp: %v", line, err)
		}
		b.WriteString(head)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(int64(math.Round(sec*1000)), 10))
		b.WriteByte('\n')
	}
	return b.String(), nil
}
