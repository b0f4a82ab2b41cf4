// Package analysis finds Go functions instrumented with Autometrics and derives the metric labels
// the autometrics-go runtime gives their series. It type-checks packages with go/packages (with
// overlays of unsaved editor buffers) and falls back to syntax-only detection when the go command
// cannot load them. It never imports the LSP layer.
package analysis

// Instrumentation says how a function is instrumented.
type Instrumentation int

const (
	// NotInstrumented: no directive, no generated statements, not wrapped by middleware.
	NotInstrumented Instrumentation = iota
	// DirectiveOnly: an //autometrics:inst (or :doc) directive is present but the generated
	// statements are missing (go generate was not run). The function emits no metrics.
	DirectiveOnly
	// Generated: the two statements of autometrics-go v0.9+ (//autometrics:shadow-ctx and
	// //autometrics:defer) are at the top of the body.
	Generated
	// LegacyDefer: the single `defer …Instrument(…PreInstrument(…NewContext(…)), …)` statement of
	// autometrics-go v0.8 and earlier (including v0.4's NewContext without a context argument).
	LegacyDefer
	// Middleware: the function is passed to midhttp.Autometrics(...), which instruments it.
	Middleware
)

// String returns a short human-readable name ("generated", "directive only", …).
func (i Instrumentation) String() string {
	switch i {
	case DirectiveOnly:
		return "directive only"
	case Generated:
		return "generated"
	case LegacyDefer:
		return "legacy defer"
	case Middleware:
		return "middleware"
	default:
		return "not instrumented"
	}
}

// EmitsMetrics reports whether a function instrumented this way produces series at run time.
func (i Instrumentation) EmitsMetrics() bool {
	return i == Generated || i == LegacyDefer || i == Middleware
}

// Labels are the values of the `function` and `module` labels the autometrics-go runtime puts on
// a function's series (spec §2).
type Labels struct {
	Function string `json:"function"`
	Module   string `json:"module"`
}

// Span is a half-open byte range [Start, End) in the content of File (the overlay content when
// the file is open in the editor, else the file on disk). File is an absolute, cleaned path.
type Span struct {
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Contains reports whether offset lies within the span (End inclusive, so a cursor just after an
// identifier still hits it).
func (s Span) Contains(offset int) bool { return offset >= s.Start && offset <= s.End }

// Function is one function or method declaration found by the analysis.
type Function struct {
	Name            string          `json:"name"`               // Go identifier, e.g. "Handle"
	Receiver        string          `json:"receiver,omitempty"` // receiver type name, no "*" or type parameters; "" for functions
	PointerReceiver bool            `json:"pointerReceiver,omitempty"`
	PkgPath         string          `json:"pkgPath"` // import path ("main" packages keep their real path here)
	PkgName         string          `json:"pkgName"`
	NameSpan        Span            `json:"nameSpan"` // the identifier in the declaration
	DeclSpan        Span            `json:"declSpan"` // the whole declaration, doc comment included
	Instrumentation Instrumentation `json:"instrumentation"`
	Directive       *Directive      `json:"directive,omitempty"` // nil when the doc comment has no directive
	Labels          Labels          `json:"labels"`

	// Generic reports type parameters: the function's own, or its receiver type's for a method.
	// The runtime names such functions with a "[...]" suffix, which shows in the labels.
	Generic bool `json:"generic,omitempty"`
	// InstrumentationSpans are the code that instruments the function: the generated statements,
	// the legacy defer statement, or the midhttp.Autometrics calls that wrap it (possibly in
	// other files of the package). Empty for NotInstrumented and DirectiveOnly.
	InstrumentationSpans []Span `json:"instrumentationSpans,omitempty"`
	// Trace, when not nil, is the OpenTelemetry span that measures the function (its body
	// starts it, or otelhttp wraps the function in a server span). A function can be both
	// instrumented with Autometrics and traced.
	Trace *Trace `json:"trace,omitempty"`
}

// QualifiedName is the name a Go programmer reads: "Handle", "Server.Handle" or "(*Server).Handle".
func (f *Function) QualifiedName() string {
	switch {
	case f.Receiver == "":
		return f.Name
	case f.PointerReceiver:
		return "(*" + f.Receiver + ")." + f.Name
	default:
		return f.Receiver + "." + f.Name
	}
}
