package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// closedPortURL is a backend address nothing listens on: connections are refused at once.
const closedPortURL = "http://127.0.0.1:1"

type testSession struct {
	client *lspclient.Client
	code   chan int
	conn   net.Conn
	srv    *Server
}

// waitAnalysed waits until the typed analysis of the open document path covers its text.
func (s *testSession) waitAnalysed(t testing.TB, path string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !s.srv.workspace.Analysed(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s was not analysed within a minute", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startSession runs a server in process over a pipe. env supplies the environment it reads.
func startSession(t testing.TB, env map[string]string, handler lspclient.RequestHandler) *testSession {
	t.Helper()
	clientEnd, serverEnd := net.Pipe()
	srv := New(Options{
		Logger:  slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
	})
	s := &testSession{code: make(chan int, 1), conn: clientEnd, srv: srv}
	go func() { s.code <- srv.Serve(context.Background(), serverEnd) }()
	s.client = lspclient.New(clientEnd, clientEnd, handler)
	t.Cleanup(func() {
		clientEnd.Close()
		select {
		case <-s.code:
		case <-time.After(30 * time.Second): // it waits up to 5 s for loads to end (Workspace.Close)
			t.Error("server did not stop after its stream closed")
		}
	})
	return s
}

// testWriter sends server logs to the test log until the test ends; background goroutines that
// outlive the test write nowhere (testing panics on a Log after the test completed).
type testWriter struct {
	t    testing.TB
	mu   *sync.Mutex
	done *bool
}

func newTestWriter(t testing.TB) testWriter {
	w := testWriter{t: t, mu: &sync.Mutex{}, done: new(bool)}
	t.Cleanup(func() {
		w.mu.Lock()
		*w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func rpcCode(t *testing.T, err error) int {
	t.Helper()
	var rpcErr *lspclient.RPCError
	if !errors.As(err, &rpcErr) {
		t.Fatalf("expected a JSON-RPC error, got %v", err)
	}
	return rpcErr.Code
}

func TestRequestBeforeInitializeGetsServerNotInitialized(t *testing.T) {
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 5*time.Second)
	err := s.client.Call(ctx, "textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": "file:///x.go"}, "position": map[string]any{"line": 0, "character": 0},
	}, nil)
	if code := rpcCode(t, err); code != -32002 {
		t.Fatalf("code = %d, want -32002 (ServerNotInitialized)", code)
	}
	if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
		t.Fatalf("initialize after a rejected request: %v", err)
	}
}

func TestInitializeAdvertisesOnlyWhatWorks(t *testing.T) {
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 5*time.Second)
	caps, err := s.client.Initialize(ctx, t.TempDir(), nil, map[string]any{"prometheusUrl": closedPortURL})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(caps, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["hoverProvider"]) != "true" {
		t.Errorf("hoverProvider = %s", got["hoverProvider"])
	}
	var sync struct {
		OpenClose bool `json:"openClose"`
		Change    int  `json:"change"`
	}
	if err := json.Unmarshal(got["textDocumentSync"], &sync); err != nil || !sync.OpenClose || sync.Change != 2 {
		t.Errorf("textDocumentSync = %s, want openClose and incremental (2)", got["textDocumentSync"])
	}
	if string(got["codeLensProvider"]) != "{}" {
		t.Errorf("codeLensProvider = %s, want an object (Neovim rejects a boolean)", got["codeLensProvider"])
	}
	var commands struct{ Commands []string }
	if err := json.Unmarshal(got["executeCommandProvider"], &commands); err != nil || len(commands.Commands) != len(openCommands)+2+len(instrumentCommands) { // + status and snapshot
		t.Errorf("executeCommandProvider = %s", got["executeCommandProvider"])
	}
	for name := range got {
		switch name {
		case "hoverProvider", "textDocumentSync", "codeLensProvider", "inlayHintProvider", "executeCommandProvider", "codeActionProvider":
		case "workspace": // workspace folders (TestWorkspaceFolderAddedAndRemoved)
			if string(got[name]) != `{"workspaceFolders":{"supported":true,"changeNotifications":true}}` {
				t.Errorf("workspace = %s, want only workspace folders with change notifications", got[name])
			}
		default:
			t.Errorf("advertises %s, which is not implemented", name)
		}
	}
	if err := s.client.Call(ctx, "initialize", map[string]any{"capabilities": map[string]any{}}, nil); err == nil {
		t.Error("a second initialize was accepted")
	}
}

