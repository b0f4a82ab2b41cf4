package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/instrument"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Commands of workspace/executeCommand that open a function somewhere.
var openCommands = map[string]insight.Target{
	"am-lsp.openGrafana":    insight.TargetGrafana,
	"am-lsp.openExplore":    insight.TargetExplore,
	"am-lsp.openPrometheus": insight.TargetPrometheus,
}

func openCommand(t insight.Target) string {
	for name, target := range openCommands {
		if target == t {
			return name
		}
	}
	return "am-lsp.openPrometheus"
}

// statusCommand answers the backend's health, for status bars; instrumentCommands instrument
// the function at a position (the SLO variant is the one code actions name).
const statusCommand = "am-lsp.status"

var instrumentCommands = []string{"am-lsp.instrument", instrument.CommandInstrumentSLO}

func commandNames() []string {
	names := append([]string{statusCommand, snapshotCommand}, instrumentCommands...)
	for name := range openCommands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// functionArg names a function by its series labels, or by a position in an open document (for
// editor commands run at the cursor).
type functionArg struct {
	Function string             `json:"function,omitempty"`
	Module   string             `json:"module,omitempty"`
	URI      string             `json:"uri,omitempty"`
	Position *protocol.Position `json:"position,omitempty"`
}

// openResult is what an open command answers: the URL, and how it was shown.
type openResult struct {
	URL   string `json:"url"`
	Shown string `json:"shown"` // "showDocument" or "showMessage"
}

// executeCommand runs one of the open commands: it builds the URL and asks the editor to open
// it with window/showDocument (external), or shows it in a message for clients without that.
func executeCommand(ctx context.Context, s *Server, p *protocol.ExecuteCommandParams) (any, error) {
	if p.Command == statusCommand {
		return s.workspace.Status(), nil
	}
	if p.Command == snapshotCommand {
		return s.runSnapshot(ctx, p.Arguments)
	}
	if slices.Contains(instrumentCommands, p.Command) {
		var arg instrumentArg
		if len(p.Arguments) != 1 || json.Unmarshal(p.Arguments[0], &arg) != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s takes one argument: {uri, position, slo?}", p.Command)
		}
		return s.runInstrument(ctx, arg)
	}
	target, known := openCommands[p.Command]
	if !known {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q (known: %v)", p.Command, commandNames())
	}
	var arg functionArg
	if len(p.Arguments) != 1 || json.Unmarshal(p.Arguments[0], &arg) != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s takes one argument: {function, module} or {uri, position}", p.Command)
	}
	series, err := s.resolveFunction(ctx, arg)
	if err != nil {
		return nil, err
	}
	link, err := s.workspace.JumpURL(target, series)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "%v", err)
	}
	s.mu.Lock()
	showDocument := s.caps.showDocument
	s.mu.Unlock()
	if showDocument {
		var answer struct {
			Success bool `json:"success"`
		}
		external := true
		err := s.client.call(ctx, "window/showDocument", map[string]any{"uri": link, "external": external}, &answer)
		if err == nil && answer.Success {
			return &openResult{URL: link, Shown: "showDocument"}, nil
		}
		s.log.Info("showDocument failed, falling back to a message", "err", err)
	}
	msg := fmt.Sprintf("Open %s in %s: %s", series.Function, target, link)
	if err := s.showMessage(ctx, protocol.MessageTypeInfo, msg); err != nil {
		return nil, err
	}
	return &openResult{URL: link, Shown: "showMessage"}, nil
}

// resolveFunction turns a command argument into the series of an instrumented function.
func (s *Server) resolveFunction(ctx context.Context, arg functionArg) (promclient.Series, error) {
	if arg.Function != "" && arg.Module != "" {
		return promclient.Series{Function: arg.Function, Module: arg.Module}, nil
	}
	if arg.URI == "" || arg.Position == nil {
		return promclient.Series{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "the argument needs function and module, or uri and position")
	}
	doc, ok := s.docs.Get(pathOf(uriOf(arg.URI)))
	if !ok {
		return promclient.Series{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is not open", arg.URI)
	}
	offset, err := doc.Offset(textdoc.Position{Line: arg.Position.Line, Character: arg.Position.Character})
	if err != nil {
		return promclient.Series{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	fn := s.workspace.Function(ctx, doc.Path, doc.Version, offset)
	if fn == nil {
		return promclient.Series{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no instrumented function at %s:%d:%d", arg.URI, arg.Position.Line+1, arg.Position.Character+1)
	}
	if fn.Instrumentation == analysis.NotInstrumented {
		if s, ok := insight.SpanSeriesOf(fn); ok {
			return s, nil
		}
	}
	return insight.SeriesOf(fn), nil
}
