package instrument

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// insertStatements returns the insertion of block (lines of a body, see shape.block) at the
// top of decl's body, followed by a blank line when the body has more, as the generator writes it.
// A body written on one line is reformatted (only the body).
func insertStatements(f *file, decl *ast.FuncDecl, block string) ([]Edit, error) {
	body := decl.Body
	lb, rb := f.off(body.Lbrace), f.off(body.Rbrace)
	le := f.lineEnd(lb)
	if le >= rb { // "{ … }" on one line
		var edits []Edit
		// gofmt aligns the bodies of consecutive one-line functions: once multi-line, the body
		// follows the signature after one space.
		if sig := f.off(decl.Type.End()); sig < lb && f.blank(sig, lb) && lb-sig != 1 {
			edits = append(edits, Edit{Start: sig, End: lb, NewText: " "})
		}
		if f.blank(lb+1, rb) {
			return append(edits, Edit{Start: lb + 1, End: rb, NewText: "\n" + block + "\n"}), nil
		}
		body, err := reformatBody(f, body, block)
		return append(edits, body...), err
	}
	if rest := bytes.TrimSpace(f.src[lb+1 : le]); len(rest) > 0 && !lineComment(rest) {
		return reformatBody(f, body, block) // a statement follows "{" on its line
	}
	next := le + 1
	closing := func(at int) bool { return f.lineStart(rb) == at && f.blank(at, rb) }
	if blank, after := f.blankLineAt(next); blank {
		// gofmt keeps a blank line at the top of a body: the statements go after it, so that
		// Remove gives the body back as it was.
		for {
			more, a := f.blankLineAt(after)
			if !more {
				break
			}
			after = a
		}
		text := block + "\n"
		if !closing(after) {
			text += "\n"
		}
		return []Edit{{Start: after, End: after, NewText: text}}, nil
	}
	text := "\n" + block
	if !closing(next) {
		text += "\n"
	}
	return []Edit{{Start: le, End: le, NewText: text}}, nil
}

// lineComment reports whether b is one comment that ends the line: "// …" or "/* … */".
func lineComment(b []byte) bool {
	if bytes.HasPrefix(b, []byte("//")) {
		return true
	}
	return bytes.HasPrefix(b, []byte("/*")) && bytes.Index(b, []byte("*/")) == len(b)-2
}

// reformatBody rewrites a body that cannot take a plain insertion (written on one line, or
// with a statement on the line of its "{") with the statements at its top, formatted as gofmt
// would, and returns the minimal edit.
func reformatBody(f *file, body *ast.BlockStmt, block string) ([]Edit, error) {
	lb, rb := f.off(body.Lbrace), f.off(body.Rbrace)
	src := "package p\n\nfunc _() {\n" + block + "\n\n" + string(f.src[lb+1:rb]) + "\n}\n"
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%w: the body cannot be reformatted: %v", ErrUnsafe, err)
	}
	fset := token.NewFileSet()
	parsed, err := parser.ParseFile(fset, "", out, parser.ParseComments)
	if err != nil || len(parsed.Decls) != 1 {
		return nil, fmt.Errorf("%w: the reformatted body does not parse", ErrUnsafe)
	}
	nb := parsed.Decls[0].(*ast.FuncDecl).Body
	newBody := string(out[fset.Position(nb.Lbrace).Offset : fset.Position(nb.Rbrace).Offset+1])
	return []Edit{minimalEdit(f.src, lb, rb+1, newBody)}, nil
}

// statementRange is the bytes a generated statement occupies: the statement and the marker (or
// other) comment after it on its line, widened to whole lines when nothing else is on them.
func statementRange(f *file, s analysis.Span) (int, int) {
	return f.wholeLines(s.Start, s.End)
}

// removeStatements deletes the instrumentation statements (spans from the analysis), their
// marker comments, and the blank line the generator leaves after them. A body left empty
// becomes "{}".
func removeStatements(f *file, body *ast.BlockStmt, spans []analysis.Span) []Edit {
	var edits []Edit
	for i, s := range spans {
		start, end := statementRange(f, s)
		if i == len(spans)-1 && start == f.lineStart(start) {
			if blank, after := f.blankLineAt(end); blank {
				end = after
			}
		}
		if n := len(edits); n > 0 && edits[n-1].End >= start {
			edits[n-1].End = max(edits[n-1].End, end)
			continue
		}
		edits = append(edits, Edit{Start: start, End: end})
	}
	lb, rb := f.off(body.Lbrace), f.off(body.Rbrace)
	if rest, err := Apply(f.src[:rb], edits); err == nil && len(bytes.TrimSpace(rest[lb+1:])) == 0 {
		return []Edit{{Start: lb + 1, End: rb}}
	}
	return edits
}
