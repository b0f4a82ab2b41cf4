package nvim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// TestWorkspaceFolders checks, in each Neovim with the plugin set up as a user does, that a
// folder added with vim.lsp.buf.add_workspace_folder() is swept (the breached SLOs of its files,
// never opened, reach Neovim's diagnostics) and that removing it with
// vim.lsp.buf.remove_workspace_folder() clears them. Neovim 0.7 sends the unchanged side of
// each change as [[]].
func TestWorkspaceFolders(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	demo := repoPath(t, "testdata/demo")
	opts, fns, err := demodata.Build(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	var expect []string
	for _, f := range fns {
		if f.PkgPath == "example.com/demo/api" && (f.QualifiedName() == "Aliased" || f.QualifiedName() == "(*Server).Handle") {
			expect = append(expect, f.NameSpan.File)
		}
	}
	if len(expect) != 2 {
		t.Fatalf("demo functions Aliased and (*Server).Handle not found: %v", expect)
	}
	prom := promfixture.StartT(t, opts)
	bin := buildServer(t)

	for _, nv := range neovims {
		t.Run(nv.name, func(t *testing.T) {
			nvim := nv.find(t)
			home := t.TempDir()
			// The editor's own folder: a module without instrumented code.
			first := filepath.Join(home, "first")
			if err := os.MkdirAll(first, 0o755); err != nil {
				t.Fatal(err)
			}
			main := filepath.Join(first, "main.go")
			for name, text := range map[string]string{"go.mod": "module example.com/first\n\ngo 1.21\n", "main.go": "package main\n\nfunc main() {}\n"} {
				if err := os.WriteFile(filepath.Join(first, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(home, "result.json")
			serverLog := filepath.Join(home, "am-lsp.log")
			init := filepath.Join(home, "init.lua")
			if err := os.WriteFile(init, []byte(fmt.Sprintf(`vim.cmd("set runtimepath+=" .. vim.fn.fnameescape(%s))
require("am_lsp").setup({
  cmd = { %s, "serve", "--log-level", "debug", "--log-file", %s },
  settings = { prometheusUrl = %s },
})
`, luaString(repoPath(t, "editors/nvim")), luaString(bin), luaString(serverLog), luaString(prom.URL))), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := neovimCommand(ctx, t, nvim, init, "testdata/workspace_folders.lua", home,
				"AM_OUT="+out, "AM_FILE="+main, "AM_ADD="+demo, "AM_EXPECT="+strings.Join(expect, ","))
			output, runErr := cmd.CombinedOutput()
			var res struct {
				Error        string
				Added, After []struct{ File, Message string }
			}
			b, err := os.ReadFile(out)
			if err == nil {
				err = json.Unmarshal(b, &res)
			}
			if runErr != nil || err != nil || res.Error != "" || len(res.After) != 0 {
				logs, _ := os.ReadFile(serverLog)
				t.Fatalf("neovim: %v; result %s (%v)\noutput:\n%s\nserver log (tail):\n%s", runErr, b, err, output, tail(string(logs), 6000))
			}
			t.Logf("after the folder was added: %+v", res.Added)
		})
	}
}
