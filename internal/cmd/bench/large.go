package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// largeModulePath is the module path of the default large module.
const largeModulePath = "golang.org/x/tools"

// prepareLarge copies a large module (default golang.org/x/tools from the module cache) into a
// temporary directory, adds an instrumented package of ours wired to the autometrics stand-in,
// and returns the module directory and the instrumented file.
func prepareLarge(ctx context.Context, src string) (dir, file string, err error) {
	if src == "" {
		out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/tools").Output()
		if err != nil {
			return "", "", fmt.Errorf("locating golang.org/x/tools: %w", err)
		}
		src = strings.TrimSpace(string(out))
	}
	tmp, err := os.MkdirTemp("", "am-lsp-bench-")
	if err != nil {
		return "", "", err
	}
	dir = filepath.Join(tmp, "tools")
	if out, err := exec.CommandContext(ctx, "cp", "-r", src, dir).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("copying %s: %v: %s", src, err, out)
	}
	if out, err := exec.CommandContext(ctx, "chmod", "-R", "u+w", dir).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("chmod: %v: %s", err, out)
	}
	standIn, _ := filepath.Abs("testdata/autometrics-go")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", "", err
	}
	gomod = append(gomod, fmt.Sprintf("\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => %s\n", standIn)...)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), gomod, 0o644); err != nil {
		return "", "", err
	}
	pkg := filepath.Join(dir, "amlspbench")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return "", "", err
	}
	file = filepath.Join(pkg, "handle.go")
	src2 := `// Package amlspbench is an instrumented package added to a large module for benchmarks.
package amlspbench

import (
	"golang.org/x/tools/go/packages"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Handle loads packages, instrumented with Autometrics.
//
//autometrics:inst
func Handle(patterns ...string) ([]*packages.Package, error) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	return packages.Load(&packages.Config{Mode: packages.NeedName}, patterns...)
}
`
	if err := os.WriteFile(file, []byte(src2), 0o644); err != nil {
		return "", "", err
	}
	if out, err := exec.CommandContext(ctx, "go", "mod", "download").CombinedOutput(); err != nil {
		_ = out // best effort: the go command of each server downloads what it lacks
	}
	return dir, file, nil
}
