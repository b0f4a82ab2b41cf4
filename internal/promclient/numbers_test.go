package promclient

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

func sameNumber(got, want float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

// promValue is Prometheus's own answer to promql: NaN for an empty answer.
func promValue(t *testing.T, s *promfixture.Server, promql string) float64 {
	t.Helper()
	v, _, err := s.Query(context.Background(), promql)
	if err != nil {
		t.Fatal(err)
	}
	switch len(v) {
	case 0:
		return math.NaN()
	case 1:
		return float64(v[0].Value)
	}
	t.Fatalf("%s: %d samples, want at most 1: %v", promql, len(v), v)
	return 0
}

// specQueries are the spec's single-function queries (§3) with the module filter added and
// without the build_info join, written out by hand for the current or the legacy names.
func specQueries(s Series, legacy bool) map[Kind]string {
	calls, buckets := "function_calls_total", "function_calls_duration_seconds_bucket"
	if legacy {
		calls, buckets = "function_calls_count_total", "function_calls_duration_bucket"
	}
	m := fmt.Sprintf(`function=%s,module=%s`, strconv.Quote(s.Function), strconv.Quote(s.Module))
	rate := fmt.Sprintf(`sum by (function, module) (rate(%s{%s}[5m]))`, calls, m)
	errRate := fmt.Sprintf(`sum by (function, module) (rate(%s{%s,result="error"}[5m]))`, calls, m)
	hist := fmt.Sprintf(`sum by (le, function, module) (rate(%s{%s}[5m]))`, buckets, m)
	return map[Kind]string{
		RequestRate: rate,
		ErrorRatio:  errRate + " / " + rate,
		LatencyP95:  "histogram_quantile(0.95, " + hist + ")",
		LatencyP99:  "histogram_quantile(0.99, " + hist + ")",
		Concurrent:  fmt.Sprintf(`sum by (function, module) (function_calls_concurrent{%s})`, m),
	}
}

func statOf(st Stats, k Kind) float64 {
	switch k {
	case RequestRate:
		return st.RequestRate
	case ErrorRatio:
		return st.ErrorRatio
	case LatencyP95:
		return st.P95
	case LatencyP99:
		return st.P99
	case Concurrent:
		return st.Concurrent
	}
	panic(k)
}

var allKinds = []Kind{RequestRate, ErrorRatio, LatencyP95, LatencyP99, Concurrent}

func TestNumbersEqualPrometheusAnswers(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	asked := []Series{apiHandle, checkout, mainRun, legacyParse, yamlUnm, idle, pay, plusAdd, odd, missing}
	snap, err := c.Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) != 0 {
		t.Errorf("warnings: %q", snap.Warnings)
	}
	if snap.Window != 5*time.Minute {
		t.Errorf("Window = %v", snap.Window)
	}
	if len(snap.Queried) != len(asked) {
		t.Errorf("Queried = %v", snap.Queried)
	}

	// What the fixture was told to produce.
	type truth struct {
		rate, errRatio, concurrent float64
		service, version           string
		legacy                     bool
	}
	nan := math.NaN()
	truths := map[Series]truth{
		apiHandle:   {rate: 15, errRatio: 2.0 / 15, concurrent: 3, service: "shop", version: "1.4.0"},
		checkout:    {rate: 5, errRatio: 0.05, concurrent: 4, service: "shop", version: "1.4.0"},
		mainRun:     {rate: 0.5, errRatio: 0, concurrent: nan, service: "shopctl", version: "0.3.0"},
		legacyParse: {rate: 2, errRatio: 0.1, concurrent: nan, legacy: true},
		yamlUnm:     {rate: 7, errRatio: 0, concurrent: nan},
		idle:        {rate: 0, errRatio: nan, concurrent: nan, service: "shop", version: "1.4.0"},
		pay:         {rate: 3, errRatio: 0, concurrent: nan, service: "shop", version: "1.4.0, 1.5.0"},
		odd:         {rate: 0.125, errRatio: 0, concurrent: nan},
		plusAdd:     {rate: 0.75, errRatio: 0, concurrent: nan, service: "shop", version: "1.4.0"}, // build_info of its target
	}
	if len(snap.Stats) != len(truths) {
		t.Errorf("got stats for %d series, want %d: %v", len(snap.Stats), len(truths), snap.Stats)
	}
	if _, ok := snap.Stats[missing]; ok {
		t.Errorf("a series without data has stats: %+v", snap.Stats[missing])
	}
	for _, leak := range []Series{adminHandle, decoyHandle, plusDecoy, checkoutFn} {
		if _, ok := snap.Stats[leak]; ok {
			t.Errorf("stats for %v, which was not asked for", leak)
		}
	}
	for s, want := range truths {
		t.Run(s.String(), func(t *testing.T) {
			st, ok := snap.Stats[s]
			if !ok {
				t.Fatalf("no stats")
			}
			if st.Series != s {
				t.Errorf("Stats.Series = %v", st.Series)
			}
			// Against the configured data.
			if !sameNumber(st.RequestRate, want.rate) || !sameNumber(st.ErrorRatio, want.errRatio) || !sameNumber(st.Concurrent, want.concurrent) {
				t.Errorf("rate, error ratio, concurrent = %v, %v, %v; want %v, %v, %v",
					st.RequestRate, st.ErrorRatio, st.Concurrent, want.rate, want.errRatio, want.concurrent)
			}
			if st.ServiceName != want.service || st.Version != want.version {
				t.Errorf("service, version = %q, %q; want %q, %q", st.ServiceName, st.Version, want.service, want.version)
			}
			// Against Prometheus's own answer to the spec's query and to QueryFor's.
			for k, q := range specQueries(s, want.legacy) {
				ref := promValue(t, srv, q)
				if k == ErrorRatio && math.IsNaN(ref) && st.RequestRate > 0 {
					ref = 0 // the spec's ratio has no answer without error series
				}
				if got := statOf(st, k); !sameNumber(got, ref) {
					t.Errorf("%v = %v, Prometheus answers %v to %s", k, got, ref, q)
				}
			}
			for _, k := range allKinds {
				q := c.QueryFor(k, s)
				if ref, got := promValue(t, srv, q), statOf(st, k); !sameNumber(got, ref) {
					t.Errorf("%v = %v, Prometheus answers %v to QueryFor: %s", k, got, ref, q)
				}
			}
		})
	}
	// The latencies are real percentiles of the configured distributions.
	if st := snap.Stats[apiHandle]; !(st.P95 > 0.25 && st.P95 <= 2.5 && st.P99 >= st.P95) {
		t.Errorf("api Handle p95, p99 = %v, %v", st.P95, st.P99)
	}
	if st := snap.Stats[idle]; !math.IsNaN(st.P95) || !math.IsNaN(st.P99) {
		t.Errorf("p95, p99 without a histogram = %v, %v; want NaN", st.P95, st.P99)
	}
}

