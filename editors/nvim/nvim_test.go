// Package nvim holds the end-to-end test of the Neovim plugin in this directory: headless
// Neovim loads the plugin exactly as a user does (runtimepath + require("am_lsp").setup{...} in
// an init.lua given with -u), runs the built am-lsp against a real Prometheus holding the demo
// data, and testdata/driver.lua reports what a user would see.
package nvim

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
)

const grafanaURL = "http://grafana.test:3000"

// repoPath returns a path inside the repository (this package is editors/nvim).
func repoPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// requireTool finds a program; missing, it fails the test under CI and skips it elsewhere.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if ci.Enabled() {
		t.Fatalf("%s is not installed: CI must have it (apt-get install %s; scripts/install-deps)", name, debianPackage)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, debianPackage)
	return ""
}

// neovim is one Neovim the plugin is tested on: Debian bookworm's 0.7.2 on PATH, and Debian
// trixie's 0.10.4 run from the tree scripts/install-nvim-trixie unpacks (the host stays bookworm).
type neovim struct {
	name string
	// modern: 0.10+, which has inlay hints, vim.lsp.start and its own K mapping.
	modern bool
	find   func(t *testing.T) string
}

var neovims = []neovim{
	{name: "nvim-0.7", find: func(t *testing.T) string { return requireTool(t, "nvim", "neovim") }},
	{name: "nvim-0.10", modern: true, find: func(t *testing.T) string {
		return requireCached(t, "AM_LSP_NVIM_0_10", "nvim-trixie-0.10.4/bin/nvim", "scripts/install-nvim-trixie")
	}},
}

// requireCached finds a tool one of the scripts/install-* scripts put in the am-lsp cache
// directory (${XDG_CACHE_HOME:-$HOME/.cache}/am-lsp), or at $env when that is set. Missing, it
// fails the test under CI and skips it elsewhere.
func requireCached(t *testing.T, env, rel, script string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				t.Fatal(err)
			}
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "am-lsp", rel)
	}
	if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return path
	}
	if ci.Enabled() {
		t.Fatalf("%s is missing: CI must have it (bash %s; scripts/install-deps runs it)", path, script)
	}
	t.Skipf("%s is missing (bash %s)", path, script)
	return ""
}

