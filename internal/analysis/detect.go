package analysis

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
)

// Marker comments the generator puts after the statements it inserts.
const (
	markerShadowCtx = "//autometrics:shadow-ctx"
	markerDefer     = "//autometrics:defer"
)

// DetectFiles finds every function and method declared with a body in files, which make up one
// package (pkgPath is its import path, pkgName its name) and were parsed with comments by fset.
// It needs no type information: the autometrics-go imports are recognised from the import specs,
// so it works when they cannot be resolved, and files with syntax errors give every FuncDecl the
// parser recovered. midhttp.Autometrics calls in files mark the package's own functions they
// wrap. Results are in file order, then source order.
func DetectFiles(fset *token.FileSet, files []*ast.File, pkgPath, pkgName string) []*Function {
	funcs, _, _ := detectPackage(fset, files, pkgPath, pkgName, nil)
	return funcs
}

// DetectFile is DetectFiles for a package made of one file.
func DetectFile(fset *token.FileSet, file *ast.File, pkgPath, pkgName string) []*Function {
	return DetectFiles(fset, []*ast.File{file}, pkgPath, pkgName)
}

// detectPackage finds the functions of one package (with the spans their bodies start), the
// midhttp.Autometrics calls and the otelhttp calls in it, whose targets may be in other
// packages. info, when not nil, resolves those targets. The calls are applied to the package's
// own functions here, before the package can be published (the typed cache shares it with every
// later load); linkMiddleware applies them to the other packages of a load, on copies.
func detectPackage(fset *token.FileSet, files []*ast.File, pkgPath, pkgName string, info *types.Info) ([]*Function, []middlewareRef, []otelhttpRef) {
	var (
		funcs []*Function
		refs  []middlewareRef
		orefs []otelhttpRef
	)
	scope := newTraceScope(files)
	if scope.importsOtelhttp {
		if tf := fset.File(files[0].FileStart); tf != nil {
			scope.otelhttpVer = requiredVersion(filepath.Dir(tf.Name()), otelhttpPath)
		}
	}
	for _, file := range files {
		fd := newFileDetection(fset, file, pkgPath, pkgName, info)
		if fd == nil {
			continue
		}
		for _, decl := range file.Decls {
			if decl, ok := decl.(*ast.FuncDecl); ok && decl.Body != nil && decl.Name != nil {
				f := fd.function(decl)
				f.Trace = fd.bodyTrace(decl, scope)
				funcs = append(funcs, f)
			}
		}
		refs = append(refs, fd.middlewareRefs()...)
		orefs = append(orefs, fd.otelhttpRefs(scope)...)
	}
	applyMiddleware(funcs, refs, nil)
	applyOtelhttp(funcs, orefs, nil)
	return funcs, refs, orefs
}

// fileDetection holds what detecting the functions of one file needs.
type fileDetection struct {
	fset    *token.FileSet
	tf      *token.File
	file    *ast.File
	pkgPath string
	pkgName string
	info    *types.Info // nil without type information
	imports fileImports
	markers map[int]string // line → marker comment on it
}

func newFileDetection(fset *token.FileSet, file *ast.File, pkgPath, pkgName string, info *types.Info) *fileDetection {
	tf := fset.File(file.FileStart)
	if tf == nil {
		tf = fset.File(file.Pos())
	}
	if tf == nil {
		return nil
	}
	fd := &fileDetection{
		fset:    fset,
		tf:      tf,
		file:    file,
		pkgPath: pkgPath,
		pkgName: pkgName,
		info:    info,
		imports: readImports(file),
		markers: map[int]string{},
	}
	for _, group := range file.Comments {
		for _, c := range group.List {
			for _, marker := range []string{markerShadowCtx, markerDefer} {
				if strings.HasPrefix(c.Text, marker) {
					fd.markers[tf.Line(c.Slash)] = marker
				}
			}
		}
	}
	return fd
}

// span converts a position range of the file to a Span, clamping invalid positions.
func (fd *fileDetection) span(from, to token.Pos) Span {
	return spanIn(fd.tf, from, to)
}

func spanIn(tf *token.File, from, to token.Pos) Span {
	offset := func(p token.Pos) int {
		switch {
		case !p.IsValid() || int(p) < tf.Base():
			return 0
		case int(p) > tf.Base()+tf.Size():
			return tf.Size()
		}
		return tf.Offset(p)
	}
	start, end := offset(from), offset(to)
	if end < start {
		end = start
	}
	return Span{File: tf.Name(), Start: start, End: end}
}