// The same-named functions of other modules are fetched on their own and have their own numbers.
func TestSameNameOtherModule(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{apiHandle, adminHandle, {Function: "Checkout", Module: "example.com/shop/admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Stats[apiHandle].RequestRate; !sameNumber(got, 15) {
		t.Errorf("api Handle rate = %v, want 15", got)
	}
	if got := snap.Stats[adminHandle]; !sameNumber(got.RequestRate, 100) || !sameNumber(got.ErrorRatio, 0.5) || got.ServiceName != "admin" {
		t.Errorf("admin Handle = %+v", got)
	}
	// Checkout exists in api.Server only; the cross product admin × Checkout has no data.
	if len(snap.Stats) != 2 {
		t.Errorf("stats for %d series, want 2: %v", len(snap.Stats), snap.Stats)
	}
}

// The spec's upstream query joins build_info and loses a function whose target has none
// (autometrics-shared issue 66); Fetch keeps it.
func TestNoBuildInfoKeepsSeries(t *testing.T) {
	srv := sharedServer(t)
	joined := `sum by (function, module, service_name, version, commit) (rate(function_calls_total{function="Unmarshal",module="gopkg.in/yaml%2ev3"}[5m])` +
		` * on (instance, job) group_left(version, commit) last_over_time(build_info[5m]))`
	v, _, err := srv.Query(context.Background(), joined)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 0 {
		t.Fatalf("the upstream join kept the series (%v): the data no longer shows the issue", v)
	}
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{yamlUnm})
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := snap.Stats[yamlUnm]; !ok || !sameNumber(st.RequestRate, 7) || st.ServiceName != "" || st.Version != "" {
		t.Errorf("stats = %+v, %v; want rate 7 without service", st, ok)
	}
}

