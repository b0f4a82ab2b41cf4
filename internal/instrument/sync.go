package instrument

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// written is what the instrumentation statements of a function say, read from their syntax.
type written struct {
	ctxStmt   *ast.AssignStmt // nil for the legacy single defer
	deferStmt *ast.DeferStmt
	ctxArg    string // first argument of NewContext, "" when it has none (v0.4)
	ctxVar    string // variable assigned the context (v0.9 shape)
	define    bool
	errArg    ast.Expr // second argument of Instrument, or nil
	sloName   *string  // WithSloName's literal, nil when absent
	latency   *latencyOption
	success   *float64
	// traceIDs: WithTraceID and WithSpanID are both among the options.
	traceIDs bool
	// unknown is set when an option's arguments are not literals: the values cannot be compared.
	unknown bool
}

type latencyOption struct {
	nanos     int64
	objective float64
}

// readWritten reads the statements the analysis found at the top of fn's body.
func readWritten(f *file, fn *function) *written {
	spans := fn.info.InstrumentationSpans
	if len(spans) == 0 || (fn.info.Instrumentation != analysis.Generated && fn.info.Instrumentation != analysis.LegacyDefer) {
		return nil
	}
	w := &written{}
	for _, stmt := range fn.decl.Body.List {
		at := f.off(stmt.Pos())
		switch s := stmt.(type) {
		case *ast.AssignStmt:
			if len(spans) == 2 && at == spans[0].Start {
				w.ctxStmt = s
			}
		case *ast.DeferStmt:
			if at == spans[len(spans)-1].Start {
				w.deferStmt = s
			}
		}
	}
	if w.deferStmt == nil || (len(spans) == 2 && w.ctxStmt == nil) {
		return nil
	}
	var pre ast.Expr
	if args := w.deferStmt.Call.Args; len(args) >= 2 {
		w.errArg = args[len(args)-1]
	}
	if w.ctxStmt != nil {
		pre = w.ctxStmt.Rhs[0]
		if id, ok := w.ctxStmt.Lhs[0].(*ast.Ident); ok {
			w.ctxVar = id.Name
		}
		w.define = w.ctxStmt.Tok == token.DEFINE
	} else {
		for _, arg := range w.deferStmt.Call.Args {
			if calledName(arg) == "PreInstrument" {
				pre = arg
			}
		}
	}
	preCall, ok := ast.Unparen(pre).(*ast.CallExpr)
	if !ok || len(preCall.Args) != 1 {
		return nil
	}
	newCtx, ok := ast.Unparen(preCall.Args[0]).(*ast.CallExpr)
	if !ok {
		return nil
	}
	traceID, spanID := false, false
	for i, arg := range newCtx.Args {
		name := calledName(arg)
		if !strings.HasPrefix(name, "With") {
			if i == 0 {
				w.ctxArg = f.text(arg)
			}
			continue
		}
		args := ast.Unparen(arg).(*ast.CallExpr).Args
		switch name {
		case "WithTraceID":
			traceID = true
		case "WithSpanID":
			spanID = true
		case "WithSloName":
			if s, ok := stringLit(args); ok {
				w.sloName = &s
			} else {
				w.unknown = true
			}
		case "WithAlertSuccess":
			if len(args) == 1 {
				if v, ok := numberLit(args[0]); ok {
					w.success = &v
					continue
				}
			}
			w.unknown = true
		case "WithAlertLatency":
			if len(args) == 2 {
				ns, ok1 := durationLit(args[0])
				obj, ok2 := numberLit(args[1])
				if ok1 && ok2 {
					w.latency = &latencyOption{ns, obj}
					continue
				}
			}
			w.unknown = true
		}
	}
	w.traceIDs = traceID && spanID
	return w
}

// calledName returns the name of the function e calls (X.Name(...) or Name(...)), or "".
func calledName(e ast.Expr) string {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return ""
	}
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.SelectorExpr:
		return fun.Sel.Name
	case *ast.Ident:
		return fun.Name
	}
	return ""
}

