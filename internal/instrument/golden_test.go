package instrument

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/am-lsp/am-lsp/internal/analysis"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/instrument with the current results")

// goldenDir holds the golden cases: one txtar archive per case.
//
// The archive comment holds "key: value" lines:
//
//	op: instrument NAME | remove NAME | remove-statements NAME | count-errors NAME | instrument-all | fix CODE NAME
//	slo: NAME SUCCESS LATENCY_MS LATENCY_TARGET   (with op instrument)
//	file: NAME.go                                 (the file name given to the package; default p.go)
//	build: no                                     (out.go is not expected to compile or be gofmt-clean)
//	error: TEXT                                   (op must fail with an error that contains TEXT)
//
// Sections: "in.go" (the content), "out.go" (the content after op; absent: op must fail, and
// the comment must say with which error),
// "diagnostics" (Diagnose of in.go) and "actions NAME" (the actions with the cursor on NAME), each
// compared when present. NAME is a qualified name: F, T.M or (*T).M.
const goldenDir = "../../testdata/instrument"

type goldenCase struct {
	name    string
	path    string
	arch    *txtar.Archive
	keys    map[string]string
	in      []byte
	file    string
	changed bool
}

func (c *goldenCase) section(name string) ([]byte, bool) {
	for _, f := range c.arch.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func (c *goldenCase) setSection(name string, data []byte) {
	for i, f := range c.arch.Files {
		if f.Name == name {
			if !bytes.Equal(f.Data, data) {
				c.arch.Files[i].Data = data
				c.changed = true
			}
			return
		}
	}
	c.arch.Files = append(c.arch.Files, txtar.File{Name: name, Data: data})
	c.changed = true
}

func loadGolden(t *testing.T) []*goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in %s: %v", goldenDir, err)
	}
	var cases []*goldenCase
	for _, p := range paths {
		arch, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &goldenCase{name: strings.TrimSuffix(filepath.Base(p), ".txtar"), path: p, arch: arch, keys: map[string]string{}, file: "p.go"}
		for _, line := range strings.Split(string(arch.Comment), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
				c.keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if c.keys["file"] != "" {
			c.file = c.keys["file"]
		}
		in, ok := c.section("in.go")
		if !ok {
			t.Fatalf("%s: no in.go section", p)
		}
		c.in = in
		cases = append(cases, c)
	}
	return cases
}

// offsetOf returns the offset of the name of the function with the qualified name in src.
func offsetOf(t *testing.T, filename string, src []byte, qualified string) int {
	t.Helper()
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, filename, src, parser.ParseComments|parser.AllErrors)
	if f == nil {
		t.Fatalf("%s does not parse", filename)
	}
	var names []string
	for _, fn := range analysis.DetectFile(fset, f, "p", f.Name.Name) {
		if fn.QualifiedName() == qualified {
			return fn.NameSpan.Start
		}
		names = append(names, fn.QualifiedName())
	}
	t.Fatalf("no function %s in %s (have %v)", qualified, filename, names)
	return 0
}

// runOp applies the case's op to src.
func runOp(t *testing.T, c *goldenCase, src []byte) ([]Edit, error) {
	t.Helper()
	op := strings.Fields(c.keys["op"])
	if len(op) == 0 {
		return nil, nil
	}
	switch op[0] {
	case "instrument":
		var slo *SLO
		if s := strings.Fields(c.keys["slo"]); len(s) > 0 {
			slo = &SLO{Name: strings.ReplaceAll(s[0], "_", " ")}
			for i, dst := range []*float64{&slo.SuccessTarget, &slo.LatencyMs, &slo.LatencyTarget} {
				if i+1 < len(s) {
					v, err := strconv.ParseFloat(s[i+1], 64)
					if err != nil {
						t.Fatalf("%s: bad slo %q", c.name, c.keys["slo"])
					}
					*dst = v
				}
			}
		}
		return InstrumentEdits(c.file, src, offsetOf(t, c.file, src, op[1]), slo)
	case "remove":
		return RemoveEdits(c.file, src, offsetOf(t, c.file, src, op[1]))
	case "remove-statements":
		return RemoveStatementsEdits(c.file, src, offsetOf(t, c.file, src, op[1]))
	case "count-errors":
		return CountErrorsEdits(c.file, src, offsetOf(t, c.file, src, op[1]))
	case "instrument-all":
		return InstrumentAllEdits(c.file, src)
	case "fix":
		at := offsetOf(t, c.file, src, op[2])
		f, err := parseFile(c.file, src)
		if err != nil {
			t.Fatal(err)
		}
		fn := f.at(at)
		for _, d := range Diagnose(c.file, src) {
			if d.Code == op[1] && d.Start >= fn.info.DeclSpan.Start && d.End <= fn.info.DeclSpan.End {
				if d.Fix == nil {
					return nil, fmt.Errorf("diagnostic %s on %s has no fix", op[1], op[2])
				}
				return d.Fix.Edits, nil
			}
		}
		return nil, fmt.Errorf("no diagnostic %s on %s", op[1], op[2])
	}
	t.Fatalf("%s: unknown op %q", c.name, c.keys["op"])
	return nil, nil
}