// A series under both the current and the legacy name with otherwise equal labels makes
// rate({__name__=~"a|b"}) fail; the batched query adds the two instead.
func TestCurrentAndLegacyNamesTogether(t *testing.T) {
	s := Series{Function: "Both", Module: "example.com/both"}
	srv := promfixture.StartT(t, promfixture.Options{
		Functions: []promfixture.Function{
			{Function: s.Function, Module: s.Module, CallsPerSec: 3, ErrorsPerSec: 1, Latencies: []float64{0.02}},
			{Function: s.Function, Module: s.Module, CallsPerSec: 1, Latencies: []float64{0.02}, Legacy: true},
			{Function: "OnlyNew", Module: s.Module, CallsPerSec: 2},
		},
		Before: 20 * time.Minute, After: 20 * time.Minute,
	})
	if _, _, err := srv.Query(context.Background(), `rate({__name__=~"function_calls_total|function_calls_count_total",function="Both"}[5m])`); err == nil {
		t.Fatalf("the regex selector over both names no longer fails: the data does not show the problem")
	}
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{s, {Function: "OnlyNew", Module: s.Module}})
	if err != nil {
		t.Fatal(err)
	}
	st := snap.Stats[s]
	if !sameNumber(st.RequestRate, 4) || !sameNumber(st.ErrorRatio, 0.25) || !(st.P95 > 0.01 && st.P95 <= 0.025) {
		t.Errorf("stats = %+v; want rate 4, error ratio 0.25, p95 in (0.01, 0.025]", st)
	}
	if got := snap.Stats[Series{Function: "OnlyNew", Module: s.Module}].RequestRate; !sameNumber(got, 2) {
		t.Errorf("OnlyNew rate = %v, want 2", got)
	}
}

// The batched queries match the asked modules exactly: regex metacharacters in module values
// ("." and "+") are quoted, so look-alike modules are not even in Prometheus's answer. The SLO
// recording rules that come with the concurrency are those of the batch's objectives only, with
// the slo:time_period:days of their Sloth SLOs.
func TestBatchQueriesMatchExactly(t *testing.T) {
	srv := sharedServer(t)
	asked := []Series{apiHandle, plusAdd, odd}
	q := sourceQueries{src: sources[Autometrics], window: DefaultWindow}.batch(asked)
	for name, text := range map[string]string{"calls": q.calls, "latency": q.latency, "concurrent": q.concurrent, "build info": q.buildInfo} {
		v, _, err := srv.Query(context.Background(), text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mods := map[string]bool{}
		rules := 0
		for _, smp := range v {
			if name == "concurrent" && smp.Metric["__name__"] != "" {
				rules++
				// slo:time_period:days has only the sloth_* labels: those of api's Sloth SLOs.
				if smp.Metric["objective_name"] != "api" && (smp.Metric["__name__"] != ruleTimePeriod ||
					smp.Metric["sloth_id"] != "autometrics-success-rate-99" && smp.Metric["sloth_id"] != "autometrics-latency-99") {
					t.Errorf("rule series of another objective: %v", smp.Metric)
				}
				continue
			}
			m := string(smp.Metric["module"])
			mods[m] = true
			if m != apiHandle.Module && m != plusAdd.Module && m != odd.Module {
				t.Errorf("%s query answers for module %q", name, m)
			}
		}
		if (name == "calls" || name == "latency") && !mods[odd.Module] {
			t.Errorf("%s query has no answer for %q", name, odd.Module)
		}
		// api's success and latency objectives, three rules each, and their two periods.
		if name == "concurrent" && (rules != 8 || !mods[apiHandle.Module]) {
			t.Errorf("concurrent query: %d rule series, concurrency of %v: %v", rules, apiHandle, mods[apiHandle.Module])
		}
	}
}

func TestMatcherQuoting(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   string
	}{
		{[]string{"main"}, `module="main"`},
		{[]string{"a\"b\\c"}, `module="a\"b\\c"`},
		{[]string{"gopkg.in/yaml%2ev3", "example.com/x+y", "main"}, `module=~"example\\.com/x\\+y|gopkg\\.in/yaml%2ev3|main"`},
	} {
		if got := matcher("module", tc.values); got != tc.want {
			t.Errorf("matcher(%q) = %s, want %s", tc.values, got, tc.want)
		}
	}
}