func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "am-lsp")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/am-lsp")
	cmd.Dir = repoPath(t, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// luaString is a Lua string literal for s.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// userInit is the init.lua a user would write: the plugin on the runtimepath and setup{}. The
// open_url hook records URLs instead of starting a browser. With extra.gopls set, gopls is
// started for Go buffers too (before the plugin, as a user's own gopls set-up would be).
func userInit(t *testing.T, bin, logFile, promURL string, extra initExtras) string {
	t.Helper()
	var gopls string
	if extra.gopls != "" {
		gopls = fmt.Sprintf(`vim.api.nvim_create_autocmd("FileType", {
  pattern = "go",
  callback = function(args)
    local mod = vim.fs.find({ "go.mod" }, { upward = true, path = vim.fs.dirname(vim.api.nvim_buf_get_name(args.buf)) })[1]
    vim.lsp.start({ name = "gopls", cmd = { %s }, root_dir = vim.fs.dirname(mod) }, { bufnr = args.buf })
  end,
})
`, luaString(extra.gopls))
	}
	init := fmt.Sprintf(`vim.cmd("set runtimepath+=" .. vim.fn.fnameescape(%s))
_G.am_test_urls = {}
%srequire("am_lsp").setup({
  cmd = { %s, "serve", "--log-level", "debug", "--log-file", %s },
  settings = {
    prometheusUrl = %s,
    grafanaUrl = %s,
    inlayHints = %t,
  },
  open_url = function(url)
    table.insert(_G.am_test_urls, url)
    return true
  end,
})
`, luaString(repoPath(t, "editors/nvim")), gopls, luaString(bin), luaString(logFile), luaString(promURL), luaString(grafanaURL), extra.inlayHints)
	path := filepath.Join(t.TempDir(), "init.lua")
	if err := os.WriteFile(path, []byte(init), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// initExtras are what some tests add to the user's init.lua.
type initExtras struct {
	inlayHints bool   // settings.inlayHints
	gopls      string // start this gopls for Go buffers too
}

// driverResult is what testdata/driver.lua writes.
type driverResult struct {
	Error      string          `json:"error"`
	RootDir    string          `json:"root_dir"`
	ServerCaps map[string]any  `json:"server_caps"`
	Hover      string          `json:"hover"`
	Refreshes  int             `json:"refreshes"`
	First      []string        `json:"first_lenses"`
	Lenses     []string        `json:"lenses"`
	Lens       string          `json:"lens"`
	URLs       []string        `json:"urls"`
	LensURLs   []string        `json:"lens_urls"`
	Health     []string        `json:"health"`
	Messages   []driverMessage `json:"messages"`
	Titles     []string        `json:"titles"`
	CAError    map[string]any  `json:"codeaction_error"`
	HadEdit    bool            `json:"had_edit"`
	Command    string          `json:"command"`
	CmdError   map[string]any  `json:"command_error"`

	// The "servers" phase (0.10+, gopls attached too).
	Clients      []string `json:"clients"`
	InlayEnabled bool     `json:"inlay_enabled"`
	InlayHints   []string `json:"inlay_hints"`
	InlayHint    string   `json:"inlay_hint"`
	GoplsHover   string   `json:"gopls_hover"`
	KMapping     string   `json:"k_mapping"`
	HoverFloat   []string `json:"hover_float"`
}

type driverMessage struct {
	Msg   string `json:"msg"`
	Level int    `json:"level"`
}

// runNeovim runs headless Neovim with the user init and the driver; env adds AM_* parameters.
func runNeovim(t *testing.T, nvim, init string, env map[string]string) (driverResult, string) {
	t.Helper()
	home := t.TempDir()
	out := filepath.Join(home, "result.json")
	driver, err := filepath.Abs("testdata/driver.lua")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nvim, "--headless", "-n", "-i", "NONE", "-u", init, "-c", "luafile "+driver)
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	// gopls's telemetry off (Go's telemetry mode file in the config dir below): no uploader
	// process outlives the test.
	mode := filepath.Join(home, "config", "go", "telemetry", "mode")
	if err := os.MkdirAll(filepath.Dir(mode), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mode, []byte("off"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "AM_OUT="+out,
		// Keep the developer's own Neovim files out; lsp.log lands in XDG_CACHE_HOME (0.7) or
		// XDG_STATE_HOME (0.8+). The server's go list keeps using the usual build cache.
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"GOCACHE="+strings.TrimSpace(string(gocache)))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	output, runErr := cmd.CombinedOutput()
	waitForServersToEnd(t, "AM_OUT="+out, "Neovim")
	logs := "neovim output:\n" + string(output) + neovimLogs(home)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("neovim wrote no result (%v, exit %v)\n%s", err, runErr, logs)
	}
	var res driverResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("result %s: %v", b, err)
	}
	if res.Error != "" {
		t.Fatalf("driver: %s\n%s", res.Error, logs)
	}
	if runErr != nil {
		t.Fatalf("neovim: %v\n%s", runErr, logs)
	}
	return res, logs
}

// neovimLogs returns Neovim's LSP log (its location differs between versions).
func neovimLogs(home string) string {
	var b strings.Builder
	_ = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "lsp.log" {
			if data, err := os.ReadFile(path); err == nil {
				fmt.Fprintf(&b, "\n%s:\n%s", path, data)
			}
		}
		return nil
	})
	return b.String()
}

func startDemoPrometheus(t *testing.T) (*promfixture.Server, []demodata.Function) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, fns, err := demodata.Build(ctx, repoPath(t, "testdata/demo"))
	if err != nil {
		t.Fatal(err)
	}
	return promfixture.StartT(t, opts), fns
}

