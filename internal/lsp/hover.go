package lsp

import (
	"context"

	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// hover resolves the position and asks insight for the function's card. It returns nil (no
// hover) for positions that are not on an instrumented function, so gopls's hover stands alone.
// The range is the declaration's name when the cursor is on it, and absent otherwise (on a call).
func hover(ctx context.Context, s *Server, p *protocol.HoverParams) (*protocol.Hover, error) {
	path := pathOf(p.TextDocument.URI)
	doc, ok := s.docs.Get(path)
	if !ok {
		return nil, nil
	}
	offset, err := doc.Offset(textdoc.Position{Line: p.Position.Line, Character: p.Position.Character})
	if err != nil {
		return nil, nil // a position outside the document hovers nothing
	}
	card, ok := s.workspace.Hover(ctx, doc.Path, doc.Version, offset)
	if !ok {
		return nil, nil
	}
	h := &protocol.Hover{Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: card.Markdown}}
	if card.Span.File != "" {
		start, end := doc.PositionOf(card.Span.Start), doc.PositionOf(card.Span.End)
		h.Range = &protocol.Range{
			Start: protocol.Position{Line: start.Line, Character: start.Character},
			End:   protocol.Position{Line: end.Line, Character: end.Character},
		}
	}
	return h, nil
}
