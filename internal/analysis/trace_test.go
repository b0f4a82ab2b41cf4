package analysis

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// traceWant is what detection must find for one function of testdata/otelapp/shop.
type traceWant struct {
	qualified string
	traced    bool
	source    TraceSource
	name      string // exact span name, "" when none
	pattern   string // span-name pattern, "" when none
	kind      string
	unnamed   bool
	codeFunc  string
}

var shopTraces = []traceWant{
	{"Checkout", true, TracerStart, "shop.Checkout", "", SpanKindServer, false, ""},
	{"Reserve", true, TracerStart, "shop.Reserve", "", SpanKindInternal, false, ""},
	{"(*Inventory).Count", true, TracerStart, "Inventory.Count", "", SpanKindInternal, false, ""},
	{"Lookup", true, TracerStart, "", "", SpanKindInternal, true, "example.com/otelapp/shop.Lookup"},
	{"Quote", true, TracerStart, "shop.Quote", "", SpanKindClient, false, ""},
	{"Nameless", true, TracerStart, "", "", SpanKindInternal, true, "example.com/otelapp/shop.Nameless"},
	{"Provided", true, TracerStart, "shop.Provided", "", "", false, ""},
	// otelhttp v0.72.0: "{METHOD} {route}" from the ServeMux pattern.
	{"Ping", true, OtelhttpHandler, "", "(" + httpMethods + ") /ping", SpanKindServer, false, ""},
	{"CreateOrder", true, OtelhttpHandler, "POST /orders", "", SpanKindServer, false, ""},
	{"Untraced", false, "", "", "", "", false, ""},
	{"Handler", false, "", "", "", "", false, ""},
	{"NewInventory", false, "", "", "", "", false, ""},
}

func checkTraces(t *testing.T, p *Package, wants []traceWant) {
	t.Helper()
	for _, w := range wants {
		f := function(t, p.Functions, w.qualified)
		if f.Traced() != w.traced {
			t.Errorf("%s: Traced = %v, want %v (%+v)", w.qualified, f.Traced(), w.traced, f.Trace)
			continue
		}
		if !w.traced {
			continue
		}
		tr := f.Trace
		if tr.Source != w.source || tr.SpanName != w.name || tr.SpanNamePattern != w.pattern || tr.Kind != w.kind ||
			tr.Unnamed != w.unnamed || tr.CodeFunction != w.codeFunc {
			t.Errorf("%s: trace %+v, want %+v", w.qualified, *tr, w)
		}
		if tr.Unnamed && tr.Why == "" {
			t.Errorf("%s: unnamed span without a reason", w.qualified)
		}
		if src := tr.Span; src.File != f.NameSpan.File && tr.Source == TracerStart {
			t.Errorf("%s: span code in %s", w.qualified, src.File)
		}
	}
}

func TestTraceDetectionTyped(t *testing.T) {
	l := &Loader{}
	pkgs := load(t, l, []string{testdata(t, "otelapp", "shop", "shop.go")}, nil)
	p := packageByPath(t, pkgs, "example.com/otelapp/shop")
	if p.Degraded != "" {
		t.Fatalf("shop not type-checked: %s", p.Degraded)
	}
	checkTraces(t, p, shopTraces)
	// Indirect's tracer comes from an interface method: type information still shows a Tracer.
	if f := function(t, p.Functions, "Indirect"); !f.Traced() || f.Trace.SpanName != "shop.Indirect" {
		t.Errorf("Indirect: %+v", f.Trace)
	}
}

func TestTraceDetectionSyntaxOnly(t *testing.T) {
	l := &Loader{}
	pkgs := l.LoadSyntax([]string{testdata(t, "otelapp", "shop", "shop.go")}, nil)
	p := packageByPath(t, pkgs, "example.com/otelapp/shop")
	checkTraces(t, p, shopTraces)
	// Without types a tracer returned by an interface method cannot be recognised: no guess.
	if f := function(t, p.Functions, "Indirect"); f.Traced() {
		t.Errorf("Indirect traced from syntax alone: %+v", f.Trace)
	}
}

