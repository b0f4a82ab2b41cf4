package instrument

import (
	"fmt"
	"go/ast"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// SLO is a service-level objective to write into a directive. A zero SuccessTarget means no
// success-rate objective; zero LatencyMs and LatencyTarget mean no latency objective.
type SLO struct {
	Name          string  `json:"name"`          // --slo
	SuccessTarget float64 `json:"successTarget"` // --success-target, percent
	LatencyMs     float64 `json:"latencyMs"`     // --latency-ms
	LatencyTarget float64 `json:"latencyTarget"` // --latency-target, percent
}

// DefaultSLO is what "Instrument with an SLO" proposes: an objective named "API" (the name the
// autometrics-go documentation and examples use, shared by a service's endpoints) that 99% of
// calls succeed and 99% are faster than 250 ms. 99 is the middle of the objectives the
// Autometrics alerting rules define (90, 95, 99, 99.9) and 250 ms a default latency bucket, so
// the directive is valid as is and the user only tunes it.
func DefaultSLO() SLO {
	return SLO{Name: "API", SuccessTarget: 99, LatencyMs: 250, LatencyTarget: 99}
}

// Directive returns the directive line that declares the SLO, e.g.
// `//autometrics:inst --slo "API" --success-target 99 --latency-ms 250 --latency-target 99`.
func (s SLO) Directive() string {
	var b strings.Builder
	b.WriteString("//autometrics:inst --slo " + shellQuote(s.Name))
	if s.SuccessTarget != 0 {
		b.WriteString(" --success-target " + formatNumber(s.SuccessTarget))
	}
	if s.LatencyMs != 0 || s.LatencyTarget != 0 {
		b.WriteString(" --latency-ms " + formatNumber(s.LatencyMs))
		b.WriteString(" --latency-target " + formatNumber(s.LatencyTarget))
	}
	return b.String()
}

// Validate reports what the autometrics generator would reject in the SLO's directive: an empty
// name, an objective other than 90, 95, 99 or 99.9, a latency that is not a default bucket, or a
// latency threshold without its objective (or the reverse). InstrumentEdits checks the SLO under
// the file's generator options instead: with --custom-latency any positive threshold is valid.
func (s SLO) Validate() error {
	return s.validate(analysis.DirectiveOptions{})
}

// validate is Validate under the generator options of a file (--custom-latency).
func (s SLO) validate(opts analysis.DirectiveOptions) error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("the SLO needs a name")
	}
	if strings.ContainsAny(s.Name, "\n\r\x00") {
		return fmt.Errorf("the SLO name %q cannot hold line breaks", s.Name)
	}
	for _, v := range []float64{s.SuccessTarget, s.LatencyMs, s.LatencyTarget} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("the SLO values must be non-negative numbers")
		}
	}
	d, ok := analysis.ParseDirectiveWith(s.Directive(), opts)
	if !ok {
		return fmt.Errorf("the SLO does not make a directive")
	}
	if len(d.Problems) > 0 {
		return fmt.Errorf("%s", strings.Join(d.Problems, "; "))
	}
	if len(d.Unknown) > 0 || d.SLO != s.Name {
		return fmt.Errorf("the SLO name %q does not survive the directive's quoting", s.Name)
	}
	return nil
}

// sloOf returns the SLO a directive declares, or nil when it has no --slo.
func sloOf(d *analysis.Directive) *SLO {
	if d == nil || d.SLO == "" {
		return nil
	}
	return &SLO{Name: d.SLO, SuccessTarget: d.SuccessTarget, LatencyMs: d.LatencyMs, LatencyTarget: d.LatencyTarget}
}

// latencyNanos is the threshold the generator writes: time.Duration(ms * float64(time.Millisecond)).
func latencyNanos(ms float64) int64 {
	return int64(time.Duration(ms * float64(time.Millisecond)))
}

// formatNumber prints an objective or threshold as the generator does (%#v of a float64).
func formatNumber(f float64) string {
	return fmt.Sprintf("%#v", f)
}

// shellQuote double-quotes a directive argument, escaping what the directive's shell-like
// splitting would otherwise read.
func shellQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// shape is what the generator's statements depend on.
type shape struct {
	ctxArg string // first argument of NewContext: "nil", "r.Context()" or the context parameter
	ctxVar string // variable assigned the context: "amCtx", or the context parameter (shadowed)
	define bool   // ":=" (amCtx) rather than "=" (shadowing)
	// ginVar, when not "", is a gin context parameter: the options carry the trace and span ids
	// the autometrics gin middleware stored in it.
	ginVar   string
	errArg   string // second argument of Instrument: "nil" or "&err"
	slo      *SLO
	amQual   string // "autometrics.", "prom.", "" (dot import)
	timeQual string // qualifier of package time, when slo has a latency objective
}

