package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/go/ast/astutil"
)

// offsetOf returns the byte offset of the first occurrence of marker in file, plus skip.
func offsetOf(t *testing.T, file, marker string, skip int) int {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(src), marker)
	if i < 0 {
		t.Fatalf("%q not found in %s", marker, file)
	}
	return i + skip
}

// wantFunctionAt checks that FunctionAt at the offset finds the function with the given package
// path, qualified name and instrumentation.
func wantFunctionAt(t *testing.T, p *Package, file string, offset int, pkgPath, qualified string, instr Instrumentation) *Function {
	t.Helper()
	f, ok := p.FunctionAt(file, offset)
	if !ok || f == nil {
		t.Errorf("FunctionAt(%s, %d): nothing, want %s %s", file, offset, pkgPath, qualified)
		return nil
	}
	if f.PkgPath != pkgPath || f.QualifiedName() != qualified || f.Instrumentation != instr {
		t.Errorf("FunctionAt(%s, %d) = %s %s (%v), want %s %s (%v)", file, offset, f.PkgPath, f.QualifiedName(), f.Instrumentation, pkgPath, qualified, instr)
	}
	return f
}

func TestFunctionAtDeclarations(t *testing.T) {
	handle := testdata(t, "demo", "api", "handle.go")
	server := testdata(t, "demo", "api", "server.go")
	api := packageByPath(t, load(t, &Loader{}, []string{handle}, nil), "example.com/demo/api")

	start := offsetOf(t, handle, "func Handle(", len("func "))
	wantFunctionAt(t, api, handle, start, "example.com/demo/api", "Handle", Generated)
	wantFunctionAt(t, api, handle, start+3, "example.com/demo/api", "Handle", Generated)
	wantFunctionAt(t, api, handle, start+len("Handle"), "example.com/demo/api", "Handle", Generated) // just after the name
	wantFunctionAt(t, api, server, offsetOf(t, server, "Handle(w http", 0), "example.com/demo/api", "(*Server).Handle", Generated)
	wantFunctionAt(t, api, server, offsetOf(t, server, "Status()", 0), "example.com/demo/api", "Server.Status", Generated)

	for _, tt := range []struct {
		file   string
		offset int
		what   string
	}{
		{handle, offsetOf(t, handle, "func Handle(", 0), "the func keyword"},
		{handle, offsetOf(t, handle, "id string", 0), "a parameter"},
		{handle, offsetOf(t, handle, "strings.ToLower", 0), "a package name of the standard library"},
		{handle, offsetOf(t, handle, "amCtx :=", 0), "a variable"},
		{handle, -1, "a negative offset"},
		{handle, 1 << 20, "an offset past the end"},
		{testdata(t, "demo", "main.go"), 10, "a file of another package"},
	} {
		if f, ok := api.FunctionAt(tt.file, tt.offset); ok || f != nil {
			t.Errorf("FunctionAt on %s = %v, want nothing", tt.what, f.QualifiedName())
		}
	}
}

func TestFunctionAtCalls(t *testing.T) {
	mainGo := testdata(t, "demo", "main.go")
	handle := testdata(t, "demo", "api", "handle.go")
	pkgs := load(t, &Loader{}, []string{mainGo, handle}, nil)
	main := packageByPath(t, pkgs, "example.com/demo")
	api := packageByPath(t, pkgs, "example.com/demo/api")

	// Same package.
	wantFunctionAt(t, api, handle, offsetOf(t, handle, "normalize(id)", 0), "example.com/demo/api", "normalize", NotInstrumented)
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "Serve(); err", 0), "example.com/demo", "Serve", Generated)
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "Autometrics(Healthz)", len("Autometrics(")), "example.com/demo", "Healthz", Middleware)
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "app.Start()", len("app.")), "example.com/demo", "(*App).Start", Generated)

	// Other packages, through type information and the file the export data points at.
	f := wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "api.Handle(", len("api.")), "example.com/demo/api", "Handle", Generated)
	if f != nil && (f.Labels != Labels{"Handle", "example.com/demo/api"} || f.NameSpan.File != handle || f.Directive == nil || f.Directive.SLO != "API") {
		t.Errorf("api.Handle resolved to %+v", f)
	}
	if f != nil {
		src, _ := os.ReadFile(handle)
		if string(src[f.NameSpan.Start:f.NameSpan.End]) != "Handle" {
			t.Errorf("api.Handle NameSpan %+v does not cover the name in api/handle.go", f.NameSpan)
		}
	}
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "api.Handle(", 0), "example.com/demo/api", "Handle", Generated) // on the package name
	b := wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "billing.Handle(", len("billing.")), "example.com/demo/billing", "Handle", Generated)
	if b != nil && b.Labels.Module != "example.com/demo/billing" {
		t.Errorf("billing.Handle labels %+v", b.Labels)
	}
	y := wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "yaml.Decode(", len("yaml.")), "example.com/demo/yaml.v3", "Decode", Generated)
	if y != nil && y.Labels.Module != "example.com/demo/yaml%2ev3" {
		t.Errorf("yaml.Decode labels %+v", y.Labels)
	}
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "a.srv.Ping", len("a.srv.")), "example.com/demo/api", "(*Server).Ping", NotInstrumented)

	if f, ok := main.FunctionAt(mainGo, offsetOf(t, mainGo, "log.Fatal(err)", len("log."))); ok && f != nil {
		t.Errorf("log.Fatal resolved to %s; the standard library is not instrumented and has no demo function", f.QualifiedName())
	}
}

