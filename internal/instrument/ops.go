package instrument

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// InstrumentEdits instruments the function whose declaration encloses offset, as
// `//autometrics:inst` followed by `go generate` would: it adds the directive to the doc comment
// (creating the comment when there is none, keeping every existing line), inserts the two
// generated statements at the top of the body, and imports the autometrics package (reusing an
// existing Prometheus or OpenTelemetry import and its alias, else adding the Prometheus backend)
// and "time" when a latency objective needs it.
//
// With slo nil the directive has no options; otherwise slo must pass SLO.Validate and the
// directive and statements carry it. A function that already has a directive but not the
// statements (go generate not run) gets only the statements, from its directive; slo must then
// be nil. It returns ErrNotApplicable for a function instrumented already, ErrNoFunction and
// ErrUnsafe as documented there.
func InstrumentEdits(filename string, src []byte, offset int, slo *SLO) ([]Edit, error) {
	return editsAt(filename, src, offset, func(f *file, fn *function) (change, error) {
		if slo != nil {
			if err := slo.validate(f.directiveOptions()); err != nil {
				return change{}, fmt.Errorf("invalid SLO: %w", err)
			}
		}
		return f.instrument([]*function{fn}, slo)
	})
}

// editsAt runs op on the function enclosing offset and returns its verified edits.
func editsAt(filename string, src []byte, offset int, op func(*file, *function) (change, error)) ([]Edit, error) {
	f, err := parseFile(filename, src)
	if err != nil {
		return nil, err
	}
	fn, err := f.target(offset)
	if err != nil {
		return nil, err
	}
	c, err := op(f, fn)
	if err != nil {
		return nil, err
	}
	return f.verified(c)
}

// InstrumentAllEdits instruments every function of the file that InstrumentEdits would take
// without an SLO, as one edit set: functions without a directive get the directive and the
// statements, functions with a valid directive but no statements get the statements. It skips
// init functions, functions already instrumented, functions with syntax errors or a name clash,
// and takes nothing from test files. It returns ErrNotApplicable when no function is left.
func InstrumentAllEdits(filename string, src []byte) ([]Edit, error) {
	f, err := parseFile(filename, src)
	if err != nil {
		return nil, err
	}
	c, err := f.instrumentAll()
	if err != nil {
		return nil, err
	}
	return f.verified(c)
}

func (f *file) instrumentAll() (change, error) {
	if err := f.editable(); err != nil {
		return change{}, err
	}
	if f.test {
		return change{}, fmt.Errorf("%w: %s is a test file", ErrNotApplicable, f.name)
	}
	var fns []*function
	for _, fn := range f.funcs {
		// init functions are left alone, unless the generator instruments them anyway.
		if fn.clean && (fn.decl.Name.Name != "init" || f.instrumentsAll()) && f.instrumentable(fn) == nil {
			fns = append(fns, fn)
		}
	}
	if len(fns) == 0 {
		return change{}, fmt.Errorf("%w: no function of %s is left to instrument", ErrNotApplicable, f.name)
	}
	return f.instrument(fns, nil)
}

// instrumentable says why fn cannot take Instrument, or nil.
func (f *file) instrumentable(fn *function) error {
	switch fn.info.Instrumentation {
	case analysis.NotInstrumented:
		return nil
	case analysis.DirectiveOnly:
		if len(fn.info.Directive.Problems) > 0 {
			return fmt.Errorf("%w: fix the directive of %s first: %s", ErrNotApplicable, fn.info.QualifiedName(), fn.info.Directive.Problems[0])
		}
		return nil
	case analysis.Middleware:
		return fmt.Errorf("%w: %s is instrumented by midhttp.Autometrics already", ErrNotApplicable, fn.info.QualifiedName())
	}
	return fmt.Errorf("%w: %s is instrumented already", ErrNotApplicable, fn.info.QualifiedName())
}

