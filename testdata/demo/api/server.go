package api

import (
	"net/http"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Server serves the API over HTTP.
type Server struct {
	Name string
}

// Handle is a pointer-receiver method with the same name as the package function Handle.
//
//autometrics:inst
func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		r.Context(),
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	w.WriteHeader(http.StatusOK)
}

// Status is a value-receiver method.
//
//autometrics:inst
func (s Server) Status() string {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	return "ok:" + s.Name
}

// Ping is not instrumented here; the main package wraps the method value with midhttp.
func (s *Server) Ping(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}