func TestExitCodes(t *testing.T) {
	t.Run("after shutdown", func(t *testing.T) {
		s := startSession(t, nil, nil)
		ctx := ctxFor(t, 5*time.Second)
		if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if code := <-s.code; code != 0 {
			t.Fatalf("exit code after shutdown = %d, want 0", code)
		}
		s.code <- 0 // for the cleanup
	})
	t.Run("without shutdown", func(t *testing.T) {
		s := startSession(t, nil, nil)
		ctx := ctxFor(t, 5*time.Second)
		if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Notify("exit", nil); err != nil {
			t.Fatal(err)
		}
		if code := <-s.code; code != 1 {
			t.Fatalf("exit code without shutdown = %d, want 1", code)
		}
		s.code <- 1
	})
	t.Run("requests after shutdown are refused", func(t *testing.T) {
		s := startSession(t, nil, nil)
		ctx := ctxFor(t, 5*time.Second)
		if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Call(ctx, "shutdown", nil, nil); err != nil {
			t.Fatal(err)
		}
		err := s.client.Call(ctx, "textDocument/hover", map[string]any{}, nil)
		if code := rpcCode(t, err); code != -32600 {
			t.Fatalf("code = %d, want -32600", code)
		}
	})
}

func TestUnknownMethodsAndMalformedMessages(t *testing.T) {
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 5*time.Second)
	if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if code := rpcCode(t, s.client.Call(ctx, "textDocument/frobnicate", map[string]any{}, nil)); code != -32601 {
		t.Errorf("unknown request: code %d, want -32601", code)
	}
	if err := s.client.Notify("$/someExtension", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	// Invalid JSON and a wrong params type: answered with errors, the session goes on.
	if err := s.client.WriteFrame([]byte(`{"jsonrpc":"2.0","id":77,"method":`)); err != nil {
		t.Fatal(err)
	}
	if code := rpcCode(t, s.client.Call(ctx, "textDocument/hover", map[string]any{"position": "top"}, nil)); code != -32602 {
		t.Errorf("bad params: code %d, want -32602", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(s.client.Orphans()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	orphans := s.client.Orphans()
	if len(orphans) != 1 || orphans[0].Error == nil || orphans[0].Error.Code != -32700 || string(orphans[0].ID) != "null" {
		t.Fatalf("response to invalid JSON = %+v, want one parse error (-32700) with id null", orphans)
	}
	if err := s.client.Call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatalf("server stopped answering after malformed input: %v", err)
	}
}

func TestPanicInHandlerBecomesErrorReply(t *testing.T) {
	methods["am-lsp/test.panic"] = method{call: func(context.Context, *Server, jsonrpc2.RawMessage) (any, error) { panic("boom") }}
	t.Cleanup(func() { delete(methods, "am-lsp/test.panic") })
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 5*time.Second)
	if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
		t.Fatal(err)
	}
	err := s.client.Call(ctx, "am-lsp/test.panic", nil, nil)
	if code := rpcCode(t, err); code != -32603 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic reply = %v, want internal error naming the panic", err)
	}
	if err := s.client.Call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatalf("server did not survive a panic: %v", err)
	}
}

func TestCancelRequestWithNumericAndStringIDs(t *testing.T) {
	started := make(chan struct{}, 2)
	methods["am-lsp/test.block"] = method{call: func(ctx context.Context, _ *Server, _ jsonrpc2.RawMessage) (any, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return "not cancelled", nil
		}
	}}
	t.Cleanup(func() { delete(methods, "am-lsp/test.block") })
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 8*time.Second)
	if _, err := s.client.Initialize(ctx, t.TempDir(), nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []any{s.client.NextID(), "req-7"} {
		errc := make(chan error, 1)
		go func() { errc <- s.client.CallWithID(ctx, id, "am-lsp/test.block", nil, nil) }()
		<-started
		if err := s.client.Cancel(id); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			if code := rpcCode(t, err); code != -32800 {
				t.Errorf("id %v: code %d, want -32800 (RequestCancelled)", id, code)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("id %v (%T): cancel was not honoured", id, id)
		}
	}
}

// TestDidChangeIsAppliedBeforeTheNextHover sends an edit and a hover back to back, without
// waiting: the hover must see the edited text (a function renamed by the edit).
func TestDidChangeIsAppliedBeforeTheNextHover(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/order\n\ngo 1.26\n")
	src := `package order

import prom "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"

//autometrics:inst
func Before() {
	defer prom.Instrument(prom.PreInstrument(prom.NewContext(nil)), nil) //autometrics:defer
}
`
	file := filepath.Join(dir, "order.go")
	writeFile(t, file, src)
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 20*time.Second)
	if _, err := s.client.Initialize(ctx, dir, nil, map[string]any{"prometheusUrl": closedPortURL}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Open(file, src); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"After", "Later"} {
		// Line 5 is `func Before() {`: replace the name (characters 5..11 at first).
		old := []string{"Before", "After"}[i]
		if err := s.client.Change(file, i+2, 5, 5, 5, 5+len(old), name); err != nil {
			t.Fatal(err)
		}
		md, err := s.client.Hover(ctx, file, 5, 6)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md, `function="`+name+`"`) || !strings.Contains(md, `module="example.com/order"`) {
			t.Fatalf("hover after renaming to %s:\n%s", name, md)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
