package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
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

// maxServiceScanFiles bounds the files ServiceNames parses (a monorepo must not stall it).
const maxServiceScanFiles = 2000

// ServiceNames finds, from syntax alone, the service names the module containing dir gives its
// OpenTelemetry resource in package main: semconv.ServiceName("x"), semconv.ServiceNameKey.String("x")
// and attribute.String("service.name", "x") with constant arguments. It skips testdata, vendor,
// hidden directories, nested modules and test files, and reads at most a few thousand files.
// The result is sorted by name, then file.
func ServiceNames(dir string) []ServiceName {
	m := findModule(dir, nil)
	if m.Root == "" {
		return nil
	}
	var out []ServiceName
	files := 0
	_ = filepath.WalkDir(m.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			name := d.Name()
			if path != m.Root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != m.Root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if files++; files > maxServiceScanFiles {
			return filepath.SkipAll
		}
		for _, n := range serviceNamesIn(path) {
			if rel, err := filepath.Rel(m.Root, n.File); err == nil {
				n.Rel = filepath.ToSlash(rel)
			}
			out = append(out, n)
		}
		return nil
	})
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
	if err != nil || f.Name == nil || f.Name.Name != "main" || !strings.Contains(string(src), "service") {
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
