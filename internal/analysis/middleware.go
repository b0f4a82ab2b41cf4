package analysis

import (
	"go/ast"
	"go/types"
	"slices"
)

// funcRef names a function or method that code refers to, possibly in another package.
type funcRef struct {
	pkgPath  string
	receiver string // receiver type name, "" for functions
	name     string
	// anyReceiver: a method whose receiver type could not be worked out; it matches the
	// package's only method of that name.
	anyReceiver bool
}

// middlewareRef is one midhttp.Autometrics(target, ...) call.
type middlewareRef struct {
	target      funcRef
	methodValue bool // target is a method value (s.Handle): the runtime name gets "-fm"
	call        Span // the midhttp.Autometrics call
}

// middlewareRefs finds the midhttp.Autometrics calls in the file, anywhere (function bodies and
// package-level initialisers), and resolves what they wrap.
func (fd *fileDetection) middlewareRefs() []middlewareRef {
	if len(fd.imports.middleware) == 0 && !fd.imports.dotMiddleware {
		return nil
	}
	var refs []middlewareRef
	for _, decl := range fd.file.Decls {
		enclosing, _ := decl.(*ast.FuncDecl)
		ast.Inspect(decl, func(n ast.Node) bool {
			call, ok := isCallTo(asExpr(n), "Autometrics", fd.imports.middleware, fd.imports.dotMiddleware, false)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if ref, ok := fd.resolveFuncExpr(unwrapHandlerFunc(call.Args[0]), enclosing); ok {
				ref.call = fd.span(call.Pos(), call.End())
				refs = append(refs, ref)
			}
			return true
		})
	}
	return refs
}

func asExpr(n ast.Node) ast.Expr {
	e, _ := n.(ast.Expr)
	return e
}

// unwrapHandlerFunc removes parentheses and conversions such as http.HandlerFunc(h).
func unwrapHandlerFunc(e ast.Expr) ast.Expr {
	for {
		e = ast.Unparen(e)
		call, ok := e.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return e
		}
		switch fun := ast.Unparen(call.Fun).(type) {
		case *ast.SelectorExpr:
			if fun.Sel.Name != "HandlerFunc" {
				return e
			}
		case *ast.Ident:
			if fun.Name != "HandlerFunc" {
				return e
			}
		default:
			return e
		}
		e = call.Args[0]
	}
}

// resolveFuncExpr works out which declared function e (an identifier or selector used as a
// value) denotes: through type information when there is some, else by syntax.
func (fd *fileDetection) resolveFuncExpr(e ast.Expr, enclosing *ast.FuncDecl) (middlewareRef, bool) {
	var id *ast.Ident
	switch e := e.(type) {
	case *ast.Ident:
		id = e
	case *ast.SelectorExpr:
		id = e.Sel
	default:
		return middlewareRef{}, false // a function literal or a call result: no declaration
	}
	if fd.info != nil {
		if fn, ok := fd.info.Uses[id].(*types.Func); ok {
			ref, ok := refForFunc(fn)
			return middlewareRef{target: ref, methodValue: ref.receiver != ""}, ok
		}
	}
	switch e := e.(type) {
	case *ast.Ident:
		return middlewareRef{target: funcRef{pkgPath: fd.pkgPath, name: e.Name}}, true
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if p, ok := fd.imports.paths[x.Name]; ok && !declaredLocally(x.Name, enclosing) {
				return middlewareRef{target: funcRef{pkgPath: p, name: e.Sel.Name}}, true
			}
		}
		ref := funcRef{name: e.Sel.Name}
		ref.pkgPath, ref.receiver = fd.guessType(e.X, enclosing)
		if ref.receiver == "" {
			ref.pkgPath, ref.anyReceiver = fd.pkgPath, true
		}
		return middlewareRef{target: ref, methodValue: true}, true
	}
	return middlewareRef{}, false
}

// refForFunc describes a type-checked function or concrete method.
func refForFunc(fn *types.Func) (funcRef, bool) {
	fn = fn.Origin()
	if fn.Pkg() == nil {
		return funcRef{}, false
	}
	ref := funcRef{pkgPath: fn.Pkg().Path(), name: fn.Name()}
	sig, _ := fn.Type().(*types.Signature)
	if sig != nil && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		named, ok := types.Unalias(t).(*types.Named)
		if !ok {
			return funcRef{}, false // interface method: no declaration with a body
		}
		ref.receiver = named.Obj().Name()
	}
	return ref, true
}