// formatDiagnostics prints diagnostics one per line: severity, code, line:col range, the text
// they cover, the message, and the fix's title.
func formatDiagnostics(src []byte, diags []Diagnostic) []byte {
	var b bytes.Buffer
	for _, d := range diags {
		covered := string(src[d.Start:d.End])
		if i := strings.IndexByte(covered, '\n'); i >= 0 {
			covered = covered[:i] + "…"
		}
		fmt.Fprintf(&b, "%s %s %s-%s %q: %s\n", d.Severity, d.Code, lineCol(src, d.Start), lineCol(src, d.End), covered, d.Message)
		if d.Fix != nil {
			fmt.Fprintf(&b, "\tfix: %s\n", d.Fix.Title)
		}
	}
	return b.Bytes()
}

func lineCol(src []byte, offset int) string {
	line := bytes.Count(src[:offset], []byte("\n")) + 1
	col := offset - (bytes.LastIndexByte(src[:offset], '\n') + 1) + 1
	return fmt.Sprintf("%d:%d", line, col)
}

// formatEdits prints edits one per line: the range, the text replaced and the new text.
func formatEdits(src []byte, edits []Edit) []byte {
	var b bytes.Buffer
	for _, e := range edits {
		fmt.Fprintf(&b, "%s-%s %q -> %q\n", lineCol(src, e.Start), lineCol(src, e.End), src[e.Start:e.End], e.NewText)
	}
	return b.Bytes()
}

