package instrument

import (
	"fmt"
	"go/ast"
	"go/token"
	"sort"
	"strconv"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// Import paths the tracing actions write.
const (
	otelAPIPath   = "go.opentelemetry.io/otel"
	otelCodesPath = "go.opentelemetry.io/otel/codes"
	otelTracePkg  = "go.opentelemetry.io/otel/trace"
	contextPath2  = "context"
)

// TraceOptions is what the tracing actions need to know about the rest of the package, which
// they do not parse: its import path (the tracer's instrumentation scope, and the span name's
// prefix) and the package-level tracer variables other files declare.
type TraceOptions struct {
	ImportPath string   // "" uses the package name
	Tracers    []string // package-level trace.Tracer variables declared in other files
}

// TraceActions returns "Trace F with OpenTelemetry" (refactor.rewrite) for the functions the
// range touches that start no span, and "Remove the OpenTelemetry span from F" for those whose
// span the action can take back. Like Actions, it offers nothing in generated files, in cgo
// files, or where the range touches a syntax error. It may return nil.
func TraceActions(filename string, src []byte, start, end int, opts TraceOptions) []Action {
	f, err := parseFile(filename, src)
	if err != nil || f.generated || f.errorIn(start, end) || f.editable() != nil {
		return nil
	}
	var out []Action
	for _, fn := range f.funcs {
		span := fn.info.DeclSpan
		if !overlaps(span.Start, span.End, start, end) {
			continue
		}
		if !fn.clean {
			return nil
		}
		name := fn.info.QualifiedName()
		if c, err := f.trace(fn, opts); err == nil {
			if edits, err := f.verified(c); err == nil {
				out = append(out, Action{Title: "Trace " + name + " with OpenTelemetry", Kind: KindRewrite, Edits: edits})
			}
		}
		if c, err := f.removeSpan(fn, opts); err == nil {
			if edits, err := f.verified(c); err == nil {
				out = append(out, Action{Title: "Remove the OpenTelemetry span from " + name, Kind: KindRewrite, Edits: edits})
			}
		}
	}
	return out
}

// TraceEdits adds an OpenTelemetry span to the function enclosing offset:
//
//	ctx, span := tracer.Start(ctx, "<pkg>.<Func>")
//	defer span.End()
//
// at the top of its body. The context is the first context.Context parameter (reassigned), an
// *http.Request's r.Context() (the request then carries the span's context on), else
// context.Background() with a TODO comment. A function with an error result gets its error
// recorded on the span (span.RecordError, span.SetStatus(codes.Error, …)) by a deferred
// closure, through the error result, which is named when it is not. The tracer is a
// package-level tracer the file or opts.Tracers has, else `var tracer =
// otel.Tracer("<import path>")` is added above the first declaration. Imports are added as
// needed. It returns ErrNotApplicable when the function starts a span already.
func TraceEdits(filename string, src []byte, offset int, opts TraceOptions) ([]Edit, error) {
	return editsAt(filename, src, offset, func(f *file, fn *function) (change, error) { return f.trace(fn, opts) })
}

// RemoveSpanEdits takes back what TraceEdits added to the function enclosing offset: the Start
// statement, the deferred End (or the deferred closure that records errors and ends the span),
// the r = r.WithContext(ctx) after it, and imports only those used. It leaves a named error
// result and the package's tracer variable. It returns ErrNotApplicable when the function
// starts no span or uses the span elsewhere, ErrUnsafe when the body still needs the context
// the statement defined.
func RemoveSpanEdits(filename string, src []byte, offset int, opts TraceOptions) ([]Edit, error) {
	return editsAt(filename, src, offset, func(f *file, fn *function) (change, error) { return f.removeSpan(fn, opts) })
}

// startsSpan reports whether fn starts a span: detection says so, or its body calls Start on a
// tracer another file declares.
func (f *file) startsSpan(fn *function, opts TraceOptions) bool {
	if fn.info.Trace != nil && fn.info.Trace.Source == analysis.TracerStart {
		return true
	}
	for _, tr := range opts.Tracers {
		if startsSpanOn(fn, tr) {
			return true
		}
	}
	return false
}

// spanStatement returns the top-level statement `ctx, span := T.Start(...)` of fn's body, T a
// tracer (as detected, or one of opts.Tracers), and its index.
func (f *file) spanStatement(fn *function, opts TraceOptions) (int, *ast.AssignStmt) {
	tracers := map[string]bool{}
	for _, tr := range opts.Tracers {
		tracers[tr] = true
	}
	tr := fn.info.Trace
	for i, stmt := range fn.decl.Body.List {
		a, ok := stmt.(*ast.AssignStmt)
		if !ok || len(a.Lhs) != 2 || len(a.Rhs) != 1 {
			continue
		}
		call, ok := a.Rhs[0].(*ast.CallExpr)
		if !ok {
			continue
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Start" {
			continue
		}
		x, _ := sel.X.(*ast.Ident)
		detected := tr != nil && tr.Source == analysis.TracerStart && f.off(call.Pos()) == tr.Span.Start
		if detected || (x != nil && tracers[x.Name]) {
			return i, a
		}
	}
	return -1, nil
}

// trace returns the edits of TraceEdits.
func (f *file) trace(fn *function, opts TraceOptions) (change, error) {
	if f.startsSpan(fn, opts) {
		return change{}, ErrNotApplicable
	}
	if fn.info.Name == "init" || (fn.info.Name == "main" && f.ast.Name.Name == "main") {
		return change{}, ErrNotApplicable
	}
	decl := fn.decl
	sig := readSignature(f, decl.Type, decl.Recv)
	declared := namesIn(decl)
	for n := range sig.names {
		declared[n] = true
	}
	spanVar := freeName("span", []string{"otelSpan"}, func(n string) bool { return declared[n] || f.identUsed(n) })

	var edits editSet
	var specs []newSpec
	need := func(p, want string) string {
		if names := f.imports.names(p); len(names) > 0 {
			for _, n := range sortedNames(names) {
				if n != "_" && n != "." {
					return n
				}
			}
		}
		for _, s := range specs {
			if s.path == p {
				return want
			}
		}
		name := want
		alias := ""
		if declared[want] || f.identUsed(want) {
			name = freeName(want+"pkg", nil, func(n string) bool { return declared[n] || f.identUsed(n) })
			alias = name
		}
		specs = append(specs, newSpec{path: p, name: alias})
		return name
	}

	tracerVar := f.tracerVar(opts)
	if tracerVar == "" {
		tracerVar = freeName("tracer", []string{"otelTracer"}, func(n string) bool { return f.identUsed(n) || declared[n] })
		otelName := need(otelAPIPath, "otel")
		scope := opts.ImportPath
		if scope == "" {
			scope = f.ast.Name.Name
		}
		at := f.firstDeclLine()
		edits.insert(at, "var "+tracerVar+" = "+otelName+".Tracer("+strconv.Quote(scope)+")\n\n")
	}
	if declared[tracerVar] {
		return change{}, fmt.Errorf("%w: a local %s hides the package's tracer", ErrUnsafe, tracerVar)
	}

	spanName := f.ast.Name.Name + "."
	if fn.info.Receiver != "" {
		spanName += fn.info.Receiver + "."
	}
	spanName += fn.info.Name

	var lines []string
	start := tracerVar + ".Start"
	switch {
	case sig.ctxArg != "nil" && !sig.define: // a context.Context parameter
		lines = append(lines, fmt.Sprintf("%s, %s := %s(%s, %s)", sig.ctxVar, spanVar, start, sig.ctxVar, strconv.Quote(spanName)))
	case strings.HasSuffix(sig.ctxArg, ".Context()"): // an *http.Request
		req := strings.TrimSuffix(sig.ctxArg, ".Context()")
		ctxVar := freeName("ctx", []string{"spanCtx"}, func(n string) bool { return declared[n] || n == spanVar })
		lines = append(lines,
			fmt.Sprintf("%s, %s := %s(%s, %s)", ctxVar, spanVar, start, sig.ctxArg, strconv.Quote(spanName)),
			fmt.Sprintf("%s = %s.WithContext(%s)", req, req, ctxVar))
	default:
		ctxName := need(contextPath2, "context")
		lines = append(lines, fmt.Sprintf("_, %s := %s(%s.Background(), %s) // TODO: pass the caller's context", spanVar, start, ctxName, strconv.Quote(spanName)))
	}
	if sig.errField != nil {
		errName := sig.errName
		if errName == "" {
			name, ok := errorName(f, decl, sig)
			if !ok {
				return change{}, fmt.Errorf("%w: no free name for the error result", ErrUnsafe)
			}
			errName = name
			named, err := nameResults(f, decl.Type, sig.errField, errName)
			if err != nil {
				return change{}, err
			}
			edits.add(named...)
		}
		codesName := need(otelCodesPath, "codes")
		lines = append(lines,
			"defer func() {",
			"\tif "+errName+" != nil {",
			"\t\t"+spanVar+".RecordError("+errName+")",
			"\t\t"+spanVar+".SetStatus("+codesName+".Error, "+errName+".Error())",
			"\t}",
			"\t"+spanVar+".End()",
			"}()")
	} else {
		lines = append(lines, "defer "+spanVar+".End()")
	}
	indent := f.indentOf(f.off(decl.Pos())) + "\t"
	block := indent + strings.Join(lines, "\n"+indent)
	body, err := insertStatements(f, decl, block)
	if err != nil {
		return change{}, err
	}
	edits.add(body...)
	if len(specs) > 0 {
		imports, err := addImports(f, specs)
		if err != nil {
			return change{}, err
		}
		edits.add(imports...)
	}
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	return change{edits: f.oneBlankLine(out), fns: []*function{fn}, check: func(_ *file, fns []*function) error {
		if !startsSpanOn(fns[0], tracerVar) {
			return fmt.Errorf("the span was not added")
		}
		return nil
	}}, nil
}

// startsSpanOn reports whether fn's body calls tracer.Start.
func startsSpanOn(fn *function, tracer string) bool {
	found := false
	ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Start" && identNamed(sel.X, tracer) {
			found = true
		}
		return !found
	})
	return found
}

