package api

import (
	"time"

	prom "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Aliased imports the Prometheus backend under the alias prom.
//
//autometrics:inst --slo "API" --latency-ms 5 --latency-target 99
func Aliased() {
	amCtx := prom.PreInstrument(prom.NewContext(
		nil,
		prom.WithConcurrentCalls(true),
		prom.WithCallerName(true),
		prom.WithSloName("API"),
		prom.WithAlertLatency(5000000*time.Nanosecond, 99),
	)) //autometrics:shadow-ctx
	defer prom.Instrument(amCtx, nil) //autometrics:defer
}
