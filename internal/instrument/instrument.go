// Package instrument computes the Autometrics code actions and diagnostics of one Go file: adding
// and removing the instrumentation autometrics-go's generator writes (the //autometrics:inst
// directive, the two statements at the top of the body, the imports), naming results so errors
// are counted, and checking directives and statements against what the generator would do.
//
// Every function takes the file's name and its current content (the editor's buffer) and works
// from syntax alone, with the analysis package's detection: the autometrics-go import need not
// resolve. Results are byte-offset edits on that content, minimal (insertions at the doc
// comment, the body and the import block; deletions of exactly the instrumentation), never a
// whole-file replacement. Nothing is offered in generated files, nothing that edits cgo files,
// and nothing on a function whose declaration holds a syntax error. Every edit set is checked
// before it is returned: applied to the content, it must parse with no new syntax error.
//
// On gofmt-clean input the output is gofmt-clean (gofmt's alignment of trailing comments on
// neighbouring lines aside), and the inserted statements are the generator's (v0.9+) token for
// token, gin's trace and span id options included, where the generator's own would compile (see
// readSignature for buffalo and echo handlers and unnamed contexts). The file's
// //go:generate autometrics line is read and followed: --otel picks the backend imported,
// --custom-latency accepts any positive latency threshold, --inst-all expects every function
// instrumented (and writes no directive without an SLO), --rm-all expects none.
//
// What differs from the generator's output, and why: no documentation block of Prometheus links
// (the hover card carries those links, live, where the block's URLs are frozen when it is
// written; with --no-doc the generator writes none either); "time" is imported when a latency
// objective needs it (the generator writes time.Nanosecond without the import, which does not
// compile); a new import goes where goimports would put it, standard library and other packages
// in separate groups (the generator inserts it into the first import block, groups aside); a blank autometrics
// import is given a name (the generator writes unqualified calls, which do not compile); removing
// the statements and keeping the directive also removes imports nothing uses any more.
//
// Instrument then Remove restores the content byte for byte, except where Instrument had to
// reformat or Remove cleans up more than Instrument added: a body written on one line, an empty
// body written as "{\n}" (Remove leaves "{}"), a declaration on the line right after the package
// clause or the imports (Instrument adds the blank line gofmt wants before a doc comment or after
// imports), an autometrics import the file does not use (Remove deletes it) and the generator's
// fenced documentation block (Remove deletes it with the directive).
package instrument

import (
	"errors"
	"fmt"
	"sort"
)

// Edit replaces the bytes [Start, End) of the content with NewText. The edits of one result are
// sorted by Start and do not overlap; several insertions at one offset are merged into one Edit.
type Edit struct {
	Start   int    `json:"start"`
	End     int    `json:"end"`
	NewText string `json:"newText"`
}

// Severity of a Diagnostic; the values are LSP's DiagnosticSeverity.
type Severity int

