// Package api is the main fixture of am-lsp's analysis tests: one instrumented function per
// detection form. Names are part of the tests' contract; keep them stable.
package api

import (
	"strings"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Handle answers a request by id.
//
//autometrics:inst --slo "API" --success-target 99
func Handle(id string) (string, error) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
		autometrics.WithSloName("API"),
		autometrics.WithAlertSuccess(99),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	return normalize(id), nil
}

// normalize is not instrumented.
func normalize(id string) string {
	return strings.ToLower(strings.TrimSpace(id))
}

// Pending has the directive but go generate has not been run yet.
//
//autometrics:inst --slo "API" --latency-ms 250 --latency-target 95
func Pending() int {
	return 42
}

// Legacy carries the single defer statement of autometrics-go v0.8.
//
//autometrics:doc
func Legacy() error {
	defer autometrics.Instrument(autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)), nil) //autometrics:defer

	return nil
}
