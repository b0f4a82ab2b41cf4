// Command demo shows am-lsp end to end on this machine: it starts a real Prometheus on
// 127.0.0.1 loaded with deterministic data for the functions of testdata/demo, prints the
// `am-lsp report` table, then starts the am-lsp binary as an editor would (LSP over stdio),
// hovers an instrumented method and prints the card it answers. It stops everything it started.
//
//	go run ./internal/cmd/demo --binary bin/am-lsp
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

func main() {
	binary := flag.String("binary", "bin/am-lsp", "the am-lsp binary to run")
	module := flag.String("module", "testdata/demo", "the Go module to analyse")
	flag.Parse()
	if err := run(*binary, *module); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(binary, module string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	binary, _ = filepath.Abs(binary)
	module, _ = filepath.Abs(module)

	step("Analysing %s and generating deterministic series", module)
	opts, fns, err := demodata.Build(ctx, module)
	if err != nil {
		return err
	}
	step("Starting Prometheus (%d instrumented functions' series)", len(fns))
	prom, err := promfixture.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting Prometheus: %w", err)
	}
	defer prom.Stop()
	fmt.Printf("   Prometheus %s ready in %s\n", prom.URL, prom.StartupTime.Round(time.Millisecond))

	step("am-lsp report . ./api ./billing ./yaml.v3 ./orders   (./many, 50 more functions, left out for brevity)")
	report := exec.CommandContext(ctx, binary, "report", ".", "./api", "./billing", "./yaml.v3", "./orders")
	report.Dir = module
	report.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+prom.URL)
	report.Stdout, report.Stderr = os.Stdout, os.Stderr
	if err := report.Run(); err != nil {
		return fmt.Errorf("am-lsp report: %w", err)
	}

	var target *demodata.Function
	for i := range fns {
		if fns[i].Receiver == "Server" && fns[i].Name == "Handle" {
			target = &fns[i]
		}
	}
	if target == nil {
		return fmt.Errorf("no (*Server).Handle in %s", module)
	}
	orders := filepath.Join(module, "orders", "orders.go")
	src, err := os.ReadFile(orders)
	if err != nil {
		return err
	}
	place := strings.Index(string(src), "func Place")
	if place < 0 {
		return fmt.Errorf("no func Place in %s", orders)
	}
	targets := []hoverTarget{
		{target.QualifiedName() + " (Autometrics)", target.NameSpan.File, target.NameSpan.Start},
		{"orders.Place (traced with an OpenTelemetry span)", orders, place + len("func ")},
	}
	step("Hovering %s and %s through a real LSP session (am-lsp over stdio)", targets[0].name, targets[1].name)
	cards, err := hover(ctx, binary, module, prom.URL, targets)
	if err != nil {
		return err
	}
	for _, card := range cards {
		fmt.Println(indent(card))
		fmt.Println()
	}
	step("Stopping Prometheus. Done.")
	return nil
}

// hoverTarget is a name to hover: the file and the byte offset of the name.
type hoverTarget struct {
	name   string
	file   string
	offset int
}

// hover starts the server, opens the targets' files, and hovers each name until its card has
// numbers (the first hover may arrive before the background prefetch finished).
func hover(ctx context.Context, binary, module, promURL string, targets []hoverTarget) ([]string, error) {
	cmd := exec.CommandContext(ctx, binary, "serve", "--log-level", "warn")
	cmd.Dir = module
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	client := lspclient.New(stdout, stdin, nil)
	if _, err := client.Initialize(ctx, module, nil, map[string]any{"prometheusUrl": promURL}); err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var cards []string
	for _, t := range targets {
		text, err := os.ReadFile(t.file)
		if err != nil {
			return nil, err
		}
		if err := client.Open(t.file, string(text)); err != nil {
			return nil, err
		}
		pos := textdoc.PositionOf(text, t.offset)
		var card string
		for attempt := 0; attempt < 50; attempt++ {
			card, err = client.Hover(ctx, t.file, int(pos.Line), int(pos.Character))
			if err != nil {
				return nil, fmt.Errorf("hover: %w", err)
			}
			if strings.Contains(card, "req/s") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		cards = append(cards, card)
	}
	if err := client.Shutdown(ctx); err != nil {
		return nil, fmt.Errorf("shutdown: %w", err)
	}
	return cards, nil
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}
