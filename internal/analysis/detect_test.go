package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// detectSources parses the named sources as one package and runs DetectFiles. Parse errors are
// tolerated (the syntax-error tests rely on that).
func detectSources(t *testing.T, pkgPath, pkgName string, sources map[string]string) []*Function {
	t.Helper()
	fset := token.NewFileSet()
	var names []string
	for name := range sources {
		names = append(names, name)
	}
	sort.Strings(names)
	var files []*ast.File
	for _, name := range names {
		f, _ := parser.ParseFile(fset, "/src/"+name, sources[name], parseMode)
		if f == nil {
			t.Fatalf("%s did not parse at all", name)
		}
		files = append(files, f)
	}
	return DetectFiles(fset, files, pkgPath, pkgName)
}

// function returns the function with the qualified name, failing the test when absent.
func function(t *testing.T, funcs []*Function, qualified string) *Function {
	t.Helper()
	for _, f := range funcs {
		if f.QualifiedName() == qualified {
			return f
		}
	}
	var have []string
	for _, f := range funcs {
		have = append(have, f.QualifiedName())
	}
	t.Fatalf("no function %s among %v", qualified, have)
	return nil
}

func wantInstrumentation(t *testing.T, funcs []*Function, want map[string]Instrumentation) {
	t.Helper()
	for name, instr := range want {
		if got := function(t, funcs, name).Instrumentation; got != instr {
			t.Errorf("%s: Instrumentation = %v, want %v", name, got, instr)
		}
	}
}

const detectFormsSource = `package p

import (
	"context"
	"time"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Generated has both statements and their markers.
//
//autometrics:inst --slo "API" --success-target 99
func Generated() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
		autometrics.WithSloName("API"),
		autometrics.WithAlertLatency(5000000*time.Nanosecond, 99),
		autometrics.WithAlertSuccess(99),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}

// NoMarkers has the generated shape without marker comments.
func NoMarkers() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil))
	defer autometrics.Instrument(amCtx, nil)
}

// Shadow shadows ctx and reports its named error.
func Shadow(ctx context.Context) (err error) {
	ctx = autometrics.PreInstrument(autometrics.NewContext(ctx)) //autometrics:shadow-ctx
	defer autometrics.Instrument(ctx, &err)                      //autometrics:defer
	return nil
}

// V08 has the single defer statement of v0.8.
func V08() {
	defer autometrics.Instrument(autometrics.PreInstrument(autometrics.NewContext(nil, autometrics.WithCallerName(true))), nil) //autometrics:defer
}

// V04 calls NewContext without a context.
func V04() {
	defer autometrics.Instrument(autometrics.PreInstrument(autometrics.NewContext()), nil)
}

// DirectiveOnly has no statements yet.
//
//autometrics:inst
func DirectiveOnly() {}

// LegacyVerb uses the old directive spelling and nothing else.
//
//autometrics:doc --slo API
func LegacyVerb() {}

// PreOnly lost its defer statement: it emits nothing.
func PreOnly() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil))
	_ = amCtx
}

// Mismatch defers with a context that PreInstrument did not produce.
func Mismatch(ctx context.Context) {
	defer autometrics.Instrument(ctx, nil)
}

// Nested has the statements inside a closure only.
func Nested() {
	func() {
		amCtx := autometrics.PreInstrument(autometrics.NewContext(nil))
		defer autometrics.Instrument(amCtx, nil)
	}()
}

// Plain is not instrumented.
func Plain() {}

// DocFence has only the generator's documentation fence.
//
//autometrics:doc-start
//
// links
//
//autometrics:doc-end
func DocFence() {}

func Bodyless()

type T struct{}

// Method is instrumented.
//
//autometrics:inst
func (t T) Method() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil)                        //autometrics:defer
}
`

