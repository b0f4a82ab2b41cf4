// Package lsp is am-lsp's Language Server Protocol layer: lifecycle, text synchronisation and
// thin handlers that turn LSP requests into calls of the feature packages (insight, analysis,
// promclient) and their answers back into LSP results. No feature logic lives here.
package lsp

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Options configure a Server.
type Options struct {
	Logger  *slog.Logger        // defaults to a logger that discards
	Getenv  func(string) string // defaults to os.Getenv; read for AM_PROMETHEUS_URL
	Version string              // reported in serverInfo
}

// lifecycle is where a session is in the LSP lifecycle.
type lifecycle int

const (
	stateNew          lifecycle = iota // before initialize: only initialize and exit are served
	stateInitialized                   // after initialize
	stateShuttingDown                  // after shutdown: only exit is served
)

// Server is one am-lsp session. Create it with New and run it with Serve.
type Server struct {
	log     *slog.Logger
	getenv  func(string) string
	version string

	docs      *textdoc.Store
	workspace *insight.Workspace
	sweep     *insight.Sweep // SLO problems of the whole workspace (problems.go)
	client    *clientConn
	publishes debouncer // diagnostics of changed documents, published when edits pause
	// sends orders the publishDiagnostics of files: each checks what it publishes is still
	// current (the document open or closed, its version, the sweep's problems) and sends under
	// it, so that the last one a file gets shows its newest state.
	sends sync.Mutex
	// beforeClosePublish, when not nil, runs before didClose's publish of the closed file's
	// sweep problems (tests).
	beforeClosePublish func(path string)

	mu          sync.Mutex
	state       lifecycle
	sawShutdown bool
	settings    config.Settings
	initOptions []byte // initializationOptions, re-applied under workspace/configuration answers
	wantsConfig bool   // client supports workspace/configuration
	caps        clientCaps
	progress    progress
	exitOnce    sync.Once
	exited      chan struct{}
	grace       time.Duration
}

// New returns a server ready to Serve.
func New(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &Server{
		log:       log,
		getenv:    getenv,
		version:   opts.Version,
		docs:      textdoc.NewStore(),
		exited:    make(chan struct{}),
		grace:     2 * time.Second,
		publishes: debouncer{delay: diagnosticsDelay},
		settings:  config.Defaults(getenv),
	}
	s.workspace = insight.NewWorkspace(log, s.docs)
	s.workspace.SetObserver(&notifier{srv: s})
	s.sweep = insight.NewSweep(s.workspace, s.sloProblemsChanged)
	return s
}

// Serve speaks LSP over rwc until the client sends exit or closes the stream, and returns the
// exit code the spec asks for: 0 when shutdown came before exit, 1 otherwise.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) int {
	defer s.workspace.Close()
	return serveStream(ctx, s, rwc)
}

// admit decides whether a message may run in the current lifecycle state; it returns the error
// to answer a request with, or nil.
func (s *Server) admit(method string, beforeInit bool) *jsonrpc2.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case method == "exit":
		return nil
	case s.state == stateNew && !beforeInit:
		return jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized: send initialize first")
	case s.state == stateInitialized && method == "initialize":
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize was already received")
	case s.state == stateShuttingDown:
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shutting down: only exit is accepted")
	}
	return nil
}

func (s *Server) exitCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sawShutdown {
		return 0
	}
	return 1
}

func (s *Server) closeGrace() <-chan time.Time { return time.After(s.grace) }

func (s *Server) currentSettings() config.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// methods lists every LSP method the server serves. Anything else is MethodNotFound.
var methods = map[string]method{
	"initialize":                          {call: handle(initialize), ordered: true, beforeInit: true},
	"initialized":                         {call: handle(initialized), ordered: true},
	"shutdown":                            {call: handle(shutdown), ordered: true},
	"exit":                                {call: handle(exit), ordered: true, beforeInit: true},
	"textDocument/didOpen":                {call: handle(didOpen), ordered: true},
	"textDocument/didChange":              {call: handle(didChange), ordered: true},
	"textDocument/didSave":                {call: handle(didSave), ordered: true},
	"textDocument/didClose":               {call: handle(didClose), ordered: true},
	"textDocument/hover":                  {call: handle(hover)},
	"workspace/didChangeConfiguration":    {call: handle(didChangeConfiguration), ordered: true},
	"workspace/didChangeWorkspaceFolders": {call: handle(didChangeWorkspaceFolders), ordered: true},
	"textDocument/codeLens":               {call: handle(codeLens)},
	"textDocument/codeAction":             {call: handle(codeAction)},
	"textDocument/inlayHint":              {call: handle(inlayHint)},
	"workspace/executeCommand":            {call: handle(executeCommand)},
}
