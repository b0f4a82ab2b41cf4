package analysis

import (
	"go/ast"
	"go/token"
	"go/types"
)

// Package is one loaded package: its functions, and what FunctionAt needs to resolve references.
// A Package is not modified after Load returns and is safe for concurrent use.
type Package struct {
	Path      string      `json:"path"`  // import path ("main" packages keep their real path)
	Name      string      `json:"name"`  // package name
	Dir       string      `json:"dir"`   // absolute directory
	Files     []string    `json:"files"` // absolute paths of the analysed Go files
	Functions []*Function `json:"functions"`
	// Degraded is empty when the package was type-checked. Otherwise it says, for a user, why
	// results come from syntax alone or type information is incomplete (the go command failed or
	// timed out, an import cannot be resolved, ...). Detection works either way; FunctionAt
	// resolves fewer references.
	Degraded string   `json:"degraded,omitempty"`
	Errors   []string `json:"errors,omitempty"` // parse and type errors, informational
	// Settled, when not nil, is closed once the work this syntax-only result stopped waiting for
	// (a load past Loader.Timeout, e.g. a first type check of a large module's dependencies) has
	// ended: loading again then gives the typed result, from the warm cache.
	Settled <-chan struct{} `json:"-"`
	// SyntaxOnly says the go command gave nothing for this package (it failed, timed out or was
	// busy) and it was analysed from syntax alone; Degraded says why.
	SyntaxOnly bool `json:"-"`

	fset   *token.FileSet
	syntax map[string]*ast.File // absolute file name → syntax
	info   *types.Info          // nil for syntax-only packages
	types  *types.Package       // nil for syntax-only packages
	module moduleInfo           // module containing Dir, for syntax-only cross-package lookups
	refs   []middlewareRef      // midhttp.Autometrics calls in the package
	// otelRefs are the otelhttp calls in the package that wrap declared functions.
	otelRefs []otelhttpRef
	overlay  map[string][]byte
	loader   *Loader
	// standard holds the import paths of the standard library packages (nil without type
	// information); shared by the packages checked together.
	standard map[string]bool
	// sources holds the content each file was analysed from, and edits the changes Rebased
	// accepted since (FunctionAt maps offsets through them); typed packages only.
	sources map[string][]byte
	edits   []edit
}

// Instrumented returns the functions whose Instrumentation is not NotInstrumented, in file
// order, then source order.
func (p *Package) Instrumented() []*Function {
	var out []*Function
	for _, f := range p.Functions {
		if f.Instrumentation != NotInstrumented {
			out = append(out, f)
		}
	}
	return out
}

// Measured returns the functions that are instrumented with Autometrics or traced with an
// OpenTelemetry span, in file order, then source order.
func (p *Package) Measured() []*Function {
	var out []*Function
	for _, f := range p.Functions {
		if f.Measured() {
			out = append(out, f)
		}
	}
	return out
}
