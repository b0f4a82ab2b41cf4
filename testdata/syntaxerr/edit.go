// Package syntaxerr is valid on disk; edit.go.txt is the same file in the middle of an edit,
// which tests pass as unsaved (overlay) content or copy to a temporary .go file.
package syntaxerr

import (
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Before is instrumented.
//
//autometrics:inst
func Before() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}

// Editing is being edited.
func Editing(n int) int {
	return n
}

// After is instrumented.
//
//autometrics:inst
func After() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}