func TestDetectForms(t *testing.T) {
	funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": detectFormsSource})
	wantInstrumentation(t, funcs, map[string]Instrumentation{
		"Generated":     Generated,
		"NoMarkers":     Generated,
		"Shadow":        Generated,
		"V08":           LegacyDefer,
		"V04":           LegacyDefer,
		"DirectiveOnly": DirectiveOnly,
		"LegacyVerb":    DirectiveOnly,
		"PreOnly":       NotInstrumented,
		"Mismatch":      NotInstrumented,
		"Nested":        NotInstrumented,
		"Plain":         NotInstrumented,
		"DocFence":      NotInstrumented,
		"T.Method":      Generated,
	})
	for _, f := range funcs {
		if f.Name == "Bodyless" {
			t.Error("a declaration without body was reported")
		}
	}
	gen := function(t, funcs, "Generated")
	if gen.Directive == nil || gen.Directive.SLO != "API" || gen.Directive.SuccessTarget != 99 || gen.Directive.Verb != VerbInst {
		t.Errorf("Generated.Directive = %+v, want --slo API --success-target 99", gen.Directive)
	}
	if len(gen.InstrumentationSpans) != 2 {
		t.Fatalf("Generated.InstrumentationSpans = %v, want the two statements", gen.InstrumentationSpans)
	}
	src := detectFormsSource
	if s := gen.InstrumentationSpans[0]; !strings.HasPrefix(src[s.Start:s.End], "amCtx := autometrics.PreInstrument(") || !strings.HasSuffix(src[s.Start:s.End], "))") {
		t.Errorf("first span covers %q", src[s.Start:s.End])
	}
	if s := gen.InstrumentationSpans[1]; src[s.Start:s.End] != "defer autometrics.Instrument(amCtx, nil)" {
		t.Errorf("second span covers %q", src[s.Start:s.End])
	}
	if s := gen.NameSpan; src[s.Start:s.End] != "Generated" || s.File != "/src/p.go" {
		t.Errorf("NameSpan %+v covers %q", s, src[s.Start:s.End])
	}
	if s := gen.DeclSpan; !strings.HasPrefix(src[s.Start:s.End], "// Generated has both") || !strings.HasSuffix(src[s.Start:s.End], "//autometrics:defer\n}") {
		t.Errorf("DeclSpan covers %q", src[s.Start:s.End])
	}
	if s := gen.Directive.Span; src[s.Start:s.End] != `//autometrics:inst --slo "API" --success-target 99` {
		t.Errorf("Directive.Span covers %q", src[s.Start:s.End])
	}
	if v08 := function(t, funcs, "V08"); len(v08.InstrumentationSpans) != 1 {
		t.Errorf("V08.InstrumentationSpans = %v, want the defer statement", v08.InstrumentationSpans)
	}
	if m := function(t, funcs, "T.Method"); m.Labels != (Labels{"Method", "example.com/p.T"}) {
		t.Errorf("T.Method labels = %+v", m.Labels)
	}
}

