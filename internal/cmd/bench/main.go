// Command bench measures am-lsp against gopls side by side, in one run, on the same machine,
// module and position, through a real LSP client over stdio, and prints the figures with their
// ratios:
//
//   - warm hover latency (p50, p99) on an instrumented function;
//   - cold start to the first hover (with numbers, for am-lsp), and peak RSS, on a large module
//     (golang.org/x/tools from the module cache, plus an instrumented file of ours);
//   - Prometheus queries per opened file with 50 instrumented functions, and per hover while the
//     cache is fresh;
//   - hover latency while Prometheus hangs (bounded by the hover deadline).
//
// Run: bash scripts/bench   (installs gopls v0.23.0 into bin/ first)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

func main() {
	amlsp := flag.String("am-lsp", "bin/am-lsp", "am-lsp binary")
	gopls := flag.String("gopls", "bin/gopls", "gopls binary (v0.23.0)")
	hovers := flag.Int("hovers", 200, "warm hovers per server")
	large := flag.String("large", "", "large module to copy for the cold-start test (default: golang.org/x/tools from the module cache)")
	hugeOnly := flag.Bool("huge", false, "only the huge-document measure (needs neither gopls nor Prometheus)")
	flag.Parse()
	b := &bench{amlsp: abs(*amlsp), gopls: abs(*gopls), hovers: *hovers}
	var err error
	if !*hugeOnly {
		err = b.run(*large)
	}
	if err == nil {
		err = b.huge(context.Background())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

type bench struct {
	amlsp, gopls string
	hovers       int
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// session is one server process driven over stdio.
type session struct {
	cmd    *exec.Cmd
	client *lspclient.Client
	start  time.Time
	close  func()
}

func startServer(ctx context.Context, bin string, args []string, dir string) (*session, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &session{cmd: cmd, start: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.client = lspclient.New(stdout, stdin, func(method string, _ json.RawMessage) (any, error) {
		if method == "workspace/configuration" {
			return []any{nil}, nil
		}
		return nil, nil
	})
	s.close = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.client.Shutdown(sctx)
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	return s, nil
}

// peakRSS reads the process's high-water resident set size in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// openAndHover initialises, opens file and hovers pos until accept(markdown) holds; it returns
// the time from process start to that hover.
func (s *session) openAndHover(ctx context.Context, root, file string, pos textdoc.Position, initOpts any, accept func(string) bool) (time.Duration, error) {
	if _, err := s.client.Initialize(ctx, root, map[string]any{"textDocument": map[string]any{"hover": map[string]any{"contentFormat": []string{"markdown"}}}}, initOpts); err != nil {
		return 0, fmt.Errorf("initialize: %w", err)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	if err := s.client.Open(file, string(text)); err != nil {
		return 0, err
	}
	for ctx.Err() == nil {
		md, err := s.client.Hover(ctx, file, int(pos.Line), int(pos.Character))
		if err != nil {
			return 0, fmt.Errorf("hover: %w", err)
		}
		if accept(md) {
			return time.Since(s.start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, ctx.Err()
}

// warm measures n sequential hovers and returns p50 and p99.
func (s *session) warm(ctx context.Context, file string, pos textdoc.Position, n int) (p50, p99 time.Duration, err error) {
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := s.client.Hover(ctx, file, int(pos.Line), int(pos.Character)); err != nil {
			return 0, 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[n/2], lat[(n*99)/100], nil
}

func nonEmpty(md string) bool   { return md != "" }
func hasNumbers(md string) bool { return strings.Contains(md, "req/s") }

func (b *bench) run(largeModule string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	demo := abs("testdata/demo")
	opts, fns, err := demodata.Build(ctx, demo)
	if err != nil {
		return err
	}
	// The large module's instrumented function (see prepareLarge) gets series too.
	opts.Functions = append(opts.Functions, demodata.Series(len(opts.Functions), "Handle", largeModulePath+"/amlspbench"))
	prom, err := promfixture.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting Prometheus: %w", err)
	}
	defer prom.Stop()
	initOpts := map[string]any{"prometheusUrl": prom.URL, "cacheTtl": "10m"}
	var target demodata.Function
	for _, f := range fns {
		if f.QualifiedName() == "(*Server).Handle" {
			target = f
		}
	}
	text, _ := os.ReadFile(target.NameSpan.File)
	pos := textdoc.PositionOf(text, target.NameSpan.Start+1)

	fmt.Printf("am-lsp vs gopls v0.23.0, %s, %d warm hovers each\n\n", time.Now().Format(time.DateOnly), b.hovers)

	// 1. Warm hover on the demo module.
	type warmResult struct{ p50, p99 time.Duration }
	warm := map[string]warmResult{}
	for _, srv := range []struct {
		name, bin string
		args      []string
		accept    func(string) bool
	}{{"am-lsp", b.amlsp, []string{"serve", "--log-level", "error"}, hasNumbers}, {"gopls", b.gopls, nil, nonEmpty}} {
		s, err := startServer(ctx, srv.bin, srv.args, demo)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		if _, err := s.openAndHover(ctx, demo, target.NameSpan.File, pos, initOpts, srv.accept); err != nil {
			s.close()
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		p50, p99, err := s.warm(ctx, target.NameSpan.File, pos, b.hovers)
		s.close()
		if err != nil {
			return fmt.Errorf("%s warm hovers: %w", srv.name, err)
		}
		warm[srv.name] = warmResult{p50, p99}
	}
	fmt.Println("warm hover on (*Server).Handle (testdata/demo)")
	fmt.Printf("  %-8s p50 %9s  p99 %9s\n", "am-lsp", round(warm["am-lsp"].p50), round(warm["am-lsp"].p99))
	fmt.Printf("  %-8s p50 %9s  p99 %9s\n", "gopls", round(warm["gopls"].p50), round(warm["gopls"].p99))
	fmt.Printf("  ratio    p50 %8.2fx  p99 %8.2fx   (target p50 <= 2ms and <= 0.5x)\n\n",
		ratio(warm["am-lsp"].p50, warm["gopls"].p50), ratio(warm["am-lsp"].p99, warm["gopls"].p99))

	// 2. Cold start and peak RSS on a large module.
	largeDir, file, err := prepareLarge(ctx, largeModule)
	if err != nil {
		return fmt.Errorf("preparing the large module: %w", err)
	}
	defer os.RemoveAll(filepath.Dir(largeDir))
	ltext, _ := os.ReadFile(file)
	lpos := textdoc.PositionOf(ltext, strings.Index(string(ltext), "func Handle")+len("func H"))
	type coldResult struct {
		first time.Duration
		rss   float64
	}
	cold := map[string]coldResult{}
	for _, srv := range []struct {
		name, bin string
		args      []string
		accept    func(string) bool
	}{{"am-lsp", b.amlsp, []string{"serve", "--log-level", "error"}, hasNumbers}, {"gopls", b.gopls, nil, nonEmpty}} {
		s, err := startServer(ctx, srv.bin, srv.args, largeDir)
		if err != nil {
			return err
		}
		phase, cancelPhase := context.WithTimeout(ctx, 5*time.Minute)
		first, err := s.openAndHover(phase, largeDir, file, lpos, initOpts, srv.accept)
		cancelPhase()
		// Peak RSS after the server had time to finish its background load (the go command's
		// own memory is not counted for either server).
		time.Sleep(5 * time.Second)
		rss := peakRSS(s.cmd.Process.Pid)
		s.close()
		if err != nil {
			return fmt.Errorf("%s on the large module: %w", srv.name, err)
		}
		cold[srv.name] = coldResult{first, rss}
	}
	fmt.Printf("cold start to first hover, %s (%s)\n", filepath.Base(largeDir), "golang.org/x/tools + one instrumented file")
	fmt.Printf("  %-8s %9s  peak RSS %7.1f MiB\n", "am-lsp", round(cold["am-lsp"].first), cold["am-lsp"].rss)
	fmt.Printf("  %-8s %9s  peak RSS %7.1f MiB\n", "gopls", round(cold["gopls"].first), cold["gopls"].rss)
	fmt.Printf("  ratio    %8.2fx  RSS %11.2fx   (target <= 0.5x each)\n\n",
		ratio(cold["am-lsp"].first, cold["gopls"].first), cold["am-lsp"].rss/cold["gopls"].rss)

	// 3. Queries per opened file with 50 instrumented functions, and per hover after.
	if err := b.queries(ctx, demo, prom, fns, initOpts); err != nil {
		return err
	}
	// 4. Hover while Prometheus hangs.
	return b.hang(ctx, demo, target, pos)
}

func (b *bench) queries(ctx context.Context, demo string, prom *promfixture.Server, fns []demodata.Function, initOpts map[string]any) error {
	var many []demodata.Function
	for _, f := range fns {
		if f.PkgPath == "example.com/demo/many" {
			many = append(many, f)
		}
	}
	s, err := startServer(ctx, b.amlsp, []string{"serve", "--log-level", "error"}, demo)
	if err != nil {
		return err
	}
	defer s.close()
	before, err := prom.QueryCount(ctx)
	if err != nil {
		return err
	}
	text, _ := os.ReadFile(many[0].NameSpan.File)
	if _, err := s.openAndHover(ctx, demo, many[0].NameSpan.File, textdoc.PositionOf(text, many[0].NameSpan.Start), initOpts, hasNumbers); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the background analysis and prefetch settle
	afterOpen, _ := prom.QueryCount(ctx)
	for _, f := range many {
		p := textdoc.PositionOf(text, f.NameSpan.Start)
		if _, err := s.client.Hover(ctx, f.NameSpan.File, int(p.Line), int(p.Character)); err != nil {
			return err
		}
	}
	afterHovers, _ := prom.QueryCount(ctx)
	fmt.Printf("Prometheus queries: opening a file with %d instrumented functions %d (target <= 6); %d hovers while fresh %d (target 0)\n\n",
		len(many), afterOpen-before, len(many), afterHovers-afterOpen)
	return nil
}

func (b *bench) hang(ctx context.Context, demo string, target demodata.Function, pos textdoc.Position) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, h := range held {
					h.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	s, err := startServer(ctx, b.amlsp, []string{"serve", "--log-level", "error"}, demo)
	if err != nil {
		return err
	}
	defer s.close()
	opts := map[string]any{"prometheusUrl": "http://" + ln.Addr().String(), "hoverDeadline": "500ms"}
	if _, err := s.openAndHover(ctx, demo, target.NameSpan.File, pos, opts, nonEmpty); err != nil {
		return err
	}
	var worst time.Duration
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		if _, err := s.client.Hover(ctx, target.NameSpan.File, int(pos.Line), int(pos.Character)); err != nil {
			return err
		}
		worst = max(worst, time.Since(t0))
	}
	fmt.Printf("hover while Prometheus hangs: worst of 10 %s (hover deadline 500ms)\n", round(worst))
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
