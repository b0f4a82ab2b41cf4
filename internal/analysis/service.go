package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ServiceName is a service.name the code sets on its OpenTelemetry resource, and where.
type ServiceName struct {
	Name string `json:"name"`
	File string `json:"file"` // absolute path
	Rel  string `json:"rel"`  // File relative to the module root, with slashes
	Line int    `json:"line"`
}

// Bounds of the scan ServiceNames runs (a monorepo, a checked-in node_modules or a directory of
// generated data must not stall it): directories listed, directory entries seen (files of any
// kind count), Go files parsed, and bytes of Go source read. A Go file larger than
// maxServiceFileBytes (generated code) is not read.
var (
	maxServiceScanDirs    = 2000
	maxServiceScanEntries = 50000
	maxServiceScanFiles   = 2000
	maxServiceScanBytes   = int64(32 << 20)
	maxServiceFileBytes   = int64(1 << 20)
)

// skippedScanDir reports whether the scan for service names leaves out a directory called name:
// test data, vendored and JavaScript dependencies, and hidden or underscore directories.
func skippedScanDir(name string) bool {
	switch name {
	case "testdata", "vendor", "node_modules":
		return true
	}
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// ServiceNames finds, from syntax alone, the service names the module containing dir gives its
// OpenTelemetry resource in package main: semconv.ServiceName("x"), semconv.ServiceNameKey.String("x")
// and attribute.String("service.name", "x") with constant arguments. It skips testdata, vendor,
// node_modules, hidden and underscore directories, nested modules and test files, and walks
// breadth first within the bounds above (package main sits near the top). It reads the disk for
// a while on a large module: call it off any request's path. The result is sorted by name, then
// file.
func ServiceNames(dir string) []ServiceName {
	m := findModule(dir, nil)
	if m.Root == "" {
		return nil
	}
	var out []ServiceName
	var dirs, entries, files int
	var bytes int64
	queue := []string{m.Root}
scan:
	for len(queue) > 0 && dirs < maxServiceScanDirs {
		d := queue[0]
		queue = queue[1:]
		if d != m.Root {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				continue // a nested module
			}
		}
		dirs++
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		for {
			batch, err := f.ReadDir(256)
			for _, e := range batch {
				if entries++; entries > maxServiceScanEntries {
					f.Close()
					break scan
				}
				path := filepath.Join(d, e.Name())
				if e.IsDir() {
					if !skippedScanDir(e.Name()) {
						queue = append(queue, path)
					}
					continue
				}
				if !e.Type().IsRegular() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
					continue
				}
				info, err := e.Info()
				if err != nil || info.Size() > maxServiceFileBytes {
					continue
				}
				if files++; files > maxServiceScanFiles || bytes+info.Size() > maxServiceScanBytes {
					f.Close()
					break scan
				}
				bytes += info.Size()
				for _, n := range serviceNamesIn(path) {
					if rel, err := filepath.Rel(m.Root, n.File); err == nil {
						n.Rel = filepath.ToSlash(rel)
					}
					out = append(out, n)
				}
			}
			if err != nil {
				break
			}
		}
		f.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].File < out[j].File
	})
	return out
}

// serviceNamesIn reads one file of package main.
func serviceNamesIn(path string) []ServiceName {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.PackageClauseOnly)
	if err != nil || f.Name == nil || f.Name.Name != "main" || !strings.Contains(string(src), "ervice") { // ServiceName, service.name
		return nil
	}
	f, _ = parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if f == nil {
		return nil
	}
	imp := readImports(f)
	isPkg := func(e ast.Expr, prefix string) bool {
		id, ok := e.(*ast.Ident)
		return ok && strings.HasPrefix(imp.paths[id.Name], prefix)
	}
	var out []ServiceName
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		var arg ast.Expr
		switch {
		case sel.Sel.Name == "ServiceName" && len(call.Args) == 1 && isPkg(sel.X, "go.opentelemetry.io/otel/semconv/"):
			arg = call.Args[0]
		case sel.Sel.Name == "String" && len(call.Args) == 1:
			if inner, ok := sel.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "ServiceNameKey" && isPkg(inner.X, "go.opentelemetry.io/otel/semconv/") {
				arg = call.Args[0]
			}
		case sel.Sel.Name == "String" && len(call.Args) == 2 && isPkg(sel.X, "go.opentelemetry.io/otel/attribute"):
			if key, ok := stringLit(call.Args[0]); ok && key == "service.name" {
				arg = call.Args[1]
			}
		}
		if arg == nil {
			return true
		}
		if name, ok := stringLit(arg); ok && name != "" {
			out = append(out, ServiceName{Name: name, File: path, Line: fset.Position(call.Pos()).Line})
		}
		return true
	})
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := ast.Unparen(e).(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