func TestDetectImportNames(t *testing.T) {
	body := func(q string) string {
		return "{\n\tamCtx := " + q + "PreInstrument(" + q + "NewContext(nil))\n\tdefer " + q + "Instrument(amCtx, nil)\n}\n"
	}
	tests := []struct {
		name   string
		src    string
		want   Instrumentation
		reason string
	}{
		{"alias", `package p
import prom "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body("prom."), Generated, "aliased import"},
		{"otel", `package p
import am "github.com/autometrics-dev/autometrics-go/otel/autometrics"
func F() ` + body("am."), Generated, "otel backend"},
		{"dot", `package p
import . "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body(""), Generated, "dot import"},
		{"old layout", `package p
import "github.com/autometrics-dev/autometrics-go/pkg/autometrics/prometheus"
func F() { defer prometheus.Instrument(prometheus.PreInstrument(prometheus.NewContext()), nil) }
`, LegacyDefer, "v0.4 import path, default name"},
		{"default name unaliased", `package p
import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body("autometrics."), Generated, "default package name"},
		{"wrong qualifier", `package p
import prom "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body("other."), NotInstrumented, "calls of another package are not instrumentation"},
		{"alias hides default", `package p
import prom "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body("autometrics."), NotInstrumented, "with an alias, the default name is something else"},
		{"no import", `package p
func F() ` + body("autometrics."), NotInstrumented, "without import nor markers the shape is not enough"},
		{"markers without import", `package p
func F() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil)                        //autometrics:defer
}
`, Generated, "marker comments vouch for the statements while the import is missing"},
		{"blank import", `package p
import _ "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
func F() ` + body("autometrics."), NotInstrumented, "a blank import provides no name"},
	}
	for _, tt := range tests {
		funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": tt.src})
		if got := function(t, funcs, "F").Instrumentation; got != tt.want {
			t.Errorf("%s (%s): Instrumentation = %v, want %v", tt.name, tt.reason, got, tt.want)
		}
	}
}

func TestDetectGenericsAndReceivers(t *testing.T) {
	src := `package p
func Map[T, U any](in []T) []U { return nil }
type Cache[K comparable, V any] struct{}
func (c *Cache[K, V]) Get(k K) (v V) { return }
func (c Cache[K, _]) Len() int { return 0 }
type S struct{}
func (s *S) Ptr() {}
func (S) Val() {}
func (*S) Anon() {}
`
	funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": src})
	tests := []struct {
		qualified string
		receiver  string
		pointer   bool
		generic   bool
		labels    Labels
	}{
		{"Map", "", false, true, Labels{"]", "example.com/p.Map[.."}},
		{"(*Cache).Get", "Cache", true, true, Labels{"Get", "example.com/p.Cache[...]"}},
		{"Cache.Len", "Cache", false, true, Labels{"Len", "example.com/p.Cache[...]"}},
		{"(*S).Ptr", "S", true, false, Labels{"Ptr", "example.com/p.S"}},
		{"S.Val", "S", false, false, Labels{"Val", "example.com/p.S"}},
		{"(*S).Anon", "S", true, false, Labels{"Anon", "example.com/p.S"}},
	}
	for _, tt := range tests {
		f := function(t, funcs, tt.qualified)
		if f.Receiver != tt.receiver || f.PointerReceiver != tt.pointer || f.Generic != tt.generic || f.Labels != tt.labels {
			t.Errorf("%s: receiver %q pointer %v generic %v labels %+v; want %q %v %v %+v",
				tt.qualified, f.Receiver, f.PointerReceiver, f.Generic, f.Labels, tt.receiver, tt.pointer, tt.generic, tt.labels)
		}
	}
}

func TestDetectPackageMain(t *testing.T) {
	src := `package main
import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
type Server struct{}
func (s *Server) Run() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil))
	defer autometrics.Instrument(amCtx, nil)
}
func run() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil))
	defer autometrics.Instrument(amCtx, nil)
}
`
	funcs := detectSources(t, "example.com/tool/cmd/x", "main", map[string]string{"main.go": src})
	if f := function(t, funcs, "(*Server).Run"); f.Labels != (Labels{"Run", "main.Server"}) || f.PkgPath != "example.com/tool/cmd/x" {
		t.Errorf("(*Server).Run: labels %+v, PkgPath %q", f.Labels, f.PkgPath)
	}
	if f := function(t, funcs, "run"); f.Labels != (Labels{"run", "main"}) {
		t.Errorf("run: labels %+v", f.Labels)
	}
}

const middlewareSource = `package p

import (
	"net/http"

	"example.com/other"
	mid "github.com/autometrics-dev/autometrics-go/prometheus/midhttp"
)

type Server struct{}

func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {}
func (s *Server) Other(w http.ResponseWriter, r *http.Request)  {}

type Admin struct{}

func (a *Admin) Other(w http.ResponseWriter, r *http.Request) {}

func Healthz(w http.ResponseWriter, r *http.Request) {}
func Wrapped(w http.ResponseWriter, r *http.Request) {}
func Untouched(w http.ResponseWriter, r *http.Request) {}

var pkgLevel = mid.Autometrics(http.HandlerFunc(Wrapped))

