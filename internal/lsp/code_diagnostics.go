package lsp

import "github.com/am-lsp/am-lsp/internal/textdoc"

// codeDiagnostics returns the diagnostics about the code itself (directives, instrumentation).
func (s *Server) codeDiagnostics(doc *textdoc.Snapshot) []diagnosticResult {
	return nil
}
