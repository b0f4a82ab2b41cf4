// Package unresolved imports autometrics-go without requiring it in go.mod, so the import cannot
// be resolved; the analysis must still find the instrumented functions from syntax alone.
package unresolved

import (
	am "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Fetch is instrumented with the generated statements.
//
//autometrics:inst --slo "Fetch" --success-target 99.9
func Fetch(key string) (value string, err error) {
	amCtx := am.PreInstrument(am.NewContext(
		nil,
		am.WithConcurrentCalls(true),
		am.WithCallerName(true),
		am.WithSloName("Fetch"),
		am.WithAlertSuccess(99.9),
	)) //autometrics:shadow-ctx
	defer am.Instrument(amCtx, &err) //autometrics:defer

	return helper(key), nil
}

// Old carries a v0.4 defer: NewContext has no context argument.
func Old() {
	defer am.Instrument(am.PreInstrument(am.NewContext()), nil)
}

// Store is a type with an instrumented method.
type Store struct{}

// Put is instrumented.
//
//autometrics:inst
func (s *Store) Put(key string) {
	amCtx := am.PreInstrument(am.NewContext(
		nil,
		am.WithConcurrentCalls(true),
		am.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer am.Instrument(amCtx, nil) //autometrics:defer
}

func helper(key string) string {
	return Fetch2(key)
}

// Fetch2 is not instrumented.
func Fetch2(key string) string { return key }
