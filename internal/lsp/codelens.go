package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// codeLensResult and commandResult are the wire shapes of a CodeLens with its command.
type codeLensResult struct {
	Range   protocol.Range `json:"range"`
	Command commandResult  `json:"command"`
}

type commandResult struct {
	Title     string `json:"title"`
	Command   string `json:"command"`
	Arguments []any  `json:"arguments,omitempty"`
}

// codeLens shows each instrumented function's summary; clicking it opens the function in
// Grafana (Prometheus without Grafana).
func codeLens(ctx context.Context, s *Server, p *protocol.CodeLensParams) ([]codeLensResult, error) {
	doc, ok := s.docs.Get(pathOf(p.TextDocument.URI))
	if !ok || !s.currentSettings().CodeLens {
		return []codeLensResult{}, nil
	}
	out := []codeLensResult{}
	for _, l := range s.workspace.Lenses(doc.Path, doc.Version) {
		out = append(out, codeLensResult{
			Range:   rangeOf(doc, l.Function.NameSpan.Start, l.Function.NameSpan.End),
			Command: commandResult{Title: l.Title, Command: openCommand(l.Jump), Arguments: []any{functionArg{Function: l.Series.Function, Module: l.Series.Module}}},
		})
	}
	return out, nil
}

// inlayHintResult is the wire shape of an inlay hint.
type inlayHintResult struct {
	Position    protocol.Position `json:"position"`
	Label       string            `json:"label"`
	PaddingLeft bool              `json:"paddingLeft"`
}

// inlayHint shows the same summary after the function's name line, when the user opted in.
func inlayHint(ctx context.Context, s *Server, p *protocol.InlayHintParams) ([]inlayHintResult, error) {
	doc, ok := s.docs.Get(pathOf(p.TextDocument.URI))
	if !ok || !s.currentSettings().InlayHints {
		return []inlayHintResult{}, nil
	}
	out := []inlayHintResult{}
	for _, l := range s.workspace.Lenses(doc.Path, doc.Version) {
		pos := doc.PositionOf(lineEnd(doc.Text, l.Function.NameSpan.End))
		if pos.Line < p.Range.Start.Line || pos.Line > p.Range.End.Line {
			continue
		}
		out = append(out, inlayHintResult{Position: protocol.Position{Line: pos.Line, Character: pos.Character}, Label: l.Title, PaddingLeft: true})
	}
	return out, nil
}

func lineEnd(text []byte, offset int) int {
	for offset < len(text) && text[offset] != '\n' && text[offset] != '\r' {
		offset++
	}
	return offset
}

func rangeOf(doc *textdoc.Snapshot, start, end int) protocol.Range {
	a, b := doc.PositionOf(start), doc.PositionOf(end)
	return protocol.Range{Start: protocol.Position{Line: a.Line, Character: a.Character}, End: protocol.Position{Line: b.Line, Character: b.Character}}
}

// notifier turns the workspace's background events into client notifications: progress while
// packages load, and CodeLens / inlay hint refreshes when new numbers arrive. Server→client
// requests go out on their own goroutine (the read loop must stay free to read the answers).
type notifier struct{ srv *Server }

func (n *notifier) NumbersUpdated() { n.srv.refreshViews() }

// refreshViews asks the client to fetch again what it shows from the numbers and settings:
// diagnostics are republished, CodeLens (and inlay hints when on) refreshed where the client
// supports it. Nothing is sent before the client's initialized notification.
func (s *Server) refreshViews() {
	s.mu.Lock()
	caps, ready := s.caps, s.state == stateInitialized
	s.mu.Unlock()
	if !ready {
		return
	}
	refresh := func(method string) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*s.grace)
			defer cancel()
			var ignored json.RawMessage
			if err := s.client.call(ctx, method, nil, &ignored); err != nil {
				s.log.Debug("refresh failed", "method", method, "err", err)
			}
		}()
	}
	go s.publishAll()
	if caps.codeLensRefresh {
		refresh("workspace/codeLens/refresh")
	}
	if caps.inlayHintRefresh && s.currentSettings().InlayHints {
		refresh("workspace/inlayHint/refresh")
	}
}

var _ insight.Observer = (*notifier)(nil)
