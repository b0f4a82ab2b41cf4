package instrument

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// traceCases are the inputs under testdata/trace: each file's first documented function is
// traced, then the span removed again; the results are the .traced and .removed golden files.
func traceCases(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "..", "testdata", "trace", "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no trace cases: %v", err)
	}
	return names
}

// documentedFunc returns the offset of the name of the first function with a doc comment.
func documentedFunc(t *testing.T, src []byte) int {
	t.Helper()
	f, err := parseFile("x.go", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range f.funcs {
		if fn.decl.Doc != nil {
			return fn.info.NameSpan.Start
		}
	}
	t.Fatal("no documented function")
	return 0
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var traceOpts = TraceOptions{ImportPath: "example.com/otelapp/shop"}

// traceCase traces the documented function of the case file and returns input and output.
func traceCase(t *testing.T, name string) (src, traced []byte) {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	edits, err := TraceEdits(name, src, documentedFunc(t, src), traceOpts)
	if err != nil {
		t.Fatalf("TraceEdits: %v", err)
	}
	traced, err = Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	return src, traced
}

func TestTraceGolden(t *testing.T) {
	for _, name := range traceCases(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			_, traced := traceCase(t, name)
			golden(t, strings.TrimSuffix(name, ".go")+".traced", traced)
			if formatted, err := format.Source(traced); err != nil || !bytes.Equal(formatted, traced) {
				t.Errorf("traced output is not gofmt-clean (%v):\n%s", err, formatted)
			}
			off := documentedFunc(t, traced)
			var titles []string
			for _, a := range TraceActions(name, traced, off, off, traceOpts) {
				titles = append(titles, a.Title)
			}
			if len(titles) != 1 || !strings.HasPrefix(titles[0], "Remove the OpenTelemetry span from ") {
				t.Errorf("actions on the traced function: %q, want only the removal", titles)
			}
			if _, err := TraceEdits(name, traced, off, traceOpts); err == nil {
				t.Error("TraceEdits applies twice")
			}
			edits, err := RemoveSpanEdits(name, traced, off, traceOpts)
			if err != nil {
				t.Fatalf("RemoveSpanEdits: %v", err)
			}
			removed, err := Apply(traced, edits)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(name, ".go")+".removed", removed)
			if formatted, err := format.Source(removed); err != nil || !bytes.Equal(formatted, removed) {
				t.Errorf("output after removal is not gofmt-clean (%v)", err)
			}
			off = documentedFunc(t, removed)
			titles = nil
			for _, a := range TraceActions(name, removed, off, off, traceOpts) {
				titles = append(titles, a.Title)
			}
			if len(titles) != 1 || !strings.HasPrefix(titles[0], "Trace ") {
				t.Errorf("actions after removal: %q, want the tracing action again", titles)
			}
		})
	}
}

// TestTraceResultBuilds puts every traced case in a package of its own inside a copy of the
// testdata/otelapp module and builds and vets it with the real OpenTelemetry SDK.
func TestTraceResultBuilds(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed")
	}
	mod := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "otelapp", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file that keeps the SDK's modules required by the copy (go build needs their sums only
	// for what is imported).
	for _, name := range traceCases(t) {
		_, traced := traceCase(t, name)
		dir := filepath.Join(mod, strings.TrimSuffix(filepath.Base(name), ".go"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "shop.go"), traced, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s on the traced code: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
