package instrument

import (
	"github.com/am-lsp/am-lsp/internal/analysis"
)

// Actions returns the code actions for the byte range [start, end] of the content (a cursor
// when start == end), for the functions whose declaration, doc comment included, it touches:
//
//   - the quick fixes of the diagnostics in the range (Kind quickfix);
//   - "Instrument F with Autometrics" and "Instrument F with an Autometrics SLO" (refactor.rewrite)
//     on a function that is not instrumented; the second carries CommandInstrumentSLO and applies
//     DefaultSLO;
//   - "Insert the Autometrics statements for F" on a function with a directive only;
//   - "Remove Autometrics from F (directive and statements)", "Remove the Autometrics statements
//     from F, keep the directive" (what go generate with --rm-all does) and "Count the errors of
//     F" (refactor.rewrite) on an instrumented one, when they apply and no quick fix in the range
//     does the same;
//   - "Instrument all functions in this file with Autometrics" (source), whenever one is left.
//
// Nothing is offered in generated files, no edit in cgo files, and nothing at all when the range
// touches a syntax error or a function holding one. Actions may return nil.
func Actions(filename string, src []byte, start, end int) []Action {
	f, err := parseFile(filename, src)
	if err != nil || f.generated || f.errorIn(start, end) {
		return nil
	}
	for _, fn := range f.funcs {
		if !fn.clean && overlaps(fn.info.DeclSpan.Start, fn.info.DeclSpan.End, start, end) {
			return nil // the range touches a function with a syntax error
		}
	}
	var out []Action
	titles := map[string]bool{}
	add := func(a Action) {
		if !titles[a.Title] {
			titles[a.Title] = true
			out = append(out, a)
		}
	}
	rewrite := func(title string, c change, err error) (Action, bool) {
		if err != nil {
			return Action{}, false
		}
		edits, err := f.verified(c)
		if err != nil {
			return Action{}, false
		}
		return Action{Title: title, Kind: KindRewrite, Edits: edits}, true
	}
	editable := f.editable() == nil
	for _, fn := range f.funcs {
		span := fn.info.DeclSpan
		if !fn.clean || !overlaps(span.Start, span.End, start, end) {
			continue
		}
		for _, d := range f.diagnose(fn) {
			if d.Fix != nil && overlaps(d.Start, d.End, start, end) {
				add(*d.Fix)
			}
		}
		if !editable {
			continue
		}
		name := fn.info.QualifiedName()
		switch fn.info.Instrumentation {
		case analysis.NotInstrumented:
			edits, err := f.instrument([]*function{fn}, nil)
			if a, ok := rewrite("Instrument "+name+" with Autometrics", edits, err); ok {
				add(a)
			}
			slo := DefaultSLO()
			edits, err = f.instrument([]*function{fn}, &slo)
			if a, ok := rewrite("Instrument "+name+" with an Autometrics SLO", edits, err); ok {
				a.Command, a.Offset = CommandInstrumentSLO, fn.info.NameSpan.Start
				add(a)
			}
		case analysis.DirectiveOnly:
			if f.instrumentable(fn) == nil {
				edits, err := f.instrument([]*function{fn}, nil)
				if a, ok := rewrite("Insert the Autometrics statements for "+name, edits, err); ok {
					add(a)
				}
			}
		}
		edits, err := f.remove(fn, false)
		if a, ok := rewrite("Remove Autometrics from "+name+" (directive and statements)", edits, err); ok {
			add(a)
		}
		edits, err = f.remove(fn, true)
		if a, ok := rewrite("Remove the Autometrics statements from "+name+", keep the directive", edits, err); ok {
			add(a)
		}
		edits, err = f.countErrors(fn)
		if a, ok := rewrite("Count the errors of "+name, edits, err); ok {
			add(a)
		}
	}
	c, err := f.instrumentAll()
	if a, ok := rewrite("Instrument all functions in this file with Autometrics", c, err); ok {
		a.Kind = KindSource
		add(a)
	}
	return out
}