// instrument returns the edits instrumenting fns, with one import plan for all of them. With
// several functions, those whose names clash are skipped; with one, the clash is the error. Its
// check wants every function instrumented generated with a directive, under an import of the
// autometrics package (and of time when the statements use it) by the names they use.
func (f *file) instrument(fns []*function, slo *SLO) (change, error) {
	type job struct {
		fn  *function
		sig signature
		slo *SLO
	}
	var jobs []job
	needTime := false
	for _, fn := range fns {
		if err := f.instrumentable(fn); err != nil {
			return change{}, err
		}
		j := job{fn: fn, sig: readSignature(f, fn.decl.Type, fn.decl.Recv), slo: slo}
		if fn.info.Instrumentation == analysis.DirectiveOnly {
			if slo != nil {
				return change{}, fmt.Errorf("%w: %s has a directive already; edit its options there", ErrNotApplicable, fn.info.QualifiedName())
			}
			j.slo = sloOf(fn.info.Directive)
		}
		jobs = append(jobs, j)
		sh := shape{slo: j.slo}
		needTime = needTime || sh.needsTime()
	}
	plan, err := planImports(f, needTime, f.identUsed)
	if err != nil {
		return change{}, err
	}
	var edits editSet
	var done []*function
	var firstErr error
	for _, j := range jobs {
		fnEdits, err := f.instrumentOne(j.fn, j.sig, j.slo, plan)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		edits.add(fnEdits...)
		done = append(done, j.fn)
	}
	if len(done) == 0 {
		return change{}, firstErr
	}
	edits.add(plan.edits...)
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	out = f.oneBlankLine(out)
	instrumentsAll := f.instrumentsAll() // (g may be a window of the file, without the go:generate line)
	check := func(g *file, fns []*function) error {
		for _, fn := range fns {
			if info := fn.info; info.Instrumentation != analysis.Generated || info.Directive == nil && !instrumentsAll {
				return fmt.Errorf("%s is %v after instrumenting it", info.QualifiedName(), info.Instrumentation)
			}
		}
		if err := g.imported(plan.amQual, isAutometricsPath); err != nil {
			return err
		}
		if needTime {
			return g.imported(plan.timeQual, func(p string) bool { return p == timePath })
		}
		return nil
	}
	return change{out, done, check}, nil
}

// oneBlankLine drops the blank line an insertion opens with when the insertion on the line
// before already ends with one: the import added after the last import declaration and the doc
// comment given to the function right below both ask for the blank line gofmt wants there.
func (f *file) oneBlankLine(edits []Edit) []Edit {
	for i := 1; i < len(edits); i++ {
		prev, e := edits[i-1], &edits[i]
		if prev.Start == prev.End && e.Start == e.End && e.Start == prev.End+1 && f.src[prev.End] == '\n' &&
			strings.HasSuffix(prev.NewText, "\n") && strings.HasPrefix(e.NewText, "\n") {
			e.NewText = e.NewText[1:]
		}
	}
	return edits
}

// imported checks that qualifier ("prom.", or "" for a dot import) names an import whose path
// satisfies ok.
func (f *file) imported(qualifier string, ok func(string) bool) error {
	name := strings.TrimSuffix(qualifier, ".")
	if qualifier == "" {
		name = "."
	}
	for _, spec := range f.ast.Imports {
		if localName(spec) == name && ok(importPath(spec)) {
			return nil
		}
	}
	return fmt.Errorf("nothing is imported as %s", name)
}

// instrumentOne returns the directive and statement edits of one function.
func (f *file) instrumentOne(fn *function, sig signature, slo *SLO, plan importPlan) ([]Edit, error) {
	name := fn.info.QualifiedName()
	for _, q := range []string{plan.amQual, plan.timeQual} {
		if q != "" && sig.names[strings.TrimSuffix(q, ".")] {
			return nil, fmt.Errorf("%w: a parameter or result of %s is named %s, like the package the statements need", ErrUnsafe, name, strings.TrimSuffix(q, "."))
		}
	}
	if sig.define && sig.names[sig.ctxVar] {
		return nil, fmt.Errorf("%w: a parameter or result of %s is named %s, the generator's context variable", ErrUnsafe, name, sig.ctxVar)
	}
	if sig.errGroup {
		return nil, fmt.Errorf("%w: %s", ErrNotApplicable, errGroupMessage(name, sig))
	}
	sh := sig.shape(slo, plan)
	var edits []Edit
	// With --inst-all the generator instruments the function without a directive: only an SLO
	// needs one.
	if fn.info.Directive == nil && (slo != nil || !f.instrumentsAll()) {
		directive := "//autometrics:" + analysis.VerbInst
		if slo != nil {
			directive = slo.Directive()
		}
		edits = append(edits, addDirective(f, fn.decl, directive))
	}
	body, err := insertStatements(f, fn.decl, sh.block())
	if err != nil {
		return nil, err
	}
	return append(edits, body...), nil
}