func stringLit(args []ast.Expr) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	lit, ok := ast.Unparen(args[0]).(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func numberLit(e ast.Expr) (float64, bool) {
	lit, ok := ast.Unparen(e).(*ast.BasicLit)
	if !ok || (lit.Kind != token.INT && lit.Kind != token.FLOAT) {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(lit.Value, "_", ""), 64)
	return v, err == nil
}

// durationLit reads N*time.Unit (or a bare number of nanoseconds) as nanoseconds.
func durationLit(e ast.Expr) (int64, bool) {
	e = ast.Unparen(e)
	if v, ok := numberLit(e); ok {
		return int64(v), true
	}
	bin, ok := e.(*ast.BinaryExpr)
	if !ok || bin.Op != token.MUL {
		return 0, false
	}
	n, ok := numberLit(bin.X)
	unitExpr := bin.Y
	if !ok {
		n, ok = numberLit(bin.Y)
		unitExpr = bin.X
	}
	if !ok {
		return 0, false
	}
	var unit string
	switch u := ast.Unparen(unitExpr).(type) {
	case *ast.SelectorExpr:
		unit = u.Sel.Name
	case *ast.Ident:
		unit = u.Name
	}
	scale := map[string]float64{"Nanosecond": 1, "Microsecond": 1e3, "Millisecond": 1e6, "Second": 1e9, "Minute": 60e9}[unit]
	if scale == 0 {
		return 0, false
	}
	return int64(n * scale), true
}

// differences lists, for a message, how the written statements differ from what the generator
// would write for the directive (slo) and the signature. The error argument is left to the
// errors-not-counted hint.
func (w *written) differences(slo *SLO, sig signature) []string {
	var diffs []string
	if !w.unknown {
		switch {
		case slo == nil && w.sloName != nil:
			diffs = append(diffs, fmt.Sprintf("WithSloName(%q) but the directive has no --slo", *w.sloName))
		case slo != nil && w.sloName == nil:
			diffs = append(diffs, fmt.Sprintf("no WithSloName but --slo %s", shellQuote(slo.Name)))
		case slo != nil && *w.sloName != slo.Name:
			diffs = append(diffs, fmt.Sprintf("WithSloName(%q) but --slo %s", *w.sloName, shellQuote(slo.Name)))
		}
		wantLatency := slo != nil && (slo.LatencyMs != 0 || slo.LatencyTarget != 0)
		switch {
		case !wantLatency && w.latency != nil:
			diffs = append(diffs, "WithAlertLatency but the directive has no latency objective")
		case wantLatency && w.latency == nil:
			diffs = append(diffs, fmt.Sprintf("no WithAlertLatency but --latency-ms %s --latency-target %s", formatNumber(slo.LatencyMs), formatNumber(slo.LatencyTarget)))
		case wantLatency && (w.latency.nanos != latencyNanos(slo.LatencyMs) || w.latency.objective != slo.LatencyTarget):
			diffs = append(diffs, fmt.Sprintf("a latency objective of %s ms at %s%% but --latency-ms %s --latency-target %s",
				formatNumber(float64(w.latency.nanos)/1e6), formatNumber(w.latency.objective), formatNumber(slo.LatencyMs), formatNumber(slo.LatencyTarget)))
		}
		wantSuccess := slo != nil && slo.SuccessTarget != 0
		switch {
		case !wantSuccess && w.success != nil:
			diffs = append(diffs, fmt.Sprintf("WithAlertSuccess(%s) but the directive has no --success-target", formatNumber(*w.success)))
		case wantSuccess && w.success == nil:
			diffs = append(diffs, fmt.Sprintf("no WithAlertSuccess but --success-target %s", formatNumber(slo.SuccessTarget)))
		case wantSuccess && *w.success != slo.SuccessTarget:
			diffs = append(diffs, fmt.Sprintf("WithAlertSuccess(%s) but --success-target %s", formatNumber(*w.success), formatNumber(slo.SuccessTarget)))
		}
	}
	generators := sig.generatorCtx != nil && w.ctxArg == sig.generatorCtx.arg && (w.ctxStmt == nil || w.ctxVar == sig.generatorCtx.variable)
	switch {
	case generators: // what the generator writes for this signature, where the actions write another form
	case w.ctxArg != "" && strings.Join(strings.Fields(w.ctxArg), "") != sig.ctxArg:
		diffs = append(diffs, fmt.Sprintf("NewContext(%s, …) but the generator passes %s for this signature", w.ctxArg, sig.ctxArg))
	case w.ctxStmt != nil && w.ctxVar != sig.ctxVar && sig.define:
		diffs = append(diffs, fmt.Sprintf("the context goes to %s but the statements keep it in %s", w.ctxVar, sig.ctxVar))
	case w.ctxStmt != nil && w.ctxVar != sig.ctxVar:
		diffs = append(diffs, fmt.Sprintf("the context goes to %s but the generator shadows %s", w.ctxVar, sig.ctxVar))
	}
	if sig.ginVar != "" && !w.traceIDs && !w.unknown {
		diffs = append(diffs, fmt.Sprintf("no WithTraceID and WithSpanID, which the generator reads from the gin context %s", sig.ginVar))
	}
	return diffs
}

// sloWritten returns the SLO the written options declare, for a directive that matches them,
// or nil.
func (w *written) sloWritten() *SLO {
	if w.unknown || w.sloName == nil {
		return nil
	}
	s := &SLO{Name: *w.sloName}
	if w.success != nil {
		s.SuccessTarget = *w.success
	}
	if w.latency != nil {
		s.LatencyMs = float64(w.latency.nanos) / 1e6
		s.LatencyTarget = w.latency.objective
	}
	if s.Validate() != nil {
		return nil
	}
	return s
}

// stmtRange is a written statement with the marker comment after it on its line.
func stmtRange(f *file, stmt ast.Stmt) (int, int) {
	start, end := f.off(stmt.Pos()), f.off(stmt.End())
	tail := strings.TrimRight(string(f.src[end:f.lineEnd(end)]), " \t\r")
	if strings.HasPrefix(strings.TrimLeft(tail, " \t"), "//autometrics:") {
		end += len(tail)
	}
	return start, end
}

// rewriteWritten returns the edits that replace the written statements with the generator's
// for sig and slo, keeping what already matches (the edits are minimal).
func (f *file) rewriteWritten(fn *function, w *written, sig signature, slo *SLO) (change, error) {
	if sig.errGroup {
		return change{}, fmt.Errorf("%w: %s", ErrNotApplicable, errGroupMessage(fn.info.QualifiedName(), sig))
	}
	sh := shape{slo: slo}
	plan, err := planImports(f, sh.needsTime(), f.identUsed)
	if err != nil {
		return change{}, err
	}
	for _, q := range []string{plan.amQual, plan.timeQual} {
		if q != "" && sig.names[strings.TrimSuffix(q, ".")] {
			return change{}, fmt.Errorf("%w: a parameter or result is named %s", ErrUnsafe, strings.TrimSuffix(q, "."))
		}
	}
	sh = sig.shape(slo, plan)
	ctxStmt, deferStmt := sh.statements()
	var edits editSet
	edits.add(plan.edits...)
	if w.ctxStmt != nil {
		s, e := stmtRange(f, w.ctxStmt)
		edits.add(minimalEdit(f.src, s, e, ctxStmt))
		s, e = stmtRange(f, w.deferStmt)
		edits.add(minimalEdit(f.src, s, e, deferStmt))
	} else {
		s, e := stmtRange(f, w.deferStmt)
		edits.add(minimalEdit(f.src, s, e, ctxStmt+"\n"+bodyIndent+deferStmt))
	}
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	return change{out, []*function{fn}, func(g *file, fns []*function) error {
		gw := readWritten(g, fns[0])
		if gw == nil || fns[0].info.Instrumentation != analysis.Generated {
			return fmt.Errorf("the rewritten statements are not the generator's")
		}
		if diffs := gw.differences(slo, readSignature(g, fns[0].decl.Type, fns[0].decl.Recv)); len(diffs) > 0 {
			return fmt.Errorf("the rewritten statements still differ: %s", strings.Join(diffs, "; "))
		}
		return nil
	}}, nil
}
