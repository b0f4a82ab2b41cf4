package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportSaysWhatFailed runs `am-lsp report` where a newcomer goes wrong (a mistyped pattern,
// outside a module, a parent of a nested module, a broken go.mod, no backend) and checks that
// it exits non-zero and says what failed, once.
func TestReportSaysWhatFailed(t *testing.T) {
	bin := buildBinary(t)
	standIn, err := filepath.Abs("../../testdata/autometrics-go")
	if err != nil {
		t.Fatal(err)
	}
	many, err := os.ReadFile(filepath.Join(demoDir(t), "many", "many.go"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	noModule := filepath.Join(tmp, "nomod")
	parent := filepath.Join(tmp, "parent")
	for path, content := range map[string]string{
		filepath.Join(noModule, "many.go"):        string(many),
		filepath.Join(parent, "go.mod"):           "module example.com/parent\n\ngo 1.22\n",
		filepath.Join(parent, "child", "go.mod"):  "module example.com/child\n\ngo 1.22\n\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => " + standIn + "\n",
		filepath.Join(parent, "child", "many.go"): string(many),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	brokenMod, err := filepath.Abs("../../testdata/brokenmod")
	if err != nil {
		t.Fatal(err)
	}
	const down = "--prometheus-url=http://127.0.0.1:1"
	for _, c := range []struct {
		name, dir string
		args      []string
		want      []string // in stderr
	}{
		{"mistyped directory", demoDir(t), []string{down, "./apii"}, []string{"no Go packages match ./apii", "directory not found"}},
		{"mistyped tree", demoDir(t), []string{down, "./apii/..."}, []string{"no Go packages match ./apii/..."}},
		{"outside a module", noModule, []string{down, "./..."}, []string{"not inside a Go module"}},
		{"parent of a nested module", parent, []string{down, "./..."}, []string{"nested module(s) child"}},
		{"broken go.mod", brokenMod, []string{down, "./..."}, []string{"errors parsing go.mod", "syntax alone"}},
		{"backend down", filepath.Join(demoDir(t)), []string{down, "./api"}, []string{"unreachable", "--prometheus-url"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"report"}, c.args...)...)
			cmd.Dir = c.dir
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
				t.Errorf("exit %v, want non-zero; stdout:\n%s", err, stdout.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stdout.String(), "no instrumented functions") {
				t.Errorf("stdout says only that nothing is instrumented:\n%s", stdout.String())
			}
			if n := strings.Count(stdout.String()+stderr.String(), "unreachable"); n > 1 {
				t.Errorf("the backend's failure is said %d times:\n%s\n%s", n, stdout.String(), stderr.String())
			}
		})
	}
}
