package instrument

import (
	"bytes"
	"errors"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// detect parses src and returns its functions by qualified name.
func detect(t testing.TB, filename string, src []byte) map[string]*analysis.Function {
	t.Helper()
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, filename, src, parser.ParseComments|parser.AllErrors)
	if f == nil {
		t.Fatalf("%s does not parse", filename)
	}
	out := map[string]*analysis.Function{}
	for _, fn := range analysis.DetectFile(fset, f, "p", f.Name.Name) {
		out[fn.QualifiedName()] = fn
	}
	return out
}

// oneLineBody reports a function of src whose body is written on one line or is an empty
// "{\n}": Instrument has to reformat those, so Remove cannot restore them byte for byte.
func oneLineBody(src []byte) bool {
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
	if f == nil {
		return false
	}
	found := false
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			lb, rb := fset.Position(fd.Body.Lbrace), fset.Position(fd.Body.Rbrace)
			if lb.Line == rb.Line || len(fd.Body.List) == 0 && len(bytes.TrimSpace(src[lb.Offset+1:rb.Offset])) == 0 {
				found = true
			}
		}
	}
	return found
}

// TestInstrumentIsIdempotent checks, on every golden case that instruments: each function the
// op instrumented is now detected as Generated with a directive, is no longer offered Instrument,
// has no statements-missing or out-of-date diagnostic, and Remove on it restores the input byte
// for byte (for functions that had no directive, in files without one-line bodies).
func TestInstrumentIsIdempotent(t *testing.T) {
	checked, restored := 0, 0
	for _, c := range loadGolden(t) {
		op := strings.Fields(c.keys["op"])
		out, ok := c.section("out.go")
		if !ok || len(op) == 0 || (op[0] != "instrument" && op[0] != "instrument-all" && !(op[0] == "fix" && op[1] == CodeStatementsMissing)) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			before, after := detect(t, c.file, c.in), detect(t, c.file, out)
			// With --inst-all the generator, and so Instrument, writes no directive.
			pout, err := parseFile(c.file, out)
			if err != nil {
				t.Fatal(err)
			}
			var restore []string
			for name, fn := range after {
				old := before[name]
				if old == nil {
					t.Fatalf("%s disappeared", name)
				}
				if old.Instrumentation == fn.Instrumentation {
					continue
				}
				checked++
				if fn.Instrumentation != analysis.Generated || fn.Directive == nil && !pout.instrumentsAll() {
					t.Errorf("%s: after Instrument it is %v with directive %v, want generated with a directive", name, fn.Instrumentation, fn.Directive)
				}
				for _, a := range Actions(c.file, out, fn.NameSpan.Start, fn.NameSpan.Start) {
					if strings.HasPrefix(a.Title, "Instrument "+name+" ") || strings.HasPrefix(a.Title, "Insert the Autometrics statements") {
						t.Errorf("%s: still offered %q", name, a.Title)
					}
				}
				if _, err := InstrumentEdits(c.file, out, fn.NameSpan.Start, nil); !errors.Is(err, ErrNotApplicable) {
					t.Errorf("%s: InstrumentEdits again = %v, want ErrNotApplicable", name, err)
				}
				for _, d := range Diagnose(c.file, out) {
					if d.Start >= fn.DeclSpan.Start && d.End <= fn.DeclSpan.End && (d.Code == CodeStatementsMissing || d.Code == CodeOutOfSync) {
						t.Errorf("%s: diagnostic after Instrument: %s", name, d.Message)
					}
				}
				if old.Directive == nil {
					restore = append(restore, name)
				}
			}
			if oneLineBody(c.in) || len(restore) == 0 || len(restore) < countChanged(before, after) {
				t.Logf("not restorable by Remove: one-line bodies or directives in the input")
				return
			}
			src := out
			for _, name := range restore {
				fn := detect(t, c.file, src)[name]
				edits, err := RemoveEdits(c.file, src, fn.NameSpan.Start)
				if err != nil {
					t.Fatalf("Remove %s: %v", name, err)
				}
				if src, err = Apply(src, edits); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(src, c.in) {
				t.Errorf("Remove after Instrument does not restore the input; got\n%s", src)
			}
			restored++
		})
	}
	if checked < 30 || restored < 15 {
		t.Errorf("only %d instrumented functions checked, %d inputs restored", checked, restored)
	}
	t.Logf("%d instrumented functions checked, %d inputs restored by Remove", checked, restored)
}

func countChanged(before, after map[string]*analysis.Function) int {
	n := 0
	for name, fn := range after {
		if before[name] != nil && before[name].Instrumentation != fn.Instrumentation {
			n++
		}
	}
	return n
}

// importsUnusedOrAutometrics reports an import the file does not use, or an autometrics import:
// Remove then legitimately deletes an import the input had.
func importsUnusedOrAutometrics(f *file) bool {
	for _, spec := range f.ast.Imports {
		p := importPath(spec)
		name := localName(spec)
		if isAutometricsPath(p) || name == "_" || name == "." || p == "C" || usesOf(f, name, nil) == 0 {
			return true
		}
	}
	for _, d := range f.ast.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT && len(gd.Specs) == 0 {
			return true
		}
	}
	return false
}

