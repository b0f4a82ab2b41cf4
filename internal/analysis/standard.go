package analysis

import (
	"go/ast"
	"go/build"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// ImportAt returns the import path of the package named by a qualified identifier pkg.F at
// offset of file (the cursor on pkg or on F), read from syntax alone; "" when offset is not on
// one, or pkg may be a local variable rather than the import (a parameter, a variable declared
// in the enclosing function). It lets a caller tell, before any type information, that a call
// goes into a package that cannot hold a measured function (IsStandard).
func (p *Package) ImportAt(file string, offset int) string {
	file = filepath.Clean(file)
	af := p.syntax[file]
	if af == nil {
		return ""
	}
	tf := p.fset.File(af.FileStart)
	offset, unchanged := p.toAnalysed(file, offset)
	if tf == nil || !unchanged || offset < 0 || offset > tf.Size() {
		return ""
	}
	path, id := identAt(af, tf, offset)
	if id == nil && offset > 0 {
		path, id = identAt(af, tf, offset-1)
	}
	if id == nil {
		return ""
	}
	sel, ok := path[1].(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	importPath, ok := readImports(af).paths[x.Name]
	if !ok {
		return ""
	}
	for _, n := range path {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if definesName(n, x.Name) {
				return ""
			}
		case *ast.FuncLit:
			if definesName(n, x.Name) {
				return ""
			}
		}
	}
	return importPath
}

// definesName reports whether node (a function) declares a parameter, result, receiver or
// variable called name anywhere inside it, which may shadow an import of that name.
func definesName(node ast.Node, name string) bool {
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.Field:
			for _, id := range n.Names {
				found = found || id.Name == name
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				found = found || id.Name == name
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok && id.Name == name {
						found = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok && id.Name == name {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

// IsStandard reports whether importPath names a package of the standard library (or cgo's "C"),
// whose functions are never instrumented or traced. It needs no go command: the type-checked
// list when p has one, else the first path element has no dot, the path is not inside p's own
// module, and GOROOT holds the package's directory. When in doubt it answers false.
func (p *Package) IsStandard(importPath string) bool {
	if importPath == "C" || p.standard[importPath] {
		return true
	}
	first, _, _ := strings.Cut(importPath, "/")
	if first == "" || strings.Contains(first, ".") {
		return false
	}
	if m := p.module.Path; m != "" && (importPath == m || strings.HasPrefix(importPath, m+"/")) {
		return false
	}
	goroot := build.Default.GOROOT
	if goroot == "" {
		return false
	}
	st, err := os.Stat(filepath.Join(goroot, "src", filepath.FromSlash(importPath)))
	return err == nil && st.IsDir()
}
