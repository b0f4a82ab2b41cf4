package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// The am-lsp binary the tests run: built by the first test that asks, removed by TestMain.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds am-lsp once per test binary run and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "am-lsp-bin"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "am-lsp")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func demoDir(t *testing.T) string {
	dir, err := filepath.Abs("../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startDemoPrometheus starts Prometheus with the demo module's data.
func startDemoPrometheus(t *testing.T) (*promfixture.Server, []demodata.Function) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, fns, err := demodata.Build(ctx, demoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return promfixture.StartT(t, opts), fns
}

func TestCommandLine(t *testing.T) {
	bin := buildBinary(t)
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	if out, _, code := run("version"); code != 0 || !strings.HasPrefix(out, "am-lsp ") {
		t.Errorf("version: %q exit %d", out, code)
	}
	if out, _, code := run("help"); code != 0 || !strings.Contains(out, "am-lsp report") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	if _, errOut, code := run("--bogus"); code != 2 || !strings.Contains(errOut, "bogus") {
		t.Errorf("unknown flag: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := run("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

// TestReportMatchesPrometheus runs `am-lsp report --json` on the demo module and checks every
// function's numbers against Prometheus, then checks the exit code when the backend is down.
func TestReportMatchesPrometheus(t *testing.T) {
	prom, fns := startDemoPrometheus(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, bin, "report", "--json", "./...")
	cmd.Dir = demoDir(t)
	cmd.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+prom.URL)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var rows []struct {
		Function, Module, Status string
		RequestRate, ErrorRatio  *float64
		P99Seconds               *float64
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("report --json is not JSON: %v\n%s", err, out)
	}
	byLabels := map[[2]string]int{}
	for i, r := range rows {
		byLabels[[2]string{r.Function, r.Module}] = i
	}
	for _, f := range fns {
		i, ok := byLabels[[2]string{f.Labels.Function, f.Labels.Module}]
		if !ok {
			t.Errorf("report has no row for %s %s", f.Labels.Function, f.Labels.Module)
			continue
		}
		r := rows[i]
		q := cardcheck.SpecQueries(f.Labels.Function, f.Labels.Module, "5m")
		for _, c := range []struct {
			name string
			got  *float64
			q    string
		}{{"rate", r.RequestRate, q[cardcheck.RequestRate]}, {"errors", r.ErrorRatio, q[cardcheck.ErrorRatio]}, {"p99", r.P99Seconds, q[cardcheck.LatencyP99]}} {
			want, err := prom.QueryValue(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if c.got == nil || math.Abs(*c.got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s %s %s: report %v, Prometheus %v", f.Labels.Module, f.Labels.Function, c.name, c.got, want)
			}
		}
	}

	table := exec.CommandContext(ctx, bin, "report", "./api")
	table.Dir = demoDir(t)
	table.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+prom.URL)
	tout, err := table.Output()
	if err != nil {
		t.Fatalf("report table: %v", err)
	}
	if !strings.HasPrefix(string(tout), "FUNCTION") || !strings.Contains(string(tout), "example.com/demo/api.Server") ||
		!regexp.MustCompile(`(?m)^Pending\s.*no data`).Match(tout) {
		t.Errorf("report table:\n%s", tout)
	}

	down := exec.CommandContext(ctx, bin, "report", "./api")
	down.Dir = demoDir(t)
	down.Env = append(os.Environ(), "AM_PROMETHEUS_URL=http://user:hun/ter#2@127.0.0.1:1")
	var stderr strings.Builder
	down.Stderr = &stderr
	err = down.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Fatalf("report with Prometheus down: err %v, want a non-zero exit", err)
	}
	if !strings.Contains(stderr.String(), "unreachable") || strings.Contains(stderr.String(), "ter#2") {
		t.Errorf("stderr does not explain the outage, or leaks the password: %q", stderr.String())
	}
}