// FuzzInstrumentThenRemove takes arbitrary Go source that parses, gofmt-formats it, and checks
// on each function: Instrument (with or without an SLO) fails only with the documented errors or
// yields gofmt-clean code that parses, is detected as generated, and that Remove turns back into
// the input (outside the documented exceptions). Diagnose and Actions must not panic, and every
// action must apply and parse.
func FuzzInstrumentThenRemove(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(goldenDir, "*.txtar"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(data, []byte("-- in.go --\n")); i >= 0 {
			in := data[i+len("-- in.go --\n"):]
			if j := bytes.Index(in, []byte("\n-- ")); j >= 0 {
				in = in[:j+1]
			}
			f.Add(in, false)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, withSLO bool) {
		if _, err := parser.ParseFile(token.NewFileSet(), "fuzz.go", src, parser.ParseComments); err != nil {
			return
		}
		src, err := format.Source(src)
		if err != nil {
			return
		}
		if again, err := format.Source(src); err != nil || !bytes.Equal(again, src) {
			return // gofmt has no fixed point here (it happens around odd comments)
		}
		if bytes.ContainsAny(src, "\f\v\r") {
			return // control characters gofmt's tabwriter reads as cell or section breaks
		}
		const name = "fuzz.go"
		for _, d := range Diagnose(name, src) {
			if d.Start < 0 || d.Start > d.End || d.End > len(src) {
				t.Fatalf("diagnostic out of range: %+v", d)
			}
			if d.Fix != nil {
				applyParses(t, src, d.Fix.Edits)
			}
		}
		for _, a := range Actions(name, src, 0, len(src)) {
			applyParses(t, src, a.Edits)
		}
		pf, err := parseFile(name, src)
		if err != nil {
			return
		}
		// Outside these cases Remove must restore the input byte for byte: an import Remove
		// deletes legitimately, a body Instrument reformats, a declaration right after the
		// package clause (the new import brings a blank line that Remove leaves), a fenced
		// documentation block of the generator.
		keepsImports := !importsUnusedOrAutometrics(pf) && !oneLineBody(src) && !rightAfterPackage(pf) &&
			!bytes.Contains(src, []byte("autometrics:doc-start")) // Remove takes the generator's documentation with it
		for i, fn := range pf.funcs {
			if i >= 8 {
				break
			}
			if fn.info.Instrumentation != analysis.NotInstrumented {
				continue
			}
			var slo *SLO
			if withSLO {
				s := DefaultSLO()
				slo = &s
			}
			edits, err := InstrumentEdits(name, src, fn.info.NameSpan.Start, slo)
			if err != nil {
				if !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrNotApplicable) {
					t.Fatalf("Instrument %s: unexpected error %v", fn.info.QualifiedName(), err)
				}
				continue
			}
			out := applyParses(t, src, edits)
			if formatted, err := format.Source(out); err != nil || !onlyAlignment(formatted, out) {
				t.Fatalf("Instrument %s: output is not gofmt-clean:\n%s", fn.info.QualifiedName(), out)
			}
			// The i-th function (names may repeat in a fuzzed file).
			var after *analysis.Function
			if pout, err := parseFile(name, out); err == nil && len(pout.funcs) == len(pf.funcs) {
				after = pout.funcs[i].info
			}
			if after == nil || after.Instrumentation != analysis.Generated || after.Directive == nil && !pf.instrumentsAll() {
				t.Fatalf("Instrument %s: not detected as generated with a directive:\n%s", fn.info.QualifiedName(), out)
			}
			removal, err := RemoveEdits(name, out, after.NameSpan.Start)
			if err != nil {
				t.Fatalf("Remove %s: %v\n%s", fn.info.QualifiedName(), err, out)
			}
			back := applyParses(t, out, removal)
			if keepsImports && !rightAfterDecl(pf, fn) && !bytes.Equal(back, src) {
				t.Fatalf("Remove %s does not restore the input.\ninput:\n%s\ninstrumented:\n%s\nremoved:\n%s", fn.info.QualifiedName(), src, out, back)
			}
		}
	})
}

// rightAfterDecl reports a function without doc comment written on the line after another
// declaration: Instrument adds the blank line gofmt wants before a doc comment, Remove leaves it.
func rightAfterDecl(f *file, fn *function) bool {
	if fn.decl.Doc != nil {
		return false
	}
	ls := f.lineStart(f.off(fn.decl.Pos()))
	if ls == 0 {
		return false
	}
	blank, _ := f.blankLineAt(f.lineStart(ls - 1))
	return !blank
}

// rightAfterPackage reports code or a comment on the line after the package clause or after an
// import declaration: the import Instrument adds brings the blank line gofmt wants, which Remove
// leaves.
func rightAfterPackage(f *file) bool {
	ends := []int{f.off(f.ast.Name.End())}
	for _, d := range f.ast.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			ends = append(ends, f.off(gd.End()))
		}
	}
	for _, e := range ends {
		if f.blankAfter(f.lineEnd(e)) != "" {
			return true
		}
	}
	return false
}

// onlyAlignment reports whether a and b differ only in runs of blanks inside lines: gofmt aligns
// trailing comments and one-line function bodies of consecutive lines, so a line inserted or
// grown next to them can move their alignment, which is not ours to reformat.
func onlyAlignment(a, b []byte) bool {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	if len(la) != len(lb) {
		return false
	}
	squeeze := func(line []byte) string {
		indent := len(line) - len(bytes.TrimLeft(line, "\t"))
		return string(line[:indent]) + strings.Join(strings.Fields(string(line[indent:])), " ")
	}
	for i := range la {
		if !bytes.Equal(la[i], lb[i]) && squeeze(la[i]) != squeeze(lb[i]) {
			return false
		}
	}
	return true
}

// applyParses applies edits and checks the result still parses.
func applyParses(t *testing.T, src []byte, edits []Edit) []byte {
	t.Helper()
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatalf("edits do not apply: %v", err)
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "x.go", out, parser.ParseComments); err != nil {
		t.Fatalf("edits break the code: %v\nbefore:\n%s\nafter:\n%s", err, src, out)
	}
	return out
}
