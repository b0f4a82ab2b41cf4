package analysis

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Import paths of the OpenTelemetry packages trace detection recognises.
const (
	otelPath      = "go.opentelemetry.io/otel"
	otelTracePath = "go.opentelemetry.io/otel/trace"
	otelhttpPath  = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Span kinds as the span-metrics backends label them (span_kind).
const (
	SpanKindInternal = "SPAN_KIND_INTERNAL"
	SpanKindServer   = "SPAN_KIND_SERVER"
	SpanKindClient   = "SPAN_KIND_CLIENT"
	SpanKindProducer = "SPAN_KIND_PRODUCER"
	SpanKindConsumer = "SPAN_KIND_CONSUMER"
)

// spanKinds maps the trace.SpanKind constants (by name and by value) to span_kind values.
var spanKinds = map[string]string{
	"SpanKindInternal": SpanKindInternal, "SpanKindServer": SpanKindServer, "SpanKindClient": SpanKindClient,
	"SpanKindProducer": SpanKindProducer, "SpanKindConsumer": SpanKindConsumer,
	"1": SpanKindInternal, "2": SpanKindServer, "3": SpanKindClient, "4": SpanKindProducer, "5": SpanKindConsumer,
}

// TraceSource says how a function's span is started.
type TraceSource string

const (
	// TracerStart: the body calls Start on a go.opentelemetry.io/otel/trace.Tracer.
	TracerStart TraceSource = "tracer.Start"
	// OtelhttpHandler: the function is the handler wrapped by otelhttp.NewHandler.
	OtelhttpHandler TraceSource = "otelhttp.NewHandler"
	// OtelhttpRouteTag: the function is wrapped by otelhttp.WithRouteTag, which names no span.
	OtelhttpRouteTag TraceSource = "otelhttp.WithRouteTag"
)

// Trace describes the OpenTelemetry span that measures a function, as span metrics key it: by
// span name and kind (within a service), or, for a name computed at run time, by the
// code_function_name dimension.
type Trace struct {
	Source TraceSource `json:"source"`
	// SpanName is the span's name when it is known exactly at analysis time.
	SpanName string `json:"spanName,omitempty"`
	// SpanNamePattern, when not empty, is a fully anchored RE2 expression the span name matches
	// (an otelhttp server span named "{method} {route}", the method known only at run time).
	SpanNamePattern string `json:"spanNamePattern,omitempty"`
	// Kind is the span_kind value (SpanKindServer, ...); "" when an option the analysis cannot
	// read may set it.
	Kind string `json:"kind,omitempty"`
	// Unnamed reports that the name is not known statically; Why says why, for a user.
	// CodeFunction is then the value of the code_function_name dimension the function's spans
	// carry when the application sets code.function.name the Go runtime's way.
	Unnamed      bool   `json:"unnamed,omitempty"`
	Why          string `json:"why,omitempty"`
	CodeFunction string `json:"codeFunction,omitempty"`
	// Span is the code that starts the span (the Start call, or the otelhttp call wrapping it).
	Span Span `json:"span"`
}

// NameKnown reports whether span metrics can be selected by span name.
func (t *Trace) NameKnown() bool {
	return t != nil && !t.Unnamed && (t.SpanName != "" || t.SpanNamePattern != "")
}

// Traced reports whether the function is measured by an OpenTelemetry span.
func (f *Function) Traced() bool { return f.Trace != nil }

// Measured reports whether the function is instrumented with Autometrics (a directive counts)
// or traced.
func (f *Function) Measured() bool { return f.Instrumentation != NotInstrumented || f.Traced() }

// traceScope is what trace detection knows about the whole package from syntax: the names of
// package-level tracer variables, struct fields of type trace.Tracer, and string constants.
type traceScope struct {
	tracerVars   map[string]bool
	tracerFields map[string]bool
	consts       map[string]ast.Expr
	otelhttpVer  string // version of otelhttp the module requires, "" when unknown

	importsOtelhttp bool // some file imports otelhttp
}

// newTraceScope reads the package-level declarations of files.
func newTraceScope(files []*ast.File) *traceScope {
	s := &traceScope{tracerVars: map[string]bool{}, tracerFields: map[string]bool{}, consts: map[string]ast.Expr{}}
	for _, file := range files {
		imp := readImports(file)
		for _, p := range imp.paths {
			s.importsOtelhttp = s.importsOtelhttp || p == otelhttpPath
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch spec := spec.(type) {
				case *ast.ValueSpec:
					for i, name := range spec.Names {
						switch {
						case gd.Tok == token.CONST && i < len(spec.Values):
							s.consts[name.Name] = spec.Values[i]
						case gd.Tok == token.VAR && isTracerType(spec.Type, imp):
							s.tracerVars[name.Name] = true
						case gd.Tok == token.VAR && i < len(spec.Values) && isTracerConstructor(spec.Values[i], imp):
							s.tracerVars[name.Name] = true
						}
					}
				case *ast.TypeSpec:
					st, ok := spec.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, field := range st.Fields.List {
						if isTracerType(field.Type, imp) {
							for _, n := range field.Names {
								s.tracerFields[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	return s
}

// isTracerType reports whether e spells trace.Tracer (the OpenTelemetry interface).
func isTracerType(e ast.Expr, imp fileImports) bool {
	sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Tracer" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && imp.paths[x.Name] == otelTracePath
}

// isTracerConstructor reports whether e is otel.Tracer(...), or X.Tracer(...) on a
// TracerProvider obtained from otel.GetTracerProvider().
func isTracerConstructor(e ast.Expr, imp fileImports) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Tracer" {
		return false
	}
	if x, ok := sel.X.(*ast.Ident); ok && imp.paths[x.Name] == otelPath {
		return true
	}
	inner, ok := ast.Unparen(sel.X).(*ast.CallExpr)
	if !ok {
		return false
	}
	if isel, ok := ast.Unparen(inner.Fun).(*ast.SelectorExpr); ok && isel.Sel.Name == "GetTracerProvider" {
		x, ok := isel.X.(*ast.Ident)
		return ok && imp.paths[x.Name] == otelPath
	}
	return false
}

// importsOTel reports whether the file imports an OpenTelemetry tracing package, without which
// syntax alone cannot tell a tracer's Start from any other.
func (fd *fileDetection) importsOTel() bool {
	for _, p := range fd.imports.paths {
		if p == otelPath || p == otelTracePath {
			return true
		}
	}
	return false
}

// bodyTrace finds the first span the body starts: `ctx, span := T.Start(ctx, NAME, opts...)`
// (or any use of such a call) with T a trace.Tracer, outside nested function literals. With type
// information T's type decides; without, T must be recognisably a tracer: otel.Tracer(...), a
// package-level tracer variable, a field declared as trace.Tracer, a parameter of that type, or
// a local variable assigned otel.Tracer(...).
func (fd *fileDetection) bodyTrace(decl *ast.FuncDecl, scope *traceScope) *Trace {
	if scope == nil || (fd.info == nil && !fd.importsOTel()) {
		return nil
	}
	locals := map[string]bool{}
	if decl.Type.Params != nil {
		for _, field := range decl.Type.Params.List {
			if isTracerType(field.Type, fd.imports) {
				for _, n := range field.Names {
					locals[n.Name] = true
				}
			}
		}
	}
	var found *Trace
	ast.Inspect(decl.Body, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && len(n.Lhs) == len(n.Rhs) && isTracerConstructor(n.Rhs[i], fd.imports) {
					locals[id.Name] = true
				}
			}
		case *ast.CallExpr:
			sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Start" || len(n.Args) < 2 {
				return true
			}
			if !fd.isTracer(sel.X, locals, scope) {
				return true
			}
			found = fd.startedSpan(n, scope)
		}
		return true
	})
	if found != nil && found.Unnamed {
		found.CodeFunction = RuntimeName(FuncName{
			PkgPath: fd.pkgPath, PkgName: fd.pkgName, Name: decl.Name.Name,
			Receiver: receiverName(decl), Pointer: pointerReceiver(decl), Generic: genericDecl(decl),
		})
	}
	return found
}

func receiverName(decl *ast.FuncDecl) string {
	if decl.Recv == nil || len(decl.Recv.List) == 0 {
		return ""
	}
	name, _, _ := receiverType(decl.Recv.List[0].Type)
	return name
}

func pointerReceiver(decl *ast.FuncDecl) bool {
	if decl.Recv == nil || len(decl.Recv.List) == 0 {
		return false
	}
	_, p, _ := receiverType(decl.Recv.List[0].Type)
	return p
}

func genericDecl(decl *ast.FuncDecl) bool {
	if decl.Recv != nil && len(decl.Recv.List) > 0 {
		_, _, g := receiverType(decl.Recv.List[0].Type)
		return g
	}
	return decl.Type.TypeParams != nil && len(decl.Type.TypeParams.List) > 0
}

// isTracer reports whether x (the receiver of a Start call) is a trace.Tracer.
func (fd *fileDetection) isTracer(x ast.Expr, locals map[string]bool, scope *traceScope) bool {
	if fd.info != nil {
		if tv, ok := fd.info.Types[x]; ok && tv.Type != nil {
			return isNamedType(tv.Type, otelTracePath, "Tracer")
		}
	}
	switch x := ast.Unparen(x).(type) {
	case *ast.Ident:
		return locals[x.Name] || scope.tracerVars[x.Name]
	case *ast.SelectorExpr:
		return scope.tracerFields[x.Sel.Name]
	case *ast.CallExpr:
		return isTracerConstructor(x, fd.imports)
	}
	return false
}

// isNamedType reports whether t (or what it points to) is the named type pkgPath.name.
func isNamedType(t types.Type, pkgPath, name string) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := types.Unalias(t).(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return false
	}
	return named.Obj().Pkg().Path() == pkgPath && named.Obj().Name() == name
}

// startedSpan describes the span of a Start(ctx, name, opts...) call.
func (fd *fileDetection) startedSpan(call *ast.CallExpr, scope *traceScope) *Trace {
	t := &Trace{Source: TracerStart, Kind: SpanKindInternal, Span: fd.span(call.Pos(), call.End())}
	name, ok := fd.constString(call.Args[1], scope, 0)
	switch {
	case !ok:
		t.Unnamed = true
		t.Why = "the span name is computed at run time"
	case name == "":
		t.Unnamed = true
		t.Why = "the span name is an empty string, which span metrics cannot tell apart"
	default:
		t.SpanName = name
	}
	if call.Ellipsis.IsValid() {
		t.Kind = "" // opts... from a slice: the kind may be anything
	}
	for _, opt := range call.Args[2:] {
		inner, ok := ast.Unparen(opt).(*ast.CallExpr)
		if !ok {
			continue
		}
		if sel, ok := ast.Unparen(inner.Fun).(*ast.SelectorExpr); !ok || sel.Sel.Name != "WithSpanKind" || len(inner.Args) != 1 {
			continue
		}
		t.Kind = fd.spanKind(inner.Args[0])
	}
	return t
}

// spanKind reads a trace.SpanKind argument; "" when it cannot be read.
func (fd *fileDetection) spanKind(e ast.Expr) string {
	if fd.info != nil {
		if tv, ok := fd.info.Types[e]; ok && tv.Value != nil {
			return spanKinds[tv.Value.ExactString()]
		}
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		return spanKinds[e.Sel.Name]
	case *ast.Ident:
		return spanKinds[e.Name]
	}
	return ""
}

// constString evaluates a string constant expression: from type information when there is some,
// else from literals, package-level constants and + between them.
func (fd *fileDetection) constString(e ast.Expr, scope *traceScope, depth int) (string, bool) {
	if fd.info != nil {
		if tv, ok := fd.info.Types[e]; ok {
			if tv.Value != nil && tv.Value.Kind() == constant.String {
				return constant.StringVal(tv.Value), true
			}
			return "", false
		}
	}
	if depth > 16 {
		return "", false
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		if v, ok := scope.consts[e.Name]; ok {
			return fd.constString(v, scope, depth+1)
		}
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, ok1 := fd.constString(e.X, scope, depth+1)
		r, ok2 := fd.constString(e.Y, scope, depth+1)
		return l + r, ok1 && ok2
	}
	return "", false
}

// otelhttpRef is one otelhttp.NewHandler(h, operation) or otelhttp.WithRouteTag(route, h) call
// wrapping a declared function.
type otelhttpRef struct {
	target funcRef
	trace  Trace
}

// httpMethods are the methods otelhttp (v0.69.0+) puts in server span names; others become "HTTP".
const httpMethods = "CONNECT|DELETE|GET|HEAD|OPTIONS|PATCH|POST|PUT|TRACE|HTTP"

// otelhttpRefs finds the otelhttp calls in the file that wrap declared functions and works out
// the server span's name, which depends on the otelhttp version (see OtelhttpSpanName).
func (fd *fileDetection) otelhttpRefs(scope *traceScope) []otelhttpRef {
	quals := map[string]bool{}
	for name, p := range fd.imports.paths {
		if p == otelhttpPath {
			quals[name] = true
		}
	}
	if len(quals) == 0 {
		return nil
	}
	patterns := map[*ast.CallExpr]string{} // NewHandler call → the ServeMux pattern it is registered under
	var refs []otelhttpRef
	for _, decl := range fd.file.Decls {
		enclosing, _ := decl.(*ast.FuncDecl)
		ast.Inspect(decl, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && sel.Sel.Name == "Handle" && len(call.Args) == 2 {
				if inner, ok := isCallTo(call.Args[1], "NewHandler", quals, false, false); ok {
					if p, ok := fd.constString(call.Args[0], scope, 0); ok {
						patterns[inner] = p
					}
				}
			}
			var handler ast.Expr
			tr := Trace{Span: fd.span(call.Pos(), call.End()), Kind: SpanKindServer}
			if c, ok := isCallTo(call, "NewHandler", quals, false, false); ok && len(c.Args) >= 2 {
				handler = c.Args[0]
				tr.Source = OtelhttpHandler
				op, opKnown := fd.constString(c.Args[1], scope, 0)
				pattern, registered := patterns[c]
				name, re, why := OtelhttpSpanName(scope.otelhttpVer, op, opKnown, pattern, registered)
				tr.SpanName, tr.SpanNamePattern, tr.Why, tr.Unnamed = name, re, why, why != ""
			} else if c, ok := isCallTo(call, "WithRouteTag", quals, false, false); ok && len(c.Args) == 2 {
				handler = c.Args[1]
				tr.Source = OtelhttpRouteTag
				tr.Unnamed = true
				tr.Why = "otelhttp.WithRouteTag only adds the route attribute; the server span is named by the otelhttp handler around it"
			} else {
				return true
			}
			if ref, ok := fd.resolveFuncExpr(unwrapHandlerFunc(handler), enclosing); ok {
				refs = append(refs, otelhttpRef{target: ref.target, trace: tr})
			}
			return true
		})
	}
	return refs
}

