package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// The tracing action reuses the tracer another file of the package declares, names the span
// after the package and function, and is replaced by the removal once applied.
func TestCodeActionTraceWithOpenTelemetry(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/traced\n\ngo 1.26\n")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub", "tracer.go"), "package sub\n\nimport \"go.opentelemetry.io/otel\"\n\nvar shared = otel.Tracer(\"example.com/traced/sub\")\n")
	src := "package sub\n\nimport \"context\"\n\n// Work works.\nfunc Work(ctx context.Context) error {\n\treturn ctx.Err()\n}\n"
	file := filepath.Join(dir, "sub", "work.go")
	writeFile(t, file, src)
	s := startSession(t, nil, (&recorder{}).handle)
	ctx := ctxFor(t, time.Minute)
	if _, err := s.client.Initialize(ctx, dir, nil, map[string]any{"prometheusUrl": closedPortURL}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Open(file, src); err != nil {
		t.Fatal(err)
	}
	actions := func(line int) []codeActionResult {
		var got []codeActionResult
		err := s.client.Call(ctx, "textDocument/codeAction", map[string]any{
			"textDocument": map[string]any{"uri": lspclient.FileURI(file)},
			"range":        map[string]any{"start": map[string]any{"line": line, "character": 6}, "end": map[string]any{"line": line, "character": 6}},
			"context":      map[string]any{"diagnostics": []any{}, "only": []string{"refactor"}},
		}, &got)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var trace *codeActionResult
	got := actions(5)
	for i := range got {
		if got[i].Title == "Trace Work with OpenTelemetry" {
			trace = &got[i]
		}
	}
	if trace == nil {
		t.Fatalf("no tracing action: %+v", got)
	}
	edited := applyEdit(t, src, trace.Edit.Changes[lspclient.FileURI(file)])
	for _, want := range []string{`ctx, span := shared.Start(ctx, "sub.Work")`, "span.RecordError(err)", `"go.opentelemetry.io/otel/codes"`, "(err error)"} {
		if !strings.Contains(edited, want) {
			t.Errorf("traced file lacks %q:\n%s", want, edited)
		}
	}
	if strings.Contains(edited, "otel.Tracer(") {
		t.Errorf("a second tracer was declared:\n%s", edited)
	}
	if err := s.client.Notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": lspclient.FileURI(file), "version": 2},
		"contentChanges": []any{map[string]any{"text": edited}},
	}); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(edited[:strings.Index(edited, "func Work")], "\n")
	var titles []string
	for _, a := range actions(line) {
		titles = append(titles, a.Title)
	}
	if strings.Contains(strings.Join(titles, "|"), "Trace Work") || !strings.Contains(strings.Join(titles, "|"), "Remove the OpenTelemetry span from Work") {
		t.Errorf("actions on the traced function: %q", titles)
	}
}