func routes(s *Server) {
	http.HandleFunc("/healthz", mid.Autometrics(Healthz))
	http.HandleFunc("/handle", mid.Autometrics(s.Handle))
	admin := &Admin{}
	http.HandleFunc("/admin", mid.Autometrics((admin.Other)))
	http.HandleFunc("/other", mid.Autometrics(other.Handler))
	http.HandleFunc("/lit", mid.Autometrics(func(w http.ResponseWriter, r *http.Request) {}))
}
`

func TestDetectMiddleware(t *testing.T) {
	funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": middlewareSource})
	wantInstrumentation(t, funcs, map[string]Instrumentation{
		"Healthz":          Middleware,
		"Wrapped":          Middleware,
		"(*Server).Handle": Middleware,
		"(*Admin).Other":   Middleware,
		"(*Server).Other":  NotInstrumented,
		"Untouched":        NotInstrumented,
		"routes":           NotInstrumented,
	})
	if f := function(t, funcs, "(*Server).Handle"); f.Labels != (Labels{"Handle-fm", "example.com/p.Server"}) {
		t.Errorf("method value labels = %+v, want the runtime's -fm wrapper name", f.Labels)
	}
	h := function(t, funcs, "Healthz")
	if h.Labels != (Labels{"Healthz", "example.com/p"}) {
		t.Errorf("Healthz labels = %+v", h.Labels)
	}
	if len(h.InstrumentationSpans) != 1 || middlewareSource[h.InstrumentationSpans[0].Start:h.InstrumentationSpans[0].End] != "mid.Autometrics(Healthz)" {
		t.Errorf("Healthz.InstrumentationSpans = %v", h.InstrumentationSpans)
	}
}

func TestDetectMiddlewareKeepsGeneratedInstrumentation(t *testing.T) {
	src := `package p
import (
	"net/http"
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
	"github.com/autometrics-dev/autometrics-go/otel/midhttp"
)
func Both(w http.ResponseWriter, r *http.Request) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(r.Context()))
	defer autometrics.Instrument(amCtx, nil)
}
//autometrics:inst
func Pending(w http.ResponseWriter, r *http.Request) {}
var a, b = midhttp.Autometrics(Both), midhttp.Autometrics(Pending)
`
	funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": src})
	wantInstrumentation(t, funcs, map[string]Instrumentation{"Both": Generated, "Pending": Middleware})
	if f := function(t, funcs, "Both"); len(f.InstrumentationSpans) != 2 {
		t.Errorf("Both.InstrumentationSpans = %v, want only the generated statements", f.InstrumentationSpans)
	}
}

func TestDetectMiddlewareAcrossFiles(t *testing.T) {
	funcs := detectSources(t, "example.com/p", "p", map[string]string{
		"a.go": "package p\nimport \"net/http\"\nfunc Handler(w http.ResponseWriter, r *http.Request) {}\n",
		"b.go": "package p\nimport m \"github.com/autometrics-dev/autometrics-go/prometheus/midhttp\"\nvar h = m.Autometrics(Handler)\n",
	})
	wantInstrumentation(t, funcs, map[string]Instrumentation{"Handler": Middleware})
	if s := function(t, funcs, "Handler").InstrumentationSpans; len(s) != 1 || s[0].File != "/src/b.go" {
		t.Errorf("span of the wrapping call = %v, want it in b.go", s)
	}
}

func TestDetectSyntaxErrors(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "syntaxerr", "edit.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "/src/edit.go", src, parseMode)
	if err == nil {
		t.Fatal("edit.go.txt parses without error; the fixture must contain a syntax error")
	}
	funcs := DetectFile(fset, f, "example.com/syntaxerr", "syntaxerr")
	wantInstrumentation(t, funcs, map[string]Instrumentation{
		"Before":  Generated,
		"Editing": NotInstrumented,
		"After":   Generated,
	})
}

func TestDetectDirectiveProblemsAreKept(t *testing.T) {
	src := `package p
// F has a bad objective.
//
//autometrics:inst --slo API --success-target 42
func F() {}
`
	f := function(t, detectSources(t, "example.com/p", "p", map[string]string{"p.go": src}), "F")
	if f.Instrumentation != DirectiveOnly || f.Directive == nil || len(f.Directive.Problems) != 1 {
		t.Fatalf("F: %v, directive %+v; want DirectiveOnly with one problem", f.Instrumentation, f.Directive)
	}
	if s := f.Directive.Span; src[s.Start:s.End] != "//autometrics:inst --slo API --success-target 42" {
		t.Errorf("directive span covers %q", src[s.Start:s.End])
	}
}
