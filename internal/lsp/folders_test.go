package lsp

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// fileDiagnostics is one textDocument/publishDiagnostics as the client received it.
type fileDiagnostics struct {
	URI         string `json:"uri"`
	Diagnostics []struct {
		Severity int    `json:"severity"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	} `json:"diagnostics"`
}

// waitDiagnostics waits for a publishDiagnostics of file, among those received after the first
// skip, that ok accepts, and returns it with the number of publishDiagnostics received up to it.
func waitDiagnostics(ctx context.Context, t *testing.T, s *testSession, file string, skip int, ok func(fileDiagnostics) bool) (fileDiagnostics, int) {
	t.Helper()
	for {
		notes := s.client.Notifications("textDocument/publishDiagnostics")
		for i := skip; i < len(notes); i++ {
			var d fileDiagnostics
			if err := json.Unmarshal(notes[i].Params, &d); err != nil {
				t.Fatal(err)
			}
			if d.URI == lspclient.FileURI(file) && ok(d) {
				return d, i + 1
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no such diagnostics of %s among %d published", file, len(notes))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A workspace folder added in the editor is swept: the breached SLOs of its files, none of them
// open, arrive as diagnostics; once the folder is removed again they are cleared (an empty
// list published for each file). The addition comes in Neovim 0.7's shape, whose unchanged side
// is [[]] rather than [].
func TestWorkspaceFolderAddedAndRemoved(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	handle := demoFunction(t, fns, "example.com/demo/api", "(*Server).Handle")
	ctx := ctxFor(t, 3*time.Minute)
	s := startSession(t, nil, nil)
	first := t.TempDir()
	var result struct {
		Capabilities struct {
			Workspace struct {
				WorkspaceFolders struct {
					Supported           bool `json:"supported"`
					ChangeNotifications bool `json:"changeNotifications"`
				} `json:"workspaceFolders"`
			} `json:"workspace"`
		} `json:"capabilities"`
	}
	if err := s.client.Call(ctx, "initialize", map[string]any{
		"processId":             os.Getpid(),
		"rootUri":               lspclient.FileURI(first),
		"workspaceFolders":      []map[string]any{{"uri": lspclient.FileURI(first), "name": "first"}},
		"capabilities":          map[string]any{"workspace": map[string]any{"workspaceFolders": true}},
		"initializationOptions": map[string]any{"prometheusUrl": prom.URL},
	}, &result); err != nil {
		t.Fatal(err)
	}
	if f := result.Capabilities.Workspace.WorkspaceFolders; !f.Supported || !f.ChangeNotifications {
		t.Fatalf("workspace folders capability %+v, want supported with change notifications", f)
	}
	if err := s.client.Notify("initialized", map[string]any{}); err != nil {
		t.Fatal(err)
	}

	demo := demoModule(t)
	folders := func(dirs ...string) []any {
		out := []any{}
		for _, d := range dirs {
			out = append(out, map[string]any{"uri": lspclient.FileURI(d), "name": "demo"})
		}
		return out
	}
	change := func(added, removed []any) {
		t.Helper()
		if err := s.client.Notify("workspace/didChangeWorkspaceFolders", map[string]any{
			"event": map[string]any{"added": added, "removed": removed},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Added as Neovim 0.7 does it: the side left unchanged is [[]].
	change(folders(demo), []any{[]any{}})
	got, seen := waitDiagnostics(ctx, t, s, handle.NameSpan.File, 0, func(d fileDiagnostics) bool { return len(d.Diagnostics) > 0 })
	if d := got.Diagnostics[0]; d.Code != "slo" || d.Severity != severityError || !strings.Contains(d.Message, "breached") {
		t.Errorf("diagnostic of the added folder's breached SLO: %+v", d)
	}
	if roots := s.srv.sweep.Roots(); len(roots) != 2 {
		t.Errorf("swept roots %v, want the first folder and the demo", roots)
	}

	change(folders(), folders(demo))
	waitDiagnostics(ctx, t, s, handle.NameSpan.File, seen, func(d fileDiagnostics) bool { return len(d.Diagnostics) == 0 })
	if roots := s.srv.sweep.Roots(); len(roots) != 1 || roots[0] != first {
		t.Errorf("swept roots %v after the removal, want only %s", roots, first)
	}
}
