// Command am-lsp is a language server that shows live Autometrics telemetry (request rate,
// error ratio, latency) of Go functions from Prometheus, and a terminal report of the same.
//
//	am-lsp [serve] [--log-file FILE] [--log-level LEVEL]   LSP over stdio
//	am-lsp report [--json] [--prometheus-url URL] [packages]
//	am-lsp version | help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/heapfloor"
	"github.com/am-lsp/am-lsp/internal/insight"
	"github.com/am-lsp/am-lsp/internal/lsp"
	"github.com/am-lsp/am-lsp/internal/plaintext"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// version is set at build time with -ldflags "-X main.version=…"; see currentVersion.
var version = "dev"

// currentVersion is version when the build set it, else the module version the go command
// recorded (`go install github.com/am-lsp/am-lsp/cmd/am-lsp@v1.2.3` records v1.2.3), else "dev".
func currentVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := moduleVersion(info); v != "" {
			return v
		}
	}
	return version
}

// moduleVersion is the main module's version in info, or "" for a build from a source tree
// (the go command writes "(devel)" there).
func moduleVersion(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return ""
}

const usage = `am-lsp: live Autometrics telemetry for Go functions, in your editor.

Usage:
  am-lsp [serve] [flags]         run the language server over stdin/stdout
  am-lsp report [flags] [pkgs]   print the numbers of instrumented functions (default ./...)
  am-lsp version                 print the version
  am-lsp help                    print this help

Serve flags:
  --log-file FILE    write logs to FILE instead of stderr (never to stdout)
  --log-level LEVEL  debug, info, warn or error (default info)
  --trace FILE       write a Go execution trace to FILE (one task per request; go tool trace)
  --memprofile FILE  write a profile of all allocations to FILE at exit (go tool pprof)

Report flags:
  --json                 print JSON instead of a table
  --burning              only the SLOs that are breached or burn their error budget faster
                         than --burn-rate-threshold, worst burn rate first, and how many
                         functions with SLOs had no series (see exit status)
  --burn-rate-threshold  burn rate above which an SLO counts as burning (default 2; 0: breaches only)
  --prometheus-url URL   backend URL (default: $AM_PROMETHEUS_URL, else http://localhost:9090)
  --window DURATION      rate window (default 5m)
  --timeout DURATION     per-query timeout (default 10s)

Exit status of report: 0 ok, 1 the backend or the packages could not be read, 2 usage;
with --burning also 3 at least one SLO is breached, 4 none is breached but functions with
SLOs had no series (their SLOs were not judged).

Environment:
  AM_PROMETHEUS_URL      Prometheus-compatible base URL (path prefix allowed)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one invocation and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdin, stdout, stderr)
	case "report":
		return report(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "am-lsp %s\n", currentVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "am-lsp: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("am-lsp "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func usageError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, usage)
		return 0
	}
	fmt.Fprintf(stderr, "am-lsp: %v\n\n%s", err, usage)
	return 2
}

// stdio joins stdin and stdout into the stream the server speaks over.
type stdio struct {
	io.Reader
	io.Writer
}

func (stdio) Close() error { return nil }

// startTrace writes a runtime execution trace to file until the returned function is called.
func startTrace(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { trace.Stop(); f.Close() }, nil
}

// writeMemProfile writes the allocation profile to file, logging a failure.
func writeMemProfile(file string, log *slog.Logger) {
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Error("--memprofile", "err", err)
	}
}

func serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve")
	logFile := fs.String("log-file", "", "")
	logLevel := fs.String("log-level", "info", "")
	traceFile := fs.String("trace", "", "")
	memProfile := fs.String("memprofile", "", "")
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, err)
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Errorf("serve takes no arguments, got %q", fs.Args()))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError(stderr, fmt.Errorf("--log-level: %v", err))
	}
	logOut := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "am-lsp: --log-file: %v\n", err)
			return 2
		}
		defer f.Close()
		logOut = f
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if *traceFile != "" {
		stopTrace, err := startTrace(*traceFile)
		if err != nil {
			fmt.Fprintf(stderr, "am-lsp: --trace: %v\n", err)
			return 2
		}
		defer stopTrace()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 4096
		defer writeMemProfile(*memProfile, log)
	}
	// SIGHUP too: an editor that exits hangs up its servers; stopping cleanly ends the go
	// commands of loads under way and removes their temporary files.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A server at rest has a small heap: without a floor, bursts of hovers would each meet a
	// collection (see heapfloor). GOGC in the environment turns this off.
	defer heapfloor.Keep(heapfloor.DefaultFloor)()
	srv := lsp.New(lsp.Options{Logger: log, Version: currentVersion()})
	code := srv.Serve(ctx, stdio{Reader: stdin, Writer: stdout})
	log.Info("am-lsp exiting", "code", code)
	return code
}

func report(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report")
	asJSON := fs.Bool("json", false, "")
	burning := fs.Bool("burning", false, "")
	settings := config.Defaults(os.Getenv)
	threshold := fs.Float64("burn-rate-threshold", settings.BurnRateThreshold, "")
	promURL := fs.String("prometheus-url", settings.PrometheusURL, "")
	window := fs.Duration("window", settings.Window, "")
	timeout := fs.Duration("timeout", settings.QueryTimeout, "")
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, err)
	}
	if *threshold < 0 || math.IsNaN(*threshold) {
		return usageError(stderr, fmt.Errorf("--burn-rate-threshold %v: must not be negative", *threshold))
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	client, err := promclient.New(promclient.Config{URL: *promURL, Window: *window, Timeout: *timeout, TTL: time.Minute})
	if err != nil {
		reportError(stderr, err)
		return 2
	}
	dir, _ := os.Getwd()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	views, err := insight.Report(ctx, &analysis.Loader{Dir: dir}, insight.Links{Grafana: settings.GrafanaURL, Prom: client}, patterns)
	if *burning {
		return reportBurning(views, err, *threshold, *asJSON, stdout, stderr)
	}
	var werr error
	if *asJSON {
		werr = insight.WriteJSON(stdout, views)
	} else if len(views) > 0 {
		werr = insight.WriteTable(stdout, views)
	} else if err == nil {
		fmt.Fprintf(stdout, "no instrumented functions in %v\n", patterns)
	}
	if werr != nil {
		reportError(stderr, werr)
		return 1
	}
	if err != nil {
		reportError(stderr, err)
		return 1
	}
	return 0
}

// reportError prints err of the report command on stderr. Its text may come from the
// repository, the go command or the backend: control characters are dropped, so no terminal
// escape sequence in it reaches the terminal (plaintext.Clean). Each line of err (one per
// problem, see insight.Report) is its own line of output.
func reportError(stderr io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") { // one line per problem
		fmt.Fprintf(stderr, "am-lsp report: %s\n", plaintext.Clean(line))
	}
}

// Exit statuses of report --burning besides 0 (nothing to report), 1 (backend or packages
// unreadable) and 2 (usage).
const (
	// exitBreached: an SLO is breached.
	exitBreached = 3
	// exitUnjudged: no SLO is breached, but functions with SLOs have no series, so their
	// objectives were not judged (e.g. a backend that does not scrape this code).
	exitUnjudged = 4
)

// reportBurning prints the SLO problems of views, worst first, and (on stderr) how many
// functions with SLOs had no series. A backend failure wins over a breach (1): the list may then be
// incomplete; a breach wins over functions without series.
func reportBurning(views []insight.View, loadErr error, threshold float64, asJSON bool, stdout, stderr io.Writer) int {
	problems := insight.SLOProblems(views, threshold)
	unjudged := insight.SLOFunctionsWithoutSeries(views)
	var werr error
	switch {
	case asJSON:
		werr = insight.WriteProblemsJSON(stdout, problems)
	case len(problems) > 0:
		werr = insight.WriteProblemsTable(stdout, problems)
	case loadErr == nil && unjudged == 0:
		fmt.Fprintf(stdout, "no SLO is breached or burning faster than %g×\n", threshold)
	}
	if werr != nil {
		reportError(stderr, werr)
		return 1
	}
	if loadErr != nil {
		reportError(stderr, loadErr)
		return 1
	}
	if unjudged > 0 {
		// On stderr, so that stdout stays the table or one JSON document.
		fmt.Fprintf(stderr, "%d %s with an SLO had no series in %s: %s not judged\n",
			unjudged, plural(unjudged, "function", "functions"), views[0].Backend, plural(unjudged, "its SLO was", "their SLOs were"))
	}
	switch {
	case insight.AnyBreached(problems):
		return exitBreached
	case unjudged > 0:
		return exitUnjudged
	}
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
