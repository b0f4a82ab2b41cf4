package instrument

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// file is one parsed file with what the actions need to know about it.
type file struct {
	name string
	src  []byte
	fset *token.FileSet
	tf   *token.File
	ast  *ast.File
	// errs are the byte offsets of the syntax errors.
	errs      []int
	generated bool            // "// Code generated … DO NOT EDIT."
	cgo       bool            // imports "C"
	test      bool            // a _test.go file
	gen       *generatorFlags // the file's //go:generate autometrics line, or nil
	imports   fileImports
	funcs     []*function
	// identCache memoizes identUsed.
	identCache map[string]bool
	// scopes resolves identifiers; computed on first use (see outside).
	scopes *scopes
}

// function is one function declaration with a body, and what the analysis detected on it.
type function struct {
	decl *ast.FuncDecl
	info *analysis.Function
	// clean: no syntax error lies inside the declaration, doc comment included.
	clean bool
}

// parseFile parses src with comments and runs the analysis' syntax-only detection on it. It
// fails only when the content has no package clause. Directives are read under the file's
// generator options (--custom-latency).
func parseFile(filename string, src []byte) (*file, error) {
	f := &file{name: filename, src: src, fset: token.NewFileSet()}
	astFile, err := parser.ParseFile(f.fset, filename, src, parser.ParseComments|parser.AllErrors|parser.SkipObjectResolution)
	if astFile == nil || astFile.Name == nil || astFile.Package == token.NoPos {
		return nil, fmt.Errorf("%s has no package clause: %w", filename, err)
	}
	if list, ok := err.(scanner.ErrorList); ok {
		for _, e := range list {
			f.errs = append(f.errs, e.Pos.Offset)
		}
	} else if err != nil {
		f.errs = append(f.errs, 0)
	}
	f.ast = astFile
	f.tf = f.fset.File(astFile.FileStart)
	f.generated = ast.IsGenerated(astFile)
	f.test = strings.HasSuffix(filename, "_test.go")
	f.gen = readGeneratorFlags(astFile)
	f.imports = readImports(astFile, f.gen)
	for _, spec := range astFile.Imports {
		if importPath(spec) == "C" {
			f.cgo = true
		}
	}
	pkg := astFile.Name.Name
	detected := analysis.DetectFile(f.fset, astFile, pkg, pkg)
	byName := map[int]*analysis.Function{}
	for _, fn := range detected {
		byName[fn.NameSpan.Start] = fn
	}
	for _, decl := range astFile.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil || fd.Name == nil {
			continue
		}
		info := byName[f.off(fd.Name.Pos())]
		if info == nil {
			continue
		}
		if d := info.Directive; d != nil && f.directiveOptions() != (analysis.DirectiveOptions{}) {
			info.Directive, _ = analysis.ParseDirectiveWith(string(src[d.Span.Start:d.Span.End]), f.directiveOptions())
			info.Directive.Span = d.Span
		}
		fn := &function{decl: fd, info: info}
		fn.clean = !f.errorIn(info.DeclSpan.Start, info.DeclSpan.End) && fd.Body.Rbrace.IsValid() &&
			f.off(fd.Body.Rbrace) < len(src) && src[f.off(fd.Body.Rbrace)] == '}'
		f.funcs = append(f.funcs, fn)
	}
	return f, nil
}

// off is the byte offset of pos, clamped to the content.
func (f *file) off(pos token.Pos) int {
	switch {
	case !pos.IsValid() || int(pos) < f.tf.Base():
		return 0
	case int(pos) > f.tf.Base()+f.tf.Size():
		return f.tf.Size()
	}
	return f.tf.Offset(pos)
}

// errorIn reports a syntax error at an offset in [start, end].
func (f *file) errorIn(start, end int) bool {
	for _, e := range f.errs {
		if e >= start && e <= end {
			return true
		}
	}
	return false
}