// OtelhttpSpanName returns the name of the server span otelhttp.NewHandler(h, operation) starts,
// for the otelhttp version the module requires (version "" means unknown; the newest rule
// applies). The rule, read from the library's source:
//
//   - before v0.69.0 the default span name formatter returns the operation argument;
//   - from v0.69.0 on the operation is ignored: the name is "{METHOD} {route}", the route taken
//     from the ServeMux pattern the request matched (from its first '/'), or just "{METHOD}"
//     without one; methods outside the standard nine become "HTTP".
//
// It returns the exact name, or a fully anchored pattern (the method is known only at run time
// unless the pattern names it), or why the name is not known statically. pattern is the
// ServeMux pattern the handler is registered under, when registered is set.
func OtelhttpSpanName(version, operation string, operationKnown bool, pattern string, registered bool) (name, re, why string) {
	if version != "" && semverLess(version, "v0.69.0") {
		if !operationKnown {
			return "", "", "the otelhttp operation name is computed at run time"
		}
		if operation == "" {
			return "", "", "the otelhttp operation name is an empty string"
		}
		return operation, "", ""
	}
	if !registered {
		return "", "", "otelhttp " + orNewest(version) + " names server spans by HTTP method and route, and this handler is not registered under a ServeMux pattern here"
	}
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return "", "", "the ServeMux pattern has no path"
	}
	route := pattern[i:]
	method := strings.TrimSpace(pattern[:i])
	if j := strings.IndexByte(method, ' '); j >= 0 {
		method = method[:j] // "GET example.com/x": the host is not part of the route
	} else if method != "" && !strings.Contains(httpMethods, method) {
		method = "" // a host, not a method
	}
	switch method {
	case "":
		return "", "(" + httpMethods + ") " + regexp.QuoteMeta(route), ""
	case "GET":
		return "", "(GET|HEAD) " + regexp.QuoteMeta(route), "" // GET patterns also match HEAD
	default:
		return method + " " + route, "", ""
	}
}

