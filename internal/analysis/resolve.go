package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// FunctionAt returns the function whose declaration name is at offset of file (an absolute
// path; the cursor may also sit just after the name), or the function or method an identifier
// or selector expression at offset calls or refers to. References resolve through type
// information when the package has it (types.Info.Uses), else by name within the package, with
// import paths and simple variable declarations used to tell packages and receiver types apart.
//
// A function of another package is found from the position type information gives for it
// (export data records it): that file is parsed and detected from syntax alone (cached by path
// and modification time), so its Instrumentation says nothing about midhttp wrapping done
// elsewhere. Standard library functions resolve to nothing: they are never instrumented. Without type information, functions
// of other packages are found only inside the same module.
//
// FunctionAt returns nil, false when nothing resolves. The returned Function must not be modified.
func (p *Package) FunctionAt(file string, offset int) (*Function, bool) {
	file = filepath.Clean(file)
	af := p.syntax[file]
	if af == nil {
		return nil, false
	}
	tf := p.fset.File(af.FileStart)
	offset, unchanged := p.toAnalysed(file, offset)
	if tf == nil || !unchanged || offset < 0 || offset > tf.Size() {
		return nil, false
	}
	path, id := identAt(af, tf, offset)
	if id == nil && offset > 0 {
		path, id = identAt(af, tf, offset-1)
	}
	if id == nil {
		return nil, false
	}
	if decl, ok := path[1].(*ast.FuncDecl); ok && decl.Name == id {
		return p.functionNamedAt(file, p.fromAnalysed(file, tf.Offset(id.Pos())))
	}
	// On the package part of pkg.F, take F.
	if sel, ok := path[1].(*ast.SelectorExpr); ok && sel.X == id && p.isPackageName(af, id) {
		id = sel.Sel
	}
	if p.info != nil {
		switch obj := p.info.Uses[id].(type) {
		case *types.Func:
			return p.functionForObject(obj)
		case nil:
			// no type information for this identifier (type errors): try syntax
		default:
			return nil, false // a variable, type, constant, package, ...
		}
	}
	return p.resolveBySyntax(af, path, id)
}

// identAt returns the identifier at offset and the path of nodes enclosing it (innermost first,
// the file last), or nil, nil when offset is not inside an identifier. It runs on every hover:
// one walk down the nodes that contain offset, without building a node list per level.
func identAt(af *ast.File, tf *token.File, offset int) ([]ast.Node, *ast.Ident) {
	if offset >= tf.Size() {
		return nil, nil
	}
	pos := tf.Pos(offset)
	var stack []ast.Node // outermost first
	var id *ast.Ident
	ast.Inspect(af, func(n ast.Node) bool {
		switch {
		case id != nil:
			return false // found: the rest of the walk only unwinds
		case n == nil:
			stack = stack[:len(stack)-1] // the children of the top did not hold pos
			return false
		case pos < n.Pos() || pos >= n.End():
			return false
		}
		stack = append(stack, n)
		id, _ = n.(*ast.Ident)
		return id == nil
	})
	if id == nil || len(stack) < 2 {
		return nil, nil
	}
	slices.Reverse(stack)
	return stack, id
}

// functionNamedAt returns the package's function whose name starts at offset of file.
func (p *Package) functionNamedAt(file string, offset int) (*Function, bool) {
	for _, f := range p.Functions {
		if f.NameSpan.File == file && f.NameSpan.Start == offset {
			return f, true
		}
	}
	return nil, false
}

// isPackageName reports whether id names an imported package.
func (p *Package) isPackageName(af *ast.File, id *ast.Ident) bool {
	if p.info != nil {
		if _, ok := p.info.Uses[id].(*types.PkgName); ok {
			return true
		}
	}
	_, ok := readImports(af).paths[id.Name]
	return ok
}

// functionForObject finds the declaration of a type-checked function or method.
func (p *Package) functionForObject(fn *types.Func) (*Function, bool) {
	fn = fn.Origin()
	if fn.Pkg() == nil || !fn.Pos().IsValid() {
		return nil, false
	}
	if fn.Pkg() == p.types {
		tf := p.fset.File(fn.Pos()) // raw file and offset: //line directives must not interfere
		if tf == nil {
			return nil, false
		}
		name := filepath.Clean(tf.Name())
		return p.functionNamedAt(name, p.fromAnalysed(name, tf.Offset(fn.Pos())))
	}
	if p.standard[fn.Pkg().Path()] {
		return nil, false // never instrumented
	}
	pos := p.fset.Position(fn.Pos())
	ref, ok := refForFunc(fn)
	if !ok {
		return nil, false
	}
	file := p.sourcePath(pos.Filename)
	if file == "" {
		return nil, false
	}
	return matchRef(p.loader.fileFunctions(file, fn.Pkg().Path(), fn.Pkg().Name(), p.overlay), ref, pos.Line)
}

