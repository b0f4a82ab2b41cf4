package analysis

import (
	"go/ast"
	"path"
	"strconv"
	"strings"
)

// Import paths of the autometrics-go packages the detector recognises, with the package name a
// file uses when it imports them without an alias.
var (
	instrumentationPackages = map[string]string{
		"github.com/autometrics-dev/autometrics-go/prometheus/autometrics": "autometrics",
		"github.com/autometrics-dev/autometrics-go/otel/autometrics":       "autometrics",
		// v0.4–v0.5 layout, still found next to the legacy defer statement.
		"github.com/autometrics-dev/autometrics-go/pkg/autometrics/prometheus": "prometheus",
		"github.com/autometrics-dev/autometrics-go/pkg/autometrics/otel":       "otel",
	}
	middlewarePackages = map[string]string{
		"github.com/autometrics-dev/autometrics-go/prometheus/midhttp": "midhttp",
		"github.com/autometrics-dev/autometrics-go/otel/midhttp":       "midhttp",
	}
)

// fileImports is what detection needs to know about one file's imports. It is read from the
// import specs alone, so it works when the imports cannot be resolved.
type fileImports struct {
	instrumentation map[string]bool   // local names of the autometrics packages
	middleware      map[string]bool   // local names of the midhttp packages
	dotInstr        bool              // an autometrics package is dot-imported
	dotMiddleware   bool              // a midhttp package is dot-imported
	paths           map[string]string // local name → import path, for every named import
}

// readImports collects the local names under which file imports packages. A local name is the
// alias when there is one, else the known package name of an autometrics package, else the last
// element of the import path (with a version suffix like /v2 or .v3 dropped), which is a guess.
func readImports(file *ast.File) fileImports {
	imp := fileImports{
		instrumentation: map[string]bool{},
		middleware:      map[string]bool{},
		paths:           map[string]string{},
	}
	for _, spec := range file.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := ""
		if spec.Name != nil {
			name = spec.Name.Name
		}
		defaultName, isInstr := instrumentationPackages[p]
		if !isInstr {
			defaultName = middlewarePackages[p]
		}
		_, isMiddleware := middlewarePackages[p]
		switch name {
		case "_":
			continue
		case ".":
			imp.dotInstr = imp.dotInstr || isInstr
			imp.dotMiddleware = imp.dotMiddleware || isMiddleware
			continue
		case "":
			name = defaultName
			if name == "" {
				name = guessPackageName(p)
			}
		}
		imp.paths[name] = p
		if isInstr {
			imp.instrumentation[name] = true
		}
		if isMiddleware {
			imp.middleware[name] = true
		}
	}
	return imp
}

// guessPackageName guesses the name of the package at import path p from its last element:
// "gopkg.in/yaml.v3" → "yaml", "example.com/mod/v2" → "mod", "github.com/mattn/go-sqlite3" →
// "sqlite3". Only the syntax-only fallback relies on it.
func guessPackageName(p string) string {
	base := path.Base(p)
	if len(base) >= 2 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" && path.Dir(p) != "." {
		base = path.Base(path.Dir(p))
	}
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	if trimmed, ok := strings.CutPrefix(base, "go-"); ok && trimmed != "" {
		base = trimmed
	}
	return base
}

// isCallTo reports whether e is a call of the function name in one of the packages whose local
// names are in qualifiers (or, when dot is set, of the unqualified name). When anyQualifier is
// set, any qualifier is accepted: the statement carries a marker comment, so its shape is
// enough even if the import is gone.
func isCallTo(e ast.Expr, name string, qualifiers map[string]bool, dot, anyQualifier bool) (*ast.CallExpr, bool) {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return nil, false
	}
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.SelectorExpr:
		x, ok := fun.X.(*ast.Ident)
		if ok && fun.Sel.Name == name && (anyQualifier || qualifiers[x.Name]) {
			return call, true
		}
	case *ast.Ident:
		if fun.Name == name && (dot || anyQualifier) {
			return call, true
		}
	}
	return nil, false
}
