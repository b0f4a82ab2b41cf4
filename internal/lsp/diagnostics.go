package lsp

import (
	"context"

	"go.lsp.dev/protocol"
)

// diagnosticResult is the wire shape of one diagnostic.
type diagnosticResult struct {
	Range           protocol.Range   `json:"range"`
	Severity        int              `json:"severity"`
	Code            string           `json:"code,omitempty"`
	CodeDescription *codeDescription `json:"codeDescription,omitempty"`
	Source          string           `json:"source"`
	Message         string           `json:"message"`
	Data            any              `json:"data,omitempty"`
}

type codeDescription struct {
	Href string `json:"href"`
}

// LSP diagnostic severities.
const (
	severityError       = 1
	severityWarning     = 2
	severityInformation = 3
	severityHint        = 4
)

// publishDiagnostics computes and sends the diagnostics of the open document path, unless the
// document changed meanwhile (a newer publish follows then). It runs off the read loop.
func (s *Server) publishDiagnostics(path string) {
	doc, ok := s.docs.Get(path)
	if !ok {
		return
	}
	diags := []diagnosticResult{}
	for _, w := range s.workspace.SLOWarnings(doc.Path, doc.Version) {
		diags = append(diags, sloDiagnostic(doc, w.Function.NameSpan.Start, w.Function.NameSpan.End, w.Breached, w.Message, w.Href))
	}
	diags = append(diags, s.codeDiagnostics(doc)...)
	if cur, ok := s.docs.Get(path); !ok || cur.Version != doc.Version {
		return
	}
	version := doc.Version
	_ = s.client.notify(context.Background(), "textDocument/publishDiagnostics", map[string]any{
		"uri": fileURI(path), "version": version, "diagnostics": diags,
	})
}

// publishAll refreshes the diagnostics of every open document.
func (s *Server) publishAll() {
	for _, p := range s.docs.Paths() {
		s.publishDiagnostics(p)
	}
}
