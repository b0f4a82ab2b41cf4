package instrument

import (
	"fmt"
	"go/ast"
	"go/token"
)

// nameResults returns the edits that name a function's results so that its first error result
// is a usable variable: the error result is named errName, every other unnamed result "_"
// (Go requires all results named when one is), and a result list without parentheses gets them.
// An error result named "_" is renamed. No return statement changes: results that were unnamed
// can only be returned explicitly.
func nameResults(f *file, ft *ast.FuncType, errField *ast.Field, errName string) ([]Edit, error) {
	var edits editSet
	results := ft.Results
	if !results.Opening.IsValid() {
		start, end := f.off(results.Pos()), f.off(results.End())
		edits.insert(start, "("+errName+" ")
		edits.insert(end, ")")
		return edits.result()
	}
	for _, field := range results.List {
		switch {
		case len(field.Names) == 0 && field == errField:
			edits.insert(f.off(field.Type.Pos()), errName+" ")
		case len(field.Names) == 0:
			edits.insert(f.off(field.Type.Pos()), "_ ")
		case field == errField && field.Names[0].Name == "_":
			edits.replace(f.off(field.Names[0].Pos()), f.off(field.Names[0].End()), errName)
		}
	}
	return edits.result()
}

// errorName picks the name of the error result: "err" unless naming the result so would not
// compile or would change what an identifier refers to, then "amErr", "amErr2", …
//
// A name is unusable when the signature already declares it; when the body declares it at its
// top level (the body's top-level scope is the results' scope) with var, const or type, or with a
// := that would then declare nothing new; or when the body refers to a package-level object of
// that name, which the result would shadow. It reports false when no name is free.
func errorName(f *file, fn *ast.FuncDecl, sig signature) (string, bool) {
	ok := func(name string) bool {
		if sig.names[name] {
			return false
		}
		declared := map[string]bool{}
		for n := range sig.names {
			declared[n] = true
		}
		for _, stmt := range fn.Body.List {
			if !topLevelOK(stmt, name, declared) {
				return false
			}
		}
		outer := false
		var visit func(n ast.Node) bool
		visit = func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr: // x.err names a field or method, not a variable
				ast.Inspect(n.X, visit)
				return false
			case *ast.Ident:
				if n.Name == name && f.outside(n) {
					outer = true
				}
			}
			return !outer
		}
		ast.Inspect(fn.Body, visit)
		return !outer
	}
	if ok("err") {
		return "err", true
	}
	for i := 1; i <= 100; i++ {
		name := "amErr"
		if i > 1 {
			name = fmt.Sprintf("amErr%d", i)
		}
		if ok(name) {
			return name, true
		}
	}
	return "", false
}

// topLevelOK checks one top-level statement of the body against a result named name, with
// declared the names the function's scope declares before it (updated).
func topLevelOK(stmt ast.Stmt, name string, declared map[string]bool) bool {
	switch s := stmt.(type) {
	case *ast.DeclStmt:
		gd, ok := s.Decl.(*ast.GenDecl)
		if !ok {
			return true
		}
		for _, spec := range gd.Specs {
			switch spec := spec.(type) {
			case *ast.ValueSpec:
				for _, n := range spec.Names {
					if n.Name == name {
						return false
					}
					declared[n.Name] = true
				}
			case *ast.TypeSpec:
				if spec.Name.Name == name {
					return false
				}
				declared[spec.Name.Name] = true
			}
		}
	case *ast.AssignStmt:
		if s.Tok != token.DEFINE {
			return true
		}
		var fresh []string
		for _, lhs := range s.Lhs {
			if id, ok := lhs.(*ast.Ident); ok && id.Name != "_" && !declared[id.Name] {
				fresh = append(fresh, id.Name)
				declared[id.Name] = true
			}
		}
		// With the result named name, a := whose only new variable was name declares nothing.
		return len(fresh) != 1 || fresh[0] != name
	case *ast.LabeledStmt:
		return topLevelOK(s.Stmt, name, declared)
	}
	return true
}