// sortedNames returns the keys of a set, sorted.
func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// namesIn returns every identifier declared inside fn (parameters, results, locals).
func namesIn(fn *ast.FuncDecl) map[string]bool {
	out := map[string]bool{}
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			for _, id := range n.Names {
				out[id.Name] = true
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						out[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				out[id.Name] = true
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok {
					out[id.Name] = true
				}
			}
		}
		return true
	})
	return out
}

// tracerVar returns a package-level tracer variable of the file (var x = otel.Tracer(...) or var
// x trace.Tracer), else the first of opts.Tracers, else "".
func (f *file) tracerVar(opts TraceOptions) string {
	for _, decl := range f.ast.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name == "_" {
					continue
				}
				if t, ok := vs.Type.(*ast.SelectorExpr); ok && t.Sel.Name == "Tracer" && f.isImport(t.X, otelTracePkg) {
					return name.Name
				}
				if i < len(vs.Values) {
					if call, ok := vs.Values[i].(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Tracer" && f.isImport(sel.X, otelAPIPath) {
							return name.Name
						}
					}
				}
			}
		}
	}
	if len(opts.Tracers) > 0 {
		return opts.Tracers[0]
	}
	return ""
}

func (f *file) isImport(x ast.Expr, p string) bool {
	id, ok := x.(*ast.Ident)
	return ok && f.imports.byName[id.Name] == p
}

