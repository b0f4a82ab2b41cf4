// Package brokenmod has a go.mod the go command cannot parse.
package brokenmod

import (
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Work is instrumented.
//
//autometrics:inst
func Work() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}

// Idle is not instrumented.
func Idle() {}
