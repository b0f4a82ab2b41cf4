package instrument

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestApplyRejectsBadEdits(t *testing.T) {
	src := []byte("abcdef")
	for _, edits := range [][]Edit{
		{{Start: 3, End: 4}, {Start: 2, End: 3}}, // out of order
		{{Start: 1, End: 4}, {Start: 3, End: 5}}, // overlapping
		{{Start: 5, End: 7}},                     // outside
		{{Start: 4, End: 3}},                     // reversed
	} {
		if _, err := Apply(src, edits); err == nil {
			t.Errorf("Apply(%+v) succeeded, want an error", edits)
		}
	}
	out, err := Apply(src, []Edit{{Start: 0, End: 0, NewText: "<"}, {Start: 2, End: 4, NewText: "-"}, {Start: 6, End: 6, NewText: ">"}})
	if err != nil || string(out) != "<ab-ef>" {
		t.Errorf("Apply = %q, %v; want <ab-ef>", out, err)
	}
}

func TestEditSetMergesInsertionsInOrder(t *testing.T) {
	var s editSet
	s.insert(5, "b")
	s.replace(1, 2, "x")
	s.insert(5, "c")
	s.replace(5, 6, "d")
	s.insert(0, "")
	got, err := s.result()
	want := []Edit{{Start: 1, End: 2, NewText: "x"}, {Start: 5, End: 6, NewText: "bcd"}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("result = %+v, %v; want %+v", got, err, want)
	}
	s.replace(1, 3, "overlap")
	if _, err := s.result(); err == nil {
		t.Error("overlapping edits were accepted")
	}
}

func TestMinimalEditTrimsCommonEnds(t *testing.T) {
	src := []byte("func F() { return 1 }")
	e := minimalEdit(src, 9, len(src), "{ return 2 }")
	if e.Start != 18 || e.End != 19 || e.NewText != "2" {
		t.Errorf("minimalEdit = %+v, want [18,19) \"2\"", e)
	}
}

func TestSLO(t *testing.T) {
	def := DefaultSLO()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultSLO is invalid: %v", err)
	}
	if got, want := def.Directive(), `//autometrics:inst --slo "API" --success-target 99 --latency-ms 250 --latency-target 99`; got != want {
		t.Errorf("Directive = %s, want %s", got, want)
	}
	if got := (SLO{Name: `say "hi" \ now`}).Directive(); got != `//autometrics:inst --slo "say \"hi\" \\ now"` {
		t.Errorf("quoted Directive = %s", got)
	}
	for _, s := range []SLO{
		{Name: `say "hi" \ now`, SuccessTarget: 99.9},
		{Name: "API", LatencyMs: 7.5, LatencyTarget: 90},
		{Name: "API"},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []SLO{
		{},
		{Name: "  "},
		{Name: "a\nb"},
		{Name: "API", SuccessTarget: 98},
		{Name: "API", LatencyMs: 300, LatencyTarget: 99},
		{Name: "API", LatencyMs: 250},
		{Name: "API", LatencyTarget: 99},
		{Name: "API", SuccessTarget: -99},
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v validates, want an error", s)
		}
	}
	if _, err := InstrumentEdits("p.go", []byte("package p\n\nfunc F() {\n}\n"), 12, &SLO{Name: "API", SuccessTarget: 97}); err == nil || !strings.Contains(err.Error(), "97") {
		t.Errorf("InstrumentEdits with an invalid SLO: %v, want the objective problem", err)
	}
}