func orNewest(version string) string {
	if version == "" {
		return "(version unknown, assumed v0.69.0 or later)"
	}
	return version
}

// semverLess compares two versions vMAJOR.MINOR.PATCH (pre-release suffixes ignored).
func semverLess(a, b string) bool {
	pa, pb := semverParts(a), semverParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semverParts(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, part := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(part)
	}
	return out
}

// applyOtelhttp gives the functions the refs wrap their otelhttp server span, unless their body
// starts a span of its own with a known name (which is then the one to show). A function is
// changed through e (see funcEditor); a nil e changes funcs in place.
func applyOtelhttp(funcs []*Function, refs []otelhttpRef, e *funcEditor) {
	for _, ref := range refs {
		t := ref.target
		for _, f := range funcs {
			if f.PkgPath != t.pkgPath || f.Name != t.name || (f.Receiver != t.receiver && !t.anyReceiver) {
				continue
			}
			if cur := e.current(f).Trace; cur != nil && cur.Source == TracerStart && cur.NameKnown() {
				break
			}
			tr := ref.trace
			if tr.Unnamed {
				tr.CodeFunction = RuntimeName(f.funcName())
			}
			e.edit(f).Trace = &tr
			break
		}
	}
}

// requiredVersion returns the version of module modPath that the go.mod governing dir requires
// (a require line, single or in a block), or "" when it does not.
func requiredVersion(dir, modPath string) string {
	m := findModule(dir, nil)
	if m.Root == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(m.Root, "go.mod"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) == 2 && strings.Trim(fields[0], `"`) == modPath {
			return fields[1]
		}
	}
	return ""
}