const (
	Error       Severity = 1
	Warning     Severity = 2
	Information Severity = 3
	Hint        Severity = 4
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Information:
		return "information"
	case Hint:
		return "hint"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Source is the Diagnostic source the LSP layer should report.
const Source = "am-lsp"

// Diagnostic codes.
const (
	CodeDirectiveProblem  = "directive-problem"   // the generator rejects the directive (Error)
	CodeDirectiveSkipped  = "directive-skipped"   // the generator silently skips a word (Warning)
	CodeDirectiveSpelling = "directive-spelling"  // a comment that looks like a directive but is not one (Warning)
	CodeStatementsMissing = "statements-missing"  // directive without the generated statements (Information)
	CodeOutOfSync         = "statements-outdated" // statements disagree with the directive or signature (Warning)
	CodeDirectiveMissing  = "directive-missing"   // statements without directive in a go:generate file (Warning)
	CodeErrorsNotCounted  = "errors-not-counted"  // the deferred Instrument does not see the error result (Hint)
	// the generator refuses a function whose error results are declared together, (a, b error) (Error)
	CodeErrorResultsGrouped = "error-results-grouped"
	// unmatched or misordered autometrics:doc-start / doc-end markers make the generator fail (Error)
	CodeDocMarkers = "doc-markers"
)

// Diagnostic is one finding on the file, with the byte range [Start, End) it is about.
type Diagnostic struct {
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	// Fix, when not nil, is a quickfix that resolves the diagnostic.
	Fix *Action `json:"fix,omitempty"`
}

// Code action kinds (LSP CodeActionKind values).
const (
	KindQuickFix = "quickfix"
	KindRewrite  = "refactor.rewrite"
	KindSource   = "source"
)

// CommandInstrumentSLO is the Command of the "Instrument … with an SLO" action: the editor should
// ask the user for the SLO (with the action's defaults pre-filled) and apply
// InstrumentEdits(filename, src, Action.Offset, &slo). Its Edits apply DefaultSLO directly, for
// clients without commands.
const CommandInstrumentSLO = "am-lsp.instrumentWithSLO"

// Action is a code action: edits on the content given to the function that returned it.
type Action struct {
	Title       string `json:"title"`
	Kind        string `json:"kind"`
	Edits       []Edit `json:"edits"`
	IsPreferred bool   `json:"isPreferred,omitempty"`
	// Command, when not "", names a command that refines the action (CommandInstrumentSLO);
	// Offset is then the offset to pass back (the function's name).
	Command string `json:"command,omitempty"`
	Offset  int    `json:"offset,omitempty"`
}

// Errors of the *Edits functions.
var (
	// ErrNoFunction: no function declaration with a body encloses the offset.
	ErrNoFunction = errors.New("no function with a body at this position")
	// ErrNotApplicable: the function is not in a state the action applies to (already
	// instrumented, nothing to remove, errors already counted, ...).
	ErrNotApplicable = errors.New("the action does not apply to this function")
	// ErrUnsafe: an edit could break code (syntax error in the function or the imports,
	// generated or cgo file, name clash).
	ErrUnsafe = errors.New("the edit could break the code")
)

// Apply returns src with edits applied. The edits must be sorted, non-overlapping and inside src.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	out := make([]byte, 0, len(src)+64)
	last := 0
	for _, e := range edits {
		if e.Start < last || e.End < e.Start || e.End > len(src) {
			return nil, fmt.Errorf("edit [%d,%d) is out of order, overlapping or outside the content of %d bytes", e.Start, e.End, len(src))
		}
		out = append(out, src[last:e.Start]...)
		out = append(out, e.NewText...)
		last = e.End
	}
	return append(out, src[last:]...), nil
}

// editSet collects edits in any order and returns them sorted, with insertions at one offset
// merged in the order they were added.
type editSet struct {
	edits []Edit
}

func (s *editSet) insert(at int, text string) { s.replace(at, at, text) }

func (s *editSet) replace(start, end int, text string) {
	s.edits = append(s.edits, Edit{Start: start, End: end, NewText: text})
}

func (s *editSet) add(edits ...Edit) { s.edits = append(s.edits, edits...) }

// result sorts and merges the edits, dropping no-ops, and fails on overlaps.
func (s *editSet) result() ([]Edit, error) {
	edits := make([]Edit, 0, len(s.edits))
	for _, e := range s.edits {
		if e.Start != e.End || e.NewText != "" {
			edits = append(edits, e)
		}
	}
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].Start != edits[j].Start {
			return edits[i].Start < edits[j].Start
		}
		// Insertions before replacements that start at the same offset.
		return edits[i].End == edits[i].Start && edits[j].End != edits[j].Start
	})
	var out []Edit
	for _, e := range edits {
		if n := len(out); n > 0 {
			prev := &out[n-1]
			if prev.Start == prev.End && prev.Start == e.Start {
				prev.End = e.End
				prev.NewText += e.NewText
				continue
			}
			if e.Start < prev.End {
				return nil, fmt.Errorf("internal error: overlapping edits [%d,%d) and [%d,%d)", prev.Start, prev.End, e.Start, e.End)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// minimalEdit returns the edit that replaces src[start:end] with text, trimmed of the bytes
// they have in common at both ends, so the editor keeps the cursor and the undo history of the
// untouched text. The result may be a no-op (Start == End, NewText == "").
func minimalEdit(src []byte, start, end int, text string) Edit {
	old := src[start:end]
	p := 0
	for p < len(old) && p < len(text) && old[p] == text[p] {
		p++
	}
	s := 0
	for s < len(old)-p && s < len(text)-p && old[len(old)-1-s] == text[len(text)-1-s] {
		s++
	}
	return Edit{Start: start + p, End: end - s, NewText: text[p : len(text)-s]}
}