// statements renders the two statements the generator inserts, as they stand at the top of a
// body (indented by one tab): the first line of each is not indented, its other lines are.
//
//	amCtx := autometrics.PreInstrument(autometrics.NewContext(
//		nil,
//		autometrics.WithConcurrentCalls(true),
//		autometrics.WithCallerName(true),
//		autometrics.WithSloName("API"),
//		autometrics.WithAlertLatency(250000000*time.Nanosecond, 99),
//		autometrics.WithAlertSuccess(99),
//	)) //autometrics:shadow-ctx
//	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
func (s shape) statements() (ctxStmt, deferStmt string) {
	q := s.amQual
	tok := "="
	if s.define {
		tok = ":="
	}
	lines := []string{
		fmt.Sprintf("%s %s %sPreInstrument(%sNewContext(", s.ctxVar, tok, q, q),
		"\t" + s.ctxArg + ",",
	}
	if s.ginVar != "" {
		lines = append(lines,
			fmt.Sprintf("\t%sWithTraceID(%sDecodeString(%s.GetString(%q))),", q, q, s.ginVar, ginTraceIDKey),
			fmt.Sprintf("\t%sWithSpanID(%sDecodeString(%s.GetString(%q))),", q, q, s.ginVar, ginSpanIDKey))
	}
	lines = append(lines,
		"\t"+q+"WithConcurrentCalls(true),",
		"\t"+q+"WithCallerName(true),",
	)
	if s.slo != nil {
		lines = append(lines, "\t"+q+"WithSloName("+strconv.Quote(s.slo.Name)+"),")
		if s.slo.LatencyMs != 0 || s.slo.LatencyTarget != 0 {
			lines = append(lines, fmt.Sprintf("\t%sWithAlertLatency(%d*%sNanosecond, %s),", q, latencyNanos(s.slo.LatencyMs), s.timeQual, formatNumber(s.slo.LatencyTarget)))
		}
		if s.slo.SuccessTarget != 0 {
			lines = append(lines, "\t"+q+"WithAlertSuccess("+formatNumber(s.slo.SuccessTarget)+"),")
		}
	}
	lines = append(lines, ")) "+markerShadowCtx)
	ctxStmt = strings.Join(lines, "\n"+bodyIndent)
	deferStmt = fmt.Sprintf("defer %sInstrument(%s, %s) %s", q, s.ctxVar, s.errArg, markerDefer)
	return ctxStmt, deferStmt
}

// bodyIndent is the indentation of a statement at the top of a function body.
const bodyIndent = "\t"

// block renders both statements as lines of a body, without a final newline.
func (s shape) block() string {
	ctxStmt, deferStmt := s.statements()
	return bodyIndent + ctxStmt + "\n" + bodyIndent + deferStmt
}

// needsTime reports whether the statements refer to package time.
func (s shape) needsTime() bool {
	return s.slo != nil && (s.slo.LatencyMs != 0 || s.slo.LatencyTarget != 0)
}

// Marker comments the generator puts after its statements.
const (
	markerShadowCtx = "//autometrics:shadow-ctx"
	markerDefer     = "//autometrics:defer"
)

// Keys under which autometrics-go's middlewares store the trace and span ids in a gin or echo
// context (autometrics.MiddlewareTraceIDKey and MiddlewareSpanIDKey).
const (
	ginTraceIDKey = "autometricsTraceID"
	ginSpanIDKey  = "autometricsSpanID"
)

// signature is what a function's signature decides about the statements.
type signature struct {
	ctxArg, ctxVar string
	define         bool
	// ginVar is the gin context parameter whose trace and span ids the options carry, or "".
	ginVar string
	// generatorCtx, when set, is the context the generator itself writes for this signature where
	// the actions write another one (ctxArg, ctxVar): statements with either are in sync.
	generatorCtx *ctxForm
	// errField is the first result whose type is `error` (nil if none); errName its name ("" when
	// unnamed or "_": the errors are then not counted).
	errField *ast.Field
	errName  string
	// errGroup: errField declares several names, "(a, b error)"; the generator refuses the
	// function, so the actions make no choice between them.
	errGroup bool
	names    map[string]bool // every name the signature declares (receiver, type parameters, parameters, results)
}

// ctxForm is the context the statements build: NewContext's first argument and the variable
// PreInstrument's result goes to.
type ctxForm struct{ arg, variable string }

