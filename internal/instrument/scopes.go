package instrument

import (
	"errors"
	"go/ast"
	"go/types"
)

// scopes tells which declaration an identifier of the file refers to, from type-checking the
// file alone: imports are not resolved (they become fake packages) and package-level names of
// the package's other files stay unresolved, which is all the actions need to tell locals from
// everything else.
type scopes struct {
	info      *types.Info
	fileScope *types.Scope // nil when the check gave none
}

// noImports is the importer of the check: every import fails, and go/types goes on with a
// fake package of that name.
type noImports struct{}

func (noImports) Import(string) (*types.Package, error) {
	return nil, errors.New("imports are not loaded")
}

// resolve type-checks the file, once.
func (f *file) resolve() *scopes {
	if f.scopes != nil {
		return f.scopes
	}
	s := &scopes{info: &types.Info{
		Defs:   map[*ast.Ident]types.Object{},
		Uses:   map[*ast.Ident]types.Object{},
		Scopes: map[ast.Node]*types.Scope{},
	}}
	func() {
		// go/types is robust on the parser's recovered trees; should it still panic, every
		// identifier counts as declared outside, which makes every answer the cautious one.
		defer func() { _ = recover() }()
		conf := types.Config{Importer: noImports{}, Error: func(error) {}, FakeImportC: true}
		_, _ = conf.Check(f.ast.Name.Name, f.fset, []*ast.File{f.ast}, s.info)
	}()
	s.fileScope = s.info.Scopes[f.ast]
	f.scopes = s
	return s
}

// outside reports whether id, an identifier of the file, refers to something declared outside
// every function: a package-level object, an import, a predeclared identifier, or something
// this file does not declare (the package's other files). It is false for identifiers that
// refer to a declaration inside a function (parameters, results, locals) and for fields and
// methods, which a package name can never clash with.
func (f *file) outside(id *ast.Ident) bool {
	s := f.resolve()
	obj := s.info.Defs[id]
	if obj == nil {
		obj = s.info.Uses[id]
	}
	if obj == nil {
		return true
	}
	parent := obj.Parent()
	switch {
	case parent == nil: // fields, methods
		return false
	case parent == types.Universe || parent == s.fileScope:
		return true
	case s.fileScope != nil && parent == s.fileScope.Parent(): // the package scope
		return true
	}
	return false
}

// sameObject reports whether a and b, identifiers of the file, refer to one declared object.
func (f *file) sameObject(a, b *ast.Ident) bool {
	s := f.resolve()
	object := func(id *ast.Ident) types.Object {
		if obj := s.info.Defs[id]; obj != nil {
			return obj
		}
		return s.info.Uses[id]
	}
	oa := object(a)
	return oa != nil && oa == object(b)
}
