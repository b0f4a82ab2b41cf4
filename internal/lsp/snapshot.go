package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// snapshotCommand answers Markdown to share: the function's numbers, SLOs, alerts, deploy and
// traces over an absolute UTC range, with links pinned to it (insight.Workspace.Snapshot).
const snapshotCommand = "am-lsp.snapshot"

// runSnapshot resolves {uri, position} or {function, module} to an instrumented function and
// returns its snapshot Markdown as the command's result.
func (s *Server) runSnapshot(ctx context.Context, args []protocol.LSPAny) (any, error) {
	var arg functionArg
	if len(args) != 1 || json.Unmarshal(args[0], &arg) != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s takes one argument: {function, module} or {uri, position}", snapshotCommand)
	}
	var fn *analysis.Function
	switch {
	case arg.Function != "" && arg.Module != "":
		fn = s.workspace.FunctionByLabels(promclient.Series{Function: arg.Function, Module: arg.Module})
		if fn == nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no analysed function has function=%q, module=%q: open its file first", arg.Function, arg.Module)
		}
	case arg.URI != "" && arg.Position != nil:
		doc, ok := s.docs.Get(pathOf(uriOf(arg.URI)))
		if !ok {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is not open", arg.URI)
		}
		offset, err := doc.Offset(textdoc.Position{Line: arg.Position.Line, Character: arg.Position.Character})
		if err != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
		}
		if fn = s.workspace.Function(ctx, doc.Path, doc.Version, offset); fn == nil || fn.Instrumentation == analysis.NotInstrumented {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no Autometrics-instrumented function at %s:%d:%d", arg.URI, arg.Position.Line+1, arg.Position.Character+1)
		}
	default:
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "the argument needs function and module, or uri and position")
	}
	md, err := s.workspace.Snapshot(ctx, fn)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "%v", err)
	}
	return md, nil
}
