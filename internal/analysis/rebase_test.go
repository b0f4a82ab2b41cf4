package analysis

import (
	"os"
	"strings"
	"testing"
)

// loadDemoMain type-checks testdata/demo's main package and returns main.go, its text and the
// package.
func loadDemoMain(t *testing.T) (string, []byte, *Package) {
	t.Helper()
	mainGo := testdata(t, "demo", "main.go")
	src, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	return mainGo, src, packageByPath(t, load(t, &Loader{}, []string{mainGo}, nil), "example.com/demo")
}

// An edit inside a body that touches no call, declaration or instrumentation keeps the typed
// result: calls after it still resolve through type information at their new offsets, and the
// functions below it move with the text.
func TestRebasedKeepsTypesAcrossHarmlessEdits(t *testing.T) {
	mainGo, src, main := loadDemoMain(t)
	anchor := "\tif _, err := api.Handle(\"42\")"
	at := strings.Index(string(src), anchor)
	inserted := "\t_ = 1 + 2 // a harmless line\n"
	edited := string(src[:at]) + inserted + string(src[at:])

	p, ok := main.Rebased(mainGo, []byte(edited))
	if !ok {
		t.Fatal("Rebased refused an assignment and a comment inside a body")
	}
	// The cross-package call below the edit still resolves, through type information.
	call := strings.Index(edited, "billing.Handle(10)") + len("billing.")
	if f, ok := p.FunctionAt(mainGo, call); !ok || f.PkgPath != "example.com/demo/billing" || f.Name != "Handle" {
		t.Fatalf("FunctionAt(billing.Handle) after the edit = %v, %v", f, ok)
	}
	// A declaration below the edit moved with the text.
	decl := strings.Index(edited, "func Healthz") + len("func ")
	f, ok := p.FunctionAt(mainGo, decl)
	if !ok || f.Name != "Healthz" || f.NameSpan.Start != decl {
		t.Fatalf("FunctionAt(Healthz declaration) = %+v, %v; want its name at %d", f, ok, decl)
	}
	if orig, _ := main.FunctionAt(mainGo, strings.Index(string(src), "func Healthz")+len("func ")); orig == nil || orig.NameSpan.Start == decl {
		t.Errorf("Rebased modified the original package's functions")
	}
	// The inserted text itself resolves nothing; edits chain.
	if f, ok := p.FunctionAt(mainGo, at+3); ok {
		t.Errorf("FunctionAt inside the inserted text = %v", f.QualifiedName())
	}
	again := strings.Replace(edited, "_ = 1 + 2", "_ = 3", 1)
	q, ok := p.Rebased(mainGo, []byte(again))
	if !ok {
		t.Fatal("Rebased refused a second harmless edit")
	}
	call = strings.Index(again, "yaml.Decode(nil)") + len("yaml.")
	if f, ok := q.FunctionAt(mainGo, call); !ok || f.PkgPath != "example.com/demo/yaml.v3" {
		t.Errorf("FunctionAt(yaml.Decode) after two edits = %v, %v", f, ok)
	}
}

// Edits that may change what the analysis finds are refused: the caller loads again.
func TestRebasedRefusesEditsThatMayMatter(t *testing.T) {
	mainGo, src, main := loadDemoMain(t)
	anchor := "\tif _, err := api.Handle(\"42\")"
	for _, tt := range []struct{ what, old, new string }{
		{"a call", anchor, "\tbilling.Handle(1)\n" + anchor},
		{"a declaration", anchor, "\tx := 1\n\t_ = x\n" + anchor},
		{"a var declaration", anchor, "\tvar x int\n\t_ = x\n" + anchor},
		{"a block", anchor, "\t{\n\t}\n" + anchor},
		{"a string", anchor, "\t_ = \"s\"\n" + anchor},
		{"a callee's name", "billing.Handle(10)", "billing.Handl(10)"},
		{"inside a call's arguments", "billing.Handle(10)", "billing.Handle(10 + 1)"},
		{"a middleware target", "midhttp.Autometrics(Healthz)", "midhttp.Autometrics(Healthy)"},
		{"above the instrumentation", "func Serve() error {\n", "func Serve() error {\n\t_ = 1\n"},
		{"an instrumentation marker", "//autometrics:shadow-ctx\n\tdefer autometrics.Instrument(amCtx, nil) //autometrics:defer\n\n\tif _, err", "//autometrics:shadow-ctx\n\tdefer autometrics.Instrument(amCtx, nil) //autometrics:defer\n\t// autometrics\n\tif _, err"},
		{"a signature", "func Serve() error {", "func Serve() (err error) {"},
		{"outside any function", "type App struct {", "type App struct {\n\tn int"},
		{"a function literal", anchor, "\t_ = func() {}\n" + anchor},
	} {
		if !strings.Contains(string(src), tt.old) {
			t.Fatalf("%s: %q not in main.go", tt.what, tt.old)
		}
		edited := strings.Replace(string(src), tt.old, tt.new, 1)
		if _, ok := main.Rebased(mainGo, []byte(edited)); ok {
			t.Errorf("Rebased accepted %s", tt.what)
		}
	}
}
