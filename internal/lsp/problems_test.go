package lsp

import (
	"os"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// A closed file's sweep problems, published off the read loop, never land after a newer state
// the sweep published: here didClose's publish is held until the sweep, the demo's folder
// removed, has cleared the file's breached SLO; the publish then sent shows the cleared state
// (before publishes were ordered, it sent the breach read at close time, and the file kept a
// stale error).
func TestClosedFilePublishDoesNotOvertakeANewerSweep(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	handle := demoFunction(t, fns, "example.com/demo/api", "(*Server).Handle")
	file := handle.NameSpan.File
	ctx := ctxFor(t, 3*time.Minute)
	demo := demoModule(t)
	s := startSession(t, nil, nil)
	held, release := make(chan struct{}, 1), make(chan struct{})
	s.srv.beforeClosePublish = func(path string) {
		if path == file {
			held <- struct{}{}
			<-release
		}
	}
	if _, err := s.client.Initialize(ctx, demo, nil, map[string]any{"prometheusUrl": prom.URL}); err != nil {
		t.Fatal(err)
	}
	_, seen := waitDiagnostics(ctx, t, s, file, 0, func(d fileDiagnostics) bool { return len(d.Diagnostics) > 0 })

	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"uri": lspclient.FileURI(file)}
	if err := s.client.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file), "languageId": "go", "version": 1, "text": string(text)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Notify("textDocument/didClose", map[string]any{"textDocument": doc}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("didClose published nothing")
	}
	if err := s.client.Notify("workspace/didChangeWorkspaceFolders", map[string]any{
		"event": map[string]any{"added": []any{}, "removed": []any{map[string]any{"uri": lspclient.FileURI(demo), "name": "demo"}}},
	}); err != nil {
		t.Fatal(err)
	}
	_, seen = waitDiagnostics(ctx, t, s, file, seen, func(d fileDiagnostics) bool { return len(d.Diagnostics) == 0 })
	close(release)
	last, _ := waitDiagnostics(ctx, t, s, file, seen, func(fileDiagnostics) bool { return true })
	if len(last.Diagnostics) != 0 {
		t.Fatalf("the closed file's last diagnostics are %+v, want none (the sweep cleared them)", last.Diagnostics)
	}
}
