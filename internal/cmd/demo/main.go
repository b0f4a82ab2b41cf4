// Command demo shows am-lsp end to end on this machine: it starts a real Prometheus on
// 127.0.0.1 loaded with deterministic data for the functions of testdata/demo, prints the
// `am-lsp report` table, then starts the am-lsp binary as an editor would (LSP over stdio),
// hovers an instrumented method and prints the card it answers. It stops everything it started.
//
//	go run ./internal/cmd/demo --binary bin/am-lsp
package main

import (
	"context"
	"errors"
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
	interrupted := ctx.Err() != nil // read before stop, which cancels ctx too
	stop()
	if interrupted {
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

	step("Analysing %s and generating deterministic series with an incident", module)
	opts, fns, err := demodata.Build(ctx, module)
	if err != nil {
		return err
	}
	// 25 minutes ago (*Server).Handle was deployed as v1.5.0; since then a quarter of its calls
	// fail, an alert fires, and exemplars name its slowest traces.
	opts = demodata.WithIncident(opts, time.Now())
	step("Starting Prometheus (%d instrumented functions' series, a deploy, alerting rules, exemplars)", len(fns))
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
	childproc.TieToParent(report)
	if err := report.Run(); err != nil {
		return fmt.Errorf("am-lsp report: %w", err)
	}

	step("am-lsp report --burning ./...   (what is burning now, worst first; exit status 3: an SLO is breached)")
	burning := exec.CommandContext(ctx, binary, "report", "--burning", "./...")
	burning.Dir = module
	burning.Env = append(os.Environ(), "AM_PROMETHEUS_URL="+prom.URL)
	burning.Stdout, burning.Stderr = os.Stdout, os.Stderr
	childproc.TieToParent(burning)
	if err := burning.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
			return fmt.Errorf("am-lsp report --burning: %w", err)
		}
		fmt.Println("   (exit status 3)")
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
	step("Hovering %s through a real LSP session (am-lsp over stdio): versions compared, alerts, traces", target.QualifiedName())
	card, snapshot, err := hover(ctx, binary, module, prom.URL, target)
	if err != nil {
		return err
	}
	fmt.Println(indent(card))
	step("workspace/executeCommand am-lsp.snapshot: the Markdown to paste in the incident channel")
	fmt.Println(indent(snapshot))

	orders := filepath.Join(module, "orders", "orders.go")
	step("Hovering orders.Place, traced with an OpenTelemetry span (numbers from span metrics)")
	traced, err := hoverTraced(ctx, binary, module, prom.URL, orders, "func Place")
	if err != nil {
		return err
	}
	fmt.Println(indent(traced))
	step("Stopping Prometheus. Done.")
	return nil
}

// hoverTraced starts the server, opens file and hovers the name after decl ("func Place")
// until the card has numbers.
func hoverTraced(ctx context.Context, binary, module, promURL, file, decl string) (string, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	at := strings.Index(string(text), decl)
	if at < 0 {
		return "", fmt.Errorf("no %q in %s", decl, file)
	}
	cmd := exec.CommandContext(ctx, binary, "serve", "--log-level", "warn")
	cmd.Dir = module
	cmd.Stderr = os.Stderr
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
	if err := client.Open(file, string(text)); err != nil {
		return "", err
	}
	pos := textdoc.PositionOf(text, at+strings.LastIndex(decl, " ")+1)
	var card string
	for attempt := 0; attempt < 100; attempt++ {
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

// hover starts the server, opens the target's file, hovers its name until the card has numbers
// and incident data (the first hovers may arrive before the background refresh finished), and
// asks for its snapshot.
func hover(ctx context.Context, binary, module, promURL string, target *demodata.Function) (card, snapshot string, err error) {
	cmd := exec.CommandContext(ctx, binary, "serve", "--log-level", "warn")
	cmd.Dir = module
	cmd.Stderr = os.Stderr
	childproc.TieToParent(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	defer cmd.Wait()
	defer stdin.Close()
	client := lspclient.New(stdout, stdin, nil)
	settings := map[string]any{"prometheusUrl": promURL, "traceUrlTemplate": "http://localhost:3200/trace/{traceId}"}
	if _, err := client.Initialize(ctx, module, nil, settings); err != nil {
		return "", "", fmt.Errorf("initialize: %w", err)
	}
	file := target.NameSpan.File
	text, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	if err := client.Open(file, string(text)); err != nil {
		return "", "", err
	}
	pos := textdoc.PositionOf(text, target.NameSpan.Start)
	for attempt := 0; attempt < 100; attempt++ {
		card, err = client.Hover(ctx, file, int(pos.Line), int(pos.Character))
		if err != nil {
			return "", "", fmt.Errorf("hover: %w", err)
		}
		if strings.Contains(card, "req/s") && strings.Contains(card, "Slowest traces") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	arg := map[string]any{"uri": lspclient.FileURI(file), "position": map[string]any{"line": pos.Line, "character": pos.Character}}
	if err := client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.snapshot", "arguments": []any{arg}}, &snapshot); err != nil {
		return "", "", fmt.Errorf("snapshot: %w", err)
	}
	if err := client.Shutdown(ctx); err != nil {
		return "", "", fmt.Errorf("shutdown: %w", err)
	}
	return card, snapshot, nil
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}