// importsClean reports that the package clause and every import declaration parsed without
// error, so that import edits cannot land in broken code.
func (f *file) importsClean() bool {
	end := f.off(f.ast.Name.End())
	for _, decl := range f.ast.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			end = max(end, f.off(gd.End()))
		}
	}
	return !f.errorIn(0, end)
}

// editable says why the file takes no edits, or nil.
func (f *file) editable() error {
	switch {
	case f.generated:
		return fmt.Errorf("%w: %s is a generated file", ErrUnsafe, f.name)
	case f.cgo:
		return fmt.Errorf("%w: %s uses cgo (import \"C\")", ErrUnsafe, f.name)
	case !f.importsClean():
		return fmt.Errorf("%w: the imports of %s do not parse", ErrUnsafe, f.name)
	}
	return nil
}

// at returns the function whose declaration (doc comment included) encloses offset.
func (f *file) at(offset int) *function {
	for _, fn := range f.funcs {
		if fn.info.DeclSpan.Contains(offset) {
			return fn
		}
	}
	return nil
}

// target returns the function at offset for an edit, or why there is none to edit.
func (f *file) target(offset int) (*function, error) {
	if err := f.editable(); err != nil {
		return nil, err
	}
	fn := f.at(offset)
	if fn == nil {
		return nil, ErrNoFunction
	}
	if !fn.clean {
		return nil, fmt.Errorf("%w: %s has a syntax error", ErrUnsafe, fn.info.QualifiedName())
	}
	return fn, nil
}

// lineStart returns the offset of the first byte of the line holding offset.
func (f *file) lineStart(offset int) int {
	return bytes.LastIndexByte(f.src[:offset], '\n') + 1
}

// lineEnd returns the offset of the newline ending the line holding offset (len(src) on the
// last line without one).
func (f *file) lineEnd(offset int) int {
	if i := bytes.IndexByte(f.src[offset:], '\n'); i >= 0 {
		return offset + i
	}
	return len(f.src)
}

// blank reports whether src[start:end] is only spaces and tabs (and carriage returns).
func (f *file) blank(start, end int) bool {
	return len(bytes.Trim(f.src[start:end], " \t\r")) == 0
}

// indentOf returns the white space that begins the line holding offset.
func (f *file) indentOf(offset int) string {
	start := f.lineStart(offset)
	end := start
	for end < len(f.src) && (f.src[end] == ' ' || f.src[end] == '\t') {
		end++
	}
	return string(f.src[start:end])
}

// wholeLines widens [start, end) to whole lines, newline included, when only white space shares
// those lines with it; otherwise it returns the range unchanged (end extended over trailing
// blanks and a line comment, so a marker comment goes with its statement).
func (f *file) wholeLines(start, end int) (int, int) {
	ls, le := f.lineStart(start), f.lineEnd(end)
	rest := bytes.TrimLeft(f.src[end:le], " \t\r")
	comment := bytes.HasPrefix(rest, []byte("//"))
	if f.blank(ls, start) && (len(rest) == 0 || comment) {
		if le < len(f.src) {
			le++
		}
		return ls, le
	}
	if comment {
		return start, le
	}
	return start, end
}

// blankLineAt reports whether the line starting at offset is empty but for white space, and
// returns the offset after it.
func (f *file) blankLineAt(offset int) (bool, int) {
	if offset >= len(f.src) {
		return false, offset
	}
	le := f.lineEnd(offset)
	if !f.blank(offset, le) || le >= len(f.src) {
		return false, offset
	}
	return true, le + 1
}

// inComment reports whether offset lies strictly inside a comment (an insertion there would
// end up in the comment).
func (f *file) inComment(offset int) bool {
	for _, g := range f.ast.Comments {
		for _, c := range g.List {
			if f.off(c.Pos()) < offset && offset < f.off(c.End()) {
				return true
			}
		}
	}
	return false
}

// text returns the source of a node.
func (f *file) text(n ast.Node) string {
	return string(f.src[f.off(n.Pos()):f.off(n.End())])
}
