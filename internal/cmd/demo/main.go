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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

func main() {
	binary := flag.String("binary", "bin/am-lsp", "the am-lsp binary to run")
	module := flag.String("module", "testdata/demo", "the Go module to analyse")
	flag.Parse()
	// Ctrl-C, SIGTERM or a closed terminal cancel ctx: every child started with it is killed,
	// and the deferred stops remove what the demo created before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, *binary, *module)
	stop()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "\ndemo: interrupted; stopped everything it started and removed its temporary files")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, binary, module string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
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

	step("am-lsp report . ./api ./billing ./yaml.v3   (./many, 50 more functions, left out for brevity)")
	report := exec.CommandContext(ctx, binary, "report", ".", "./api", "./billing", "./yaml.v3")
	report.Dir = module
	report.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+prom.URL)
	report.Stdout, report.Stderr = os.Stdout, os.Stderr
	childproc.TieToParent(report)
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
	step("Hovering %s through a real LSP session (am-lsp over stdio)", target.QualifiedName())
	card, err := hover(ctx, binary, module, prom.URL, target)
	if err != nil {
		return err
	}
	fmt.Println(indent(card))
	step("Stopping Prometheus. Done.")
	return nil
}

// hover starts the server, opens the target's file, and hovers its name until the card has
// numbers (the first hover may arrive before the background prefetch finished).
func hover(ctx context.Context, binary, module, promURL string, target *demodata.Function) (string, error) {
	cmd := exec.CommandContext(ctx, binary, "serve", "--log-level", "warn")
	cmd.Dir = module
	cmd.Stderr = os.Stderr
	childproc.TieToParent(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer cmd.Wait()
	defer stdin.Close()
	client := lspclient.New(stdout, stdin, nil)
	if _, err := client.Initialize(ctx, module, nil, map[string]any{"prometheusUrl": promURL}); err != nil {
		return "", fmt.Errorf("initialize: %w", err)
	}
	file := target.NameSpan.File
	text, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if err := client.Open(file, string(text)); err != nil {
		return "", err
	}
	pos := textdoc.PositionOf(text, target.NameSpan.Start)
	var card string
	for attempt := 0; attempt < 50; attempt++ {
		card, err = client.Hover(ctx, file, int(pos.Line), int(pos.Character))
		if err != nil {
			return "", fmt.Errorf("hover: %w", err)
		}
		if strings.Contains(card, "req/s") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := client.Shutdown(ctx); err != nil {
		return "", fmt.Errorf("shutdown: %w", err)
	}
	return card, nil
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}