// firstDeclLine is the start of the line of the first declaration after the imports (its doc
// comment included).
func (f *file) firstDeclLine() int {
	for _, decl := range f.ast.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			continue
		}
		pos := decl.Pos()
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Doc != nil {
				pos = d.Doc.Pos()
			}
		case *ast.GenDecl:
			if d.Doc != nil {
				pos = d.Doc.Pos()
			}
		}
		return f.lineStart(f.off(pos))
	}
	return len(f.src)
}

// removeSpan returns the edits of RemoveSpanEdits.
func (f *file) removeSpan(fn *function, opts TraceOptions) (change, error) {
	body := fn.decl.Body
	startIdx, assign := f.spanStatement(fn, opts)
	if assign == nil {
		return change{}, ErrNotApplicable // no span, or one started inside a nested statement
	}
	spanID, _ := assign.Lhs[1].(*ast.Ident)
	ctxID, _ := assign.Lhs[0].(*ast.Ident)
	if spanID == nil || spanID.Name == "_" {
		return change{}, ErrNotApplicable
	}
	removed := []ast.Stmt{assign}
	// r = r.WithContext(ctx) right after the Start statement.
	if ctxID != nil && ctxID.Name != "_" && startIdx+1 < len(body.List) {
		if a, ok := body.List[startIdx+1].(*ast.AssignStmt); ok && a.Tok == token.ASSIGN && len(a.Lhs) == 1 && len(a.Rhs) == 1 {
			if call, ok := a.Rhs[0].(*ast.CallExpr); ok && len(call.Args) == 1 {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WithContext" && identNamed(call.Args[0], ctxID.Name) {
					removed = append(removed, a)
				}
			}
		}
	}
	for _, stmt := range body.List[startIdx+1:] {
		if d, ok := stmt.(*ast.DeferStmt); ok && mentions(d, spanID.Name) {
			removed = append(removed, d)
		}
	}
	isRemoved := func(n ast.Node) bool {
		for _, r := range removed {
			if n.Pos() >= r.Pos() && n.End() <= r.End() {
				return true
			}
		}
		return false
	}
	// The span must not be used elsewhere, nor a context the statement defined.
	definesCtx := assign.Tok == token.DEFINE && ctxID != nil && ctxID.Name != "_" && !paramNamed(fn.decl, ctxID.Name)
	var usedSpan, usedCtx bool
	ast.Inspect(body, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || isRemoved(id) || id == spanID || id == ctxID {
			return true
		}
		if id.Name == spanID.Name && f.sameObject(id, spanID) {
			usedSpan = true
		}
		if definesCtx && id.Name == ctxID.Name && f.sameObject(id, ctxID) {
			usedCtx = true
		}
		return true
	})
	if usedSpan {
		return change{}, fmt.Errorf("%w: the span is used beyond starting and ending it", ErrNotApplicable)
	}
	if usedCtx {
		return change{}, fmt.Errorf("%w: the body uses the context the span statement defines", ErrUnsafe)
	}
	var spans []analysis.Span
	var skip [][2]int
	for _, r := range removed {
		spans = append(spans, analysis.Span{File: f.name, Start: f.off(r.Pos()), End: f.off(r.End())})
		skip = append(skip, [2]int{f.off(r.Pos()), f.off(r.End())})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	var edits editSet
	edits.add(removeStatements(f, body, spans)...)
	var unused []*ast.ImportSpec
	for _, spec := range f.ast.Imports {
		p := importPath(spec)
		if p != otelCodesPath && p != contextPath2 {
			continue
		}
		name := localName(spec)
		if name == "_" || name == "." {
			continue
		}
		if usesOf(f, name, nil) > 0 && usesOf(f, name, skip) == 0 {
			unused = append(unused, spec)
		}
	}
	if len(unused) > 0 {
		imports, err := removeImports(f, unused)
		if err != nil {
			return change{}, err
		}
		edits.add(imports...)
	}
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	return change{edits: out, fns: []*function{fn}, check: func(g *file, fns []*function) error {
		if g.startsSpan(fns[0], opts) {
			return fmt.Errorf("a span is still started")
		}
		return nil
	}}, nil
}

func identNamed(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// mentions reports whether n refers to the identifier name.
func mentions(n ast.Node, name string) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

func paramNamed(fn *ast.FuncDecl, name string) bool {
	for _, list := range []*ast.FieldList{fn.Recv, fn.Type.Params} {
		if list == nil {
			continue
		}
		for _, field := range list.List {
			for _, n := range field.Names {
				if n.Name == name {
					return true
				}
			}
		}
	}
	return false
}
