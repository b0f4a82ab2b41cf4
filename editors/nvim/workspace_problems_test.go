package nvim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// TestWorkspaceSLOProblems checks, in headless Neovim with the plugin set up as a user does and
// only main.go open, that the breached SLOs of functions in files never opened reach Neovim's
// diagnostics (errors, message leading with the objective and burn rate, numbers from
// Prometheus's own answer), that they stay while Prometheus is down (an outage is no recovery),
// and that they are cleared once the backend shows the SLOs met again (Prometheus restarted on
// the same port with healthy data).
func TestWorkspaceSLOProblems(t *testing.T) {
	nvim := requireTool(t, "nvim", "neovim")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts, fns, err := demodata.Build(ctx, repoPath(t, "testdata/demo"))
	if err != nil {
		t.Fatal(err)
	}
	prom := promfixture.StartT(t, opts)
	bin := buildServer(t)

	// The demo's breached SLOs, each in a file of its own that the session never opens.
	expected := map[string]demodata.Function{}
	for _, f := range fns {
		switch {
		case f.PkgPath == "example.com/demo/api" && f.QualifiedName() == "Aliased",
			f.PkgPath == "example.com/demo/api" && f.QualifiedName() == "(*Server).Handle":
			expected[f.NameSpan.File] = f
		}
	}
	if len(expected) != 2 {
		t.Fatalf("demo functions Aliased and (*Server).Handle not found: %v", expected)
	}
	var files []string
	for f := range expected {
		files = append(files, f)
	}

	home := t.TempDir()
	out := filepath.Join(home, "result.json")
	goFile := filepath.Join(home, "go")
	serverLog := filepath.Join(home, "am-lsp.log")
	init := filepath.Join(home, "init.lua")
	if err := os.WriteFile(init, []byte(fmt.Sprintf(`vim.cmd("set runtimepath+=" .. vim.fn.fnameescape(%s))
require("am_lsp").setup({
  cmd = { %s, "serve", "--log-level", "debug", "--log-file", %s },
  settings = { prometheusUrl = %s, cacheTtl = "2s" },
})
`, luaString(repoPath(t, "editors/nvim")), luaString(bin), luaString(serverLog), luaString(prom.URL))), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := neovimCommand(ctx, t, nvim, init, "testdata/workspace_problems.lua", home,
		"AM_OUT="+out, "AM_GO="+goFile, "AM_EXPECT="+strings.Join(files, ","), "AM_FILE="+repoPath(t, "testdata/demo/main.go"))
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	dump := func() {
		b, _ := os.ReadFile(serverLog)
		t.Logf("neovim output:\n%s\nserver log (tail):\n%s", output.String(), tail(string(b), 6000))
	}

	type diag struct {
		File     string
		Loaded   bool
		Lnum     int
		Severity int
		Message  string
	}
	type result struct {
		Error   string
		Burning []diag
		After   []diag
	}
	read := func(path string) result {
		var r result
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return r
	}
	// Phase 1: the breached SLOs of files never opened.
	start := time.Now()
	for {
		if _, err := os.Stat(out + ".1"); err == nil {
			break
		}
		select {
		case err := <-done:
			dump()
			if _, serr := os.Stat(out); serr == nil {
				t.Fatalf("neovim ended (%v): %s", err, read(out).Error)
			}
			t.Fatalf("neovim ended before reporting: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	first := read(out + ".1")
	t.Logf("SLO diagnostics of unopened files after %s: %+v", time.Since(start).Round(time.Millisecond), first.Burning)
	for file, f := range expected {
		var d *diag
		for i := range first.Burning {
			if first.Burning[i].File == file {
				d = &first.Burning[i]
			}
		}
		if d == nil {
			t.Errorf("no diagnostic for %s", file)
			continue
		}
		text, _ := os.ReadFile(file)
		if d.Loaded || d.Severity != 1 || d.Lnum != strings.Count(string(text[:f.NameSpan.Start]), "\n") {
			t.Errorf("%s: %+v, want an error on line %d of a buffer never loaded", f.QualifiedName(), d, strings.Count(string(text[:f.NameSpan.Start]), "\n"))
		}
		// The message's numbers are Prometheus's own: the measurement and the burn rate.
		sel := fmt.Sprintf(`function=%q,module=%q`, f.Labels.Function, f.Labels.Module)
		q, pct, what := `1 - (sum(rate(function_calls_total{`+sel+`,result="error"}[5m])) or vector(0)) / sum(rate(function_calls_total{`+sel+`}[5m]))`, 99.0, "success"
		if f.QualifiedName() == "Aliased" {
			q, what = `sum(rate(function_calls_duration_seconds_bucket{`+sel+`,le="0.005"}[5m])) / sum(rate(function_calls_duration_seconds_count{`+sel+`}[5m]))`, "within 5 ms"
		}
		measured, err := prom.QueryValue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		burn := (1 - measured) / (1 - pct/100)
		burnText := strconv.FormatFloat(burn, 'f', 1, 64)
		if burn >= 10 {
			burnText = strconv.FormatFloat(math.Round(burn), 'f', 0, 64)
		}
		want := fmt.Sprintf(`SLO "API" 99 %%: %.1f %% %s over 5m, burn rate %s× (breached)`, measured*100, what, burnText)
		if d.Message != want {
			t.Errorf("%s: message %q, want %q", f.QualifiedName(), d.Message, want)
		}
	}
	if t.Failed() {
		dump()
	}

	// Phase 2: the SLOs recover (same URL, healthy data); the diagnostics go away.
	u, err := url.Parse(prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	if err := prom.Stop(); err != nil {
		t.Fatal(err)
	}
	// The outage: wait for two sweeps whose fetch of the api package failed (the first has
	// published whatever it had to by the time the second fails); the driver checks that the
	// problems stay meanwhile.
	sweepFailures := func() int {
		b, _ := os.ReadFile(serverLog)
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "workspace SLO sweep: fetch failed") {
				continue
			}
			// packages=a,b,c: the packages fetched together
			for _, field := range strings.Fields(line) {
				if paths, ok := strings.CutPrefix(field, "packages="); ok && slices.Contains(strings.Split(paths, ","), "example.com/demo/api") {
					n++
				}
			}
		}
		return n
	}
	for base := sweepFailures(); sweepFailures() < base+2; {
		select {
		case err := <-done:
			dump()
			t.Fatalf("neovim ended (%v) while Prometheus was down: %s", err, read(out).Error)
		case <-ctx.Done():
			dump()
			t.Fatal("the server's sweep did not fail while Prometheus was down")
		case <-time.After(100 * time.Millisecond):
		}
	}
	healthy := opts
	healthy.Port = port
	healthy.Functions = append([]promfixture.Function(nil), opts.Functions...)
	for i := range healthy.Functions {
		f := &healthy.Functions[i]
		f.ErrorsPerSec, f.Latencies = 0, []float64{0.001}
		f.Callers = append([]promfixture.Caller(nil), f.Callers...)
		for j := range f.Callers {
			f.Callers[j].ErrorsPerSec = 0
		}
	}
	promfixture.StartT(t, healthy)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	select {
	case err := <-done:
		if err != nil {
			dump()
			t.Fatalf("neovim: %v", err)
		}
	case <-ctx.Done():
		dump()
		t.Fatal("neovim did not finish")
	}
	final := read(out)
	if final.Error != "" || len(final.After) != 0 {
		dump()
		t.Fatalf("after recovery: %+v", final)
	}
	t.Logf("cleared %s after the SLOs recovered", time.Since(recovered).Round(time.Millisecond))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// neovimCommand is headless Neovim with the user init and a driver script, its own config,
// data, state and cache directories under home, the Go build cache of the machine, and env.
func neovimCommand(ctx context.Context, t *testing.T, nvim, init, driver, home string, env ...string) *exec.Cmd {
	t.Helper()
	abs, err := filepath.Abs(driver)
	if err != nil {
		t.Fatal(err)
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, nvim, "--headless", "-n", "-i", "NONE", "-u", init, "-c", "luafile "+abs)
	cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"GOCACHE="+strings.TrimSpace(string(gocache)))
	cmd.Env = append(cmd.Env, env...)
	// Before home goes (its cleanup was registered earlier, so it runs later).
	t.Cleanup(func() { waitForServersToEnd(t, "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "Neovim") })
	return cmd
}
