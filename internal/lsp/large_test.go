package lsp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// TestRapidEditsPublishFewDiagnostics: 10 000 didChange in a burst publish the diagnostics of
// the last version, not one set per change.
func TestRapidEditsPublishFewDiagnostics(t *testing.T) {
	src := "package burst\n\n//autometrics:inst --bogus\nfunc Handle() {}\n\n// \n"
	s, _, ctx, file := openForActions(t, "example.com/burst", "burst.go", src)
	const edits = 10000
	for v := 2; v <= edits+1; v++ {
		// Type one character at the end of the last comment line.
		if err := s.client.Change(file, v, 5, 3+v-2, 5, 3+v-2, "x"); err != nil {
			t.Fatal(err)
		}
	}
	last := fmt.Sprintf(`"version":%d`, edits+1)
	m, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", last)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Params), "--bogus") {
		t.Errorf("the last publish lacks the directive diagnostic: %s", m.Params)
	}
	time.Sleep(2 * diagnosticsDelay)
	n := len(s.client.Notifications("textDocument/publishDiagnostics"))
	t.Logf("%d didChange → %d publishDiagnostics", edits, n)
	if n > 100 {
		t.Errorf("%d didChange published diagnostics %d times; want a handful", edits, n)
	}
}

// largeSource is a Go file of at least size bytes: instrumented functions F0, F1…, one with a
// directive the generator rejects. It returns the text and the line of the last function.
func largeSource(size int) (string, int) {
	var sb strings.Builder
	sb.WriteString("package large\n\nimport \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n\n//autometrics:inst --bogus\nfunc Typo() {}\n")
	line, last := 6, 0
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "\n// F%d is instrumented.\n//\n//autometrics:inst\nfunc F%d() int {\n\tamCtx := autometrics.PreInstrument(autometrics.NewContext(\n\t\tnil,\n\t\tautometrics.WithConcurrentCalls(true),\n\t\tautometrics.WithCallerName(true),\n\t)) //autometrics:shadow-ctx\n\tdefer autometrics.Instrument(amCtx, nil) //autometrics:defer\n\n\treturn %d\n}\n", i, i, i)
		last = line + 4
		line += 14
	}
	return sb.String(), last
}

// TestLargeDocumentServesHoversAndLenses: a file beyond insight.MaxAnalysedBytes gets hovers and
// CodeLenses, a notice saying what is skipped, and no code diagnostics or actions.
func TestLargeDocumentServesHoversAndLenses(t *testing.T) {
	src, lastLine := largeSource(insight.MaxAnalysedBytes + 1)
	s, _, ctx, file := openForActions(t, "example.com/large", "large.go", src)
	if _, err := s.client.WaitNotification(ctx, "window/showMessage", "larger than 1 MiB"); err != nil {
		t.Fatal(err)
	}
	md, err := s.client.Hover(ctx, file, lastLine, len("func F"))
	if err != nil || !strings.Contains(md, `function="F`) {
		t.Fatalf("hover on the last function: %v\n%s", err, md)
	}
	var lenses []codeLensResult
	if err := s.client.Call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(src, "//autometrics:inst"); len(lenses) != want {
		t.Errorf("%d CodeLenses, want %d", len(lenses), want)
	}
	if got := codeActionsAt(t, ctx, s, file, lastLine, 6); len(got) != 0 {
		t.Errorf("code actions in a large file: %+v", got)
	}
	m, err := s.client.WaitNotification(ctx, "textDocument/publishDiagnostics", "large.go")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Diagnostics []diagnosticResult }
	if err := json.Unmarshal(m.Params, &p); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Diagnostics {
		if d.Code != "slo" {
			t.Errorf("code diagnostic in a large file: %+v", d)
		}
	}
}