// guessType guesses, without type information, the package path and type name of the variable
// x in the function enclosing: from the receiver or a parameter declared with that name, or from
// `x := &T{...}`, `x := T{...}`, `x := new(T)` or `var x T` in its body. It returns "", "" when
// it cannot tell.
func (fd *fileDetection) guessType(x ast.Expr, enclosing *ast.FuncDecl) (pkgPath, typeName string) {
	id, ok := ast.Unparen(x).(*ast.Ident)
	if !ok || enclosing == nil {
		return "", ""
	}
	var typeExpr ast.Expr
	for _, fields := range []*ast.FieldList{enclosing.Recv, enclosing.Type.Params} {
		if fields == nil {
			continue
		}
		for _, field := range fields.List {
			for _, name := range field.Names {
				if name.Name == id.Name {
					typeExpr = field.Type
				}
			}
		}
	}
	if typeExpr == nil && enclosing.Body != nil {
		ast.Inspect(enclosing.Body, func(n ast.Node) bool {
			if typeExpr != nil {
				return false
			}
			switch s := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range s.Lhs {
					if l, ok := lhs.(*ast.Ident); ok && l.Name == id.Name && len(s.Rhs) == len(s.Lhs) {
						typeExpr = typeOfConstruction(s.Rhs[i])
					}
				}
			case *ast.ValueSpec:
				for i, name := range s.Names {
					if name.Name != id.Name {
						continue
					}
					if s.Type != nil {
						typeExpr = s.Type
					} else if i < len(s.Values) {
						typeExpr = typeOfConstruction(s.Values[i])
					}
				}
			}
			return true
		})
	}
	if typeExpr == nil {
		return "", ""
	}
	typeExpr = ast.Unparen(typeExpr)
	if star, ok := typeExpr.(*ast.StarExpr); ok {
		typeExpr = star.X
	}
	switch t := typeExpr.(type) {
	case *ast.IndexExpr:
		typeExpr = t.X
	case *ast.IndexListExpr:
		typeExpr = t.X
	}
	switch t := typeExpr.(type) {
	case *ast.Ident:
		return fd.pkgPath, t.Name
	case *ast.SelectorExpr:
		if pkg, ok := t.X.(*ast.Ident); ok {
			if p, ok := fd.imports.paths[pkg.Name]; ok {
				return p, t.Sel.Name
			}
		}
	}
	return "", ""
}

// typeOfConstruction returns T for &T{...}, T{...} and new(T), else nil.
func typeOfConstruction(e ast.Expr) ast.Expr {
	e = ast.Unparen(e)
	if u, ok := e.(*ast.UnaryExpr); ok {
		e = ast.Unparen(u.X)
	}
	switch e := e.(type) {
	case *ast.CompositeLit:
		return e.Type
	case *ast.CallExpr:
		if fun, ok := e.Fun.(*ast.Ident); ok && fun.Name == "new" && len(e.Args) == 1 {
			return e.Args[0]
		}
	}
	return nil
}

// declaredLocally reports whether the function declares a receiver or parameter named name,
// which would shadow an import of that name.
func declaredLocally(name string, fn *ast.FuncDecl) bool {
	if fn == nil {
		return false
	}
	for _, fields := range []*ast.FieldList{fn.Recv, fn.Type.Params} {
		if fields == nil {
			continue
		}
		for _, field := range fields.List {
			for _, n := range field.Names {
				if n.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// applyMiddleware marks the functions the refs wrap as Middleware-instrumented, unless they
// already carry generated or legacy instrumentation (which then produces the series). Refs to
// functions not in funcs are ignored. A function is changed through e (see funcEditor); a nil e
// changes funcs in place.
func applyMiddleware(funcs []*Function, refs []middlewareRef, e *funcEditor) {
	if len(refs) == 0 {
		return
	}
	type key struct{ pkgPath, receiver, name string }
	exact := map[key]*Function{}
	methodsByName := map[key][]*Function{} // receiver left empty
	for _, f := range funcs {
		exact[key{f.PkgPath, f.Receiver, f.Name}] = f
		if f.Receiver != "" {
			k := key{f.PkgPath, "", f.Name}
			methodsByName[k] = append(methodsByName[k], f)
		}
	}
	for _, ref := range refs {
		t := ref.target
		f := exact[key{t.pkgPath, t.receiver, t.name}]
		if t.anyReceiver {
			if ms := methodsByName[key{t.pkgPath, "", t.name}]; len(ms) == 1 {
				f = ms[0]
			} else {
				f = nil
			}
		}
		if f == nil {
			continue
		}
		if cur := e.current(f); cur.Instrumentation == Generated || cur.Instrumentation == LegacyDefer ||
			(cur.Instrumentation == Middleware && slices.Contains(cur.InstrumentationSpans, ref.call)) {
			continue // instrumented otherwise, or linked to this very call already
		}
		f = e.edit(f)
		f.Instrumentation = Middleware
		name := f.funcName()
		name.MethodValue = ref.methodValue && f.Receiver != ""
		f.Labels = DeriveLabels(name)
		f.InstrumentationSpans = append(f.InstrumentationSpans, ref.call)
	}
}

// funcEditor changes functions of packages that may be published already (the typed cache hands
// the same Package to every load of unchanged content, and hovers read its functions on other
// goroutines) by changing copies: edit returns the copy of a function to change, made on first
// use, and current the copy if there is one, else the function itself. A nil *funcEditor edits
// in place, for functions nobody else can see yet.
type funcEditor struct {
	copies map[*Function]*Function // original → its copy
}

func (e *funcEditor) current(f *Function) *Function {
	if e != nil {
		if c := e.copies[f]; c != nil {
			return c
		}
	}
	return f
}

func (e *funcEditor) edit(f *Function) *Function {
	if e == nil {
		return f
	}
	if c := e.copies[f]; c != nil {
		return c
	}
	c := *f
	// Appends to the copy must not write into the original's backing array.
	c.InstrumentationSpans = slices.Clip(c.InstrumentationSpans)
	if e.copies == nil {
		e.copies = map[*Function]*Function{}
	}
	e.copies[f] = &c
	return &c
}