func TestEditErrors(t *testing.T) {
	src := []byte(`package p

import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"

var x = 1

//autometrics:inst
func Done() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}

func Plain() int {
	return x
}

func amCtxParam(amCtx int) {
}
`)
	at := func(s string) int { return strings.Index(string(src), s) }
	tests := []struct {
		name string
		err  error
		run  func() ([]Edit, error)
	}{
		{"instrument outside functions", ErrNoFunction, func() ([]Edit, error) { return InstrumentEdits("p.go", src, at("var x"), nil) }},
		{"instrument again", ErrNotApplicable, func() ([]Edit, error) { return InstrumentEdits("p.go", src, at("Done"), nil) }},
		{"remove plain", ErrNotApplicable, func() ([]Edit, error) { return RemoveEdits("p.go", src, at("Plain")) }},
		{"count errors without error result", ErrNotApplicable, func() ([]Edit, error) { return CountErrorsEdits("p.go", src, at("Done")) }},
		{"count errors of plain", ErrNotApplicable, func() ([]Edit, error) { return CountErrorsEdits("p.go", src, at("Plain")) }},
		{"amCtx parameter", ErrUnsafe, func() ([]Edit, error) { return InstrumentEdits("p.go", src, at("amCtxParam"), nil) }},
	}
	for _, tt := range tests {
		if _, err := tt.run(); !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := InstrumentEdits("p.go", []byte("not go"), 0, nil); err == nil {
		t.Error("InstrumentEdits on content without a package clause succeeded")
	}
}

func TestActionsCarryTheSLOCommand(t *testing.T) {
	src := []byte("package p\n\n// F does.\nfunc F() {\n\tprintln()\n}\n")
	at := strings.Index(string(src), "println")
	var slo *Action
	for _, a := range Actions("p.go", src, at, at) {
		if a.Command == CommandInstrumentSLO {
			slo = &a
		}
	}
	if slo == nil || slo.Kind != KindRewrite || slo.Offset != strings.Index(string(src), "F()") {
		t.Fatalf("no SLO action with the function's offset: %+v", slo)
	}
	out, _ := Apply(src, slo.Edits)
	if !strings.Contains(string(out), DefaultSLO().Directive()) {
		t.Errorf("the SLO action does not apply the default SLO:\n%s", out)
	}
	custom := SLO{Name: "Checkout", SuccessTarget: 99.9, LatencyMs: 100, LatencyTarget: 95}
	edits, err := InstrumentEdits("p.go", src, slo.Offset, &custom)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = Apply(src, edits)
	for _, want := range []string{custom.Directive(), `WithSloName("Checkout")`, "WithAlertLatency(100000000*time.Nanosecond, 95)", "WithAlertSuccess(99.9)", "\"time\""} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	// A selection across two functions gets the actions of both; one outside any gets only the
	// file's source action.
	two := []byte("package p\n\nfunc A() {\n}\n\nfunc B() {\n}\n")
	titles := map[string]bool{}
	for _, a := range Actions("p.go", two, 0, len(two)) {
		titles[a.Title] = true
	}
	if !titles["Instrument A with Autometrics"] || !titles["Instrument B with Autometrics"] {
		t.Errorf("selection actions = %v, want both functions", titles)
	}
	for _, a := range Actions("p.go", two, 2, 2) {
		if a.Kind != KindSource {
			t.Errorf("at the package clause: %s %q", a.Kind, a.Title)
		}
	}
}

// TestDiagnoseDemoFixtures runs Diagnose on the demo module: what go generate wrote is in sync,
// so only the directive-only function and the functions returning an unnamed error show.
func TestDiagnoseDemoFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/demo/*/*.go")
	main, _ := filepath.Glob("../../testdata/demo/*.go")
	files = append(files, main...)
	if len(files) < 8 {
		t.Fatalf("demo files not found: %v", files)
	}
	var got []string
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range Diagnose(name, src) {
			fn := ""
			if pf, err := parseFile(name, src); err == nil {
				if f := pf.at(d.Start); f != nil {
					fn = f.info.QualifiedName()
				}
			}
			got = append(got, filepath.Base(name)+" "+fn+" "+d.Code)
		}
	}
	sort.Strings(got)
	want := []string{
		"handle.go Handle errors-not-counted",
		"handle.go Legacy errors-not-counted",
		"handle.go Pending statements-missing",
		"main.go (*App).Start errors-not-counted",
		"main.go Serve errors-not-counted",
		"yaml.go Decode errors-not-counted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics of the demo:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestActionsOnALargeFile checks what one code-action request offers on a file of 50
// instrumented functions (its cost is TestCostGrowsLinearly's).
func TestActionsOnALargeFile(t *testing.T) {
	src, err := os.ReadFile("../../testdata/demo/many/many.go")
	if err != nil {
		t.Fatal(err)
	}
	at := strings.Index(string(src), "func F25")
	actions := Actions("many.go", src, at, at)
	diags := Diagnose("many.go", src)
	if len(actions) != 2 || !strings.HasPrefix(actions[0].Title, "Remove Autometrics from F25") ||
		!strings.HasPrefix(actions[1].Title, "Remove the Autometrics statements from F25") || len(diags) != 0 {
		t.Errorf("actions\n%s\ndiagnostics %v; want the two Remove actions and no diagnostic", formatActions(actions), diags)
	}
}

// manyFunctions is a file of n functions that take a context and return an unnamed error.
func manyFunctions(n int) []byte {
	var b strings.Builder
	b.WriteString("package p\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "\n// F%d does.\nfunc F%d(ctx context.Context, n int) (int, error) {\n\tif n > 10 {\n\t\treturn 0, fmt.Errorf(\"big\")\n\t}\n\treturn n, ctx.Err()\n}\n", i, i)
	}
	return []byte(b.String())
}

// TestCostGrowsLinearly guards against work quadratic in the number of functions (checking
// every fix on the whole file once made Diagnose of 2000 instrumented functions take minutes):
// instrument all, then Diagnose and Actions on the result, for 100 and for 1000 functions.
// Linear work costs about 10 times more on the larger file, quadratic work about 100 times; the
// bound is 25. The cost is counted in allocations (count and bytes), which the runtime counts
// exactly whatever else the machine is doing; the times are only logged.
func TestCostGrowsLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("large files")
	}
	type cost struct {
		allocs float64
		bytes  uint64
		time   time.Duration
	}
	measure := func(n int) cost {
		src := manyFunctions(n)
		run := func() {
			edits, err := InstrumentAllEdits("p.go", src)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := Apply(src, edits)
			diags := Diagnose("p.go", out)
			at := strings.Index(string(out), fmt.Sprintf("func F%d(", n/2))
			actions := Actions("p.go", out, at, at)
			if len(diags) != n || len(actions) != 3 {
				t.Fatalf("%d functions: %d diagnostics and %d actions, want %d (errors not counted) and 3 (count errors, two removals)", n, len(diags), len(actions), n)
			}
		}
		var c cost
		for i := 0; i < 3; i++ { // the best of three runs, for the log
			start := time.Now()
			run()
			if d := time.Since(start); i == 0 || d < c.time {
				c.time = d
			}
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		run()
		runtime.ReadMemStats(&after)
		c.bytes = after.TotalAlloc - before.TotalAlloc
		c.allocs = testing.AllocsPerRun(1, run)
		return c
	}
	small, large := measure(100), measure(1000)
	allocRatio := large.allocs / small.allocs
	byteRatio := float64(large.bytes) / float64(small.bytes)
	t.Logf("100 functions: %.0f allocations, %d bytes, %v; 1000: %.0f, %d, %v; ratios %.1f× allocations, %.1f× bytes, %.1f× time",
		small.allocs, small.bytes, small.time, large.allocs, large.bytes, large.time, allocRatio, byteRatio, float64(large.time)/float64(small.time))
	if allocRatio > 25 || byteRatio > 25 {
		t.Errorf("1000 functions cost %.1f× the allocations and %.1f× the bytes of 100: work grows faster than the file", allocRatio, byteRatio)
	}
}

// TestShapeIsTheSpecExample renders the example block of the spec (§1) token for token.
func TestShapeIsTheSpecExample(t *testing.T) {
	sh := shape{ctxArg: "nil", ctxVar: "amCtx", define: true, errArg: "nil", amQual: "prom.", timeQual: "time.",
		slo: &SLO{Name: "API", SuccessTarget: 99, LatencyMs: 5, LatencyTarget: 99}}
	want := "" +
		"\tamCtx := prom.PreInstrument(prom.NewContext(\n" +
		"\t\tnil,\n" +
		"\t\tprom.WithConcurrentCalls(true),\n" +
		"\t\tprom.WithCallerName(true),\n" +
		"\t\tprom.WithSloName(\"API\"),\n" +
		"\t\tprom.WithAlertLatency(5000000*time.Nanosecond, 99),\n" +
		"\t\tprom.WithAlertSuccess(99),\n" +
		"\t)) //autometrics:shadow-ctx\n" +
		"\tdefer prom.Instrument(amCtx, nil) //autometrics:defer"
	if got := sh.block(); got != want {
		t.Errorf("block:\n%s\nwant\n%s", got, want)
	}
	// The shadowing form of a ctx parameter and the counted error.
	sh = shape{ctxArg: "ctx", ctxVar: "ctx", errArg: "&err", amQual: "autometrics."}
	ctxStmt, deferStmt := sh.statements()
	if !strings.HasPrefix(ctxStmt, "ctx = autometrics.PreInstrument(autometrics.NewContext(\n\t\tctx,\n") ||
		deferStmt != "defer autometrics.Instrument(ctx, &err) //autometrics:defer" {
		t.Errorf("shadowing statements:\n%s\n%s", ctxStmt, deferStmt)
	}
	// Objectives print as the generator's %#v of a float64; latencies as its integer nanoseconds.
	for ms, want := range map[float64]string{7.5: "7500000", 250: "250000000", 10000: "10000000000"} {
		if got := fmt.Sprint(latencyNanos(ms)); got != want {
			t.Errorf("latencyNanos(%v) = %s, want %s", ms, got, want)
		}
	}
	for v, want := range map[float64]string{99: "99", 99.9: "99.9", 90: "90"} {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %s, want %s", v, got, want)
		}
	}
}
