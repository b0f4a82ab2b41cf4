package lsp

import (
	"context"
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

// openForActions writes src as the file name of a new module and opens it in a new session.
func openForActions(t *testing.T, module, name, src string) (*testSession, *recorder, context.Context, string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module "+module+"\n\ngo 1.26\n")
	file := filepath.Join(dir, name)
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
	return s, rec, ctx, file
}

// codeActionsAt asks for the code actions at a cursor.
func codeActionsAt(t *testing.T, ctx context.Context, s *testSession, file string, line, character int) []codeActionResult {
	t.Helper()
	var got []codeActionResult
	err := s.client.Call(ctx, "textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": lspclient.FileURI(file)},
		"range":        map[string]any{"start": map[string]any{"line": line, "character": character}, "end": map[string]any{"line": line, "character": character}},
		"context":      map[string]any{"diagnostics": []any{}},
	}, &got)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCodeActionsInstrumentAndDiagnose(t *testing.T) {
	src := "package actions\n\n// Plain does things.\nfunc Plain() error {\n\treturn nil\n}\n\n//autometrics:inst --slo API --success-rate 99\nfunc Typo() {}\n\nfunc Other() {}\n"
	s, rec, ctx, file := openForActions(t, "example.com/actions", "actions.go", src)
	// The unknown flag is diagnosed with the closest valid one.
	if _, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", "--success-target"); err != nil {
		t.Fatal(err)
	}
	actionsAt := func(line int) []codeActionResult { return codeActionsAt(t, ctx, s, file, line, 6) }
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

// TestCodeActionsFollowTheGenerator drives, through textDocument/codeAction and
// workspace/executeCommand as an editor does, what the generator decides: a broken
// documentation block is an error with a fix, "keep the directive" removes only what go
// generate wrote, and a latency outside the default buckets is accepted where the generator
// runs with --custom-latency.
func TestCodeActionsFollowTheGenerator(t *testing.T) {
	src := `package gen

import (
	"time"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

//go:generate autometrics --custom-latency

// Broken is documented.
//
//	autometrics:doc-start Generated documentation by Autometrics.
//
// # Autometrics
//
//autometrics:inst
func Broken() {}

// Done is documented.
//
//autometrics:inst --slo API --latency-ms 300 --latency-target 99
func Done() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
		autometrics.WithSloName("API"),
		autometrics.WithAlertLatency(300000000*time.Nanosecond, 99),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	println()
}

func Plain() {}
`
	s, rec, ctx, file := openForActions(t, "example.com/gen", "gen.go", src)
	note, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", `"doc-markers"`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(note.Params), "not a default latency bucket") {
		t.Errorf("--latency-ms 300 reported although the generator runs with --custom-latency: %s", note.Params)
	}
	lineOf := func(text, s string) int { return strings.Count(text[:strings.Index(text, s)], "\n") }
	actionsAt := func(line int) map[string]codeActionResult {
		byTitle := map[string]codeActionResult{}
		for _, a := range codeActionsAt(t, ctx, s, file, line, 3) {
			byTitle[a.Title] = a
		}
		return byTitle
	}

	fix, ok := actionsAt(lineOf(src, "autometrics:doc-start"))["Remove the broken Autometrics documentation block of Broken"]
	if !ok || fix.Kind != "quickfix" || len(fix.Diagnostics) != 1 || fix.Diagnostics[0].Code != "doc-markers" {
		t.Fatalf("no quick fix for the broken block: %+v", fix)
	}
	fixed := applyEdit(t, src, fix.Edit.Changes[lspclient.FileURI(file)])
	if !strings.Contains(fixed, "// Broken is documented.\n//\n//autometrics:inst\nfunc Broken() {}") || strings.Contains(fixed, "# Autometrics") {
		t.Errorf("the fix left:\n%s", fixed)
	}

	keep, ok := actionsAt(lineOf(src, "func Done"))["Remove the Autometrics statements from Done, keep the directive"]
	if !ok || keep.Kind != "refactor.rewrite" {
		t.Fatalf("no keep-the-directive removal on Done")
	}
	kept := applyEdit(t, src, keep.Edit.Changes[lspclient.FileURI(file)])
	if !strings.Contains(kept, "//autometrics:inst --slo API --latency-ms 300 --latency-target 99\nfunc Done() {\n\tprintln()\n}") ||
		strings.Contains(kept, "autometrics:defer") || strings.Contains(kept, `"github.com/autometrics-dev`) || strings.Contains(kept, `"time"`) {
		t.Errorf("keep-the-directive removal left:\n%s", kept)
	}

	var answer struct{ Applied bool }
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.instrument", "arguments": []any{map[string]any{
		"uri": lspclient.FileURI(file), "position": map[string]any{"line": lineOf(src, "func Plain"), "character": 6},
		"slo": map[string]any{"name": "API", "latencyMs": 300, "latencyTarget": 99},
	}}}, &answer)
	if err != nil {
		t.Fatalf("a 300 ms objective under --custom-latency was refused: %v", err)
	}
	applied := rec.wait(t, "workspace/applyEdit", "300000000*time.Nanosecond")
	if !strings.Contains(string(applied.Params), `--latency-ms 300 --latency-target 99`) {
		t.Errorf("applied edit lacks the directive: %s", applied.Params)
	}
}
