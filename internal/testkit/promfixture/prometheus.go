package promfixture

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
)

// ErrNotInstalled is wrapped by the errors of Start and StartVictoriaMetrics when a binary they
// need is not installed.
var ErrNotInstalled = errors.New("not installed")

// Backend names the server implementation a Server runs.
type Backend string

const (
	Prometheus      Backend = "prometheus"
	VictoriaMetrics Backend = "victoria-metrics"
)

// Server is a running backend loaded with the fixture data. Stop it when done.
type Server struct {
	// URL is the base URL of the query API, e.g. http://127.0.0.1:41234.
	URL     string
	Backend Backend
	// PID is the process id of the server.
	PID int
	// Now is the anchor time of the data (Options.Now); First and Last bound the samples.
	Now, First, Last time.Time
	// StartupTime is how long Start took, data generation and block creation included.
	StartupTime time.Duration

	dir     string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error
	logPath string
	api     v1.API
	// user and pass are the basic auth credentials the server requires, if any.
	user, pass string
	// exemplarTarget serves Options.Exemplars; nil without.
	exemplarTarget *http.Server
	stopOnce       sync.Once
	stopErr        error
}

// Start writes the data of opts, turns it into TSDB blocks with promtool and starts prometheus on
// a free port of 127.0.0.1 with no scrape job. With RecordingRules, a first prometheus serves
// the raw blocks to promtool tsdb create-blocks-from rules and the server is then restarted
// with the rules' blocks too. It returns once /-/ready answers and the data can be read. ctx
// bounds the start only; the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	opts.applyDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	promBin, err := lookBinary(opts.Prometheus, "prometheus")
	if err != nil {
		return nil, err
	}
	promtool, err := lookBinary(opts.Promtool, "promtool")
	if err != nil {
		return nil, err
	}
	htpasswd := ""
	if opts.BasicAuthUser != "" {
		if htpasswd, err = lookBinary("", "htpasswd"); err != nil {
			return nil, fmt.Errorf("%w (Debian package apache2-utils)", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "promfixture-*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()

	tsdb := filepath.Join(dir, "tsdb")
	if err := createBlocks(ctx, promtool, opts, dir, tsdb); err != nil {
		return nil, err
	}

	cfgFile := filepath.Join(dir, "prometheus.yml")
	// No scrape_configs: the server only serves the backfilled blocks.
	cfg := "global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n"
	if opts.ExtraConfig != "" {
		cfg += opts.ExtraConfig + "\n"
	}
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	base := []string{
		"--config.file=" + cfgFile,
		"--storage.tsdb.path=" + tsdb,
		// Retention counts back from the newest block, which lies in the future.
		"--storage.tsdb.retention.time=100y",
		"--log.level=warn",
	}

	if len(opts.RecordingRules) > 0 {
		if err := backfillRules(ctx, promBin, promtool, opts, dir, tsdb, base); err != nil {
			return nil, err
		}
	}

	var extra []string
	if opts.BasicAuthUser != "" {
		web, err := writeWebConfig(ctx, htpasswd, dir, opts.BasicAuthUser, opts.BasicAuthPassword)
		if err != nil {
			return nil, err
		}
		extra = append(extra, "--web.config.file="+web)
	}
	incidentCfg, incidentArgs, target, err := incidentConfig(opts, dir)
	if err != nil {
		return nil, err
	}
	if incidentCfg != "" {
		if err := acceptLiveSamples(tsdb); err != nil {
			if target != nil {
				target.Close()
			}
			return nil, err
		}
		// Only the final server evaluates the alerting rules and scrapes the exemplars.
		if err := os.WriteFile(cfgFile, []byte(cfg+incidentCfg), 0o644); err != nil {
			return nil, err
		}
	}
	extra = append(extra, incidentArgs...)
	extra = append(extra, opts.Args...)
	s, err := launchPrometheus(ctx, promBin, opts, dir, "prometheus", base, extra, true)
	if err != nil {
		if target != nil {
			target.Close()
		}
		return nil, err
	}
	s.exemplarTarget = target
	s.StartupTime = time.Since(began)
	ok = true
	return s, nil
}

// launchPrometheus starts prometheus with args on a free port (up to three tries when the port
// is taken meanwhile) and waits until it serves the data. With final, the route prefix and the
// basic auth of opts apply; without, the server is the plain one the rule backfill reads.
func launchPrometheus(ctx context.Context, bin string, opts Options, dir, name string, base, extra []string, final bool) (*Server, error) {
	first, last := opts.Span()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if final && opts.Port != 0 {
			port = opts.Port
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s := &Server{
			URL: "http://" + addr, Backend: Prometheus, Now: opts.Now, First: first, Last: last,
			dir: dir, logPath: filepath.Join(dir, fmt.Sprintf("%s-%d.log", name, attempt)),
		}
		args := append([]string{"--web.listen-address=" + addr}, base...)
		if final {
			s.user, s.pass = opts.BasicAuthUser, opts.BasicAuthPassword
			if opts.RoutePrefix != "" {
				s.URL += opts.RoutePrefix
				args = append(args, "--web.external-url="+s.URL+"/", "--web.route-prefix="+opts.RoutePrefix)
			}
		}
		args = append(args, extra...)
		if err := s.start(bin, args); err != nil {
			return nil, err
		}
		err = s.waitReady(ctx, "/-/ready", func(ctx context.Context) (bool, error) {
			if final && opts.hasIncident() {
				if ok, err := s.incidentReady(ctx, opts); !ok || err != nil {
					return ok, err
				}
			}
			if len(opts.Functions) == 0 && len(opts.BuildInfo) == 0 {
				return true, nil
			}
			return s.hasData(ctx)
		})
		if err == nil {
			return s, nil
		}
		lastErr = err
		s.kill()
		if !errors.Is(err, errExited) || !strings.Contains(s.log(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// backfillRules evaluates the recording rules of opts over the span of the data as promtool tsdb
// create-blocks-from rules does (a range query per rule at RuleInterval steps against a
// prometheus serving the raw blocks) and turns the results into blocks of their own, which join
// the others when the final server starts (a running one would only find them after a minute).
// promtool 2.42 itself writes a block per rule and per 2h: a hundred blocks for the SLO rules,
// seconds of work and slower queries; here all results go through one OpenMetrics file.
func backfillRules(ctx context.Context, promBin, promtool string, opts Options, dir, tsdb string, base []string) error {
	s, err := launchPrometheus(ctx, promBin, opts, dir, "prometheus-rules", base, nil, false)
	if err != nil {
		return err
	}
	defer s.kill()
	first, last := opts.Span()
	iv := opts.RuleInterval
	start := first.Truncate(iv)
	if start.Before(first) {
		start = start.Add(iv)
	}
	results := make([]model.Matrix, len(opts.RecordingRules))
	errs := make([]error, len(opts.RecordingRules))
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, r := range opts.RecordingRules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, _, _, err := s.api.QueryRange(ctx, r.Expr, v1.Range{Start: start, End: last, Step: iv})
			if err != nil {
				errs[i] = fmt.Errorf("promfixture: recording rule %s: %w", r.Record, err)
				return
			}
			m, ok := v.(model.Matrix)
			if !ok {
				errs[i] = fmt.Errorf("promfixture: recording rule %s: got %s, want a vector expression", r.Record, v.Type())
				return
			}
			results[i] = m
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.kill()

	file := filepath.Join(dir, "rules.om")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	err = writeRuleResults(f, opts.RecordingRules, results)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	defer os.Remove(file)
	if out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, tsdb).CombinedOutput(); err != nil {
		return fmt.Errorf("promfixture: promtool tsdb create-blocks-from openmetrics (rule results): %v\n%s", err, tail(out))
	}
	return nil
}

// writeRuleResults writes the results of rules as OpenMetrics, one gauge family per record name.
func writeRuleResults(w io.Writer, rules []Rule, results []model.Matrix) error {
	bw := bufio.NewWriter(w)
	seen := map[string]string{} // series → rule
	done := map[string]bool{}
	var line []byte
	for i, r := range rules {
		if done[r.Record] {
			continue
		}
		done[r.Record] = true
		fmt.Fprintf(bw, "# TYPE %s gauge\n", r.Record)
		for j := i; j < len(rules); j++ {
			if rules[j].Record != r.Record {
				continue
			}
			for _, stream := range results[j] {
				labels := map[string]string{}
				for k, v := range stream.Metric {
					if k != model.MetricNameLabel {
						labels[string(k)] = string(v)
					}
				}
				for k, v := range rules[j].Labels {
					labels[k] = v
				}
				prefix := seriesText(series{name: r.Record, labels: labelSet(labels)})
				if other, dup := seen[string(prefix)]; dup {
					return fmt.Errorf("promfixture: recording rules %s and %s both produce %s", other, rules[j].Expr, prefix)
				}
				seen[string(prefix)] = rules[j].Expr
				for _, p := range stream.Values {
					line = append(line[:0], prefix...)
					line = append(line, ' ')
					line = strconv.AppendFloat(line, float64(p.Value), 'g', -1, 64)
					line = append(line, ' ')
					line = appendSeconds(line, int64(p.Timestamp))
					line = append(line, '\n')
					if _, err := bw.Write(line); err != nil {
						return err
					}
				}
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// writeWebConfig writes a prometheus web config file that requires basic auth of user, with the
// bcrypt hash htpasswd makes of pass (read from its stdin, not its command line).
func writeWebConfig(ctx context.Context, htpasswd, dir, user, pass string) (string, error) {
	cmd := exec.CommandContext(ctx, htpasswd, "-n", "-i", "-B", "-C", "4", user)
	cmd.Stdin = strings.NewReader(pass)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("promfixture: htpasswd: %v", err)
	}
	line := strings.TrimSpace(string(out))
	hash, found := strings.CutPrefix(line, user+":")
	if !found || !strings.HasPrefix(hash, "$2") {
		return "", fmt.Errorf("promfixture: htpasswd gave no bcrypt hash")
	}
	web := filepath.Join(dir, "web.yml")
	cfg := "basic_auth_users:\n  " + strconv.Quote(user) + ": " + strconv.Quote(hash) + "\n"
	return web, os.WriteFile(web, []byte(cfg), 0o600)
}

var errExited = errors.New("server process exited")

// blockDuration is the block length promtool 2.42 cuts (it has no --max-block-duration); its
// blocks are aligned to multiples of it since the epoch.
const blockDuration = 2 * time.Hour

// createBlocks writes one OpenMetrics file per 2h block of the data and runs promtool on each
// in parallel. promtool reads its whole input once per block it cuts, so one file per block
// makes the backfill a single pass over the data (a 5h span is otherwise parsed four times).
func createBlocks(ctx context.Context, promtool string, opts Options, dir, tsdb string) error {
	first, last := opts.Span()
	type job struct {
		file     string
		from, to time.Time
		extra    bool
	}
	var jobs []job
	for from := first.Truncate(blockDuration); !from.After(last); from = from.Add(blockDuration) {
		jobs = append(jobs, job{file: filepath.Join(dir, fmt.Sprintf("data-%d.om", len(jobs))), from: from, to: from.Add(blockDuration)})
	}
	if len(opts.Functions) == 0 && len(opts.BuildInfo) == 0 {
		jobs = nil
	}
	if strings.TrimSpace(opts.ExtraOpenMetrics) != "" {
		// The extra text has its own timestamps; its blocks may overlap ours, which
		// Prometheus 2.39 and later accept.
		jobs = append(jobs, job{file: filepath.Join(dir, "extra.om"), extra: true})
	}
	if err := os.MkdirAll(tsdb, 0o755); err != nil {
		return err
	}
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = func() error {
				f, err := os.Create(j.file)
				if err != nil {
					return err
				}
				if j.extra {
					o := opts
					o.Functions, o.BuildInfo = nil, nil
					err = WriteOpenMetrics(f, o)
				} else {
					err = writeData(f, opts, openMetrics, j.from, j.to, false)
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				defer os.Remove(j.file)
				out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", j.file, tsdb).CombinedOutput()
				if err != nil {
					return fmt.Errorf("promfixture: promtool tsdb create-blocks-from openmetrics %s: %v\n%s", filepath.Base(j.file), err, tail(out))
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func lookBinary(explicit, name string) (string, error) {
	if explicit != "" {
		name = explicit
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("promfixture: %s: %w (%v)", name, ErrNotInstalled, err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string, args []string) error {
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = s.dir
	childproc.TieToParent(cmd) // a killed test or demo leaves no server behind
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("promfixture: start %s: %w", bin, err)
	}
	s.cmd, s.PID = cmd, cmd.Process.Pid
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	c, err := api.NewClient(api.Config{Address: s.URL, RoundTripper: authTransport{s}})
	if err != nil {
		return err
	}
	s.api = v1.NewAPI(c)
	return nil
}

// waitReady polls path until it answers 200, then polls dataReady until it reports true.
func (s *Server) waitReady(ctx context.Context, path string, dataReady func(context.Context) (bool, error)) error {
	readyDone := false
	var dataErr error
	delay := 10 * time.Millisecond
	for {
		if !readyDone {
			if code, _, err := s.get(ctx, path); err == nil && code == http.StatusOK {
				readyDone = true
			}
		}
		if readyDone {
			okData, err := dataReady(ctx)
			if err == nil && okData {
				return nil
			}
			dataErr = err
		}
		select {
		case <-s.exited:
			return fmt.Errorf("promfixture: %s: %w (%v):\n%s", s.Backend, errExited, s.waitErr, s.log())
		case <-ctx.Done():
			return fmt.Errorf("promfixture: %s at %s not ready (ready endpoint ok: %v, last data check error: %v): %w\n%s",
				s.Backend, s.URL, readyDone, dataErr, ctx.Err(), s.log())
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// hasData reports whether the server returns series of the loaded data at Now. It uses the
// series endpoint, which QueryCount does not count.
func (s *Server) hasData(ctx context.Context) (bool, error) {
	sets, _, _, err := s.api.Series(ctx, []string{`{__name__=~"function_calls.*|build_info"}`}, s.Now.Add(-5*time.Minute), s.Now.Add(time.Minute))
	if err != nil {
		return false, err
	}
	return len(sets) > 0, nil
}

// authTransport adds the server's basic auth to the requests of the fixture.
type authTransport struct{ s *Server }

func (t authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.s.user != "" {
		req = req.Clone(req.Context())
		req.SetBasicAuth(t.s.user, t.s.pass)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (s *Server) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, body, err
}

func (s *Server) log() string {
	b, _ := os.ReadFile(s.logPath)
	return tail(b)
}

func tail(b []byte) string {
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(bytes.TrimSpace(b))
}

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Stop kills the server process (by its PID) and removes its files. It is safe to call more
// than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.kill()
		if s.exemplarTarget != nil {
			s.exemplarTarget.Close()
		}
		s.stopErr = os.RemoveAll(s.dir)
	})
	return s.stopErr
}

// Query runs an instant PromQL query at the current time and returns the server's own answer,
// with its warnings. Scalars come back as a one-sample vector without labels. The query counts
// in QueryCount.
func (s *Server) Query(ctx context.Context, promql string) (model.Vector, []string, error) {
	v, warnings, infos, err := s.api.Query(ctx, promql, time.Time{})
	if err != nil {
		return nil, nil, fmt.Errorf("promfixture: query %s: %w", promql, err)
	}
	notes := append(append([]string(nil), warnings...), infos...)
	switch v := v.(type) {
	case model.Vector:
		return v, notes, nil
	case *model.Scalar:
		return model.Vector{{Metric: model.Metric{}, Value: v.Value, Timestamp: v.Timestamp}}, notes, nil
	default:
		return nil, notes, fmt.Errorf("promfixture: query %s: got %s, want a vector", promql, v.Type())
	}
}

// QueryRange runs a range query and returns the server's own answer, with its warnings. The
// query counts in QueryCount.
func (s *Server) QueryRange(ctx context.Context, promql string, r v1.Range) (model.Matrix, []string, error) {
	v, warnings, infos, err := s.api.QueryRange(ctx, promql, r)
	if err != nil {
		return nil, nil, fmt.Errorf("promfixture: range query %s: %w", promql, err)
	}
	notes := append(append([]string(nil), warnings...), infos...)
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, notes, fmt.Errorf("promfixture: range query %s: got %s, want a matrix", promql, v.Type())
	}
	return m, notes, nil
}

// ValueRange returns the least and the greatest value of promql's only series at each whole
// second from from to to: for checking a figure computed at an instant the test knows only
// to lie in that span (a card evaluated once its prefetch ran) against data that changes
// over time. It is an error when the answer is not one series with a sample every second.
func (s *Server) ValueRange(ctx context.Context, promql string, from, to time.Time) (lo, hi float64, err error) {
	from, to = from.Truncate(time.Second), to.Truncate(time.Second).Add(time.Second)
	m, _, err := s.QueryRange(ctx, promql, v1.Range{Start: from, End: to, Step: time.Second})
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if want := int(to.Sub(from)/time.Second) + 1; len(m) != 1 || len(m[0].Values) != want {
		return math.NaN(), math.NaN(), fmt.Errorf("promfixture: range query %s from %s to %s: want one series of %d samples, got %v", promql, from, to, want, m)
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range m[0].Values {
		lo, hi = min(lo, float64(p.Value)), max(hi, float64(p.Value))
	}
	return lo, hi, nil
}

// QueryValue runs promql and returns the value of its only sample; it is an error when the
// answer does not have exactly one sample.
func (s *Server) QueryValue(ctx context.Context, promql string) (float64, error) {
	v, _, err := s.Query(ctx, promql)
	if err != nil {
		return math.NaN(), err
	}
	if len(v) != 1 {
		return math.NaN(), fmt.Errorf("promfixture: query %s: got %d samples, want 1: %v", promql, len(v), v)
	}
	return float64(v[0].Value), nil
}

// QueryCount returns how many instant and range queries (/api/v1/query*) the server has
// answered, read from the server's own request counter on /metrics (reading it does not count).
// Fixture readiness checks use other endpoints, so a fresh server reports 0. It takes a tenth
// of a second (over a second for VictoriaMetrics) to let the counter settle.
func (s *Server) QueryCount(ctx context.Context) (int, error) {
	// Prometheus increments its counter when the handler returns, which can be just after the
	// client has the response (and, on a busy machine, tens of milliseconds after);
	// VictoriaMetrics renders /metrics at most once a second. Read until three reads 50 ms
	// apart agree.
	if s.Backend == VictoriaMetrics {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(1100 * time.Millisecond):
		}
		return s.readQueryCount(ctx)
	}
	prev, same := -1, 0
	for i := 0; i < 50; i++ {
		n, err := s.readQueryCount(ctx)
		if err != nil {
			return 0, err
		}
		if n == prev {
			same++
		} else {
			same = 0
		}
		if same == 2 {
			return n, nil
		}
		prev = n
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return prev, nil
}

func (s *Server) readQueryCount(ctx context.Context) (int, error) {
	code, body, err := s.get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("promfixture: GET /metrics: status %d", code)
	}
	metric, label := "prometheus_http_requests_total", "handler"
	if s.Backend == VictoriaMetrics {
		metric, label = "vm_http_requests_total", "path"
	}
	return sumCounter(body, metric, label, "/api/v1/query")
}

// sumCounter adds up the samples of metric whose label starts with prefix, in text exposition.
func sumCounter(body []byte, metric, label, prefix string) (int, error) {
	total := 0.0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		labels, err := parseLabels(line[len(metric)+1 : end])
		if err != nil {
			return 0, fmt.Errorf("promfixture: /metrics line %q: %v", line, err)
		}
		if !strings.HasPrefix(labels[label], prefix) {
			continue
		}
		fields := strings.Fields(line[end+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("promfixture: /metrics line %q: %v", line, err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return int(total), nil
}

// parseLabels parses `a="x",b="y"` of the text exposition format.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, errors.New("malformed labels")
		}
		name := strings.TrimSpace(s[:eq])
		rest := s[eq+1:]
		val, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, err
		}
		uq, err := strconv.Unquote(val)
		if err != nil {
			return nil, err
		}
		out[name] = uq
		s = strings.TrimPrefix(strings.TrimSpace(rest[len(val):]), ",")
	}
	return out, nil
}
