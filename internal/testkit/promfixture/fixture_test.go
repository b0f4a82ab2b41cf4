package promfixture

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
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

// A Prometheus behind basic auth and a route prefix, with the SLO recording rules backfilled
// over the data: the fixture's own requests get through, others are refused, and the recorded
// series hold the values of their expressions over the raw data at every evaluation.
func TestPrometheusRulesAuthPrefix(t *testing.T) {
	rules, err := SLORules("99")
	if err != nil {
		t.Fatal(err)
	}
	opts := sampleOptions()
	opts.RecordingRules = rules
	opts.BasicAuthUser, opts.BasicAuthPassword = "alice", "pw-"+t.Name()
	opts.RoutePrefix = "/prom/"
	opts.Before, opts.After = time.Hour+10*time.Minute, time.Hour
	s := StartT(t, opts)
	t.Logf("prometheus with rules, auth and prefix started in %v", s.StartupTime)
	if !strings.HasSuffix(s.URL, "/prom") {
		t.Errorf("URL = %s, want the prefix", s.URL)
	}
	checkRulesAuthPrefix(t, s, opts)
}

func checkRulesAuthPrefix(t *testing.T, s *Server, opts Options) {
	ctx := context.Background()
	for _, tc := range []struct {
		path       string
		user, pass string
		want       int
	}{
		{"/api/v1/query?query=1", "", "", http.StatusUnauthorized},
		{"/api/v1/query?query=1", "alice", "wrong", http.StatusUnauthorized},
		{"/api/v1/query?query=1", opts.BasicAuthUser, opts.BasicAuthPassword, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s as %q: %d, want %d", tc.path, tc.user, resp.StatusCode, tc.want)
		}
	}
	// Without the prefix there is nothing.
	u, _ := url.Parse(s.URL)
	req, _ := http.NewRequest(http.MethodGet, u.Scheme+"://"+u.Host+"/api/v1/query?query=1", nil)
	req.SetBasicAuth(opts.BasicAuthUser, opts.BasicAuthPassword)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode == http.StatusOK {
		t.Errorf("the API answers without the prefix too")
	}

	n0, err := s.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sel := `{objective_name="API",objective_percentile="99",service_name="api"`
	checks := []struct {
		q    string
		want float64
	}{
		// Handle: 4 calls/s, 1 error/s; 3 of its 4 latencies are within the 0.1s threshold.
		{`slo:sli_error:ratio_rate5m` + sel + `,sloth_slo="success-rate-99"}`, 0.25},
		{`slo:sli_error:ratio_rate30d` + sel + `,sloth_slo="success-rate-99"}`, 0.25},
		{`slo:sli_error:ratio_rate1h` + sel + `,sloth_slo="latency-99"}`, 0.25},
		{`slo:objective:ratio` + sel + `,sloth_slo="latency-99"}`, 0.99},
		{`slo:error_budget:ratio` + sel + `,sloth_slo="success-rate-99"}`, 1 - 0.99},
		{`slo:current_burn_rate:ratio` + sel + `,sloth_slo="success-rate-99"}`, 0.25 / (1 - 0.99)},
		{`slo:period_error_budget_remaining:ratio` + sel + `,sloth_slo="latency-99"}`, 1 - 0.25/(1-0.99)},
		// The period, as autometrics-shared writes it: the sloth_* labels only.
		{`slo:time_period:days{sloth_id="autometrics-success-rate-99",sloth_service="autometrics",sloth_slo="success-rate-99"}`, 30},
		{`absent(slo:time_period:days{objective_name!=""})`, 1},
		// The same from the raw data, by Prometheus at query time.
		{`sum(rate(function_calls_total{objective_name="API",result="error"}[5m])) / sum(rate(function_calls_total{objective_name="API"}[5m]))`, 0.25},
		// Evaluated every minute over (at least) the last hour of the data.
		{`count_over_time(slo:current_burn_rate:ratio{sloth_slo="success-rate-99"}[1h])`, 60},
		// The legacy function has no objective: no rule series of its own.
		{`count(slo:sli_error:ratio_rate5m)`, 2},
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
}

func TestSLORulesRejectsBadPercentile(t *testing.T) {
	for _, p := range []string{"", "100", "0", "abc"} {
		if _, err := SLORules(p); err == nil {
			t.Errorf("SLORules(%q) accepted", p)
		}
	}
}

func TestVictoriaMetricsRulesAuthPrefix(t *testing.T) {
	rules, err := SLORules("99")
	if err != nil {
		t.Fatal(err)
	}
	opts := sampleOptions()
	opts.RecordingRules = rules
	opts.BasicAuthUser, opts.BasicAuthPassword = "alice", "pw-"+t.Name()
	opts.RoutePrefix = "/vm"
	opts.Before, opts.After = time.Hour+10*time.Minute, time.Hour
	s := StartVictoriaMetricsT(t, opts)
	t.Logf("victoria-metrics with rules, auth and prefix started in %v", s.StartupTime)
	checkRulesAuthPrefix(t, s, opts)
}

// Callers split a function into one set of series per caller; a latency-only objective puts
// its percentile on the histogram only.
func TestCallersAndLatencyObjective(t *testing.T) {
	var b strings.Builder
	fn := Function{
		Function: "Lookup", Module: "example.com/db", Latencies: []float64{0.01},
		ObjectiveName: "db", LatencyObjectivePercentile: "99.9", ObjectiveLatencyThreshold: "0.1",
		Callers: []Caller{
			{Function: "A", Module: "example.com/a", CallsPerSec: 2, ErrorsPerSec: 1},
			{Function: "B", Module: "example.com/b", CallsPerSec: 3, Concurrent: 4},
		},
	}
	now := time.Unix(1_700_000_000, 0)
	if err := WriteOpenMetrics(&b, Options{Functions: []Function{fn}, Now: now, Before: time.Minute, After: time.Minute}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// 105s after the first sample (as in TestWriteOpenMetricsShape): A makes 2 calls/s
		// of which 1 error/s, B 3 calls/s.
		`function_calls_total{caller_function="A",caller_module="example.com/a",function="Lookup",instance="127.0.0.1:8080",job="app",module="example.com/db",objective_name="db",result="error"} 105 1700000040` + "\n",
		`function_calls_total{caller_function="B",caller_module="example.com/b",function="Lookup",instance="127.0.0.1:8080",job="app",module="example.com/db",objective_name="db",result="ok"} 315 1700000040` + "\n",
		`function_calls_duration_seconds_bucket{caller_function="B",caller_module="example.com/b",function="Lookup",instance="127.0.0.1:8080",job="app",le="0.01",module="example.com/db",objective_latency_threshold="0.1",objective_name="db",objective_percentile="99.9"} 315 1700000040` + "\n",
		`function_calls_concurrent{caller_function="B",caller_module="example.com/b",function="Lookup",instance="127.0.0.1:8080",job="app",module="example.com/db"} 4 1700000040` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, `caller_function="B",caller_module="example.com/b",function="Lookup",instance="127.0.0.1:8080",job="app",module="example.com/db",objective_name="db",result="error"`) {
		t.Errorf("an error series for a caller without errors")
	}
	if n := strings.Count(out, `function_calls_concurrent{`); n != 9 {
		t.Errorf("%d concurrent samples, want 9 (caller B only)", n)
	}
	bad := fn
	bad.CallsPerSec = 1
	if err := WriteOpenMetrics(&b, Options{Functions: []Function{bad}}); err == nil {
		t.Errorf("Callers together with the function's own rate accepted")
	}
	// A success objective without a latency threshold leaves the histogram without
	// objective_percentile.
	b.Reset()
	succ := Function{Function: "F", Module: "m", CallsPerSec: 1, Latencies: []float64{0.1}, ObjectiveName: "x", ObjectivePercentile: "99"}
	if err := WriteOpenMetrics(&b, Options{Functions: []Function{succ}, Now: now, Before: time.Minute, After: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, `function_calls_total{function="F",instance="127.0.0.1:8080",job="app",module="m",objective_name="x",objective_percentile="99",result="ok"}`) ||
		!strings.Contains(out, `function_calls_duration_seconds_count{function="F",instance="127.0.0.1:8080",job="app",module="m",objective_name="x"}`) {
		t.Errorf("success objective labels:\n%s", out)
	}
}

// The SLO rules written as a rule file pass promtool's own check.
func TestSLORulesFilePassesPromtool(t *testing.T) {
	rules, err := SLORules("99", "99.9")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2*2*(len(SLOWindows)+6) {
		t.Errorf("%d rules", len(rules))
	}
	promtool, err := lookBinary("", "promtool")
	if err != nil {
		if ci.Enabled() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	file := t.TempDir() + "/rules.yml"
	if err := os.WriteFile(file, []byte(RulesYAML(rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("%d rules found", len(rules))) {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
