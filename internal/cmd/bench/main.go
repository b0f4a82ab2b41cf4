// Command bench measures am-lsp against gopls side by side, in one run, on the same machine,
// module and positions, through a real LSP client over stdio, and prints the figures with their
// ratios. Each server is started afresh for every repetition; min and median are printed.
//
// On a large module (--module; default golang.org/x/tools from the module cache) with an
// instrumented package and a caller package added (see large.go), in named phases:
//
//   - first hover: process start → a hover on the instrumented method's name has content (with
//     numbers, for am-lsp);
//   - typed analysis done: process start → a hover on the call site, reached through a struct
//     field from another package, resolves (it needs type information);
//   - during load: latency of hovers issued between those two moments;
//   - steady state: latency of ≥ 1000 hovers on the call site once the server and its children
//     are idle;
//   - after an edit: didChange inside the caller's body → a hover on the call site resolves
//     (it needs the edited package's fresh types);
//   - memory: peaks of the server, and of the server plus its child processes (the go command,
//     compilers), sampled every 50 ms through the whole session.
//
// On testdata/demo: Prometheus queries per opened file and per hover, and hover latency while
// Prometheus hangs (bounded by the hover deadline).
//
// Run: bash scripts/bench [--module DIR] [--reps N]   (installs gopls v0.23.0 into bin/ first)
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
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

