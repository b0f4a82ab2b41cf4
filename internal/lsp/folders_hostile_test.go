package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// Malformed and hostile workspace folder changes neither crash nor stall the server: params
// that are null, of the wrong types, or name folders that are not file:// URIs change nothing;
// folders added twice count once, removing a folder never added changes nothing, and folders
// that do not exist, are symlinks or are nested in another root are roots like any other.
// Each change is followed by a request, which the server must still answer.
func TestHostileWorkspaceFolderChanges(t *testing.T) {
	s := startSession(t, nil, nil)
	ctx := ctxFor(t, 2*time.Minute) // catches a hang only
	first := t.TempDir()
	// No backend listens there: the sweep's fetches fail, which is not what this test looks at.
	if _, err := s.client.Initialize(ctx, first, nil, map[string]any{"prometheusUrl": "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(first, "sub")
	if err := os.Mkdir(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(first, link); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	folder := func(dir string) string {
		b, _ := json.Marshal(map[string]any{"uri": lspclient.FileURI(dir), "name": filepath.Base(dir)})
		return string(b)
	}
	for _, tc := range []struct {
		params string
		roots  []string
	}{
		{`null`, []string{first}},
		{`{}`, []string{first}},
		{`{"event":null}`, []string{first}},
		{`{"event":{"added":"x","removed":5}}`, []string{first}},
		{`{"event":{"added":[1,null,"file:///x",{"uri":7},{"uri":"https://example.com/x"},{"uri":"untitled:1"},[[]]],"removed":[{"uri":"file:///never/added"}]}}`, []string{first}},
		{`{"event":{"added":[` + folder(nested) + `,` + folder(nested) + `,` + folder(first) + `],"removed":[]}}`, []string{first, nested}},
		{`{"event":{"added":[` + folder(link) + `,` + folder(missing) + `],"removed":[` + folder(nested+"/") + `]}}`, []string{first, link, missing}},
		{`{"event":{"added":[],"removed":[` + folder(first) + `,` + folder(link) + `,` + folder(missing) + `,` + folder(missing) + `]}}`, nil},
		{`{"event":{"added":[` + folder(first) + `],"removed":[` + folder(first) + `]}}`, []string{first}},
	} {
		if err := s.client.Notify("workspace/didChangeWorkspaceFolders", json.RawMessage(tc.params)); err != nil {
			t.Fatal(err)
		}
		// The notification is handled on the read loop before the next message is read.
		var hover json.RawMessage
		if err := s.client.Call(ctx, "textDocument/hover", map[string]any{
			"textDocument": map[string]any{"uri": lspclient.FileURI(filepath.Join(first, "x.go"))},
			"position":     map[string]any{"line": 0, "character": 0},
		}, &hover); err != nil {
			t.Fatalf("after didChangeWorkspaceFolders %s: hover failed: %v", tc.params, err)
		}
		if got := s.srv.sweep.Roots(); !slices.Equal(got, tc.roots) {
			t.Errorf("after didChangeWorkspaceFolders %s: roots %v, want %v", tc.params, got, tc.roots)
		}
	}
}
