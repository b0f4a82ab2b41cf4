package nvim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// fencedBlocks returns the bodies of the ```lang blocks of a Markdown file, in order.
func fencedBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?ms)^```"+regexp.QuoteMeta(lang)+"\n(.*?)^```").FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	if len(out) == 0 {
		t.Fatalf("%s has no ```%s block", path, lang)
	}
	return out
}

// checkSettings feeds raw (what an editor sends as initializationOptions or answers for the
// "am-lsp" section) to the server's own settings parser and checks the documented values land.
func checkSettings(t *testing.T, what string, raw any) {
	t.Helper()
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Merge(config.Defaults(nil), b)
	if err != nil {
		t.Errorf("%s: the server rejects %s: %v", what, b, err)
		return
	}
	if got.PrometheusURL != "http://localhost:9090" || got.GrafanaURL != "http://localhost:3000" {
		t.Errorf("%s: %s gives the server prometheusUrl %q and grafanaUrl %q", what, b, got.PrometheusURL, got.GrafanaURL)
	}
}

// TestHelixSnippet parses the languages.toml of editors/OTHER_CLIENTS.md with Python's tomllib
// (Helix itself is not packaged in Debian bookworm) and checks what Helix would do with it: start
// `am-lsp serve` for Go next to gopls, send settings the server accepts as initializationOptions,
// and answer workspace/configuration for "am-lsp" with them too.
func TestHelixSnippet(t *testing.T) {
	python := requireTool(t, "python3", "python3")
	blocks := fencedBlocks(t, repoPath(t, "editors/OTHER_CLIENTS.md"), "toml")
	file := filepath.Join(t.TempDir(), "languages.toml")
	if err := os.WriteFile(file, []byte(strings.Join(blocks, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `import json, sys
if sys.version_info < (3, 11):
    sys.exit("python3 >= 3.11 is needed for tomllib, found " + sys.version)
import tomllib
with open(sys.argv[1], "rb") as f:
    print(json.dumps(tomllib.load(f)))`
	out, err := exec.Command(python, "-c", script, file).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("tomllib: %v\n%s", err, stderr)
	}
	var doc struct {
		LanguageServer map[string]struct {
			Command string         `json:"command"`
			Args    []string       `json:"args"`
			Config  map[string]any `json:"config"`
		} `json:"language-server"`
		Language []struct {
			Name            string `json:"name"`
			LanguageServers []any  `json:"language-servers"`
		} `json:"language"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	ls, ok := doc.LanguageServer["am-lsp"]
	if !ok || ls.Command != "am-lsp" || !reflect.DeepEqual(ls.Args, []string{"serve"}) {
		t.Errorf("language-server.am-lsp: %+v, want command am-lsp, args [serve]", ls)
	}
	checkSettings(t, "initializationOptions (config)", ls.Config)
	// Helix answers workspace/configuration by walking the section's dotted path in config.
	checkSettings(t, `workspace/configuration "am-lsp"`, ls.Config["am-lsp"])

	var servers []string
	for _, l := range doc.Language {
		if l.Name != "go" {
			continue
		}
		for _, s := range l.LanguageServers {
			switch s := s.(type) {
			case string:
				servers = append(servers, s)
			case map[string]any:
				name, _ := s["name"].(string)
				servers = append(servers, name)
			}
		}
	}
	if !reflect.DeepEqual(servers, []string{"gopls", "am-lsp"}) {
		t.Errorf("go's language-servers: %q, want gopls then am-lsp", servers)
	}
}

// TestEmacsSnippets runs every Emacs Lisp block of editors/OTHER_CLIENTS.md through
// testdata/check_snippet.el in Emacs (eglot, go-mode and lsp-mode loaded): it must read,
// byte-compile and evaluate, and the resulting Eglot / lsp-mode set-up must start the documented
// program with settings the server accepts.
func TestEmacsSnippets(t *testing.T) {
	emacs := requireTool(t, "emacs", "emacs-nox elpa-eglot elpa-go-mode elpa-lsp-mode")
	checker, err := filepath.Abs("testdata/check_snippet.el")
	if err != nil {
		t.Fatal(err)
	}
	// A PATH with both servers "installed", so Eglot's alternatives have a choice to make.
	bin := t.TempDir()
	for _, name := range []string{"gopls", "am-lsp"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for i, block := range fencedBlocks(t, repoPath(t, "editors/OTHER_CLIENTS.md"), "elisp") {
		dir := t.TempDir()
		file := filepath.Join(dir, "snippet.el")
		if err := os.WriteFile(file, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(emacs, "--batch", "-l", checker, file)
		// TMPDIR too: whatever Emacs or the servers it starts leave goes with the test's directory.
		cmd.Env = append(os.Environ(), "HOME="+dir, "TMPDIR="+dir, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			hint := ""
			if strings.Contains(stderr.String(), "Cannot open load file") {
				hint = " (install elpa-eglot, elpa-go-mode and elpa-lsp-mode)"
			}
			t.Errorf("snippet %d%s: %v\n%s\n%s", i+1, hint, err, block, stderr.String())
			continue
		}
		var got struct {
			EglotProgram   []string       `json:"eglot_program"`
			EglotInit      map[string]any `json:"eglot_init"`
			EglotWorkspace map[string]any `json:"eglot_workspace"`
			LspAddOn       bool           `json:"lsp_add_on"`
			LspActivatesGo bool           `json:"lsp_activates_go"`
			LspInit        map[string]any `json:"lsp_init"`
			LspWorkspace   map[string]any `json:"lsp_workspace"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("snippet %d: %v\n%s", i+1, err, stdout.Bytes())
		}
		switch {
		case strings.Contains(block, "lsp-register-client"):
			seen["lsp-mode"] = true
			if !got.LspAddOn || !got.LspActivatesGo {
				t.Errorf("lsp-mode snippet: add-on %v, activates on go-mode %v; want both", got.LspAddOn, got.LspActivatesGo)
			}
			checkSettings(t, "lsp-mode initializationOptions", got.LspInit)
			checkSettings(t, "lsp-mode workspace/configuration", got.LspWorkspace)
		case strings.Contains(block, `"rass"`):
			seen["rass"] = true
			if want := []string{"rass", "--", "gopls", "--", "am-lsp", "serve"}; !reflect.DeepEqual(got.EglotProgram, want) {
				t.Errorf("rass snippet: Eglot starts %q, want %q", got.EglotProgram, want)
			}
		case strings.Contains(block, "eglot-alternatives"):
			seen["alternatives"] = true
			// Non-interactively (eglot-ensure) the first installed alternative wins: gopls.
			if len(got.EglotProgram) != 1 || filepath.Base(got.EglotProgram[0]) != "gopls" {
				t.Errorf("eglot-alternatives snippet: eglot-ensure would start %q, want gopls", got.EglotProgram)
			}
		case strings.Contains(block, "eglot-server-programs"):
			seen["eglot"] = true
			if want := []string{"am-lsp", "serve"}; !reflect.DeepEqual(got.EglotProgram, want) {
				t.Errorf("eglot snippet: Eglot starts %q, want %q", got.EglotProgram, want)
			}
			checkSettings(t, "eglot :initializationOptions", got.EglotInit)
			checkSettings(t, "eglot-workspace-configuration", got.EglotWorkspace)
		default:
			t.Errorf("snippet %d is not one the test knows how to check:\n%s", i+1, block)
		}
	}
	for _, want := range []string{"eglot", "alternatives", "rass", "lsp-mode"} {
		if !seen[want] {
			t.Errorf("no %s snippet was checked", want)
		}
	}
}

// TestReadmeSnippets runs the blocks of editors/nvim/README.md in Neovim: the one-line install
// (the vim block, with the clone's path) is the init file, then each Lua block must compile and
// run (testdata/readme_check.lua stands in for nvim-lspconfig) and set up what it says.
func TestReadmeSnippets(t *testing.T) {
	nvim := requireTool(t, "nvim", "neovim")
	readme := repoPath(t, "editors/nvim/README.md")
	vimBlocks := fencedBlocks(t, readme, "vim")
	if len(vimBlocks) != 1 || !strings.Contains(vimBlocks[0], "~/src/am-lsp/editors/nvim") {
		t.Fatalf("README's vim block should be the one-line install from ~/src/am-lsp: %q", vimBlocks)
	}
	init := filepath.Join(t.TempDir(), "init.vim")
	line := strings.ReplaceAll(vimBlocks[0], "~/src/am-lsp", repoPath(t, "."))
	if err := os.WriteFile(init, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	checker, err := filepath.Abs("testdata/readme_check.lua")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, block := range fencedBlocks(t, readme, "lua") {
		dir := t.TempDir()
		snippet, out := filepath.Join(dir, "snippet.lua"), filepath.Join(dir, "out.json")
		if err := os.WriteFile(snippet, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nvim, "--headless", "-n", "-i", "NONE", "-u", init, "-c", "luafile "+checker)
		cmd.Env = append(os.Environ(), "AM_SNIPPET="+snippet, "AM_OUT="+out, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir,
			"XDG_STATE_HOME="+dir, "XDG_CACHE_HOME="+dir)
		output, runErr := cmd.CombinedOutput()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("block %d: no result (%v, %v)\n%s", i+1, err, runErr, output)
		}
		var got struct {
			Error     string         `json:"error"`
			Returned  map[string]any `json:"returned"`
			Settings  any            `json:"settings"`
			Commands  bool           `json:"commands"`
			Lspconfig struct {
				Name          string         `json:"name"`
				DefaultConfig map[string]any `json:"default_config"`
				Setup         map[string]any `json:"setup"`
			} `json:"lspconfig"`
		}
		if err := json.Unmarshal(b, &got); err != nil && !strings.Contains(err.Error(), "cannot unmarshal array") {
			t.Fatalf("block %d: %v\n%s", i+1, err, b)
		}
		if got.Error != "" {
			t.Errorf("README block %d %s\n%s\n%s", i+1, got.Error, block, output)
			continue
		}
		if !got.Commands {
			t.Errorf("block %d: :AmGrafana/:AmStatus are not defined after the one-line install", i+1)
		}
		switch {
		case got.Returned["dir"] != nil: // lazy.nvim spec
			seen["lazy"] = true
			if dir, _ := got.Returned["dir"].(string); !strings.HasSuffix(dir, "/am-lsp/editors/nvim") || got.Returned["ft"] != "go" {
				t.Errorf("lazy.nvim spec: dir %v, ft %v", got.Returned["dir"], got.Returned["ft"])
			}
			opts, _ := got.Returned["opts"].(map[string]any)
			checkSettings(t, "lazy.nvim opts.settings", opts["settings"])
		case got.Lspconfig.Name != "":
			seen["lspconfig"] = true
			lc := got.Lspconfig
			if lc.Name != "am_lsp" || !reflect.DeepEqual(lc.DefaultConfig["cmd"], []any{"am-lsp", "serve"}) ||
				!reflect.DeepEqual(lc.DefaultConfig["filetypes"], []any{"go"}) {
				t.Errorf("lspconfig registration: %s %+v", lc.Name, lc.DefaultConfig)
			}
			checkSettings(t, "lspconfig init_options", lc.DefaultConfig["init_options"])
			settings, _ := lc.DefaultConfig["settings"].(map[string]any)
			checkSettings(t, `lspconfig settings["am-lsp"]`, settings["am-lsp"])
			caps, _ := json.Marshal(lc.Setup["capabilities"])
			for _, want := range []string{`"showDocument":{"support":true}`, `"codeLens":{"refreshSupport":true}`, `"configuration":true`} {
				if !strings.Contains(string(caps), want) {
					t.Errorf("lspconfig capabilities lack %s", want)
				}
			}
			if want := map[string]any{"window/showDocument": "function", "workspace/codeLens/refresh": "function"}; !reflect.DeepEqual(lc.Setup["handlers"], want) {
				t.Errorf("lspconfig handlers: %v, want %v", lc.Setup["handlers"], want)
			}
		case strings.Contains(block, `require("am_lsp").setup(`):
			seen["setup"] = true
			checkSettings(t, "setup{settings}", got.Settings)
		default:
			t.Errorf("README block %d is not one the test knows how to check:\n%s", i+1, block)
		}
	}
	for _, want := range []string{"lazy", "setup", "lspconfig"} {
		if !seen[want] {
			t.Errorf("no %s block was checked", want)
		}
	}
}

// TestLuaLint runs luacheck on the plugin and the test scripts: the branches for Neovim releases
// newer than the 0.7.2 the end-to-end test runs must at least name no undefined variable.
func TestLuaLint(t *testing.T) {
	luacheck := requireTool(t, "luacheck", "lua-check")
	cmd := exec.Command(luacheck, "--no-color", ".") // settings in .luacheckrc
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("luacheck: %v\n%s", err, out)
	}
}

