package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionOfARelease builds am-lsp from a clone of this source tree whose HEAD carries the
// release tag, as the go command stamps a release (go install …@v1.2.3 records the module
// version the same way), and checks that `am-lsp version` prints the tag, not "dev".
func TestVersionOfARelease(t *testing.T) {
	const release = "v0.9.1-e2e"
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	clone := t.TempDir()
	copySources(t, root, clone)
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "."},
		{"-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "release"},
		{"tag", release},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = clone
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	bin := filepath.Join(t.TempDir(), "am-lsp")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/am-lsp")
	build.Dir = clone
	build.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "am-lsp "+release {
		t.Errorf("am-lsp version = %q, want %q", got, "am-lsp "+release)
	}
}

// copySources copies the module at root into dst: its go.mod and go.sum and the non-test Go
// files of every package outside testdata and nested modules.
func copySources(t *testing.T, root, dst string) {
	t.Helper()
	add := func(rel string) {
		content, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	add("go.mod")
	add("go.sum")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") {
			add(rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
