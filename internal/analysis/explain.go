package analysis

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// WhyNoPackages says, in words a user can act on, why patterns (go list patterns relative to
// dir) match no Go package: dir is in no module, or the go command's own complaint about them
// (a mistyped directory, a package of another module). It runs the go command once.
func WhyNoPackages(ctx context.Context, dir string, patterns []string) string {
	if findModule(dir, nil).Root == "" {
		return fmt.Sprintf("%s is not inside a Go module (no go.mod in it or any parent directory): run am-lsp report in a module", dir)
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-e", "-f", "{{with .Error}}{{.Err}}{{end}}"}, patterns...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
	out, _ := cmd.CombinedOutput()
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, strings.TrimPrefix(line, "go: "))
		}
	}
	msg := fmt.Sprintf("no Go packages match %s in %s", strings.Join(patterns, " "), dir)
	if len(lines) > 0 {
		msg += ": " + strings.Join(lines, "; ")
	}
	return msg
}

// NestedModules returns the directories below dir (relative, slash-separated) holding a go.mod
// of their own: "./..." in dir does not enter them. Hidden directories, testdata, vendor and
// node_modules are skipped, as the go command skips them.
func NestedModules(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == dir {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules" {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
			return filepath.SkipDir
		}
		return nil
	})
	return out
}
