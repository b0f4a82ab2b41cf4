// Package midhttp is a no-op stand-in for the prometheus HTTP middleware of autometrics-go.
package midhttp

import (
	"net/http"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Autometrics wraps next; the wrapped handler is the instrumented function.
func Autometrics(next http.HandlerFunc, opts ...autometrics.Option) http.HandlerFunc {
	return next
}
