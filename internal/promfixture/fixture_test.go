package promfixture

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func sampleFunctions() []Function {
	return []Function{
		{
			Function: "Handle", Module: "example.com/app", CallerFunction: "main", CallerModule: "main",
			CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.003, 0.02, 0.02, 0.3},
			Concurrent: 3, ServiceName: "api", Version: "1.2.3", Commit: "abc",
			ObjectiveName: "API", ObjectivePercentile: "99", ObjectiveLatencyThreshold: "0.1",
		},
		{
			Function: "Old", Module: "example.com/legacy", CallsPerSec: 2, Latencies: []float64{0.5}, Legacy: true,
		},
	}
}

// sampleOptions has two functions, build_info and an extra family, a recording rule's output.
func sampleOptions() Options {
	now := time.Now()
	var extra strings.Builder
	extra.WriteString("# TYPE slo:objective:ratio gauge\n")
	for ts := now.Add(-10 * time.Minute).Unix(); ts <= now.Add(10*time.Minute).Unix(); ts += 30 {
		fmt.Fprintf(&extra, "slo:objective:ratio{objective_name=\"api\",service_name=\"api\"} 0.99 %d\n", ts)
	}
	return Options{
		Functions:        sampleFunctions(),
		BuildInfo:        []BuildInfo{{ServiceName: "api", Version: "1.2.3"}},
		ExtraOpenMetrics: extra.String(),
		Now:              now,
	}
}

func TestPrometheusServesExactRates(t *testing.T) {
	s := StartT(t, sampleOptions())
	if s.Backend != Prometheus {
		t.Errorf("Backend = %q", s.Backend)
	}
	checkServer(t, s)
}

func TestVictoriaMetricsServesExactRates(t *testing.T) {
	s := StartVictoriaMetricsT(t, sampleOptions())
	if s.Backend != VictoriaMetrics {
		t.Errorf("Backend = %q", s.Backend)
	}
	checkServer(t, s)
}

func checkServer(t *testing.T, s *Server) {
	t.Logf("%s %s (pid %d) started in %v", s.Backend, s.URL, s.PID, s.StartupTime)
	ctx := context.Background()
	n0, err := s.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n0 != 0 {
		t.Errorf("QueryCount on a fresh server = %d, want 0", n0)
	}
	checks := []struct {
		q    string
		want float64
	}{
		{`sum(rate(function_calls_total{function="Handle",module="example.com/app"}[5m]))`, 4},
		{`sum(rate(function_calls_total{function="Handle",module="example.com/app",result="error"}[5m]))`, 1},
		{`sum(rate(function_calls_duration_seconds_count{function="Handle"}[5m]))`, 4},
		{`sum(rate(function_calls_duration_seconds_sum{function="Handle"}[5m]))`, 4 * (0.003 + 0.02 + 0.02 + 0.3) / 4},
		{`sum(rate(function_calls_duration_seconds_bucket{function="Handle",le="0.025"}[5m]))`, 3},
		{`sum(rate(function_calls_duration_seconds_bucket{function="Handle",le="+Inf"}[5m]))`, 4},
		{`sum(function_calls_concurrent{function="Handle"})`, 3},
		{`sum(rate(function_calls_count_total{function="Old",module="example.com/legacy"}[1h]))`, 2},
		{`sum(rate(function_calls_duration_bucket{function="Old",le="0.5"}[5m]))`, 2},
		{`count(build_info{service_name="api",version="1.2.3",job="app",instance="127.0.0.1:8080"})`, 1},
		{`count(function_calls_total{caller_function="main",caller_module="main",objective_name="API",objective_percentile="99",job="app"})`, 2},
		{`count(function_calls_duration_seconds_bucket{objective_latency_threshold="0.1"})`, 16},
		{`count(function_calls_count_total{caller=""})`, 1},
		{`sum(slo:objective:ratio{objective_name="api"})`, 0.99},
	}
	for _, c := range checks {
		got, err := s.QueryValue(ctx, c.q)
		if err != nil {
			t.Error(err)
			continue
		}
		if math.Abs(got-c.want) > 1e-9*math.Abs(c.want) {
			t.Errorf("%s = %v, want %v", c.q, got, c.want)
		}
	}
	n1, err := s.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n1-n0 != len(checks) {
		t.Errorf("QueryCount went from %d to %d after %d queries", n0, n1, len(checks))
	}
	pid := s.PID
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.readQueryCount(ctx); err == nil {
		t.Errorf("server (pid %d) still answers after Stop", pid)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s left behind (%v)", s.dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// fakeTB records how StartT ends a test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

type stopTest struct{}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(func())    {}
func (f *fakeTB) Fatal(args ...any) { f.fatal = fmt.Sprint(args...); panic(stopTest{}) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(stopTest{})
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	panic(stopTest{})
}

func runStartT(opts Options) (f *fakeTB) {
	f = &fakeTB{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopTest); !ok {
				panic(r)
			}
		}
	}()
	StartT(f, opts)
	return f
}

func TestStartTMissingBinary(t *testing.T) {
	opts := Options{Prometheus: "prometheus-not-installed-here"}
	t.Setenv("CI", "true")
	if f := runStartT(opts); f.fatal == "" || f.skip != "" || !strings.Contains(f.fatal, "prometheus-not-installed-here") {
		t.Errorf("in CI: fatal %q, skip %q; want a failure naming the binary", f.fatal, f.skip)
	}
	t.Setenv("CI", "")
	if f := runStartT(opts); f.skip == "" || f.fatal != "" {
		t.Errorf("locally: fatal %q, skip %q; want a skip", f.fatal, f.skip)
	}
	// Other start failures are failures everywhere.
	if f := runStartT(Options{Functions: []Function{{Function: "F"}}}); f.fatal == "" {
		t.Errorf("bad options: fatal %q, skip %q; want a failure", f.fatal, f.skip)
	}
}

func TestWriteOpenMetricsShape(t *testing.T) {
	var b strings.Builder
	now := time.Unix(1_700_000_000, 0)
	err := WriteOpenMetrics(&b, Options{Functions: sampleFunctions(), Now: now, Before: time.Minute, After: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasSuffix(out, "# EOF\n") {
		t.Errorf("output does not end with # EOF")
	}
	for _, want := range []string{
		"# TYPE function_calls counter\n",
		"# TYPE function_calls_count counter\n",
		"# TYPE function_calls_duration_seconds histogram\n",
		"# TYPE function_calls_duration histogram\n",
		`function_calls_total{caller_function="main",caller_module="main",commit="abc",function="Handle",instance="127.0.0.1:8080",job="app",module="example.com/app",objective_name="API",objective_percentile="99",result="error",service_name="api",version="1.2.3"} 105 1700000040` + "\n",
		`le="+Inf"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// 9 samples per series (-60s … +60s every 15s).
	if n := strings.Count(out, `function_calls_concurrent{`); n != 9 {
		t.Errorf("%d concurrent samples, want 9", n)
	}
	if err := WriteOpenMetrics(&b, Options{Functions: []Function{{Function: "F", Module: "m"}, {Function: "F", Module: "m"}}}); err == nil {
		t.Errorf("duplicate series accepted")
	}
	if err := WriteOpenMetrics(&b, Options{Functions: []Function{{Function: "F", Module: "m", CallsPerSec: 1, ErrorsPerSec: 2}}}); err == nil {
		t.Errorf("ErrorsPerSec > CallsPerSec accepted")
	}
}
