package nvim

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckhealthRedactsPrometheusURL: :checkhealth am_lsp shows prometheusUrl without its
// user information, read as the server reads it (everything up to the last "@"), so a password
// holding "/" does not show either.
func TestCheckhealthRedactsPrometheusURL(t *testing.T) {
	plugin, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, nv := range neovims {
		t.Run(nv.name, func(t *testing.T) {
			nvim := nv.find(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "health.txt")
			script := filepath.Join(dir, "health.lua")
			lua := `vim.opt.runtimepath:prepend(` + luaString(plugin) + `)
require("am_lsp").setup({ cmd = { "/nonexistent/am-lsp", "serve" },
  settings = { prometheusUrl = "http://alice:2024/Spring@prom.example:9090/prefix" } })
vim.cmd("checkhealth am_lsp")
vim.fn.writefile(vim.api.nvim_buf_get_lines(0, 0, -1, false), ` + luaString(out) + `)
vim.cmd("qall!")
`
			if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, nvim, "--headless", "-n", "-i", "NONE", "-u", "NONE", "-c", "luafile "+script)
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"),
				"XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nvim: %v\n%s", err, b)
			}
			report, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(report), "prometheusUrl: http://prom.example:9090/prefix") || strings.Contains(string(report), "Spring") ||
				strings.Contains(string(report), "alice") {
				t.Errorf(":checkhealth am_lsp report:\n%s", report)
			}
		})
	}
}