// identUsed reports whether a new import named name could clash with the package: an
// identifier of the file refers to something of that name declared at package level, in this
// file or (unresolved) in another one. Fields and methods (x.name) and local declarations do not
// count: a local of that name shadows the import only in its scope, which readSignature's names
// cover for the statements the actions write.
func (f *file) identUsed(name string) bool {
	if used, ok := f.identCache[name]; ok {
		return used
	}
	used := false
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, visit)
			return false
		case *ast.ImportSpec:
			return false
		case *ast.Ident:
			used = used || n.Name == name && f.outside(n)
		}
		return !used
	}
	ast.Inspect(f.ast, visit)
	if f.identCache == nil {
		f.identCache = map[string]bool{}
	}
	f.identCache[name] = used
	return used
}

// RemoveEdits removes the Autometrics instrumentation of the function whose declaration encloses
// offset: the directive line (with the generator's documentation block), the generated
// statements (v0.9 pair or legacy single defer) with their marker comments, the autometrics
// import when nothing else in the file uses it, and "time" when only the removed statements did.
// The rest of the function is left byte for byte. It returns ErrNotApplicable for a function
// without directive or statements, and for middleware instrumentation (remove the
// midhttp.Autometrics call instead).
func RemoveEdits(filename string, src []byte, offset int) ([]Edit, error) {
	return editsAt(filename, src, offset, func(f *file, fn *function) (change, error) { return f.remove(fn, false) })
}

// RemoveStatementsEdits removes what go generate wrote for the function whose declaration
// encloses offset and keeps its directive, as the generator's --rm-all does: the statements with
// their marker comments, the generator's documentation block, and the imports only they used
// (unlike --rm-all, which leaves them unused and the file not compiling). It returns
// ErrNotApplicable for a function without both a directive and statements.
func RemoveStatementsEdits(filename string, src []byte, offset int) ([]Edit, error) {
	return editsAt(filename, src, offset, func(f *file, fn *function) (change, error) { return f.remove(fn, true) })
}

// remove returns the edits of RemoveEdits, or with keepDirective of RemoveStatementsEdits; its
// check wants the function not instrumented, or with its directive only.
func (f *file) remove(fn *function, keepDirective bool) (change, error) {
	info := fn.info
	switch {
	case info.Instrumentation == analysis.Middleware:
		return change{}, fmt.Errorf("%w: %s is instrumented by a midhttp.Autometrics call; remove that call", ErrNotApplicable, info.QualifiedName())
	case keepDirective && (info.Directive == nil || len(info.InstrumentationSpans) == 0):
		return change{}, fmt.Errorf("%w: %s has no directive and statements to keep the one of", ErrNotApplicable, info.QualifiedName())
	case info.Instrumentation == analysis.NotInstrumented:
		return change{}, fmt.Errorf("%w: %s is not instrumented", ErrNotApplicable, info.QualifiedName())
	}
	want := analysis.NotInstrumented
	if keepDirective {
		want = analysis.DirectiveOnly
	}
	var edits editSet
	if c := directiveComment(f, fn); c != nil {
		edits.add(removeDirective(f, fn.decl, c, keepDirective)...)
	}
	if len(info.InstrumentationSpans) > 0 {
		removed := removeStatements(f, fn.decl.Body, info.InstrumentationSpans)
		edits.add(removed...)
		var skip [][2]int
		for _, s := range info.InstrumentationSpans {
			skip = append(skip, [2]int{s.Start, s.End})
		}
		var specs []*ast.ImportSpec
		for name := range qualifiersIn(f, fn, info.InstrumentationSpans) {
			for _, spec := range f.ast.Imports {
				p := importPath(spec)
				if localName(spec) == name && (isAutometricsPath(p) || p == timePath) && usesOf(f, name, skip) == 0 {
					specs = append(specs, spec)
				}
			}
		}
		imports, err := removeImports(f, specs)
		if err != nil {
			return change{}, err
		}
		edits.add(imports...)
	}
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	return change{out, []*function{fn}, func(g *file, fns []*function) error {
		if info := fns[0].info; info.Instrumentation != want {
			return fmt.Errorf("%s is %v, not %v", info.QualifiedName(), info.Instrumentation, want)
		}
		return nil
	}}, nil
}

