package lsp

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// applyEdit applies an LSP workspace edit for one file to text, as an editor does.
func applyEdit(t *testing.T, text string, edits []textEdit) string {
	t.Helper()
	sort.Slice(edits, func(i, j int) bool {
		a, b := edits[i].Range.Start, edits[j].Range.Start
		return a.Line > b.Line || (a.Line == b.Line && a.Character > b.Character)
	})
	out := []byte(text)
	for _, e := range edits {
		start, err1 := textdoc.Offset(out, textdoc.Position{Line: e.Range.Start.Line, Character: e.Range.Start.Character})
		end, err2 := textdoc.Offset(out, textdoc.Position{Line: e.Range.End.Line, Character: e.Range.End.Character})
		if err1 != nil || err2 != nil {
			t.Fatalf("edit out of range: %+v", e)
		}
		out = append(out[:start:start], append([]byte(e.NewText), out[end:]...)...)
	}
	return string(out)
}

func TestCodeActionsInstrumentAndDiagnose(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/actions\n\ngo 1.26\n")
	src := "package actions\n\n// Plain does things.\nfunc Plain() error {\n\treturn nil\n}\n\n//autometrics:inst --slo API --success-rate 99\nfunc Typo() {}\n\nfunc Other() {}\n"
	file := filepath.Join(dir, "actions.go")
	writeFile(t, file, src)
	rec := &recorder{}
	s := startSession(t, nil, rec.handle)
	ctx := ctxFor(t, time.Minute)
	if _, err := s.client.Initialize(ctx, dir, nil, map[string]any{"prometheusUrl": closedPortURL}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Open(file, src); err != nil {
		t.Fatal(err)
	}
	// The unknown flag is diagnosed with the closest valid one.
	if _, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", "--success-target"); err != nil {
		t.Fatal(err)
	}
	actionsAt := func(line int) []codeActionResult {
		var got []codeActionResult
		err := s.client.Call(ctx, "textDocument/codeAction", map[string]any{
			"textDocument": map[string]any{"uri": lspclient.FileURI(file)},
			"range":        map[string]any{"start": map[string]any{"line": line, "character": 6}, "end": map[string]any{"line": line, "character": 6}},
			"context":      map[string]any{"diagnostics": []any{}},
		}, &got)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var instrument *codeActionResult
	got := actionsAt(3)
	for i := range got {
		if got[i].Title == "Instrument Plain with Autometrics" {
			instrument = &got[i]
		}
	}
	if instrument == nil || instrument.Kind != "refactor.rewrite" {
		t.Fatalf("no Instrument action on Plain: %+v", got)
	}
	edited := applyEdit(t, src, instrument.Edit.Changes[lspclient.FileURI(file)])
	for _, want := range []string{"//autometrics:inst\nfunc Plain", "//autometrics:shadow-ctx", "//autometrics:defer", `"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"`} {
		if !strings.Contains(edited, want) {
			t.Errorf("edited file lacks %q:\n%s", want, edited)
		}
	}
	if err := s.client.Notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": lspclient.FileURI(file), "version": 2},
		"contentChanges": []any{map[string]any{"text": edited}},
	}); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(edited[:strings.Index(edited, "func Plain")], "\n")
	for _, a := range actionsAt(line) {
		if strings.HasPrefix(a.Title, "Instrument Plain") {
			t.Errorf("still offered after instrumenting: %s", a.Title)
		}
	}
	md, err := s.client.Hover(ctx, file, line, 6)
	if err != nil || !strings.Contains(md, `function="Plain", module="example.com/actions"`) {
		t.Errorf("the instrumented function has no card: %v\n%s", err, md)
	}

	// am-lsp.instrument with an SLO: the server asks the editor to apply the edit.
	var answer struct{ Applied bool }
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.instrument", "arguments": []any{map[string]any{
		"uri": lspclient.FileURI(file), "position": map[string]any{"line": 0, "character": 0},
		"slo": map[string]any{"name": "API", "successTarget": 99.9},
	}}}, &answer)
	if err == nil {
		t.Errorf("instrumenting at the package clause was accepted")
	}
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.instrument", "arguments": []any{map[string]any{
		"uri": lspclient.FileURI(file), "position": map[string]any{"line": line, "character": 6},
		"slo": map[string]any{"name": "API", "successTarget": 42},
	}}}, &answer)
	if code := rpcCode(t, err); code != -32602 || !strings.Contains(err.Error(), "SLO") {
		t.Errorf("an invalid objective: %v", err)
	}
	otherLine := strings.Count(edited[:strings.Index(edited, "func Other")], "\n")
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.instrument", "arguments": []any{map[string]any{
		"uri": lspclient.FileURI(file), "position": map[string]any{"line": otherLine, "character": 6},
		"slo": map[string]any{"name": "API", "successTarget": 99.9},
	}}}, &answer)
	if err != nil {
		t.Fatal(err)
	}
	applied := rec.wait(t, "workspace/applyEdit", "WithSloName")
	var p struct {
		Edit workspaceEdit
	}
	if err := json.Unmarshal(applied.Params, &p); err != nil {
		t.Fatal(err)
	}
	withSLO := applyEdit(t, edited, p.Edit.Changes[lspclient.FileURI(file)])
	for _, want := range []string{"//autometrics:inst --slo \"API\" --success-target 99.9\nfunc Other", `autometrics.WithSloName("API")`, "autometrics.WithAlertSuccess(99.9)"} {
		if !strings.Contains(withSLO, want) {
			t.Errorf("applied edit lacks %q:\n%s", want, withSLO)
		}
	}
}