// sourcePath turns a file name recorded in export data into an absolute path on disk: it is one
// already unless the build used -trimpath, which leaves module-relative names.
func (p *Package) sourcePath(name string) string {
	if name == "" {
		return ""
	}
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	if dir := p.module.dirOf(filepath.ToSlash(filepath.Dir(name))); dir != "" {
		return filepath.Join(dir, filepath.Base(name))
	}
	return ""
}

// matchRef picks the function ref names from funcs; with several candidates (functions of the
// same name in files for different build constraints), the one declared on line wins.
func matchRef(funcs []located, ref funcRef, line int) (*Function, bool) {
	var found *Function
	for _, lf := range funcs {
		f := lf.fn
		if f.Name != ref.name || (f.Receiver != ref.receiver && !ref.anyReceiver) || (ref.anyReceiver && f.Receiver == "") {
			continue
		}
		if found != nil && ref.anyReceiver {
			return nil, false // ambiguous
		}
		if found == nil || lf.line == line {
			found = f
		}
	}
	return found, found != nil
}

// resolveBySyntax resolves id without type information.
func (p *Package) resolveBySyntax(af *ast.File, path []ast.Node, id *ast.Ident) (*Function, bool) {
	var enclosing *ast.FuncDecl
	for _, n := range path {
		if fd, ok := n.(*ast.FuncDecl); ok {
			enclosing = fd
			break
		}
	}
	fd := newFileDetection(p.fset, af, p.Path, p.Name, nil)
	if fd == nil {
		return nil, false
	}
	var ref funcRef
	if sel, ok := path[1].(*ast.SelectorExpr); ok && sel.Sel == id {
		mref, ok := fd.resolveFuncExpr(sel, enclosing)
		if !ok {
			return nil, false
		}
		ref = mref.target
	} else {
		if declaredLocally(id.Name, enclosing) {
			return nil, false
		}
		ref = funcRef{pkgPath: p.Path, name: id.Name}
	}
	if ref.pkgPath == p.Path {
		local := make([]located, len(p.Functions))
		for i, f := range p.Functions {
			local[i] = located{fn: f}
		}
		return matchRef(local, ref, 0)
	}
	dir := p.module.dirOf(ref.pkgPath)
	if dir == "" {
		return nil, false
	}
	var funcs []located
	for _, name := range goFilesIn(dir, p.overlay) {
		funcs = append(funcs, p.loader.fileFunctions(name, ref.pkgPath, "", p.overlay)...)
	}
	return matchRef(funcs, ref, 0)
}

// fileCache keeps the syntax-only detection of files outside the loaded packages.
type fileCache struct {
	mu      sync.Mutex
	entries map[fileCacheKey]fileCacheEntry
}

type fileCacheKey struct{ path, pkgPath, pkgName string }

type fileCacheEntry struct {
	modTime time.Time
	size    int64
	funcs   []located
}

// located is a detected function with the line of its name.
type located struct {
	fn   *Function
	line int
}

const fileCacheLimit = 1024

// fileFunctions detects the functions of one file of package pkgPath from syntax alone. An empty
// pkgName is read from the file. Overlay content is used when present (and not cached); disk
// content is cached by modification time and size.
func (l *Loader) fileFunctions(path, pkgPath, pkgName string, overlay map[string][]byte) []located {
	if src, ok := overlay[path]; ok {
		return detectSource(path, src, pkgPath, pkgName)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	key := fileCacheKey{path, pkgPath, pkgName}
	c := &l.cache
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.modTime.Equal(st.ModTime()) && e.size == st.Size() {
		return e.funcs
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	funcs := detectSource(path, src, pkgPath, pkgName)
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= fileCacheLimit {
		c.entries = map[fileCacheKey]fileCacheEntry{}
	}
	c.entries[key] = fileCacheEntry{modTime: st.ModTime(), size: st.Size(), funcs: funcs}
	c.mu.Unlock()
	return funcs
}

// detectSource parses one file and detects its functions from syntax.
func detectSource(path string, src []byte, pkgPath, pkgName string) []located {
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, path, src, parseMode)
	if f == nil || f.Name == nil {
		return nil
	}
	if pkgName == "" {
		pkgName = f.Name.Name
	}
	if strings.HasSuffix(f.Name.Name, "_test") {
		return nil
	}
	tf := fset.File(f.FileStart)
	var out []located
	for _, fn := range DetectFiles(fset, []*ast.File{f}, pkgPath, pkgName) {
		out = append(out, located{fn: fn, line: tf.Line(tf.Pos(fn.NameSpan.Start))})
	}
	return out
}
