package instrument

import (
	"fmt"
	"go/ast"
	"sort"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// Diagnose returns the Autometrics diagnostics of the file, in source order:
//
//   - directive problems the generator rejects (Error): malformed quoting, a flag without its
//     value, an objective other than 90/95/99/99.9, a latency that is not a default bucket,
//     objective flags without --slo, one latency flag without the other; on the offending word;
//   - words of a directive the generator silently skips (Warning), with the closest valid flag
//     as a quick fix when there is one ("--success-rate" → "--success-target");
//   - comments that look like a directive but are not one (Warning): "// autometrics:inst";
//   - unmatched or misordered autometrics:doc-start / doc-end markers (Error, on the marker): the
//     generator fails on the file; the fix removes the markers and the lines only it writes;
//   - error results declared together, (a, b error), on an instrumented function (Error): the
//     generator refuses it; no fix, the user picks the result to count;
//   - a valid directive without the generated statements (Information, on the directive): go
//     generate was not run; the fix inserts them (not in a file whose generator runs with
//     --rm-all); with --inst-all, any function without them (on its name);
//   - statements that disagree with the directive or the signature (Warning, on the statements):
//     the fix rewrites them as the generator would;
//   - statements without a directive in a file that runs the generator without --inst-all or
//     --rm-all (Warning): go generate would remove them; the fix adds the directive that matches
//     them;
//   - an instrumented function whose errors are not counted (Hint, on the error result): the fix
//     names the results and passes &err.
//
// Generated files get none, and functions with a syntax error inside them get none. Fixes are
// left out where no edit is safe (cgo files, broken imports).
func Diagnose(filename string, src []byte) []Diagnostic {
	f, err := parseFile(filename, src)
	if err != nil || f.generated {
		return nil
	}
	var out []Diagnostic
	for _, fn := range f.funcs {
		if fn.clean {
			out = append(out, f.diagnose(fn)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// diagnose returns the diagnostics of one function that parsed cleanly.
func (f *file) diagnose(fn *function) []Diagnostic {
	info := fn.info
	name := info.QualifiedName()
	fixable := f.editable() == nil
	var out []Diagnostic
	fix := func(title string, c change, err error) *Action {
		if !fixable || err != nil {
			return nil
		}
		edits, err := f.verified(c)
		if err != nil {
			return nil
		}
		return &Action{Title: title, Kind: KindQuickFix, Edits: edits, IsPreferred: true}
	}
	out = append(out, f.spellingDiagnostics(fn, fixable)...)
	d := info.Directive
	if d != nil {
		out = append(out, f.directiveDiagnostics(fn, fixable)...)
	}
	if diag := f.docMarkersDiagnostic(fn, fixable); diag != nil {
		out = append(out, *diag)
	}
	valid := d != nil && len(d.Problems) == 0
	sig := readSignature(f, fn.decl.Type, fn.decl.Recv)
	if sig.errGroup && (info.Instrumentation != analysis.NotInstrumented || f.instrumentsAll()) {
		out = append(out, Diagnostic{
			Start: f.off(sig.errField.Pos()), End: f.off(sig.errField.End()), Severity: Error, Code: CodeErrorResultsGrouped,
			Message: "The" + strings.TrimPrefix(errGroupMessage(name, sig), "the"),
		})
	}
	switch info.Instrumentation {
	case analysis.NotInstrumented:
		if f.instrumentsAll() && !f.test {
			edits, err := f.instrument([]*function{fn}, nil)
			out = append(out, Diagnostic{
				Start: info.NameSpan.Start, End: info.NameSpan.End, Severity: Information, Code: CodeStatementsMissing,
				Message: fmt.Sprintf("%s has no Autometrics statements, but this file runs the generator with --inst-all, which instruments every function: run go generate, or insert them", name),
				Fix:     fix("Insert the Autometrics statements for "+name, edits, err),
			})
		}
	case analysis.DirectiveOnly:
		if valid && !f.removesAll() && !sig.errGroup {
			edits, err := f.instrument([]*function{fn}, nil)
			out = append(out, Diagnostic{
				Start: d.Span.Start, End: d.Span.End, Severity: Information, Code: CodeStatementsMissing,
				Message: fmt.Sprintf("%s has the //autometrics:%s directive but not the statements it generates, so it emits no metrics yet: run go generate, or insert them", name, d.Verb),
				Fix:     fix("Insert the Autometrics statements for "+name, edits, err),
			})
		}
	case analysis.Generated, analysis.LegacyDefer:
		w := readWritten(f, fn)
		if w == nil {
			break
		}
		start, _ := stmtRange(f, firstStmt(w))
		_, end := stmtRange(f, w.deferStmt)
		switch {
		case valid || d == nil && f.instrumentsAll():
			slo := sloOf(d)
			if diffs := w.differences(slo, sig); len(diffs) > 0 {
				edits, err := f.rewriteWritten(fn, w, sig, slo)
				out = append(out, Diagnostic{
					Start: start, End: end, Severity: Warning, Code: CodeOutOfSync,
					Message: fmt.Sprintf("The Autometrics statements of %s are out of date: %s. Run go generate, or update them", name, strings.Join(diffs, "; ")),
					Fix:     fix("Update the Autometrics statements of "+name+" to match the directive", edits, err),
				})
			}
		case d == nil && f.runsGenerator() && !f.removesAll():
			directive := "//autometrics:inst"
			if slo := w.sloWritten(); slo != nil {
				directive = slo.Directive()
			}
			out = append(out, Diagnostic{
				Start: start, End: end, Severity: Warning, Code: CodeDirectiveMissing,
				Message: fmt.Sprintf("%s has Autometrics statements but no //autometrics:inst directive, and this file runs the generator (//go:generate autometrics), which removes statements without a directive", name),
				Fix:     fix("Add the directive "+directive+" to "+name, f.directiveChange(fn, directive), nil),
			})
		}
	}
	if diag := f.errorsDiagnostic(fn, sig); diag != nil {
		edits, err := f.countErrors(fn)
		diag.Fix = fix("Count the errors of "+name, edits, err)
		out = append(out, *diag)
	}
	return out
}

// firstStmt is the first written statement.
func firstStmt(w *written) ast.Stmt {
	if w.ctxStmt != nil {
		return w.ctxStmt
	}
	return w.deferStmt
}

// errorsDiagnostic reports an instrumented function whose error result Instrument does not see.
func (f *file) errorsDiagnostic(fn *function, sig signature) *Diagnostic {
	info := fn.info
	if sig.errField == nil || sig.errGroup {
		return nil
	}
	var why string
	switch info.Instrumentation {
	case analysis.DirectiveOnly:
		if sig.errName != "" {
			return nil
		}
		why = "the generator passes &err to Instrument only when the error result is named"
	case analysis.Generated, analysis.LegacyDefer:
		call := instrumentCall(f, fn)
		if call == nil || len(call.Args) < 2 {
			return nil
		}
		arg := f.text(call.Args[len(call.Args)-1])
		if sig.errName != "" && arg == "&"+sig.errName {
			return nil
		}
		switch {
		case len(sig.errField.Names) > 0 && sig.errName == "":
			why = "its error result is named _, so Instrument gets " + arg + " instead of &err"
		case sig.errName == "":
			why = "its error result is unnamed, so Instrument gets " + arg + " instead of &err"
		default:
			why = "Instrument gets " + arg + " instead of &" + sig.errName
		}
	default:
		return nil
	}
	at := ast.Node(sig.errField.Type)
	if len(sig.errField.Names) > 0 {
		at = sig.errField
	}
	return &Diagnostic{
		Start: f.off(at.Pos()), End: f.off(at.End()), Severity: Hint, Code: CodeErrorsNotCounted,
		Message: fmt.Sprintf("The errors %s returns are not counted (every call is recorded as result=\"ok\"): %s", info.QualifiedName(), why),
	}
}

// directiveDiagnostics reports the directive's problems and skipped words at the words.
func (f *file) directiveDiagnostics(fn *function, fixable bool) []Diagnostic {
	d := fn.info.Directive
	line := string(f.src[d.Span.Start:d.Span.End])
	var out []Diagnostic
	for _, is := range analysis.DirectiveIssuesWith(line, f.directiveOptions()) {
		diag := Diagnostic{Start: d.Span.Start + is.Start, End: d.Span.Start + is.End, Message: is.Message}
		word := line[is.Start:is.End]
		if is.Skipped {
			diag.Severity, diag.Code = Warning, CodeDirectiveSkipped
			if is.Suggestion != "" && fixable && !strings.ContainsAny(word, `"'\`) {
				flag, _, eq := strings.Cut(word, "=")
				text := is.Suggestion
				if eq {
					text += " "
				}
				end := diag.Start + len(flag)
				if eq {
					end++
				}
				diag.Fix = &Action{Title: "Replace " + flag + " with " + is.Suggestion, Kind: KindQuickFix, IsPreferred: true,
					Edits: []Edit{{Start: diag.Start, End: end, NewText: text}}}
			}
		} else {
			diag.Severity, diag.Code = Error, CodeDirectiveProblem
			if flag, value, eq := strings.Cut(word, "="); eq && fixable && strings.Contains(is.Message, "(a space, not '=')") &&
				!strings.ContainsAny(word, `"'\`) && !strings.ContainsAny(value, " \t#") && value != "" {
				at := diag.Start + len(flag)
				diag.Fix = &Action{Title: "Write " + flag + " " + value, Kind: KindQuickFix, IsPreferred: true,
					Edits: []Edit{{Start: at, End: at + 1, NewText: " "}}}
			}
		}
		out = append(out, diag)
	}
	return out
}

// spellingDiagnostics reports doc-comment lines that look like a directive but are not one:
// "// autometrics:inst" (a space after //) and unknown verbs ("//autometrics:instrument").
func (f *file) spellingDiagnostics(fn *function, fixable bool) []Diagnostic {
	if fn.decl.Doc == nil {
		return nil
	}
	var out []Diagnostic
	for _, c := range fn.decl.Doc.List {
		start, end := f.off(c.Pos()), f.off(c.End())
		if fn.info.Directive != nil && start == fn.info.Directive.Span.Start {
			continue
		}
		spaced := strings.TrimLeft(strings.TrimPrefix(c.Text, "//"), " \t")
		if strings.HasPrefix(c.Text, "// ") && strings.HasPrefix(spaced, "autometrics:") {
			if _, ok := analysis.ParseDirective("//" + spaced); ok {
				diag := Diagnostic{Start: start, End: end, Severity: Warning, Code: CodeDirectiveSpelling,
					Message: "This is not an Autometrics directive: a directive starts with //autometrics: with no space after the slashes, so the generator ignores this line"}
				if fixable {
					gap := len(c.Text) - len(spaced) - 2
					diag.Fix = &Action{Title: "Remove the space after //", Kind: KindQuickFix, IsPreferred: true,
						Edits: []Edit{{Start: start + 2, End: start + 2 + gap}}}
				}
				out = append(out, diag)
			}
			continue
		}
		rest, ok := strings.CutPrefix(c.Text, "//autometrics:")
		if !ok {
			continue
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if _, ok := analysis.ParseDirective(c.Text); ok {
			out = append(out, Diagnostic{Start: start, End: end, Severity: Warning, Code: CodeDirectiveSpelling,
				Message: "A second directive: the generator reads only the first //autometrics: directive of a doc comment"})
			continue
		}
		switch verb {
		case analysis.VerbInst, analysis.VerbDoc, "doc-start", "doc-end", "shadow-ctx", "defer":
			continue
		}
		diag := Diagnostic{Start: start, End: end, Severity: Warning, Code: CodeDirectiveSpelling,
			Message: fmt.Sprintf("//autometrics:%s is not a directive: the generator knows //autometrics:inst (and the legacy //autometrics:doc)", verb)}
		if fixable && verb != "" && (strings.HasPrefix(verb, "in") || strings.HasPrefix(verb, "doc")) {
			at := start + len("//autometrics:") + strings.Index(rest, verb)
			diag.Fix = &Action{Title: "Write //autometrics:inst", Kind: KindQuickFix, IsPreferred: true,
				Edits: []Edit{{Start: at, End: at + len(verb), NewText: analysis.VerbInst}}}
		}
		out = append(out, diag)
	}
	return out
}

// overlaps reports whether [s1, e1] and [s2, e2] share an offset (ranges are inclusive so an
// empty cursor range at either end still touches).
func overlaps(s1, e1, s2, e2 int) bool {
	return s1 <= e2 && s2 <= e1
}