func main() {
	amlsp := flag.String("am-lsp", "bin/am-lsp", "am-lsp binary")
	gopls := flag.String("gopls", "bin/gopls", "gopls binary (v0.23.0)")
	hovers := flag.Int("hovers", 1000, "steady-state hovers per server and repetition (at least 1000)")
	reps := flag.Int("reps", 3, "repetitions (each starts both servers afresh)")
	edits := flag.Int("edits", 10, "edits per server and repetition")
	module := flag.String("module", "", "directory of a large module to copy (default: golang.org/x/tools from the module cache); see README for prometheus/prometheus")
	heavy := flag.String("import", "", "package of the module the caller package imports (default: one per known module)")
	hugeOnly := flag.Bool("huge", false, "only the huge-document measure (needs neither gopls nor Prometheus)")
	flag.Parse()
	b := &bench{amlsp: abs(*amlsp), gopls: abs(*gopls), hovers: max(*hovers, 1000), reps: max(*reps, 1), edits: max(*edits, 1)}
	var err error
	if !*hugeOnly {
		err = b.run(*module, *heavy)
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
	reps         int
	edits        int
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// server is one of the two servers under test.
type server struct {
	name string
	bin  string
	args []string
	// resolved says whether a hover's markdown shows the function (with numbers, for am-lsp).
	resolved func(md string) bool
}

func (b *bench) servers() []server {
	return []server{
		{"am-lsp", b.amlsp, []string{"serve", "--log-level", "error"}, hasNumbers},
		{"gopls", b.gopls, nil, func(md string) bool { return strings.Contains(md, "Handle") }},
	}
}

func hasNumbers(md string) bool { return strings.Contains(md, "req/s") }
func nonEmpty(md string) bool   { return md != "" }

// session is one server process driven over stdio.
type session struct {
	cmd    *exec.Cmd
	client *lspclient.Client
	start  time.Time
	mem    *memSampler
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
	s.mem = sampleMemory(cmd.Process.Pid)
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

func (s *session) initialize(ctx context.Context, root string, initOpts any) error {
	_, err := s.client.Initialize(ctx, root, map[string]any{"textDocument": map[string]any{"hover": map[string]any{"contentFormat": []string{"markdown"}}}}, initOpts)
	return err
}

func (s *session) open(files ...string) error {
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := s.client.Open(f, string(text)); err != nil {
			return err
		}
	}
	return nil
}

// hoverUntil hovers pos until accept(markdown) holds and returns the time from process start.
func (s *session) hoverUntil(ctx context.Context, file string, pos textdoc.Position, accept func(string) bool) (time.Duration, error) {
	for ctx.Err() == nil {
		md, err := s.client.Hover(ctx, file, int(pos.Line), int(pos.Character))
		if err != nil {
			return 0, fmt.Errorf("hover: %w", err)
		}
		if accept(md) {
			return time.Since(s.start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, ctx.Err()
}

// hoverLatencies measures n sequential hovers.
func (s *session) hoverLatencies(ctx context.Context, file string, pos textdoc.Position, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := s.client.Hover(ctx, file, int(pos.Line), int(pos.Character)); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// waitIdle waits until the server and its children used under 2% of a core for a second, and
// reports whether they did within two minutes (false: still busy, e.g. a workspace sweep on a
// loaded machine).
func (s *session) waitIdle(ctx context.Context) bool {
	const window = time.Second
	deadline := time.Now().Add(2 * time.Minute)
	pid := s.cmd.Process.Pid
	prev, children := cpuTime(pid), len(descendants(pid))
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(window)
		cur, childrenNow := cpuTime(pid), len(descendants(pid))
		// Clock ticks are 10 ms: 2% of a second is 2 ticks. A child (the go command) at either
		// end of the window makes it busy: work often starts the moment a child exits.
		if cur-prev <= 2 && children == 0 && childrenNow == 0 {
			return true
		}
		prev, children = cur, childrenNow
	}
	return false
}

func (b *bench) run(module, heavy string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	lm, err := prepareLarge(ctx, module, heavy)
	if err != nil {
		return fmt.Errorf("preparing the large module: %w", err)
	}
	defer lm.remove()

	demo := abs("testdata/demo")
	opts, fns, err := demodata.Build(ctx, demo)
	if err != nil {
		return err
	}
	// The large module's instrumented method gets series too.
	opts.Functions = append(opts.Functions, demodata.Series(len(opts.Functions), "Handle", lm.modulePath+"/amlspbench.Server"))
	prom, err := promfixture.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting Prometheus: %w", err)
	}
	defer prom.Stop()
	initOpts := map[string]any{"prometheusUrl": prom.URL, "cacheTtl": "10m"}

	fmt.Printf("am-lsp vs gopls v0.23.0, %s, %d repetitions (min / median), %d steady-state hovers and %d edits per repetition\n",
		time.Now().Format(time.DateOnly), b.reps, b.hovers, b.edits)
	fmt.Printf("module: %s\n\n", lm.name)

	results := map[string][]largeRun{}
	for rep := range b.reps {
		for _, srv := range b.servers() {
			r, err := b.largeSession(ctx, srv, lm, initOpts)
			if err != nil {
				return fmt.Errorf("%s, repetition %d: %w", srv.name, rep+1, err)
			}
			results[srv.name] = append(results[srv.name], r)
		}
	}
	printLarge(results)

	if err := b.queries(ctx, demo, prom, fns, initOpts); err != nil {
		return err
	}
	return b.hang(ctx, demo, fns)
}

// largeRun is what one session on the large module measured.
type largeRun struct {
	firstHover, typed time.Duration
	duringLoad        []time.Duration
	steady            []time.Duration
	afterEdit         []time.Duration
	peakServer        float64
	peakTotal         float64
	busySteady        bool // the server was not idle before the steady-state hovers
}

func (b *bench) largeSession(ctx context.Context, srv server, lm *largeModule, initOpts any) (largeRun, error) {
	var r largeRun
	btext, err := os.ReadFile(lm.benchFile)
	if err != nil {
		return r, err
	}
	declPos := textdoc.PositionOf(btext, strings.Index(string(btext), "Handle(id")+1)
	ctext, err := os.ReadFile(lm.callerFile)
	if err != nil {
		return r, err
	}
	callOffset := strings.Index(string(ctext), "srv.Handle") + len("srv.H")
	callPos := textdoc.PositionOf(ctext, callOffset)

	s, err := startServer(ctx, srv.bin, srv.args, lm.dir)
	if err != nil {
		return r, err
	}
	defer s.close()
	phase, cancelPhase := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelPhase()
	if err := s.initialize(phase, lm.dir, initOpts); err != nil {
		return r, fmt.Errorf("initialize: %w", err)
	}
	if err := s.open(lm.benchFile, lm.callerFile); err != nil {
		return r, err
	}

	// First hover, then hovers while the typed analysis runs, on a second connection-level
	// goroutine: requests run concurrently on both servers.
	var typedDone atomic.Bool
	firstErr := make(chan error, 1)
	go func() {
		first, err := s.hoverUntil(phase, lm.benchFile, declPos, srv.resolved)
		r.firstHover = first
		for err == nil && !typedDone.Load() {
			t0 := time.Now()
			if _, err = s.client.Hover(phase, lm.benchFile, int(declPos.Line), int(declPos.Character)); err == nil && !typedDone.Load() {
				r.duringLoad = append(r.duringLoad, time.Since(t0))
			}
			time.Sleep(20 * time.Millisecond)
		}
		firstErr <- err
	}()
	r.typed, err = s.hoverUntil(phase, lm.callerFile, callPos, srv.resolved)
	typedDone.Store(true)
	if err2 := <-firstErr; err == nil {
		err = err2
	}
	if err != nil {
		return r, fmt.Errorf("typed analysis: %w", err)
	}

	r.busySteady = !s.waitIdle(phase)
	if r.steady, err = s.hoverLatencies(phase, lm.callerFile, callPos, b.hovers); err != nil {
		return r, fmt.Errorf("steady hovers: %w", err)
	}

	// Edits inside the caller's body: each adds a statement above the call, which moves it down
	// a line; the hover on the call needs the edited package's fresh types.
	for i := range b.edits {
		line := int(callPos.Line)
		if err := s.client.Change(lm.callerFile, i+2, line, 0, line, 0, fmt.Sprintf("\t_ = %d\n", i)); err != nil {
			return r, err
		}
		callPos.Line++
		t0 := time.Now()
		if _, err := s.hoverUntilFrom(phase, lm.callerFile, callPos, srv.resolved); err != nil {
			return r, fmt.Errorf("hover after edit: %w", err)
		}
		r.afterEdit = append(r.afterEdit, time.Since(t0))
		time.Sleep(300 * time.Millisecond)
	}
	r.peakServer, r.peakTotal = s.mem.finish()
	return r, nil
}

// hoverUntilFrom is hoverUntil without the pause between attempts.
func (s *session) hoverUntilFrom(ctx context.Context, file string, pos textdoc.Position, accept func(string) bool) (string, error) {
	for ctx.Err() == nil {
		md, err := s.client.Hover(ctx, file, int(pos.Line), int(pos.Character))
		if err != nil {
			return "", err
		}
		if accept(md) {
			return md, nil
		}
	}
	return "", ctx.Err()
}

func printLarge(results map[string][]largeRun) {
	a, g := results["am-lsp"], results["gopls"]
	type row struct {
		name   string
		value  func(largeRun) float64 // in the row's unit
		unit   string
		target string
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rows := []row{
		{"first hover (process start → card)", func(r largeRun) float64 { return ms(r.firstHover) }, "ms", "as today"},
		{"typed analysis done (call site resolves)", func(r largeRun) float64 { return ms(r.typed) }, "ms", "≤ 0.5×"},
		{"hovers during the load, p50", func(r largeRun) float64 { return ms(percentile(r.duringLoad, 50)) }, "ms", "a few ms"},
		{"hovers during the load, max", func(r largeRun) float64 { return ms(percentile(r.duringLoad, 100)) }, "ms", ""},
		{"steady state hover p50", func(r largeRun) float64 { return ms(percentile(r.steady, 50)) }, "ms", ""},
		{"steady state hover p99", func(r largeRun) float64 { return ms(percentile(r.steady, 99)) }, "ms", "≤ 1×"},
		{"after an edit: call site resolves, median", func(r largeRun) float64 { return ms(percentile(r.afterEdit, 50)) }, "ms", "≤ 0.5×"},
		{"peak memory, server", func(r largeRun) float64 { return r.peakServer }, "MiB", ""},
		{"peak memory, server + children", func(r largeRun) float64 { return r.peakTotal }, "MiB", "≤ 0.5×"},
	}
	fmt.Printf("%-44s %21s %21s %8s  %s\n", "phase", "am-lsp min / median", "gopls min / median", "ratio", "target")
	for _, rw := range rows {
		am, gm := collect(a, rw.value), collect(g, rw.value)
		ratio := "-"
		if median(gm) > 0 {
			ratio = fmt.Sprintf("%.2f×", median(am)/median(gm))
		}
		fmt.Printf("%-44s %21s %21s %8s  %s\n", rw.name, minMedian(am, rw.unit), minMedian(gm, rw.unit), ratio, rw.target)
	}
	count := func(rs []largeRun) (n int) {
		for _, r := range rs {
			n += len(r.duringLoad)
		}
		return n
	}
	fmt.Printf("(hovers during the load: %d for am-lsp, %d for gopls over all repetitions — gopls holds hovers until its load ends; ratio: of medians)\n", count(a), count(g))
	for _, name := range []string{"am-lsp", "gopls"} {
		for i, r := range results[name] {
			if r.busySteady {
				fmt.Printf("(repetition %d: %s was still busy after two minutes; its steady-state hovers ran while it worked)\n", i+1, name)
			}
		}
	}
	fmt.Println()
}

// collect returns the values of a row over the repetitions, sorted; a repetition without
// samples for it (no hover was issued during a load that blocked hovers) gives none.
func collect(rs []largeRun, f func(largeRun) float64) []float64 {
	var out []float64
	for _, r := range rs {
		if v := f(r); v > 0 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func minMedian(v []float64, unit string) string {
	if len(v) == 0 {
		return "-"
	}
	format := func(x float64) string {
		switch {
		case unit == "MiB":
			return fmt.Sprintf("%.0f", x)
		case x >= 100:
			return fmt.Sprintf("%.0f", x)
		case x >= 1:
			return fmt.Sprintf("%.1f", x)
		default:
			return fmt.Sprintf("%.2f", x)
		}
	}
	return fmt.Sprintf("%s / %s %s", format(v[0]), format(median(v)), unit)
}

// percentile returns the p-th percentile (nearest rank) of lat; 0 when lat is empty.
func percentile(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
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
	if err := s.initialize(ctx, demo, initOpts); err != nil {
		return err
	}
	file := many[0].NameSpan.File
	text, _ := os.ReadFile(file)
	if err := s.open(file); err != nil {
		return err
	}
	if _, err := s.hoverUntil(ctx, file, textdoc.PositionOf(text, many[0].NameSpan.Start), hasNumbers); err != nil {
		return err
	}
	s.waitIdle(ctx) // the background analysis and prefetch settle
	// The server is idle while it waits for Prometheus: wait until the backend has seen no new
	// query for a while too (the SLO sweep and the incident data follow the numbers).
	afterOpen, err := queriesSettled(ctx, prom)
	if err != nil {
		return err
	}
	for _, f := range many {
		p := textdoc.PositionOf(text, f.NameSpan.Start)
		if _, err := s.client.Hover(ctx, file, int(p.Line), int(p.Character)); err != nil {
			return err
		}
	}
	afterHovers, _ := prom.QueryCount(ctx)
	fmt.Printf("Prometheus queries (testdata/demo): opening a file with %d instrumented functions %d, the workspace SLO sweep of every package included; %d hovers while fresh %d (target 0)\n",
		len(many), afterOpen-before, len(many), afterHovers-afterOpen)
	return nil
}

// queriesSettled waits until prom's query count has not changed for two seconds (at most a
// minute) and returns it.
func queriesSettled(ctx context.Context, prom *promfixture.Server) (int, error) {
	const quiet = 2 * time.Second
	n, err := prom.QueryCount(ctx)
	if err != nil {
		return 0, err
	}
	since := time.Now()
	for end := time.Now().Add(time.Minute); time.Now().Before(end) && time.Since(since) < quiet; {
		time.Sleep(250 * time.Millisecond)
		m, err := prom.QueryCount(ctx)
		if err != nil {
			return 0, err
		}
		if m != n {
			n, since = m, time.Now()
		}
	}
	return n, nil
}

// hang measures hovers while the backend accepts connections and never answers.
func (b *bench) hang(ctx context.Context, demo string, fns []demodata.Function) error {
	var target demodata.Function
	for _, f := range fns {
		if f.QualifiedName() == "(*Server).Handle" {
			target = f
		}
	}
	text, _ := os.ReadFile(target.NameSpan.File)
	pos := textdoc.PositionOf(text, target.NameSpan.Start+1)
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
	const deadline = 500 * time.Millisecond
	if err := s.initialize(ctx, demo, map[string]any{"prometheusUrl": "http://" + ln.Addr().String(), "hoverDeadline": deadline.String()}); err != nil {
		return err
	}
	if err := s.open(target.NameSpan.File); err != nil {
		return err
	}
	if _, err := s.hoverUntil(ctx, target.NameSpan.File, pos, nonEmpty); err != nil {
		return err
	}
	lat, err := s.hoverLatencies(ctx, target.NameSpan.File, pos, 20)
	if err != nil {
		return err
	}
	worst := percentile(lat, 100)
	fmt.Printf("hover while Prometheus hangs (testdata/demo, hover deadline %v): worst of %d %v, %v over the deadline (target <= 50ms)\n",
		deadline, len(lat), worst.Round(time.Millisecond), (worst - deadline).Round(time.Millisecond))
	return nil
}
