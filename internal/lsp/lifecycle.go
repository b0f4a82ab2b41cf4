package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/plaintext"
)

// initialize records what the client can do, applies initializationOptions and advertises only
// the features that work.
func initialize(ctx context.Context, s *Server, p *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	s.mu.Lock()
	s.state = stateInitialized
	s.caps = clientCapsOf(&p.Capabilities)
	if ws := p.Capabilities.Workspace; ws != nil && ws.Configuration != nil && *ws.Configuration {
		s.wantsConfig = true
	}
	s.initOptions = append([]byte(nil), p.InitializationOptions...)
	s.mu.Unlock()
	s.applySettings(ctx, s.initOptions)
	s.sweep.SetRoots(rootsOf(p))

	yes := true
	incremental := protocol.TextDocumentSyncKindIncremental
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: &yes,
				Change:    &incremental,
				Save:      protocol.Boolean(true),
			},
			HoverProvider:    protocol.Boolean(true),
			CodeLensProvider: &protocol.CodeLensOptions{},
			CodeActionProvider: &protocol.CodeActionOptions{CodeActionKinds: []protocol.CodeActionKind{
				protocol.CodeActionKindQuickFix, protocol.CodeActionKindRefactorRewrite, protocol.CodeActionKindSource,
			}},
			InlayHintProvider:      protocol.Boolean(true),
			ExecuteCommandProvider: protocol.ExecuteCommandOptions{Commands: commandNames()},
			// Folders added and removed change what the workspace SLO sweep covers.
			Workspace: &protocol.WorkspaceOptions{WorkspaceFolders: &protocol.WorkspaceFoldersServerCapabilities{
				Supported: &yes, ChangeNotifications: protocol.Boolean(true),
			}},
		},
		ServerInfo: protocol.ServerInfo{Name: "am-lsp", Version: protocol.NewOptional(s.version)},
	}, nil
}

// initialized pulls the "am-lsp" section with workspace/configuration when the client offers it.
func initialized(ctx context.Context, s *Server, _ *protocol.InitializedParams) (any, error) {
	s.pullConfiguration()
	return nil, nil
}

// didChangeConfiguration applies pushed settings, or pulls them again when the client sends an
// empty notification (the pull model).
func didChangeConfiguration(ctx context.Context, s *Server, p *protocol.DidChangeConfigurationParams) (any, error) {
	if len(p.Settings) > 0 && string(p.Settings) != "null" && string(p.Settings) != "{}" {
		s.applySettings(ctx, p.Settings)
		return nil, nil
	}
	s.pullConfiguration()
	return nil, nil
}

// pullConfiguration asks the client for the settings section without blocking the read loop
// (the answer arrives through that same loop).
func (s *Server) pullConfiguration() {
	s.mu.Lock()
	want := s.wantsConfig
	s.mu.Unlock()
	if !want {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.grace*5)
		defer cancel()
		section := config.Section
		var answer []json.RawMessage
		err := s.client.call(ctx, "workspace/configuration",
			&protocol.ConfigurationParams{Items: []protocol.ConfigurationItem{{Section: &section}}}, &answer)
		if err != nil {
			s.log.Warn("workspace/configuration failed", "err", err)
			return
		}
		if len(answer) > 0 {
			s.applySettings(ctx, answer[0])
		}
	}()
}

// applySettings merges raw into the current settings. Invalid fields are shown to the user by
// name and keep their last good value; settings the backend client cannot be built from (say a
// bearer token together with basic auth) are shown and rejected whole, so the previous settings
// and client stay in effect.
func (s *Server) applySettings(ctx context.Context, raw []byte) {
	s.mu.Lock()
	base := s.settings
	s.mu.Unlock()
	next, err := config.Merge(base, raw)
	if err != nil {
		s.log.Warn("invalid settings", "err", err)
		s.showError(ctx, "am-lsp: "+err.Error()+" (keeping the previous value)")
	}
	if err := s.workspace.Configure(next); err != nil {
		s.log.Warn("unusable backend settings", "err", err)
		s.showError(ctx, "am-lsp: "+err.Error()+" (keeping the previous settings)")
		return
	}
	s.mu.Lock()
	s.settings = next
	s.mu.Unlock()
	// What is shown depends on the settings too (codeLensFormat, codeLens, inlayHints, the
	// thresholds of diagnostics): have the client ask again, whether or not new numbers follow.
	s.refreshViews()
}

func (s *Server) showError(ctx context.Context, msg string) {
	_ = s.showMessage(ctx, protocol.MessageTypeError, msg)
}

// maxMessageText bounds, in characters, a window/showMessage text.
const maxMessageText = 1000

// showMessage sends msg to the editor as a window/showMessage notification of kind typ. Every
// notification goes through here: msg often carries text from the repository, the go command
// or the backend, so it is sent as plaintext.Message (one line, clipped, no control characters,
// no "[text](target)" link an editor would render with its target hidden).
func (s *Server) showMessage(ctx context.Context, typ protocol.MessageType, msg string) error {
	if s.client == nil {
		return nil
	}
	return s.client.notify(ctx, "window/showMessage", &protocol.ShowMessageParams{Type: typ, Message: plaintext.Message(msg, maxMessageText)})
}

func shutdown(ctx context.Context, s *Server, _ *struct{}) (any, error) {
	s.mu.Lock()
	s.state = stateShuttingDown
	s.sawShutdown = true
	s.mu.Unlock()
	return nil, nil
}

func exit(ctx context.Context, s *Server, _ *struct{}) (any, error) {
	s.exitOnce.Do(func() { close(s.exited) })
	return nil, nil
}

// clientCaps are the optional client features the server uses.
type clientCaps struct {
	codeLensRefresh  bool // workspace/codeLens/refresh
	inlayHintRefresh bool // workspace/inlayHint/refresh
	showDocument     bool // window/showDocument
	workDoneProgress bool // window/workDoneProgress/create and $/progress
}

func clientCapsOf(c *protocol.ClientCapabilities) clientCaps {
	var caps clientCaps
	if ws := c.Workspace; ws != nil {
		caps.codeLensRefresh = ws.CodeLens != nil && ws.CodeLens.RefreshSupport != nil && *ws.CodeLens.RefreshSupport
		caps.inlayHintRefresh = ws.InlayHint != nil && ws.InlayHint.RefreshSupport != nil && *ws.InlayHint.RefreshSupport
	}
	if w := c.Window; w != nil {
		caps.showDocument = w.ShowDocument != nil && w.ShowDocument.Support
		caps.workDoneProgress = w.WorkDoneProgress != nil && *w.WorkDoneProgress
	}
	return caps
}
