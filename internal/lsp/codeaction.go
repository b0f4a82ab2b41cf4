package lsp

import (
	"context"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/instrument"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// codeActionResult is the wire shape of a code action with its workspace edit.
type codeActionResult struct {
	Title       string             `json:"title"`
	Kind        string             `json:"kind"`
	Diagnostics []diagnosticResult `json:"diagnostics,omitempty"`
	IsPreferred bool               `json:"isPreferred,omitempty"`
	Edit        workspaceEdit      `json:"edit"`
}

type workspaceEdit struct {
	Changes map[string][]textEdit `json:"changes"`
}

type textEdit struct {
	Range   protocol.Range `json:"range"`
	NewText string         `json:"newText"`
}

// codeAction offers the instrumentation actions of internal/instrument for the range, with the
// quick fixes of the diagnostics there, filtered by the kinds the client asked for.
func codeAction(ctx context.Context, s *Server, p *protocol.CodeActionParams) ([]codeActionResult, error) {
	doc, ok := s.docs.Get(pathOf(p.TextDocument.URI))
	if !ok || insight.IsLarge(len(doc.Text)) {
		return []codeActionResult{}, nil
	}
	start, err1 := doc.Offset(textdoc.Position{Line: p.Range.Start.Line, Character: p.Range.Start.Character})
	end, err2 := doc.Offset(textdoc.Position{Line: p.Range.End.Line, Character: p.Range.End.Character})
	if err1 != nil || err2 != nil {
		return []codeActionResult{}, nil
	}
	// internal/instrument knows only "\n" line ends: it reads the "\n" view of the text, and
	// editOf and diagnosticOf map its offsets and inserted lines back to the document.
	lf := doc.LF()
	start, end = lf.Normalized(start), lf.Normalized(end)
	var only []string
	for _, k := range p.Context.Only {
		only = append(only, string(k))
	}
	out := []codeActionResult{}
	fixed := map[string]bool{}
	for _, d := range instrument.Diagnose(doc.Path, lf.Text) {
		if d.Fix == nil || d.End < start || d.Start > end || !kindWanted(d.Fix.Kind, only) {
			continue
		}
		out = append(out, codeActionResult{
			Title: d.Fix.Title, Kind: d.Fix.Kind, IsPreferred: d.Fix.IsPreferred,
			Diagnostics: []diagnosticResult{diagnosticOf(doc, d)},
			Edit:        editOf(doc, d.Fix.Edits),
		})
		fixed[d.Fix.Title] = true
	}
	for _, a := range instrument.Actions(doc.Path, lf.Text, start, end) {
		if fixed[a.Title] || !kindWanted(a.Kind, only) {
			continue
		}
		out = append(out, codeActionResult{Title: a.Title, Kind: a.Kind, IsPreferred: a.IsPreferred, Edit: editOf(doc, a.Edits)})
	}
	for _, a := range instrument.TraceActions(doc.Path, lf.Text, start, end, traceOptions(doc)) {
		if kindWanted(a.Kind, only) {
			out = append(out, codeActionResult{Title: a.Title, Kind: a.Kind, Edit: editOf(doc, a.Edits)})
		}
	}
	return out, nil
}

// traceOptions tells the tracing actions the document's import path and the tracers the other
// files of its package declare.
func traceOptions(doc *textdoc.Snapshot) instrument.TraceOptions {
	importPath, tracers := analysis.PackageTracers(doc.Path, map[string][]byte{doc.Path: doc.Text})
	return instrument.TraceOptions{ImportPath: importPath, Tracers: tracers}
}

// kindWanted applies the client's `only` filter: a kind matches its own prefixes ("refactor"
// asks for "refactor.rewrite").
func kindWanted(kind string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if kind == o || strings.HasPrefix(kind, o+".") {
			return true
		}
	}
	return false
}

// editOf turns edits computed on doc.LF().Text into the document's TextEdits: offsets map back
// to the document and inserted lines end as the document's lines do ("\r\n" in CRLF files).
func editOf(doc *textdoc.Snapshot, edits []instrument.Edit) workspaceEdit {
	lf := doc.LF()
	out := make([]textEdit, 0, len(edits))
	for _, e := range edits {
		out = append(out, textEdit{Range: rangeOf(doc, lf.Original(e.Start), lf.Original(e.End)), NewText: lf.NewText(e.NewText)})
	}
	return workspaceEdit{Changes: map[string][]textEdit{fileURI(doc.Path): out}}
}

// diagnosticOf turns a diagnostic computed on doc.LF().Text into the document's.
func diagnosticOf(doc *textdoc.Snapshot, d instrument.Diagnostic) diagnosticResult {
	lf := doc.LF()
	return diagnosticResult{
		Range: rangeOf(doc, lf.Original(d.Start), lf.Original(d.End)), Severity: int(d.Severity), Code: d.Code,
		Source: instrument.Source, Message: d.Message,
	}
}

// codeDiagnostics returns the diagnostics about the code itself: directive problems, missing or
// outdated statements, uncounted errors.
// Large documents get none (see insight.MaxAnalysedBytes).
func (s *Server) codeDiagnostics(doc *textdoc.Snapshot) []diagnosticResult {
	if insight.IsLarge(len(doc.Text)) {
		return nil
	}
	var out []diagnosticResult
	for _, d := range instrument.Diagnose(doc.Path, doc.LF().Text) {
		out = append(out, diagnosticOf(doc, d))
	}
	return out
}

// instrumentArg is the argument of am-lsp.instrument.
type instrumentArg struct {
	URI      string             `json:"uri"`
	Position *protocol.Position `json:"position"`
	SLO      *instrument.SLO    `json:"slo,omitempty"`
}

// runInstrument instruments the function at the position (with an SLO when given, checked
// under the file's generator options) and asks the editor to apply the edit with
// workspace/applyEdit.
func (s *Server) runInstrument(ctx context.Context, arg instrumentArg) (any, error) {
	if arg.URI == "" || arg.Position == nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "am-lsp.instrument takes {uri, position, slo?}")
	}
	doc, ok := s.docs.Get(pathOf(uriOf(arg.URI)))
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is not open", arg.URI)
	}
	if insight.IsLarge(len(doc.Text)) {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is larger than %d MiB: am-lsp offers no code actions in it", arg.URI, insight.MaxAnalysedBytes>>20)
	}
	offset, err := doc.Offset(textdoc.Position{Line: arg.Position.Line, Character: arg.Position.Character})
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	lf := doc.LF()
	edits, err := instrument.InstrumentEdits(doc.Path, lf.Text, lf.Normalized(offset), arg.SLO)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "cannot instrument here: %v", err)
	}
	var answer struct {
		Applied       bool   `json:"applied"`
		FailureReason string `json:"failureReason,omitempty"`
	}
	if err := s.client.call(ctx, "workspace/applyEdit", map[string]any{"label": "Instrument with Autometrics", "edit": editOf(doc, edits)}, &answer); err != nil {
		return nil, err
	}
	return answer, nil
}