// PackageTracers reads, from syntax alone, the package in dir that file belongs to: its import
// path (from the nearest go.mod; "" when unknown) and the package-level trace.Tracer variables
// its other files declare (sorted). overlay content wins over the disk. The tracing code action
// uses it so that it reuses a tracer rather than declaring a second one.
func PackageTracers(file string, overlay map[string][]byte) (importPath string, tracers []string) {
	dir := filepath.Dir(file)
	importPath = findModule(dir, overlay).importPathOf(dir)
	fset := token.NewFileSet()
	var files []*ast.File
	pkgName := ""
	if src, err := readSource(file, overlay); err == nil {
		if f, _ := parser.ParseFile(fset, file, src, parser.PackageClauseOnly); f != nil && f.Name != nil {
			pkgName = f.Name.Name
		}
	}
	for _, name := range goFilesIn(dir, overlay) {
		if name == file {
			continue
		}
		src, err := readSource(name, overlay)
		if err != nil {
			continue
		}
		f, _ := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if f == nil || f.Name == nil || f.Name.Name != pkgName {
			continue
		}
		files = append(files, f)
	}
	scope := newTraceScope(files)
	for name := range scope.tracerVars {
		tracers = append(tracers, name)
	}
	sort.Strings(tracers)
	return importPath, tracers
}
