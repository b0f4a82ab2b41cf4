// Package billing has its own Handle, to tell two functions of the same name apart.
package billing

import (
	am "github.com/autometrics-dev/autometrics-go/otel/autometrics"
)

// Handle charges an amount (OpenTelemetry backend, alias am).
//
//autometrics:inst
func Handle(amount int) (err error) {
	amCtx := am.PreInstrument(am.NewContext(
		nil,
		am.WithConcurrentCalls(true),
		am.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer am.Instrument(amCtx, &err) //autometrics:defer

	if amount < 0 {
		return errNegative
	}
	return nil
}

type billingError string

func (e billingError) Error() string { return string(e) }

const errNegative = billingError("negative amount")
