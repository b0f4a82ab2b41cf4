package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// TestReportBurning runs `am-lsp report --burning` on the demo module against Prometheus: every
// row's measurement and burn rate are Prometheus's own, rows come worst burn rate first, only
// breached or burning SLOs are listed, and the exit status is 3 when one is breached (0 when the
// threshold and the data leave nothing).
func TestReportBurning(t *testing.T) {
	prom, _ := startDemoPrometheus(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := reportIn(ctx, t, bin, prom.URL)
	type row struct {
		Function, Module, Name, Objective, Source, Message string
		Percentile                                         float64
		LatencyThresholdSeconds                            *float64
		Measured, BurnRate                                 *float64
		WindowSeconds                                      float64
		Breached                                           bool
	}
	parse := func(out string) []row {
		var rows []row
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		return rows
	}

	out, stderr, code := run("--burning", "--json", "./...")
	rows := parse(out)
	if len(rows) == 0 {
		t.Fatalf("no burning SLO in the demo data (stderr %q)", stderr)
	}
	breached := false
	for i, r := range rows {
		if r.Measured == nil || r.BurnRate == nil || r.WindowSeconds != 300 {
			t.Fatalf("row %+v", r)
		}
		breached = breached || r.Breached
		if i > 0 && *rows[i-1].BurnRate < *r.BurnRate {
			t.Errorf("row %d (%s, burn %v) after a lower burn rate %v", i, r.Name, *r.BurnRate, *rows[i-1].BurnRate)
		}
		// The measurement from the raw counters, as Prometheus computes it.
		sel := fmt.Sprintf(`function=%q,module=%q`, r.Function, r.Module)
		q := `1 - (sum(rate(function_calls_total{` + sel + `,result="error"}[5m])) or vector(0)) / sum(rate(function_calls_total{` + sel + `}[5m]))`
		if th := r.LatencyThresholdSeconds; th != nil {
			q = fmt.Sprintf(`sum(rate(function_calls_duration_seconds_bucket{%s,le="%g"}[5m])) / sum(rate(function_calls_duration_seconds_count{%s}[5m]))`, sel, *th, sel)
		}
		want, err := prom.QueryValue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantBurn := (1 - want) / (1 - r.Percentile/100)
		if r.Source != "raw counters" || math.Abs(*r.Measured-want) > 1e-9 || math.Abs(*r.BurnRate-wantBurn) > 1e-6*wantBurn {
			t.Errorf("%s SLO %s: measured %v burn %v (%s), Prometheus %v burn %v", r.Name, r.Objective, *r.Measured, *r.BurnRate, r.Source, want, wantBurn)
		}
		if r.Breached != (want < r.Percentile/100) || (!r.Breached && wantBurn <= 2) {
			t.Errorf("%s: breached %v with %v against %v %% (burn %v): should not be listed so", r.Name, r.Breached, want, r.Percentile, wantBurn)
		}
		if !strings.HasPrefix(r.Message, fmt.Sprintf("SLO %q %g %%: ", r.Objective, r.Percentile)) || !strings.Contains(r.Message, "burn rate") {
			t.Errorf("message %q", r.Message)
		}
	}
	if wantCode := map[bool]int{true: 3, false: 4}[breached]; code != wantCode {
		t.Errorf("exit status %d, want %d (stderr %q)", code, wantCode, stderr)
	}
	// api.Pending has an SLO in its directive but go generate was not run: no series.
	if want := "1 function with an SLO had no series in " + prom.URL + ": its SLO was not judged"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	// The table lists the same functions in the same order.
	table, _, tcode := run("--burning", "./...")
	t.Logf("am-lsp report --burning ./... (exit %d):\n%s", tcode, table)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if tcode != code || len(lines) != len(rows)+1 || !strings.HasPrefix(lines[0], "FUNCTION") {
		t.Fatalf("table (exit %d):\n%s", tcode, table)
	}
	for i, r := range rows {
		if !strings.HasPrefix(lines[i+1], r.Name+" ") {
			t.Errorf("table line %d %q, want %s first", i+1, lines[i+1], r.Name)
		}
	}

	// A threshold no SLO burns faster than keeps only the breaches; a package without any
	// SLO problem exits 0.
	onlyBreaches := parse(func() string { o, _, _ := run("--burning", "--json", "--burn-rate-threshold", "0", "./..."); return o }())
	for _, r := range onlyBreaches {
		if !r.Breached {
			t.Errorf("threshold 0 listed a burning-only SLO: %+v", r)
		}
	}
	if out, _, code := run("--burning", "./yaml.v3"); code != 0 || !strings.Contains(out, "no SLO is breached") {
		t.Errorf("./yaml.v3: exit %d\n%s", code, out)
	}
	if _, stderr, code := run("--burning", "--burn-rate-threshold", "-1", "./..."); code != 2 || !strings.Contains(stderr, "must not be negative") {
		t.Errorf("negative threshold: exit %d, %q", code, stderr)
	}
}

// reportIn returns a runner of `am-lsp report ARGS` in the demo module against the backend at
// url, giving its stdout, stderr and exit status.
func reportIn(ctx context.Context, t *testing.T, bin, url string) func(args ...string) (string, string, int) {
	return func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"report"}, args...)...)
		cmd.Dir = demoDir(t)
		cmd.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+url)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		code := 0
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
}

// TestReportBurningWithoutSeries runs `am-lsp report --burning` on the demo module against a
// Prometheus that has none of its series: it does not say all is well, it says how many
// functions with SLOs had no series and exits 4 (3 would be a breach, 0 all judged and fine).
func TestReportBurningWithoutSeries(t *testing.T) {
	empty := promfixture.StartT(t, promfixture.Options{})
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The demo's functions whose //autometrics directive names an SLO, from the source text.
	withSLO := 0
	err := filepath.WalkDir(demoDir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "//autometrics:inst ") && strings.Contains(line, "--slo ") && strings.Contains(line, "-target ") {
				withSLO++
			}
		}
		return err
	})
	if err != nil || withSLO < 2 {
		t.Fatalf("the demo has %d functions with SLOs in their directive (%v), want several", withSLO, err)
	}
	n, err := empty.QueryValue(ctx, `count(function_calls_total) or vector(0)`)
	if err != nil || n != 0 {
		t.Fatalf("the empty backend has %v series (%v)", n, err)
	}
	run := reportIn(ctx, t, bin, empty.URL)
	want := fmt.Sprintf("%d functions with an SLO had no series in %s: their SLOs were not judged", withSLO, empty.URL)
	out, stderr, code := run("--burning", "./...")
	if code != 4 || !strings.Contains(stderr, want) || strings.Contains(out, "no SLO is breached") {
		t.Errorf("table: exit %d, want 4 and %q\nstdout:\n%s\nstderr:\n%s", code, want, out, stderr)
	}
	out, stderr, code = run("--burning", "--json", "./...")
	var rows []any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 0 || code != 4 || !strings.Contains(stderr, want) {
		t.Errorf("--json: exit %d, rows %v (%v), stderr %q; want 4, [] and %q", code, rows, err, stderr, want)
	}
}
