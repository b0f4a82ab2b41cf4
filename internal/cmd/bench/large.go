package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// largeModule is a copy of a large real module with two packages of ours added: amlspbench, with
// an instrumented method, and amlspcaller, which calls it through a struct field and imports one
// of the module's heavy packages, so resolving that call needs types of much of the module.
type largeModule struct {
	name       string // for the report, e.g. "golang.org/x/tools v0.52.0"
	dir        string // module root (temporary)
	modulePath string
	benchFile  string // amlspbench/handle.go
	callerFile string // amlspcaller/caller.go
}

// defaultHeavyImport is the package amlspcaller imports when --import is not given.
var defaultHeavyImport = map[string]string{
	"golang.org/x/tools":               "golang.org/x/tools/go/packages",
	"github.com/prometheus/prometheus": "github.com/prometheus/prometheus/web",
}

// prepareLarge copies the module at src (default golang.org/x/tools as this repository requires
// it, from the module cache) into a temporary directory, drops its go.work, points the
// autometrics-go requirement at the repository's stand-in and adds our two packages. The go
// command downloads what the module needs now, so that neither server pays for it.
func prepareLarge(ctx context.Context, src, heavy string) (*largeModule, error) {
	if src == "" {
		out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/tools").Output()
		if err != nil {
			return nil, fmt.Errorf("locating golang.org/x/tools: %w", err)
		}
		src = strings.TrimSpace(string(out))
	}
	tmp, err := os.MkdirTemp("", "am-lsp-bench-")
	if err != nil {
		return nil, err
	}
	m := &largeModule{name: filepath.Base(src), dir: filepath.Join(tmp, "module")}
	if out, err := exec.CommandContext(ctx, "cp", "-r", src, m.dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copying %s: %v: %s", src, err, out)
	}
	if out, err := exec.CommandContext(ctx, "chmod", "-R", "u+w", m.dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chmod: %v: %s", err, out)
	}
	os.Remove(filepath.Join(m.dir, "go.work")) // it names modules the module zip does not carry
	gomod, err := os.ReadFile(filepath.Join(m.dir, "go.mod"))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			m.modulePath = strings.TrimSpace(rest)
		}
	}
	if heavy == "" {
		heavy = defaultHeavyImport[m.modulePath]
	}
	if heavy == "" {
		return nil, fmt.Errorf("no default heavy package for %s: pass --import", m.modulePath)
	}
	standIn, _ := filepath.Abs("testdata/autometrics-go")
	gomod = append(gomod, fmt.Sprintf("\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => %s\n", standIn)...)
	if err := os.WriteFile(filepath.Join(m.dir, "go.mod"), gomod, 0o644); err != nil {
		return nil, err
	}
	m.benchFile = filepath.Join(m.dir, "amlspbench", "handle.go")
	m.callerFile = filepath.Join(m.dir, "amlspcaller", "caller.go")
	files := map[string]string{
		m.benchFile: `// Package amlspbench is an instrumented package added to a large module for benchmarks.
package amlspbench

import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"

// Server handles requests.
type Server struct{ name string }

// Handle handles one request, instrumented with Autometrics.
//
//autometrics:inst
func (s *Server) Handle(id string) (err error) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, &err) //autometrics:defer

	if id == s.name {
		return nil
	}
	return nil
}
`,
		m.callerFile: fmt.Sprintf(`// Package amlspcaller calls amlspbench through a struct field and imports a heavy package of
// the module, so that resolving the call needs type information.
package amlspcaller

import (
	_ %q

	%q
)

// App holds a server.
type App struct {
	srv *amlspbench.Server
}

// Run calls the instrumented method through the field.
func (a *App) Run(id string) error {
	return a.srv.Handle(id)
}
`, heavy, m.modulePath+"/amlspbench"),
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download")
	cmd.Dir = m.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go mod download in %s: %v: %s", m.dir, err, out)
	}
	cmd = exec.CommandContext(ctx, "go", "list", "-deps", "./amlspcaller")
	cmd.Dir = m.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %v: %s", m.dir, err, out)
	}
	m.name = fmt.Sprintf("%s (%s; amlspcaller imports %s, %d packages below it)", filepath.Base(src), m.modulePath, heavy, strings.Count(string(out), "\n"))
	return m, nil
}

// remove deletes the temporary copy.
func (m *largeModule) remove() { os.RemoveAll(filepath.Dir(m.dir)) }