// isAutometricsPath reports an import path of an autometrics-go instrumentation package.
func isAutometricsPath(p string) bool {
	return strings.HasPrefix(p, "github.com/autometrics-dev/autometrics-go/")
}

// qualifiersIn returns the package names the statements at spans qualify identifiers with.
func qualifiersIn(f *file, fn *function, spans []analysis.Span) map[string]bool {
	names := map[string]bool{}
	for _, stmt := range fn.decl.Body.List {
		at := f.off(stmt.Pos())
		inSpan := false
		for _, s := range spans {
			inSpan = inSpan || at == s.Start
		}
		if !inSpan {
			continue
		}
		ast.Inspect(stmt, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && f.outside(id) {
					names[id.Name] = true
				}
			}
			return true
		})
	}
	return names
}

// directiveComment returns the comment holding fn's directive.
func directiveComment(f *file, fn *function) *ast.Comment {
	if fn.info.Directive == nil || fn.decl.Doc == nil {
		return nil
	}
	for _, c := range fn.decl.Doc.List {
		if f.off(c.Pos()) == fn.info.Directive.Span.Start {
			return c
		}
	}
	return nil
}

// CountErrorsEdits makes the instrumentation of the function enclosing offset count its errors:
// the generator passes &err to Instrument only when the first `error` result is named, so it
// names the results (the error one "err", or another free name when "err" would clash; the others
// "_") and passes &err in the deferred Instrument call. No return statement changes. It returns
// ErrNotApplicable when the function is not instrumented, has no error result, or counts its
// errors already.
func CountErrorsEdits(filename string, src []byte, offset int) ([]Edit, error) {
	return editsAt(filename, src, offset, (*file).countErrors)
}

// countErrors returns the edits of CountErrorsEdits; its check wants the error result named and,
// where there are statements, passed to Instrument.
func (f *file) countErrors(fn *function) (change, error) {
	info := fn.info
	switch info.Instrumentation {
	case analysis.DirectiveOnly, analysis.Generated, analysis.LegacyDefer:
	default:
		return change{}, fmt.Errorf("%w: %s is not instrumented by the generator", ErrNotApplicable, info.QualifiedName())
	}
	sig := readSignature(f, fn.decl.Type, fn.decl.Recv)
	if sig.errField == nil {
		return change{}, fmt.Errorf("%w: %s returns no error", ErrNotApplicable, info.QualifiedName())
	}
	if sig.errGroup {
		return change{}, fmt.Errorf("%w: %s", ErrNotApplicable, errGroupMessage(info.QualifiedName(), sig))
	}
	var edits editSet
	name := sig.errName
	if name == "" {
		var free bool
		if name, free = errorName(f, fn.decl, sig); !free {
			return change{}, fmt.Errorf("%w: no free name for the error result of %s", ErrUnsafe, info.QualifiedName())
		}
		named, err := nameResults(f, fn.decl.Type, sig.errField, name)
		if err != nil {
			return change{}, err
		}
		edits.add(named...)
	}
	if call := instrumentCall(f, fn); call != nil && len(call.Args) >= 2 {
		arg := call.Args[len(call.Args)-1]
		if f.text(arg) != "&"+name {
			edits.replace(f.off(arg.Pos()), f.off(arg.End()), "&"+name)
		}
	}
	out, err := edits.result()
	if err != nil {
		return change{}, err
	}
	if len(out) == 0 {
		return change{}, fmt.Errorf("%w: %s counts its errors already", ErrNotApplicable, info.QualifiedName())
	}
	return change{out, []*function{fn}, func(g *file, fns []*function) error {
		if fns[0].info.Instrumentation != info.Instrumentation {
			return fmt.Errorf("%s changed from %v", info.QualifiedName(), info.Instrumentation)
		}
		if g.errorsDiagnostic(fns[0], readSignature(g, fns[0].decl.Type, fns[0].decl.Recv)) != nil {
			return fmt.Errorf("the errors of %s are still not counted", info.QualifiedName())
		}
		return nil
	}}, nil
}