// readSignature applies the generator's rules: the first parameter (declared alone in its
// group) that is a context.Context is shadowed; an *http.Request r gives r.Context(); a gin
// context c gives nil with the trace and span ids read from c (as the generator writes them); an
// echo context, or an unnamed request or context, gives nil; the search stops at the first of
// these. Otherwise nil.
//
// Where the generator's output would not compile, the actions write something else:
//   - a buffalo.Context c: the generator shadows c (c = …PreInstrument(…NewContext(c, …)), but
//     PreInstrument returns a context.Context, which is not a buffalo.Context); the actions pass
//     c to NewContext and keep the result in amCtx. Both forms count as in sync.
//   - an echo context c: the generator reads the ids with c.Get(…), an interface{} that
//     DecodeString does not take; the actions write no trace or span option.
//   - an unnamed context.Context: the generator writes "_ = …(…NewContext(_, …"; the actions
//     pass nil. Both forms count as in sync.
//
// Parameters of other types are skipped, as the generator (v1.1) skips them; so are unnamed
// parameters, on which the generator stops with an index-out-of-range panic.
func readSignature(f *file, ft *ast.FuncType, recv *ast.FieldList) signature {
	sig := signature{ctxArg: "nil", ctxVar: "amCtx", define: true, names: map[string]bool{}}
	for _, list := range []*ast.FieldList{recv, ft.TypeParams, ft.Params, ft.Results} {
		if list == nil {
			continue
		}
		for _, field := range list.List {
			for _, n := range field.Names {
				sig.names[n.Name] = true
			}
		}
	}
	ctxNames := f.imports.names(contextPath)
	httpNames := f.imports.names(httpPath)
	ginNames, echoNames, buffaloNames := f.imports.names(ginPath), f.imports.names(echoPath), f.imports.names(buffaloPath)
	is := func(t ast.Expr, names map[string]bool, typ string) bool {
		switch t := t.(type) {
		case *ast.Ident:
			return t.Name == typ && names["."]
		case *ast.SelectorExpr:
			x, ok := t.X.(*ast.Ident)
			return ok && t.Sel.Name == typ && names[x.Name]
		}
		return false
	}
params:
	for _, field := range ft.Params.List {
		if len(field.Names) != 1 {
			continue
		}
		name := field.Names[0].Name
		t := ast.Unparen(field.Type)
		star, pointer := t.(*ast.StarExpr)
		if pointer {
			t = ast.Unparen(star.X)
		}
		switch {
		case !pointer && is(t, ctxNames, "Context"):
			if name != "_" {
				sig.ctxArg, sig.ctxVar, sig.define = name, name, false
			} else {
				sig.generatorCtx = &ctxForm{arg: "_", variable: "_"}
			}
			break params
		case is(t, httpNames, "Request"):
			if name != "_" {
				sig.ctxArg = name + ".Context()"
			}
			break params
		case is(t, ginNames, "Context"):
			if name != "_" {
				sig.ginVar = name
			}
			break params
		case !pointer && is(t, buffaloNames, "Context"):
			if name != "_" {
				sig.ctxArg = name
				sig.generatorCtx = &ctxForm{arg: name, variable: name}
			}
			break params
		case is(t, echoNames, "Context"):
			break params
		}
	}
	if ft.Results != nil {
		for _, field := range ft.Results.List {
			if id, ok := field.Type.(*ast.Ident); ok && id.Name == "error" {
				sig.errField = field
				switch {
				case len(field.Names) > 1:
					sig.errGroup = true
				case len(field.Names) == 1 && field.Names[0].Name != "_":
					sig.errName = field.Names[0].Name
				}
				break
			}
		}
	}
	return sig
}

// errGroupMessage says why the generator refuses a function whose error results are grouped
// (as an error, not capitalised).
func errGroupMessage(name string, sig signature) string {
	var names []string
	for _, n := range sig.errField.Names {
		names = append(names, n.Name)
	}
	return fmt.Sprintf("the autometrics generator refuses %s: its error results %s are declared together, so it cannot tell which one Instrument should count; declare the one to count first and apart, e.g. (%s error, %s error)",
		name, strings.Join(names, ", "), names[0], strings.Join(names[1:], ", "))
}

// shape is what the actions write for this signature, with slo and the names of plan.
func (sig signature) shape(slo *SLO, plan importPlan) shape {
	return shape{ctxArg: sig.ctxArg, ctxVar: sig.ctxVar, define: sig.define, ginVar: sig.ginVar, errArg: sig.errArg(),
		slo: slo, amQual: plan.amQual, timeQual: plan.timeQual}
}

// errArg is the second argument of Instrument.
func (sig signature) errArg() string {
	if sig.errName == "" {
		return "nil"
	}
	return "&" + sig.errName
}
