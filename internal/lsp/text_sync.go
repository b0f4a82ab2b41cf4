package lsp

import (
	"context"
	"path/filepath"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Text synchronisation handlers run in wire order on the read loop, so a request that follows a
// change always sees it. They only update the document store and schedule background analysis.

func didOpen(ctx context.Context, s *Server, p *protocol.DidOpenTextDocumentParams) (any, error) {
	path := pathOf(p.TextDocument.URI)
	if path == "" {
		return nil, nil
	}
	s.docs.Open(path, p.TextDocument.Version, p.TextDocument.Text)
	s.workspace.Changed(path)
	s.schedulePublish(path)
	return nil, nil
}

func didChange(ctx context.Context, s *Server, p *protocol.DidChangeTextDocumentParams) (any, error) {
	path := pathOf(p.TextDocument.URI)
	changes := make([]textdoc.Change, 0, len(p.ContentChanges))
	for _, c := range p.ContentChanges {
		switch c := c.(type) {
		case *protocol.TextDocumentContentChangePartial:
			r := textdoc.Range{
				Start: textdoc.Position{Line: c.Range.Start.Line, Character: c.Range.Start.Character},
				End:   textdoc.Position{Line: c.Range.End.Line, Character: c.Range.End.Character},
			}
			changes = append(changes, textdoc.Change{Range: &r, Text: c.Text})
		case *protocol.TextDocumentContentChangeWholeDocument:
			changes = append(changes, textdoc.Change{Text: c.Text})
		}
	}
	if _, err := s.docs.Apply(path, p.TextDocument.Version, changes); err != nil {
		return nil, err // logged by dispatch; the document keeps its last good text
	}
	s.workspace.Changed(path)
	s.schedulePublish(path)
	return nil, nil
}

func didSave(ctx context.Context, s *Server, p *protocol.DidSaveTextDocumentParams) (any, error) {
	s.workspace.Changed(pathOf(p.TextDocument.URI))
	s.sweep.FilesChanged()
	return nil, nil
}

func didClose(ctx context.Context, s *Server, p *protocol.DidCloseTextDocumentParams) (any, error) {
	path := pathOf(p.TextDocument.URI)
	s.docs.Close(path)
	s.workspace.Closed(path)
	// A closed file keeps the workspace-wide SLO problems only, published off the read loop.
	go func() {
		if s.beforeClosePublish != nil {
			s.beforeClosePublish(path)
		}
		s.publishSweepProblems(path)
	}()
	return nil, nil
}

// pathOf returns the cleaned file path of a file:// URI, or "" for other schemes (untitled
// buffers, virtual documents), which am-lsp ignores.
func pathOf(u uri.URI) string {
	if !u.IsFile() {
		return ""
	}
	return filepath.Clean(u.FsPath())
}

// fileURI is the file:// URI of a path, as the client sent it for open documents.
func fileURI(path string) string { return string(uri.File(path)) }

func uriOf(s string) uri.URI { return uri.URI(s) }