func TestFunctionAtWithoutTypeInformation(t *testing.T) {
	fakeGo(t, "echo 'go: simulated failure' >&2; exit 1")
	mainGo := testdata(t, "demo", "main.go")
	handle := testdata(t, "demo", "api", "handle.go")
	pkgs := load(t, &Loader{}, []string{mainGo, handle}, nil)
	main := packageByPath(t, pkgs, "example.com/demo")
	api := packageByPath(t, pkgs, "example.com/demo/api")
	if main.info != nil || main.Degraded == "" {
		t.Fatalf("main was type-checked although the go command fails")
	}
	wantFunctionAt(t, api, handle, offsetOf(t, handle, "normalize(id)", 0), "example.com/demo/api", "normalize", NotInstrumented)
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "Serve(); err", 0), "example.com/demo", "Serve", Generated)
	// Another package of the module: found through the import path and go.mod.
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "api.Handle(", len("api.")), "example.com/demo/api", "Handle", Generated)
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "yaml.Decode(", len("yaml.")), "example.com/demo/yaml.v3", "Decode", Generated)
	// A method through the receiver's declared type.
	wantFunctionAt(t, main, mainGo, offsetOf(t, mainGo, "app.Start()", len("app.")), "example.com/demo", "(*App).Start", Generated)
}

func TestFunctionAtUnresolvableImport(t *testing.T) {
	file := testdata(t, "unresolved", "unresolved.go")
	p := packageByPath(t, load(t, &Loader{}, []string{file}, nil), "example.com/unresolved")
	wantFunctionAt(t, p, file, offsetOf(t, file, "Fetch2(key)", 0), "example.com/unresolved", "Fetch2", NotInstrumented)
	wantFunctionAt(t, p, file, offsetOf(t, file, "helper(key), nil", 0), "example.com/unresolved", "helper", NotInstrumented)
	wantFunctionAt(t, p, file, offsetOf(t, file, "Put(key", 0), "example.com/unresolved", "(*Store).Put", Generated)
	if f, ok := p.FunctionAt(file, offsetOf(t, file, "am.PreInstrument", len("am."))); ok {
		t.Errorf("a call into the unresolvable package resolved to %s", f.QualifiedName())
	}
}

func TestFunctionAtOverlay(t *testing.T) {
	file := testdata(t, "demo", "api", "handle.go")
	disk, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(disk), "package api\n", "package api\n\n// a longer header that shifts every offset\n", 1)
	api := packageByPath(t, load(t, &Loader{}, []string{file}, map[string][]byte{file: []byte(edited)}), "example.com/demo/api")
	offset := strings.Index(edited, "func Pending(") + len("func ")
	wantFunctionAt(t, api, file, offset, "example.com/demo/api", "Pending", DirectiveOnly)
	if f, ok := api.FunctionAt(file, strings.Index(string(disk), "func Pending(")+len("func ")); ok && f.Name == "Pending" {
		t.Error("FunctionAt used disk offsets although the file is in the overlay")
	}
}

func TestFileFunctionsCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.go")
	writeFile(t, path, "package a\n\nfunc F() {}\n")
	l := &Loader{}
	first := l.fileFunctions(path, "example.com/a", "a", nil)
	if len(first) != 1 || first[0].fn.Instrumentation != NotInstrumented || first[0].line != 3 {
		t.Fatalf("first detection = %+v", first)
	}
	if again := l.fileFunctions(path, "example.com/a", "a", nil); len(again) != 1 || again[0].fn != first[0].fn {
		t.Error("an unchanged file was parsed again")
	}
	writeFile(t, path, "package a\n\n//autometrics:inst\nfunc F() {}\n")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	changed := l.fileFunctions(path, "example.com/a", "a", nil)
	if len(changed) != 1 || changed[0].fn.Instrumentation != DirectiveOnly || changed[0].line != 4 {
		t.Errorf("after the file changed: %+v, want F directive-only on line 4", changed)
	}
	overlay := map[string][]byte{path: []byte("package a\n\nfunc G() {}\n")}
	if fromOverlay := l.fileFunctions(path, "example.com/a", "a", overlay); len(fromOverlay) != 1 || fromOverlay[0].fn.Name != "G" {
		t.Errorf("with an overlay: %+v, want G from the unsaved content", fromOverlay)
	}
}

// identAt walks only the nodes that contain the offset; at every offset of real files it finds
// the identifier and the enclosing nodes that astutil.PathEnclosingInterval finds.
func TestIdentAtAgreesWithPathEnclosingInterval(t *testing.T) {
	files, err := filepath.Glob("../../testdata/demo/*/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no demo files: %v", err)
	}
	idents := 0
	for _, name := range files {
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		tf := fset.File(af.FileStart)
		for offset := 0; offset < tf.Size(); offset++ {
			pos := tf.Pos(offset)
			want, _ := astutil.PathEnclosingInterval(af, pos, pos+1)
			wantID, ok := want[0].(*ast.Ident)
			if !ok || pos < wantID.Pos() || pos >= wantID.End() || len(want) < 2 {
				want, wantID = nil, nil
			}
			got, gotID := identAt(af, tf, offset)
			if gotID != wantID || !slices.Equal(got, want) {
				t.Fatalf("%s offset %d: identAt = %v %v, PathEnclosingInterval = %v %v", name, offset, gotID, got, wantID, want)
			}
			if gotID != nil {
				idents++
			}
		}
	}
	if idents < 1000 {
		t.Fatalf("only %d offsets on identifiers in %d files: the comparison saw too little", idents, len(files))
	}
}
