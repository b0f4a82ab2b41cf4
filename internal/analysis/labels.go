package analysis

import (
	"fmt"
	"strings"
)

// FuncName identifies a function the way the Go runtime names it; it is the input of
// DeriveLabels.
type FuncName struct {
	PkgPath  string // import path
	PkgName  string // package name; "main" makes the runtime use "main" instead of PkgPath
	Receiver string // receiver type name without "*" or type parameters; "" for functions
	Pointer  bool   // pointer receiver
	Generic  bool   // the function, or the receiver type of a method, has type parameters
	Name     string // Go identifier of the function or method
	// MethodValue marks a method used as a value (s.Handle passed to midhttp.Autometrics): the
	// runtime then reports the compiler's wrapper, whose name ends in "-fm".
	MethodValue bool
}

// RuntimeName returns the function's name as the Go runtime reports it in runtime.Frame.Function
// and runtime.FuncForPC: "example.com/app.Handle", "example.com/app.(*Server).Handle",
// "main.Server.Status", "gopkg.in/yaml%2ev3.Decode", "example.com/app.Map[...]",
// "example.com/app.(*Cache[...]).Get", "example.com/app.(*Server).Ping-fm".
func RuntimeName(n FuncName) string {
	var b strings.Builder
	if n.PkgName == "main" {
		b.WriteString("main")
	} else {
		b.WriteString(EscapePkgPath(n.PkgPath))
	}
	b.WriteByte('.')
	typeArgs := ""
	if n.Generic {
		typeArgs = "[...]"
	}
	switch {
	case n.Receiver == "":
		b.WriteString(n.Name + typeArgs)
	case n.Pointer:
		fmt.Fprintf(&b, "(*%s%s).%s", n.Receiver, typeArgs, n.Name)
	default:
		fmt.Fprintf(&b, "%s%s.%s", n.Receiver, typeArgs, n.Name)
	}
	if n.MethodValue && n.Receiver != "" {
		b.WriteString("-fm")
	}
	return b.String()
}

// receiverMarks strips the receiver punctuation of a runtime name ("(*T)" → "T").
var receiverMarks = strings.NewReplacer("(", "", ")", "", "*", "")

// LabelsFromRuntimeName splits a runtime function name into the function and module labels the
// way autometrics-go does (spec §2): at the LAST '.', then '(', ')' and '*' removed from the
// module part. A name without '.' gives an empty module.
//
// Faithful to the runtime, this yields odd values for generic functions: "pkg.Map[...]" splits
// inside "[...]", giving function "]" and module "pkg.Map[..". That is what Prometheus holds.
func LabelsFromRuntimeName(name string) Labels {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return Labels{Function: name}
	}
	module := receiverMarks.Replace(name[:i])
	return Labels{Function: name[i+1:], Module: module}
}

// DeriveLabels returns the function and module labels autometrics-go puts on the series of n:
// function is the Go name; module is the escaped import path ("main" for package main) plus
// ".Type" for methods (value or pointer receiver alike).
func DeriveLabels(n FuncName) Labels {
	return LabelsFromRuntimeName(RuntimeName(n))
}

// EscapePkgPath escapes an import path the way the Go toolchain does in symbol names (and so in
// runtime.FuncForPC names): in the last path element '.' becomes "%2e"; anywhere, control
// characters, space, '%', '"' and non-ASCII bytes become %xx. "gopkg.in/yaml.v3" →
// "gopkg.in/yaml%2ev3".
func EscapePkgPath(path string) string {
	lastSlash := strings.LastIndexByte(path, '/')
	needsEscape := func(i int) bool {
		c := path[i]
		return c <= ' ' || c == '%' || c == '"' || c >= 0x7f || (c == '.' && i > lastSlash)
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if needsEscape(i) {
			fmt.Fprintf(&b, "%%%02x", path[i])
		} else {
			b.WriteByte(path[i])
		}
	}
	return b.String()
}

// funcName is the FuncName of a detected function (MethodValue false).
func (f *Function) funcName() FuncName {
	return FuncName{
		PkgPath:  f.PkgPath,
		PkgName:  f.PkgName,
		Receiver: f.Receiver,
		Pointer:  f.PointerReceiver,
		Generic:  f.Generic,
		Name:     f.Name,
	}
}
