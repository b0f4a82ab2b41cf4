// Command demo wires the fixture packages together.
package main

import (
	"log"
	"net/http"

	"example.com/demo/api"
	"example.com/demo/billing"
	yaml "example.com/demo/yaml.v3"
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
	"github.com/autometrics-dev/autometrics-go/prometheus/midhttp"
)

// App is the demo application.
type App struct {
	srv *api.Server
}

// Start is an instrumented method in package main.
//
//autometrics:inst
func (a *App) Start() error {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	http.HandleFunc("/healthz", midhttp.Autometrics(Healthz))
	http.HandleFunc("/ping", midhttp.Autometrics(a.srv.Ping))
	return http.ListenAndServe("127.0.0.1:0", nil)
}

// Serve is an instrumented function in package main that calls other packages.
//
//autometrics:inst
func Serve() error {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	if _, err := api.Handle("42"); err != nil {
		return err
	}
	if err := billing.Handle(10); err != nil {
		return err
	}
	return yaml.Decode(nil)
}

// Healthz is an HTTP handler instrumented only by the midhttp middleware.
func Healthz(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}

func main() {
	app := &App{srv: &api.Server{Name: "demo"}}
	if err := Serve(); err != nil {
		log.Fatal(err)
	}
	log.Fatal(app.Start())
}