func TestTraceCallerResolvesAcrossPackages(t *testing.T) {
	file := testdata(t, "otelapp", "caller", "caller.go")
	for _, typed := range []bool{true, false} {
		l := &Loader{}
		var pkgs []*Package
		if typed {
			pkgs = load(t, l, []string{file}, nil)
		} else {
			pkgs = l.LoadSyntax([]string{file}, nil)
		}
		p := packageByPath(t, pkgs, "example.com/otelapp/caller")
		src := readFile(t, file)
		off := strings.Index(src, "Checkout(")
		f, ok := p.FunctionAt(filepath.Clean(file), off+2)
		if !ok || !f.Traced() || f.Trace.SpanName != "shop.Checkout" || f.Trace.Kind != SpanKindServer {
			t.Errorf("typed=%v: call of shop.Checkout resolves to %+v", typed, f)
		}
	}
}

func TestOtelhttpSpanNameRule(t *testing.T) {
	cases := []struct {
		version, op string
		opKnown     bool
		pattern     string
		registered  bool
		name, re    string
		unnamed     bool
	}{
		{"v0.68.0", "orders", true, "POST /orders", true, "orders", "", false},
		{"v0.60.0", "", false, "", false, "", "", true},
		{"v0.69.0", "orders", true, "POST /orders", true, "POST /orders", "", false},
		{"v0.72.0", "orders", true, "GET /orders/{id}", true, "", `(GET|HEAD) /orders/\{id\}`, false},
		{"v0.72.0", "orders", true, "example.com/orders", true, "", "(" + httpMethods + `) /orders`, false},
		{"v0.72.0", "orders", true, "DELETE example.com/orders", true, "DELETE /orders", "", false},
		{"v0.72.0", "orders", true, "", false, "", "", true},
		{"", "orders", true, "PUT /x", true, "PUT /x", "", false},
	}
	for _, c := range cases {
		name, re, why := OtelhttpSpanName(c.version, c.op, c.opKnown, c.pattern, c.registered)
		if name != c.name || re != c.re || (why != "") != c.unnamed {
			t.Errorf("%+v: got %q %q %q", c, name, re, why)
		}
		if re != "" {
			if _, err := regexp.Compile("^" + re + "$"); err != nil {
				t.Errorf("%q: %v", re, err)
			}
		}
	}
}

func TestRequiredVersion(t *testing.T) {
	if v := requiredVersion(testdata(t, "otelapp", "shop"), otelhttpPath); v != "v0.72.0" {
		t.Errorf("otelhttp version %q, want v0.72.0 (testdata/otelapp/go.mod)", v)
	}
	if v := requiredVersion(testdata(t, "otelapp", "shop"), "example.com/none"); v != "" {
		t.Errorf("unrequired module has version %q", v)
	}
}

func TestTraceDetectionIgnoresLookalikes(t *testing.T) {
	funcs := detectSources(t, "example.com/p", "p", map[string]string{"p.go": `package p

import "context"

type tracer struct{}

func (tracer) Start(ctx context.Context, name string) (context.Context, int) { return ctx, 0 }

var tr tracer

func F(ctx context.Context) { _, _ = tr.Start(ctx, "x") }
`})
	if f := function(t, funcs, "F"); f.Traced() {
		t.Errorf("a Start method in a file without OpenTelemetry imports counts as a span: %+v", f.Trace)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestServiceNames(t *testing.T) {
	got := ServiceNames(testdata(t, "otelapp", "shop"))
	if len(got) != 1 || got[0].Name != "shop" || filepath.Base(got[0].File) != "main.go" || !strings.Contains(got[0].File, "shopd") {
		t.Errorf("service names of testdata/otelapp: %+v", got)
	}
	if got := ServiceNames(testdata(t, "demo")); len(got) != 0 {
		t.Errorf("the Autometrics demo names services: %+v", got)
	}
}
