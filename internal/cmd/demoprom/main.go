// Command demoprom serves the demo data for tests that drive an editor from outside Go (the
// real-VS-Code test, scripts/test-vscode-e2e): it starts a real Prometheus on 127.0.0.1 with the
// deterministic series of a module's instrumented functions (testkit/demodata), prints one JSON
// line with Prometheus's URL and, for the chosen function, where its name is and Prometheus's own
// answer to the spec's queries (testkit/cardcheck; base units: calls/s, ratio 0..1, seconds), then
// keeps Prometheus running until its standard input closes or it gets SIGTERM/SIGINT.
//
//	go run ./internal/cmd/demoprom --module testdata/demo
//	{"url":"http://127.0.0.1:…","function":"Handle","module":"example.com/demo/api.Server",
//	 "file":"…/api/server.go","line":11,"character":18,"expected":{"Request rate":4.25,…}}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// report is the JSON line demoprom prints.
type report struct {
	URL       string `json:"url"`
	Function  string `json:"function"` // the function label
	Module    string `json:"module"`   // the module label
	File      string `json:"file"`
	Line      uint32 `json:"line"`      // of the function's name, 0-based
	Character uint32 `json:"character"` // UTF-16, 0-based
	// Expected maps each figure of a card (cardcheck.Number) to Prometheus's answer; a figure
	// Prometheus has no value for (NaN) is left out.
	Expected map[cardcheck.Number]float64 `json:"expected"`
}

func main() {
	module := flag.String("module", "testdata/demo", "the Go module whose functions get series")
	qualified := flag.String("function", "(*Server).Handle", "the function to report, as Go spells it")
	pkg := flag.String("package", "example.com/demo/api", "the function's package path")
	window := flag.String("window", "5m", "the rate window of the expected numbers (am-lsp's window setting)")
	flag.Parse()
	if err := run(*module, *qualified, *pkg, *window); err != nil {
		fmt.Fprintf(os.Stderr, "demoprom: %v\n", err)
		os.Exit(1)
	}
}

func run(module, qualified, pkg, window string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	module, err := filepath.Abs(module)
	if err != nil {
		return err
	}
	opts, fns, err := demodata.Build(ctx, module)
	if err != nil {
		return err
	}
	var target *demodata.Function
	for i := range fns {
		if fns[i].QualifiedName() == qualified && fns[i].PkgPath == pkg {
			target = &fns[i]
		}
	}
	if target == nil {
		return fmt.Errorf("no instrumented %s in %s (module %s)", qualified, pkg, module)
	}
	text, err := os.ReadFile(target.NameSpan.File)
	if err != nil {
		return err
	}
	pos := textdoc.PositionOf(text, target.NameSpan.Start)

	prom, err := promfixture.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting Prometheus: %w", err)
	}
	defer prom.Stop()
	out := report{
		URL: prom.URL, Function: target.Data.Function, Module: target.Data.Module,
		File: target.NameSpan.File, Line: pos.Line, Character: pos.Character,
		Expected: map[cardcheck.Number]float64{},
	}
	for number, q := range cardcheck.SpecQueries(out.Function, out.Module, window) {
		v, err := prom.QueryValue(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		if !math.IsNaN(v) {
			out.Expected[number] = v
		}
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(line))

	// Serve until the caller closes our stdin or signals us; Prometheus stops with us.
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
	return nil
}
