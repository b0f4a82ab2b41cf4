// Package yaml lives in a directory whose name has a dot; the runtime escapes it as %2e.
package yaml

import (
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Decode is instrumented.
//
//autometrics:inst
func Decode(data []byte) error {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	_ = data
	return nil
}
