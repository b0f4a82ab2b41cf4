// Package otelfixture runs a real OpenTelemetry span-metrics pipeline for tests: the
// OpenTelemetry Collector built by scripts/build-otelcol (OTLP/HTTP receiver, spanmetrics
// connector with a short flush interval, Prometheus exporter), a real Prometheus scraping it
// every second, and the emitter of testdata/otelapp, which sends spans with known counts and
// errors through the real OpenTelemetry SDK.
//
// The main API (Start) does not need a test; StartT wraps it for tests.
package otelfixture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// ErrNoCollector is returned when the collector binary is not built.
var ErrNoCollector = errors.New("otelfixture: the OpenTelemetry Collector is not built (run scripts/build-otelcol, or set AM_LSP_OTELCOL)")

// Options configure the pipeline.
type Options struct {
	// Collector is the collector binary; default $AM_LSP_OTELCOL, else the cache path
	// scripts/build-otelcol writes.
	Collector string
	// FlushInterval is the connector's metrics_flush_interval (default 1s).
	FlushInterval time.Duration
	// Dimensions are extra span attributes the connector turns into labels, e.g.
	// "code.function.name" (label code_function_name).
	Dimensions []string
	// Namespace, when not "", replaces the connector's default namespace ("traces.span.metrics").
	Namespace string
	// StartTimeout bounds the start (default 60s).
	StartTimeout time.Duration
}

// Pipeline is a running collector and the Prometheus that scrapes it. Stop it when done.
type Pipeline struct {
	// OTLP is the collector's OTLP/HTTP endpoint (host:port).
	OTLP string
	// Prometheus is the Prometheus server scraping the collector.
	Prometheus *promfixture.Server
	// CollectorPID is the collector's process id.
	CollectorPID int

	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	api      v1.API
	stopOnce sync.Once
}

// collectorVersion is the cache directory scripts/build-otelcol writes ("otelcol-<core>-<contrib>").
const collectorVersion = "otelcol-0.165.0-0.165.1"

// CollectorPath returns the collector binary Start would run, or ErrNoCollector.
func CollectorPath(explicit string) (string, error) {
	candidates := []string{explicit, os.Getenv("AM_LSP_OTELCOL")}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	if cache != "" {
		candidates = append(candidates, filepath.Join(cache, "am-lsp", collectorVersion, "otelcol-amlsp"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", ErrNoCollector
}

// Start starts the collector on free ports of 127.0.0.1 and a Prometheus scraping its exporter
// every second. It returns once both are up; ctx bounds the start only.
func Start(ctx context.Context, opts Options) (*Pipeline, error) {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	bin, err := CollectorPath(opts.Collector)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "otelfixture-*")
	if err != nil {
		return nil, err
	}
	p := &Pipeline{dir: dir, exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			p.Stop()
		}
	}()
	otlpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	promPort, err := freePort()
	if err != nil {
		return nil, err
	}
	p.OTLP = "127.0.0.1:" + strconv.Itoa(otlpPort)
	exporter := "127.0.0.1:" + strconv.Itoa(promPort)
	cfgPath := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(cfgPath, []byte(collectorConfig(opts, p.OTLP, exporter)), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "collector.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p.cmd = exec.Command(bin, "--config="+cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("otelfixture: starting the collector: %w", err)
	}
	p.CollectorPID = p.cmd.Process.Pid
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	if err := p.waitHTTP(ctx, "http://"+exporter+"/metrics"); err != nil {
		return nil, err
	}
	scrape := "scrape_configs:\n" +
		"  - job_name: otelcol\n" +
		"    scrape_interval: 1s\n" +
		"    static_configs:\n" +
		"      - targets: ['" + exporter + "']\n"
	prom, err := promfixture.Start(ctx, promfixture.Options{ExtraConfig: scrape, Before: time.Minute, After: time.Minute})
	if err != nil {
		return nil, err
	}
	p.Prometheus = prom
	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		return nil, err
	}
	p.api = v1.NewAPI(client)
	ok = true
	return p, nil
}

