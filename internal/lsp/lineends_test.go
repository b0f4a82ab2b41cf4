package lsp

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// lspLine is the zero-based LSP line of the first occurrence of marker in text, counting "\r\n",
// "\n" and a lone "\r" as line ends (as editors do), independently of internal/textdoc.
func lspLine(t *testing.T, text, marker string) int {
	t.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("%q not in the text", marker)
	}
	before := strings.ReplaceAll(text[:i], "\r\n", "\n")
	return strings.Count(before, "\n") + strings.Count(before, "\r")
}

// actionTitled returns the action whose title starts with title.
func actionTitled(t *testing.T, actions []codeActionResult, title string) codeActionResult {
	t.Helper()
	for _, a := range actions {
		if strings.HasPrefix(a.Title, title) {
			return a
		}
	}
	t.Fatalf("no action %q among %+v", title, actions)
	return codeActionResult{}
}

// TestLoneCarriageReturn: text pasted with a lone "\r" ends a line for the editor; the hover on
// a function after it finds the function, and Instrument writes its statements inside the body.
func TestLoneCarriageReturn(t *testing.T) {
	src := "package cr\n\n// Handle was pasted with a lone CR:\r// this is the next line for the editor.\n//\n//autometrics:inst\nfunc Handle() error {\n\treturn nil\n}\n\n// Plain is not instrumented.\r// Another pasted line.\nfunc Plain() error {\n\treturn nil\n}\n"
	s, rec, ctx, file := openForActions(t, "example.com/cr", "cr.go", src)
	md, err := s.client.Hover(ctx, file, lspLine(t, src, "func Handle"), len("func Ha"))
	if err != nil || !strings.Contains(md, `function="Handle"`) {
		t.Fatalf("hover on Handle after a lone CR: %v\n%q", err, md)
	}
	var answer struct{ Applied bool }
	err = s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.instrument", "arguments": []any{map[string]any{
		"uri": lspclient.FileURI(file), "position": map[string]any{"line": lspLine(t, src, "func Plain"), "character": len("func Pl")},
	}}}, &answer)
	if err != nil {
		t.Fatal(err)
	}
	applied := rec.wait(t, "workspace/applyEdit", "shadow-ctx")
	var p struct{ Edit workspaceEdit }
	if err := json.Unmarshal(applied.Params, &p); err != nil {
		t.Fatal(err)
	}
	edited := applyEdit(t, src, p.Edit.Changes[lspclient.FileURI(file)])
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cr.go", edited, parser.ParseComments)
	if err != nil {
		t.Fatalf("the instrumented file does not parse: %v\n%s", err, edited)
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "Plain" {
			continue
		}
		body := edited[fset.Position(fd.Body.Lbrace).Offset:fset.Position(fd.Body.Rbrace).Offset]
		if !strings.Contains(body, "//autometrics:shadow-ctx") || !strings.Contains(body, "return nil") {
			t.Errorf("the statements are not in Plain's body:\n%s", edited)
		}
		if fd.Doc == nil || !strings.Contains(fd.Doc.Text(), "autometrics:inst") && !strings.Contains(edited, "//autometrics:inst\nfunc Plain") {
			t.Errorf("no directive on Plain:\n%s", edited)
		}
	}
}

// TestCRLFInstrumentThenRemove: in a CRLF file the inserted lines end in "\r\n", and Remove
// restores the file byte for byte.
func TestCRLFInstrumentThenRemove(t *testing.T) {
	src := strings.ReplaceAll("package crlf\n\nimport \"fmt\"\n\n// Plain prints.\nfunc Plain(name string) error {\n\tfmt.Println(name)\n\treturn nil\n}\n", "\n", "\r\n")
	s, _, ctx, file := openForActions(t, "example.com/crlf", "crlf.go", src)
	line := lspLine(t, src, "func Plain")
	add := actionTitled(t, codeActionsAt(t, ctx, s, file, line, 6), "Instrument Plain with Autometrics")
	edited := applyEdit(t, src, add.Edit.Changes[lspclient.FileURI(file)])
	if strings.Count(edited, "\n") != strings.Count(edited, "\r\n") || strings.Count(edited, "\r") != strings.Count(edited, "\r\n") {
		t.Fatalf("instrumenting mixed line ends into a CRLF file:\n%q", edited)
	}
	for _, want := range []string{"//autometrics:inst\r\nfunc Plain", "//autometrics:defer\r\n", "\"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\""} {
		if !strings.Contains(edited, want) {
			t.Errorf("instrumented file lacks %q:\n%q", want, edited)
		}
	}
	if err := s.client.Notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": lspclient.FileURI(file), "version": 2},
		"contentChanges": []any{map[string]any{"text": edited}},
	}); err != nil {
		t.Fatal(err)
	}
	remove := actionTitled(t, codeActionsAt(t, ctx, s, file, lspLine(t, edited, "func Plain"), 6), "Remove Autometrics from Plain")
	if restored := applyEdit(t, edited, remove.Edit.Changes[lspclient.FileURI(file)]); restored != src {
		t.Errorf("Remove after Instrument in a CRLF file:\n%q\nwant\n%q", restored, src)
	}
}