// instrumentCall returns the deferred Instrument call of fn's statements, or nil.
func instrumentCall(f *file, fn *function) *ast.CallExpr {
	spans := fn.info.InstrumentationSpans
	if len(spans) == 0 || fn.info.Instrumentation == analysis.Middleware {
		return nil
	}
	last := spans[len(spans)-1]
	for _, stmt := range fn.decl.Body.List {
		if d, ok := stmt.(*ast.DeferStmt); ok && f.off(d.Pos()) == last.Start {
			return d.Call
		}
	}
	return nil
}

// change is edits with a check of the result: the post-condition of the action.
type change struct {
	edits []Edit
	fns   []*function // the functions the change is about
	// check, when not nil, inspects the result; fns are the counterparts of change.fns there.
	check func(out *file, fns []*function) error
}

// verified applies the change to the content and checks the result before the edits go out, so
// that no action ever breaks code: it must parse with no syntax error the content did not have,
// keep every function, and pass the change's check.
//
// A change to one function whose edits stay in the imports and that function is checked on a
// window of the file (package clause, imports, the function), so that diagnosing every function
// of a large file costs one small parse each, not one parse of the whole file.
func (f *file) verified(c change) ([]Edit, error) {
	if len(c.fns) == 1 {
		if ok, err := f.verifiedInWindow(c); ok {
			if err != nil {
				return nil, err
			}
			return c.edits, nil
		}
	}
	out, err := Apply(f.src, c.edits)
	if err != nil {
		return nil, err
	}
	g, err := parseFile(f.name, out)
	if err != nil {
		return nil, fmt.Errorf("%w: the edits would not parse: %v", ErrUnsafe, err)
	}
	if len(g.errs) > len(f.errs) {
		return nil, fmt.Errorf("%w: the edits would not parse", ErrUnsafe)
	}
	if len(g.funcs) != len(f.funcs) {
		return nil, fmt.Errorf("%w: the edits would change the functions of the file", ErrUnsafe)
	}
	if c.check != nil {
		index := make(map[*function]int, len(f.funcs))
		for i, fn := range f.funcs {
			index[fn] = i
		}
		fns := make([]*function, len(c.fns))
		for i, fn := range c.fns {
			fns[i] = g.funcs[index[fn]]
		}
		if err := c.check(g, fns); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
	}
	return c.edits, nil
}

// verifiedInWindow is verified on the window of the file that holds the package clause, the
// imports and the one function of c. It reports false when it cannot decide: an edit outside
// the window, or a window that does not parse by itself; verified then checks the whole file.
func (f *file) verifiedInWindow(c change) (bool, error) {
	head := f.lineEnd(f.off(f.ast.Name.End()))
	for _, decl := range f.ast.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			head = max(head, f.lineEnd(f.off(gd.End())))
		}
	}
	span := c.fns[0].info.DeclSpan
	if head > span.Start {
		return false, nil
	}
	const sep = "\n\n"
	shift := span.Start - (head + len(sep))
	window := make([]byte, 0, head+len(sep)+span.End-span.Start)
	window = append(append(append(window, f.src[:head]...), sep...), f.src[span.Start:span.End]...)
	edits := make([]Edit, len(c.edits))
	for i, e := range c.edits {
		switch {
		case e.End <= head:
			edits[i] = e
		case e.Start >= span.Start && e.End <= span.End:
			edits[i] = Edit{Start: e.Start - shift, End: e.End - shift, NewText: e.NewText}
		default:
			return false, nil
		}
	}
	before, err := parseFile(f.name, window)
	if err != nil || len(before.errs) > 0 || len(before.funcs) != 1 {
		return false, nil
	}
	out, err := Apply(window, edits)
	if err != nil {
		return true, err
	}
	g, err := parseFile(f.name, out)
	switch {
	case err != nil || len(g.errs) > 0:
		return true, fmt.Errorf("%w: the edits would not parse", ErrUnsafe)
	case len(g.funcs) != 1:
		return true, fmt.Errorf("%w: the edits would change the functions of the file", ErrUnsafe)
	}
	if c.check != nil {
		if err := c.check(g, g.funcs); err != nil {
			return true, fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
	}
	return true, nil
}