// collectorConfig is the collector's configuration: OTLP/HTTP in, span metrics out to the
// Prometheus exporter (cumulative, the exporter's default suffixes).
func collectorConfig(opts Options, otlp, exporter string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
connectors:
  span_metrics:
    metrics_flush_interval: %s
`, otlp, opts.FlushInterval)
	if opts.Namespace != "" {
		fmt.Fprintf(&b, "    namespace: %s\n", opts.Namespace)
	}
	if len(opts.Dimensions) > 0 {
		b.WriteString("    dimensions:\n")
		for _, d := range opts.Dimensions {
			fmt.Fprintf(&b, "      - name: %s\n", d)
		}
	}
	fmt.Fprintf(&b, `exporters:
  prometheus:
    endpoint: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [span_metrics]
    metrics:
      receivers: [span_metrics]
      exporters: [prometheus]
`, exporter)
	return b.String()
}

// waitHTTP polls url until it answers 200, the collector exits or ctx ends.
func (p *Pipeline) waitHTTP(ctx context.Context, url string) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("otelfixture: the collector exited: %s", p.Log())
		case <-ctx.Done():
			return fmt.Errorf("otelfixture: the collector did not serve %s: %w; log: %s", url, ctx.Err(), p.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Log returns the end of the collector's log.
func (p *Pipeline) Log() string {
	data, _ := os.ReadFile(filepath.Join(p.dir, "collector.log"))
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// EmitOptions are the emitter's counts (see testdata/otelapp/cmd/emitter).
type EmitOptions struct {
	Service                                     string
	Checkouts, Failures, Counts, Lookups, Pings int
}

var (
	emitterOnce sync.Once
	emitterPath string
	emitterErr  error
)

// Emitter builds (once per process) the emitter of testdata/otelapp and returns its path.
func Emitter() (string, error) {
	emitterOnce.Do(func() {
		mod, err := otelappDir()
		if err != nil {
			emitterErr = err
			return
		}
		dir, err := os.MkdirTemp("", "otelfixture-emitter-*")
		if err != nil {
			emitterErr = err
			return
		}
		emitterPath = filepath.Join(dir, "emitter")
		cmd := exec.Command("go", "build", "-o", emitterPath, "./cmd/emitter")
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			emitterErr = fmt.Errorf("otelfixture: building the emitter: %v\n%s", err, out)
		}
	})
	return emitterPath, emitterErr
}

// otelappDir is testdata/otelapp of this repository.
func otelappDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("otelfixture: cannot locate the repository")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "otelapp")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("otelfixture: %w", err)
	}
	return dir, nil
}

// Emit runs the emitter against the collector; it returns when the spans are exported.
func (p *Pipeline) Emit(ctx context.Context, o EmitOptions) error {
	bin, err := Emitter()
	if err != nil {
		return err
	}
	if o.Service == "" {
		o.Service = "shop"
	}
	args := []string{"-endpoint", p.OTLP, "-service", o.Service,
		"-checkouts", strconv.Itoa(o.Checkouts), "-failures", strconv.Itoa(o.Failures),
		"-counts", strconv.Itoa(o.Counts), "-lookups", strconv.Itoa(o.Lookups), "-pings", strconv.Itoa(o.Pings)}
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("otelfixture: emitter: %v\n%s", err, out.String())
	}
	return nil
}

// WaitValue polls Prometheus until the instant query answers one sample equal to want, or ctx
// ends; it returns the last answer.
func (p *Pipeline) WaitValue(ctx context.Context, query string, want float64) (float64, error) {
	last := -1.0
	for {
		v, _, _, err := p.api.Query(ctx, query, time.Now())
		if err == nil {
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
				last = float64(vec[0].Value)
				if last == want {
					return last, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("otelfixture: %s stayed at %v, want %v: %w", query, last, want, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// StopCollector stops the collector, so that Prometheus scrapes no new samples: rates over a
// window that holds all the samples then stay the same from one query to the next, and a
// number shown to a user can be compared with Prometheus's own answer a moment later.
func (p *Pipeline) StopCollector() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Stop stops the collector and Prometheus and removes their files.
func (p *Pipeline) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		if p.Prometheus != nil {
			err = p.Prometheus.Stop()
		}
		p.StopCollector()
		os.RemoveAll(p.dir)
	})
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