// function describes one declaration.
func (fd *fileDetection) function(decl *ast.FuncDecl) *Function {
	f := &Function{
		Name:     decl.Name.Name,
		PkgPath:  fd.pkgPath,
		PkgName:  fd.pkgName,
		NameSpan: fd.span(decl.Name.Pos(), decl.Name.End()),
	}
	start := decl.Pos()
	if decl.Doc != nil {
		start = decl.Doc.Pos()
	}
	f.DeclSpan = fd.span(start, decl.End())
	if decl.Recv != nil && len(decl.Recv.List) > 0 {
		f.Receiver, f.PointerReceiver, f.Generic = receiverType(decl.Recv.List[0].Type)
	} else if decl.Type.TypeParams != nil && len(decl.Type.TypeParams.List) > 0 {
		f.Generic = true
	}
	if decl.Doc != nil {
		for _, c := range decl.Doc.List {
			if d, ok := ParseDirective(c.Text); ok {
				d.Span = fd.span(c.Pos(), c.End())
				f.Directive = d
				break
			}
		}
	}
	f.Instrumentation, f.InstrumentationSpans = fd.bodyInstrumentation(decl.Body)
	if f.Instrumentation == NotInstrumented && f.Directive != nil {
		f.Instrumentation = DirectiveOnly
	}
	f.Labels = DeriveLabels(f.funcName())
	return f
}

// receiverType reads a receiver type expression: "*Cache[K, V]" → ("Cache", true, true).
func receiverType(e ast.Expr) (name string, pointer, generic bool) {
	e = ast.Unparen(e)
	if star, ok := e.(*ast.StarExpr); ok {
		pointer = true
		e = ast.Unparen(star.X)
	}
	switch t := e.(type) {
	case *ast.IndexExpr:
		generic, e = true, t.X
	case *ast.IndexListExpr:
		generic, e = true, t.X
	}
	if id, ok := ast.Unparen(e).(*ast.Ident); ok {
		name = id.Name
	}
	return name, pointer, generic
}

// bodyInstrumentation looks at the top-level statements of a body for the generated
// instrumentation:
//
//	v := X.PreInstrument(X.NewContext(...)) // or v = ..., usually marked //autometrics:shadow-ctx
//	defer X.Instrument(v, nil|&err)          // usually marked //autometrics:defer
//
// (Generated), or for a single `defer X.Instrument(..., X.PreInstrument(...), ...)` (LegacyDefer,
// autometrics-go v0.8 and before). X is a name the file imports an autometrics package under; a
// statement carrying the marker comment is accepted whatever its qualifier.
func (fd *fileDetection) bodyInstrumentation(body *ast.BlockStmt) (Instrumentation, []Span) {
	instr := fd.imports.instrumentation
	dot := fd.imports.dotInstr
	ctxVars := map[string]ast.Stmt{} // variables assigned the PreInstrument context
	for _, stmt := range body.List {
		switch s := stmt.(type) {
		case *ast.AssignStmt:
			if len(s.Lhs) != 1 || len(s.Rhs) != 1 || (s.Tok != token.DEFINE && s.Tok != token.ASSIGN) {
				continue
			}
			marked := fd.marker(s) == markerShadowCtx
			pre, ok := isCallTo(s.Rhs[0], "PreInstrument", instr, dot, marked)
			if !ok || len(pre.Args) != 1 {
				continue
			}
			if _, ok := isCallTo(pre.Args[0], "NewContext", instr, dot, marked); !ok {
				continue
			}
			if id, ok := s.Lhs[0].(*ast.Ident); ok {
				ctxVars[id.Name] = s
			}
		case *ast.DeferStmt:
			marked := fd.marker(s) == markerDefer
			call, ok := isCallTo(s.Call, "Instrument", instr, dot, marked)
			if !ok || len(call.Args) == 0 {
				continue
			}
			if id, ok := ast.Unparen(call.Args[0]).(*ast.Ident); ok {
				if assign, ok := ctxVars[id.Name]; ok {
					return Generated, []Span{fd.span(assign.Pos(), assign.End()), fd.span(s.Pos(), s.End())}
				}
			}
			for _, arg := range call.Args {
				if _, ok := isCallTo(arg, "PreInstrument", instr, dot, marked); ok {
					return LegacyDefer, []Span{fd.span(s.Pos(), s.End())}
				}
			}
		}
	}
	return NotInstrumented, nil
}

// marker returns the marker comment on the last line of stmt, or "".
func (fd *fileDetection) marker(stmt ast.Stmt) string {
	if len(fd.markers) == 0 {
		return ""
	}
	end := stmt.End()
	if !end.IsValid() || int(end) > fd.tf.Base()+fd.tf.Size() {
		return ""
	}
	return fd.markers[fd.tf.Line(end)]
}