func formatActions(actions []Action) []byte {
	var b bytes.Buffer
	for _, a := range actions {
		fmt.Fprintf(&b, "%s: %s", a.Kind, a.Title)
		if a.Command != "" {
			fmt.Fprintf(&b, " [%s]", a.Command)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// TestGolden checks every golden case: the op's output (or its failure), the diagnostics and the
// actions; every out.go must be gofmt-clean (unless "build: no").
func TestGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.keys["build"] != "no" {
				if formatted, err := format.Source(c.in); err != nil || !bytes.Equal(formatted, c.in) {
					t.Errorf("in.go is not gofmt-clean (%v): the golden cases start from gofmt-clean files", err)
				}
			}
			if c.keys["op"] != "" {
				edits, err := runOp(t, c, c.in)
				want, hasOut := c.section("out.go")
				wantErr, mustFail := c.keys["error"]
				if hasOut == mustFail {
					t.Fatalf("a case has either an out.go section or an error: line, not both nor neither")
				}
				var got []byte
				if err == nil {
					checkEdits(t, c.in, edits)
					if got, err = Apply(c.in, edits); err != nil {
						t.Fatal(err)
					}
				}
				// -update rewrites the out.go of a case that has one; it never gives one to a
				// must-fail case, whose error line is written by hand.
				switch {
				case err != nil && hasOut:
					t.Errorf("%s failed: %v", c.keys["op"], err)
				case err == nil && mustFail:
					t.Errorf("%s succeeded, want it to fail with %q; got\n%s", c.keys["op"], wantErr, got)
				case err != nil && !strings.Contains(err.Error(), wantErr):
					t.Errorf("%s failed with %q, want an error containing %q", c.keys["op"], err, wantErr)
				case *update && err == nil:
					c.setSection("out.go", got)
				case err == nil && !bytes.Equal(got, want):
					t.Errorf("%s: got\n%s\nwant\n%s", c.keys["op"], got, want)
				}
				if _, ok := c.section("edits"); ok && err == nil {
					got := formatEdits(c.in, edits)
					if *update {
						c.setSection("edits", got)
					} else if want, _ := c.section("edits"); !bytes.Equal(got, want) {
						t.Errorf("edits: got\n%s\nwant\n%s", got, want)
					}
				}
				if err == nil && c.keys["build"] != "no" {
					if formatted, ferr := format.Source(got); ferr != nil || !bytes.Equal(formatted, got) {
						t.Errorf("out.go is not gofmt-clean (%v):\n%s", ferr, formatted)
					}
				}
			}
			for _, f := range c.arch.Files {
				switch {
				case f.Name == "diagnostics":
					got := formatDiagnostics(c.in, Diagnose(c.file, c.in))
					if *update {
						c.setSection(f.Name, got)
					} else if !bytes.Equal(got, f.Data) {
						t.Errorf("Diagnose: got\n%s\nwant\n%s", got, f.Data)
					}
				case strings.HasPrefix(f.Name, "actions "):
					at := offsetOf(t, c.file, c.in, strings.TrimPrefix(f.Name, "actions "))
					actions := Actions(c.file, c.in, at, at)
					for _, a := range actions {
						checkEdits(t, c.in, a.Edits)
					}
					got := formatActions(actions)
					if *update {
						c.setSection(f.Name, got)
					} else if !bytes.Equal(got, f.Data) {
						t.Errorf("%s: got\n%s\nwant\n%s", f.Name, got, f.Data)
					}
				}
			}
			if *update && c.changed {
				if err := os.WriteFile(c.path, txtar.Format(c.arch), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// checkEdits asserts the Edit contract: sorted, non-overlapping, inside src, no no-ops, and
// never a replacement of the whole content.
func checkEdits(t *testing.T, src []byte, edits []Edit) {
	t.Helper()
	last := 0
	for _, e := range edits {
		if e.Start < last || e.End < e.Start || e.End > len(src) {
			t.Fatalf("edits out of order or range: %+v", edits)
		}
		if e.Start == e.End && e.NewText == "" {
			t.Errorf("a no-op edit: %+v", e)
		}
		if len(src) > 0 && e.Start == 0 && e.End == len(src) {
			t.Errorf("an edit replaces the whole content")
		}
		last = e.End
	}
}

// TestGoldenOutputsBuild builds every golden out.go (and every in.go without "build: no" that
// is meant to compile, to show the inputs are fair) in one temporary module wired to the
// stand-in autometrics-go module.
func TestGoldenOutputsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if ci.Enabled() {
			t.Fatal("no go command: CI must have it")
		}
		t.Skip("no go command")
	}
	stub, err := filepath.Abs("../../testdata/autometrics-go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	web, err := filepath.Abs("../../testdata/webstubs")
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/golden\n\ngo 1.22\n\nrequire (\n" +
		"\tgithub.com/autometrics-dev/autometrics-go v1.1.0\n\tgithub.com/gin-gonic/gin v1.9.1\n" +
		"\tgithub.com/labstack/echo/v4 v4.11.0\n\tgithub.com/gobuffalo/buffalo v1.1.0\n)\n\n" +
		"replace github.com/autometrics-dev/autometrics-go => " + stub + "\n\n" +
		"replace github.com/gin-gonic/gin => " + filepath.Join(web, "gin") + "\n\n" +
		"replace github.com/labstack/echo/v4 => " + filepath.Join(web, "echo") + "\n\n" +
		"replace github.com/gobuffalo/buffalo => " + filepath.Join(web, "buffalo") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, c := range loadGolden(t) {
		out, ok := c.section("out.go")
		if !ok || c.keys["build"] == "no" {
			continue
		}
		for _, variant := range []struct {
			suffix string
			src    []byte
		}{{"out", out}, {"in", c.in}} {
			pkgDir := filepath.Join(dir, c.name+"_"+variant.suffix)
			if err := os.MkdirAll(pkgDir, 0o755); err != nil {
				t.Fatal(err)
			}
			name := c.file
			if strings.HasSuffix(name, "_test.go") {
				name = strings.TrimSuffix(name, "_test.go") + ".go"
			}
			if err := os.WriteFile(filepath.Join(pkgDir, name), variant.src, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		built = append(built, c.name)
	}
	if len(built) < 20 {
		t.Fatalf("only %d golden outputs to build", len(built))
	}
	cmd := exec.Command(goCmd, "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the golden outputs failed: %v\n%s", err, out)
	}
	sort.Strings(built)
	t.Logf("built %d golden outputs and their inputs", len(built))
}