// TestEmacsEglotHover runs the Eglot set-up of editors/OTHER_CLIENTS.md for real (Prometheus's
// address swapped in): Emacs opens (*Server).Handle of the demo module, Eglot starts the built
// am-lsp with the snippet's settings, and the hover card must carry Prometheus's numbers and the
// snippet's Grafana URL.
func TestEmacsEglotHover(t *testing.T) {
	emacs := requireTool(t, "emacs", "emacs-nox elpa-eglot elpa-go-mode")
	var snippet string
	for _, block := range fencedBlocks(t, repoPath(t, "editors/OTHER_CLIENTS.md"), "elisp") {
		if strings.Contains(block, `("am-lsp" "serve"`) && strings.Contains(block, ":initializationOptions") {
			snippet = block
		}
	}
	if snippet == "" {
		t.Fatal(`OTHER_CLIENTS.md has no Eglot block starting ("am-lsp" "serve" …) with :initializationOptions`)
	}
	prom, fns := startDemoPrometheus(t)
	var target demodata.Function
	for _, f := range fns {
		if f.QualifiedName() == "(*Server).Handle" && f.PkgPath == "example.com/demo/api" {
			target = f
		}
	}
	text, err := os.ReadFile(target.NameSpan.File)
	if err != nil {
		t.Fatal(err)
	}
	pos := textdoc.PositionOf(text, target.NameSpan.Start)

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(buildServer(t), filepath.Join(bin, "am-lsp")); err != nil {
		t.Fatal(err)
	}
	snippetFile := filepath.Join(dir, "snippet.el")
	if err := os.WriteFile(snippetFile, []byte(strings.ReplaceAll(snippet, "http://localhost:9090", prom.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	driver, err := filepath.Abs("testdata/eglot_hover.el")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Caches (am-lsp's type cache, the go command's build cache) stay where they are: the server
	// may still write them when Emacs exits, and the temporary HOME is removed then.
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, emacs, "--batch", "-l", driver)
	serversEnv := "AM_LSP_EGLOT_TEST=" + dir // marks the processes this Emacs starts
	// The module cache stays too: the demo module requires the OpenTelemetry API, and a go
	// command downloading into a temporary HOME leaves read-only files cleanup cannot remove.
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CACHE_HOME="+cache, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOMODCACHE="+strings.TrimSpace(string(gomodcache)), "GOFLAGS=-modcacherw",
		"AM_SNIPPET="+snippetFile, "AM_FILE="+target.NameSpan.File, serversEnv,
		"AM_LINE="+strconv.Itoa(int(pos.Line)), "AM_COL="+strconv.Itoa(int(pos.Character)+1))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	// The server, or a go command it started, may outlive Emacs for a moment and write under the
	// temporary HOME (Go's telemetry counters, say) while cleanup removes it.
	waitForServersToEnd(t, serversEnv, "Emacs")
	if err != nil {
		t.Fatalf("emacs: %v\n%s", err, stderr.String())
	}
	card := stdout.String()
	defer func() {
		if t.Failed() {
			t.Logf("emacs:\n%s", stderr.String())
		}
	}()
	if !strings.Contains(card, "http://localhost:3000/d/autometrics-function-explorer/?var-function=Handle") {
		t.Errorf("the card does not link the snippet's Grafana:\n%s", card)
	}
	problems, err := cardcheck.Compare(ctx, card, prom.QueryValue, "Handle", "example.com/demo/api.Server", "5m")
	if err != nil {
		t.Fatalf("%v\nemacs:\n%s", err, stderr.String())
	}
	for _, p := range problems {
		t.Error(p)
	}
}
