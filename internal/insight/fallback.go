package insight

import (
	"go/ast"
	"go/parser"
	"go/token"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// syntaxFallback finds the function declared at offset in the current text of path by parsing
// that text alone, for hovers that come before the background analysis of that text finished
// (or when the go command is slow). It needs the package path of an earlier analysis; calls are
// not resolved here.
func (w *Workspace) syntaxFallback(path string, offset int, stale *analysis.Package) *analysis.Function {
	snap, ok := w.docs.Get(path)
	if !ok || stale == nil {
		return nil
	}
	fset := token.NewFileSet()
	file, _ := parser.ParseFile(fset, path, snap.Text, parser.ParseComments|parser.AllErrors|parser.SkipObjectResolution)
	if file == nil {
		return nil
	}
	for _, fn := range analysis.DetectFiles(fset, []*ast.File{file}, stale.Path, stale.Name) {
		if fn.NameSpan.Contains(offset) {
			return fn
		}
	}
	return nil
}
