package demodata

import (
	"fmt"

	"github.com/am-lsp/am-lsp/internal/analysis" // for the Labels type only
)

// DemoModule is the module path of testdata/demo.
const DemoModule = "example.com/demo"

// Decl names a function declaration: its package path and its qualified name as
// analysis.Function.QualifiedName writes it ("(*Server).Handle", "Server.Status", "Map").
type Decl struct{ PkgPath, Name string }

// DemoLabels are the labels the series of every instrumented function of testdata/demo that
// emits metrics carry in production, spelled out by hand, never computed by internal/analysis,
// so that the end-to-end tests check analysis against them.
//
// autometrics-go takes the name the Go runtime gives the function (runtime.FuncForPC) and splits
// it at its last dot: module before, function after (spec §2). The runtime's forms, checked
// against a real program in internal/analysis/labels_test.go: "pkg.F"; "pkg.(*T).M" and
// "pkg.T.M" for methods (module "pkg.T"); "pkg.Map[...]" for a generic function, so the last
// dot falls inside the brackets; "pkg.(*T[...]).M" for a method of a generic type; a "-fm"
// suffix for a method value (a middleware wraps one); "main" as the package path of package
// main; and the last path element's dots escaped as %2e ("yaml%2ev3").
var DemoLabels = func() map[Decl]analysis.Labels {
	const api, main = DemoModule + "/api", DemoModule
	m := map[Decl]analysis.Labels{
		{api, "Handle"}:                     labels("Handle", api),
		{api, "Aliased"}:                    labels("Aliased", api),
		{api, "Legacy"}:                     labels("Legacy", api),
		{api, "Lookup"}:                     labels("Lookup", api),
		{api, "Map"}:                        labels("]", api+".Map[.."),       // runtime "…/api.Map[...]"
		{api, "(*Cache).Get"}:               labels("Get", api+".Cache[...]"), // runtime "…/api.(*Cache[...]).Get"
		{api, "(*Server).Handle"}:           labels("Handle", api+".Server"),  // runtime "…/api.(*Server).Handle"
		{api, "Server.Status"}:              labels("Status", api+".Server"),  // runtime "…/api.Server.Status"
		{api, "(*Server).Ping"}:             labels("Ping-fm", api+".Server"), // a middleware wraps the method value
		{DemoModule + "/billing", "Handle"}: labels("Handle", DemoModule+"/billing"),
		{DemoModule + "/yaml.v3", "Decode"}: labels("Decode", DemoModule+"/yaml%2ev3"), // runtime "…/yaml%2ev3.Decode"
		{main, "(*App).Start"}:              labels("Start", "main.App"),               // runtime "main.(*App).Start"
		{main, "Serve"}:                     labels("Serve", "main"),
		{main, "Healthz"}:                   labels("Healthz", "main"), // a middleware of a plain function
	}
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("F%02d", i)
		m[Decl{DemoModule + "/many", name}] = analysis.Labels{Function: name, Module: DemoModule + "/many"}
	}
	return m
}()

func labels(function, module string) analysis.Labels {
	return analysis.Labels{Function: function, Module: module}
}