// lensPattern reads the default CodeLens title, "{rate} · {errors} errors · p99 {p99}".
var lensPattern = regexp.MustCompile(`^(\S+) req/s · (\S+) % errors · p99 (\S+) (ms|s)$`)

// demoTarget is (*Server).Handle in the demo module: its file and the position of its name.
func demoTarget(t *testing.T, fns []demodata.Function) (demodata.Function, textdoc.Position) {
	t.Helper()
	var target demodata.Function
	for _, f := range fns {
		if f.QualifiedName() == "(*Server).Handle" && f.PkgPath == "example.com/demo/api" {
			target = f
		}
	}
	if target.Function == nil {
		t.Fatal("demo data has no (*Server).Handle in example.com/demo/api")
	}
	text, err := os.ReadFile(target.NameSpan.File)
	if err != nil {
		t.Fatal(err)
	}
	return target, textdoc.PositionOf(text, target.NameSpan.Start)
}

const targetFunction, targetModule = "Handle", "example.com/demo/api.Server"

// checkSummary checks a CodeLens title or inlay hint label ("{rate} req/s · {errors} % errors ·
// p99 {p99}") against Prometheus's own answers for the target function.
func checkSummary(t *testing.T, prom *promfixture.Server, what, title string) {
	t.Helper()
	m := lensPattern.FindStringSubmatch(title)
	if m == nil {
		t.Errorf("%s %q has no numbers", what, title)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	scale := 1.0
	if m[4] == "ms" {
		scale = 0.001
	}
	q := cardcheck.SpecQueries(targetFunction, targetModule, "5m")
	for _, c := range []struct {
		number cardcheck.Number
		shown  string
		scale  float64
	}{{cardcheck.RequestRate, m[1], 1}, {cardcheck.ErrorRatio, m[2], 0.01}, {cardcheck.LatencyP99, m[3], scale}} {
		shown, err := strconv.ParseFloat(c.shown, 64)
		if err != nil {
			t.Fatalf("%s in %q: %v", c.number, title, err)
		}
		want, err := prom.QueryValue(ctx, q[c.number])
		if err != nil {
			t.Fatal(err)
		}
		if !cardcheck.Close(shown*c.scale, want) && !(shown == 0 && math.Abs(want) < 1e-12) {
			t.Errorf("%s %q: %s %g, Prometheus answers %g", what, title, c.number, shown*c.scale, want)
		}
	}
}

// checkCard checks a hover card for the target function against Prometheus's own answers.
func checkCard(t *testing.T, prom *promfixture.Server, card string) {
	t.Helper()
	if !strings.Contains(card, fmt.Sprintf("function=%q, module=%q", targetFunction, targetModule)) {
		t.Errorf("hover does not name the series:\n%s", card)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	problems, err := cardcheck.Compare(ctx, card, prom.QueryValue, targetFunction, targetModule, "5m")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestNeovimPlugin checks, in each Neovim (0.7.2 and 0.10.4) with the plugin set up as a user
// does, that the hover card and the CodeLens of (*Server).Handle carry Prometheus's numbers (on
// 0.10, brought by the server's workspace/codeLens/refresh), that :AmGrafana and the lens open the
// Function Explorer URL through window/showDocument and open_url, and that :AmStatus and
// :checkhealth am_lsp report.
func TestNeovimPlugin(t *testing.T) {
	prom, fns := startDemoPrometheus(t)
	bin := buildServer(t)
	target, pos := demoTarget(t, fns)
	for _, nv := range neovims {
		t.Run(nv.name, func(t *testing.T) {
			nvim := nv.find(t)
			serverLog := filepath.Join(t.TempDir(), "am-lsp.log")
			init := userInit(t, bin, serverLog, prom.URL, initExtras{})
			start := time.Now()
			res, logs := runNeovim(t, nvim, init, map[string]string{
				"AM_PHASE": "telemetry", "AM_FILE": target.NameSpan.File,
				"AM_LINE": strconv.Itoa(int(pos.Line)), "AM_COL": strconv.Itoa(int(pos.Character) + 1),
			})
			t.Logf("neovim session: %s; %d workspace/codeLens/refresh; lenses first %q, then %q", time.Since(start).Round(time.Millisecond), res.Refreshes, res.First, res.Lenses)
			checkTelemetry(t, nv, res, logs, serverLog, prom, bin, pos)
		})
	}
}

func checkTelemetry(t *testing.T, nv neovim, res driverResult, logs, serverLog string, prom *promfixture.Server, bin string, pos textdoc.Position) {
	dumpLogs := func() {
		t.Helper()
		if b, err := os.ReadFile(serverLog); err == nil {
			t.Logf("server log:\n%s", b)
		}
		t.Log(logs)
	}
	t.Run("attach", func(t *testing.T) {
		if want := repoPath(t, "testdata/demo"); res.RootDir != want {
			t.Errorf("root dir %q, want the module's %q", res.RootDir, want)
		}
		for _, m := range res.Messages {
			if m.Level >= 4 { // vim.log.levels.ERROR
				t.Errorf("the plugin reported an error: %s", m.Msg)
			}
		}
		if strings.Contains(logs, "E5108") || strings.Contains(logs, "Error executing") {
			t.Errorf("Lua errors in Neovim's output")
			dumpLogs()
		}
		if b, _ := os.ReadFile(serverLog); strings.Contains(string(b), "invalid settings") {
			t.Errorf("the server rejected the settings the plugin sent")
			dumpLogs()
		}
	})

	t.Run("hover", func(t *testing.T) {
		checkCard(t, prom, res.Hover)
		if t.Failed() {
			dumpLogs()
		}
	})

	t.Run("codelens", func(t *testing.T) {
		if res.Lens == "" {
			dumpLogs()
			t.Fatalf("no CodeLens on line %d (all lenses: %q)", pos.Line+1, res.Lenses)
		}
		checkSummary(t, prom, "CodeLens", res.Lens)
	})

	if nv.modern {
		// The driver never asks for CodeLens itself; the lens got its numbers because the server
		// sent workspace/codeLens/refresh and the plugin's handler asked again.
		t.Run("codelens refresh", func(t *testing.T) {
			if res.Refreshes == 0 {
				t.Errorf("no workspace/codeLens/refresh reached the plugin's handler (lenses first %q, then %q)", res.First, res.Lenses)
			}
		})
	}

	want := grafanaURL + "/d/autometrics-function-explorer/?var-function=Handle"
	t.Run("AmGrafana", func(t *testing.T) {
		if len(res.URLs) != 1 || res.URLs[0] != want {
			dumpLogs()
			t.Fatalf(":AmGrafana opened %q, want exactly %q (through window/showDocument and open_url)", res.URLs, want)
		}
	})

	t.Run("codelens.run", func(t *testing.T) {
		if len(res.LensURLs) != 1 || res.LensURLs[0] != want {
			t.Errorf("vim.lsp.codelens.run() on the lens opened %q, want exactly %q", res.LensURLs, want)
		}
	})

	t.Run("AmStatus", func(t *testing.T) {
		want := "am-lsp: " + prom.URL + " ok"
		for _, m := range res.Messages {
			if strings.HasPrefix(m.Msg, want) {
				return
			}
		}
		t.Errorf(":AmStatus did not say %q; messages: %+v", want, res.Messages)
	})

	t.Run("checkhealth", func(t *testing.T) {
		// 0.7 writes "OK: text", 0.10 "- OK text".
		report := strings.ReplaceAll(strings.Join(res.Health, "\n"), "- OK ", "OK: ")
		for _, want := range []string{"am-lsp", `OK: require("am_lsp").setup() was called`, "OK: " + bin + ": am-lsp ", prom.URL + " reachable"} {
			if !strings.Contains(report, want) {
				t.Errorf(":checkhealth am_lsp lacks %q:\n%s", want, report)
			}
		}
		if strings.Contains(report, "ERROR") {
			t.Errorf(":checkhealth am_lsp reports an error:\n%s", report)
		}
	})
}

// TestNeovimWithGopls runs Neovim 0.10 with gopls v0.23.0 and am-lsp attached to the same Go
// buffer and inlayHints on: the inlay hint after Handle's signature carries Prometheus's numbers,
// and K shows both servers' hovers in one float (0.10's own K would show only the first answer).
func TestNeovimWithGopls(t *testing.T) {
	var nvim string
	for _, nv := range neovims {
		if nv.modern {
			nvim = nv.find(t)
		}
	}
	gopls := requireCached(t, "AM_LSP_GOPLS", "gopls-v0.23.0/gopls", "scripts/install-gopls")
	prom, fns := startDemoPrometheus(t)
	bin := buildServer(t)
	target, pos := demoTarget(t, fns)
	serverLog := filepath.Join(t.TempDir(), "am-lsp.log")
	init := userInit(t, bin, serverLog, prom.URL, initExtras{inlayHints: true, gopls: gopls})
	res, logs := runNeovim(t, nvim, init, map[string]string{
		"AM_PHASE": "servers", "AM_FILE": target.NameSpan.File,
		"AM_LINE": strconv.Itoa(int(pos.Line)), "AM_COL": strconv.Itoa(int(pos.Character) + 1),
	})
	t.Logf("clients %q; inlay hints %q; K: %q", res.Clients, res.InlayHints, res.KMapping)
	if !slices.Contains(res.Clients, "gopls") || !slices.Contains(res.Clients, "am-lsp") {
		t.Fatalf("attached clients %q, want gopls and am-lsp\n%s", res.Clients, logs)
	}

	t.Run("inlay hint", func(t *testing.T) {
		if !res.InlayEnabled {
			t.Errorf("inlay hints are not enabled in the buffer (settings.inlayHints = true)")
		}
		if res.InlayHint == "" {
			t.Fatalf("no am-lsp inlay hint on line %d (all: %q)", pos.Line+1, res.InlayHints)
		}
		checkSummary(t, prom, "inlay hint", res.InlayHint)
	})

	t.Run("hover from both servers", func(t *testing.T) {
		if res.KMapping != "am-lsp: every server's hover" {
			t.Errorf("K is mapped to %q, want the plugin's merged hover", res.KMapping)
		}
		float := strings.Join(res.HoverFloat, "\n")
		if float == "" {
			t.Fatalf("K opened no hover float; messages %+v\n%s", res.Messages, logs)
		}
		// gopls's signature line (the first line that is not a code fence).
		var first string
		for _, l := range strings.Split(res.GoplsHover, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "```") {
				first = l
				break
			}
		}
		if first == "" {
			t.Fatalf("gopls answered no hover at Handle (is it v0.23.0 and did it load the module?)\n%s", logs)
		}
		if !strings.Contains(float, first) {
			t.Errorf("the hover float lacks gopls's hover (%q):\n%s", first, float)
		}
		// The am-lsp card as shown (markdown rendered as lines) with Prometheus's numbers.
		checkCard(t, prom, float)
	})
}

// copyDemo copies testdata/demo to a temporary directory and points its replace directive at
// testdata/autometrics-go, so the copy builds offline and the fixture stays untouched.
func copyDemo(t *testing.T) string {
	t.Helper()
	src := repoPath(t, "testdata/demo")
	dst := filepath.Join(t.TempDir(), "demo")
	if err := demodata.CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	gomod := filepath.Join(dst, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(b), "=> ../autometrics-go", "=> "+repoPath(t, "testdata/autometrics-go"), 1)
	if fixed == string(b) {
		t.Fatalf("%s has no `=> ../autometrics-go` replace directive:\n%s", gomod, b)
	}
	if err := os.WriteFile(gomod, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestNeovimCodeAction (in each Neovim) asks for the code actions at a function that is not instrumented, in a
// copy of the demo module, applies "Instrument normalize with Autometrics" as Neovim does
// (vim.lsp.util.apply_workspace_edit), writes the file and checks the module still builds with
// the generator's directive and statements in place.
func TestNeovimCodeAction(t *testing.T) {
	bin := buildServer(t)
	for _, nv := range neovims {
		t.Run(nv.name, func(t *testing.T) { testCodeAction(t, nv.find(t), bin) })
	}
}

func testCodeAction(t *testing.T, nvim, bin string) {
	dir := copyDemo(t)
	file := filepath.Join(dir, "api", "handle.go")
	before, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	decl := strings.Index(string(before), "func normalize(")
	if decl < 0 {
		t.Fatalf("%s has no normalize function", file)
	}
	pos := textdoc.PositionOf(before, decl+len("func "))
	serverLog := filepath.Join(t.TempDir(), "am-lsp.log")
	// No Prometheus: code actions work from the source alone.
	init := userInit(t, bin, serverLog, "http://127.0.0.1:9", initExtras{})
	const action = "Instrument normalize with Autometrics"

	res, logs := runNeovim(t, nvim, init, map[string]string{
		"AM_PHASE": "codeaction", "AM_FILE": file, "AM_ACTION": action,
		"AM_LINE": strconv.Itoa(int(pos.Line)), "AM_COL": strconv.Itoa(int(pos.Character)),
	})
	found := false
	for _, title := range res.Titles {
		found = found || title == action
	}
	if !found {
		_, advertised := res.ServerCaps["codeActionProvider"]
		if !advertised {
			advertised = res.ServerCaps["code_action"] == true // 0.7's resolved_capabilities
		}
		t.Fatalf("the server offered no %q code action at normalize (%s:%d): got titles %q, error %v; codeActionProvider advertised: %v — is textDocument/codeAction wired in the server yet?",
			action, file, pos.Line+1, res.Titles, res.CAError, advertised)
	}
	if res.CmdError != nil {
		t.Errorf("the action's command %s failed: %v", res.Command, res.CmdError)
	}
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) == string(before) {
		t.Fatalf("applying %q (edit: %v, command: %q) and :write left %s unchanged\n%s", action, res.HadEdit, res.Command, file, logs)
	}
	for _, want := range []string{"//autometrics:inst", "//autometrics:shadow-ctx", "//autometrics:defer"} {
		if !strings.Contains(string(after), want) {
			t.Errorf("the written file lacks %s:\n%s", want, after)
		}
	}
	build := exec.Command("go", "build", "./...")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("go build ./... in the edited copy: %v\n%s\n%s", err, out, after)
	}
}

// waitForServersToEnd waits until the servers an editor session started (the processes that
// inherited its environment entry envEntry, NAME=value) have exited: after the editor quits, a
// server may still finish a load and write its type cache under the test's XDG_CACHE_HOME,
// which the test's cleanup removes. A server still running 30 s after the editor quit is an
// error (it should have ended on exit: it waits at most 5 s for its loads), and is killed.
func waitForServersToEnd(t *testing.T, envEntry, editor string) {
	t.Helper()
	mine := func(p childproc.Process) bool { return strings.Contains(p.Environ, "\x00"+envEntry+"\x00") }
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		left := childproc.Find(mine)
		if len(left) == 0 {
			return
		}
		if time.Since(start) > 30*time.Second {
			childproc.Kill(left)
			var names []string
			for _, p := range left {
				names = append(names, p.Cmdline)
			}
			t.Errorf("still running 30 s after %s quit (killed): %q", editor, names)
			return
		}
	}
}
