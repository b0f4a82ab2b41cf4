package promfixture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// AlertRule is an alerting rule the final Prometheus evaluates live, every second, against the
// loaded data (which reaches into the future, so a rule over it fires as soon as it is
// evaluated when For is 0).
type AlertRule struct {
	Alert, Expr         string
	For                 time.Duration
	Labels, Annotations map[string]string
}

// Exemplar is one trace exemplar of a function's latency histogram, served by a scrape target
// in OpenMetrics (Prometheus only, with --enable-feature=exemplar-storage). The target serves,
// per exemplar, a histogram of one call under function_calls_duration_seconds with the
// function's labels and exemplar_slot="<index>"; its counters never change, so its rates are 0
// and the numbers of the backfilled data stay exact.
type Exemplar struct {
	Function, Module string
	// Seconds is the call's duration: the exemplar's value, on the smallest bucket that holds it.
	Seconds float64
	TraceID string
	SpanID  string // optional
	// Ago places the exemplar's timestamp at Now - Ago.
	Ago time.Duration
}

// ExemplarJob is the job label of the exemplar scrape target's series.
const ExemplarJob = "exemplars"

// hasIncident reports whether opts needs the incident parts of the fixture.
func (o Options) hasIncident() bool { return len(o.AlertingRules) > 0 || len(o.Exemplars) > 0 }

func (o Options) checkIncident() error {
	for _, r := range o.AlertingRules {
		if !labelName.MatchString(r.Alert) || strings.TrimSpace(r.Expr) == "" || r.For < 0 {
			return fmt.Errorf("promfixture: alerting rule %q: want a name, an expression and For >= 0", r.Alert)
		}
		for _, m := range []map[string]string{r.Labels, r.Annotations} {
			for k := range m {
				if !labelName.MatchString(k) {
					return fmt.Errorf("promfixture: alerting rule %s: label or annotation name %q", r.Alert, k)
				}
			}
		}
	}
	for i, e := range o.Exemplars {
		if e.Function == "" || e.Module == "" || e.TraceID == "" || !(e.Seconds >= 0) || math.IsInf(e.Seconds, 0) {
			return fmt.Errorf("promfixture: exemplar %d: want Function, Module, TraceID and a finite Seconds >= 0", i)
		}
	}
	return nil
}

// acceptLiveSamples lets the head of the TSDB in dir take samples at the current time although
// the backfilled blocks reach into the future: Prometheus refuses samples older than the end of
// its newest block, except of blocks compacted from out-of-order samples, which may overlap the
// head. Marking the blocks so lets the scrapes of the exemplar target and the ALERTS series of
// the alerting rules in (a refused sample rolls back the whole scrape, exemplars included).
func acceptLiveSamples(tsdb string) error {
	metas, err := filepath.Glob(filepath.Join(tsdb, "*", "meta.json"))
	if err != nil {
		return err
	}
	for _, file := range metas {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil {
			return fmt.Errorf("promfixture: %s: %v", file, err)
		}
		compaction, _ := meta["compaction"].(map[string]any)
		if compaction == nil {
			compaction = map[string]any{"level": 1}
			meta["compaction"] = compaction
		}
		compaction["hints"] = []string{"from-out-of-order"}
		if b, err = json.MarshalIndent(meta, "", "\t"); err != nil {
			return err
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// AlertRulesYAML returns rules as a Prometheus rule file of one group evaluated every second.
func AlertRulesYAML(rules []AlertRule) string {
	var b strings.Builder
	b.WriteString("groups:\n- name: promfixture-alerts\n  interval: 1s\n  rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - alert: %s\n    expr: %s\n    for: %s\n", r.Alert, strconv.Quote(r.Expr), yamlDuration(r.For))
		for _, part := range []struct {
			key string
			m   map[string]string
		}{{"labels", r.Labels}, {"annotations", r.Annotations}} {
			if len(part.m) == 0 {
				continue
			}
			fmt.Fprintf(&b, "    %s:\n", part.key)
			for _, l := range labelSet(part.m) {
				fmt.Fprintf(&b, "      %s: %s\n", l[0], strconv.Quote(l[1]))
			}
		}
	}
	return b.String()
}

func yamlDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// exemplarText is the OpenMetrics exposition the exemplar target serves.
func exemplarText(opts Options) string {
	var b strings.Builder
	b.WriteString("# TYPE function_calls_duration_seconds histogram\n")
	bounds := append(append([]float64(nil), DefaultBuckets...), math.Inf(1))

	for i, e := range opts.Exemplars {
		labels := [][2]string{{"exemplar_slot", strconv.Itoa(i)}, {"function", e.Function}, {"module", e.Module}}
		prefix := string(seriesText(series{name: "function_calls_duration_seconds_bucket", labels: labels}))
		prefix = prefix[:len(prefix)-1] // reopen the label set for le
		placed := false
		for _, le := range bounds {
			count := 0
			if e.Seconds <= le {
				count = 1
			}
			fmt.Fprintf(&b, "%s,le=%q} %d", prefix, formatLe(le), count)
			if count == 1 && !placed {
				placed = true
				ex := [][2]string{{"trace_id", e.TraceID}}
				if e.SpanID != "" {
					ex = append(ex, [2]string{"span_id", e.SpanID})
				}
				at := opts.Now.Add(-e.Ago)
				fmt.Fprintf(&b, " # %s %s %s", seriesText(series{labels: ex}),
					strconv.FormatFloat(e.Seconds, 'g', -1, 64), appendSeconds(nil, at.UnixMilli()))
			}
			b.WriteByte('\n')
		}
		rest := string(seriesText(series{labels: labels}))
		fmt.Fprintf(&b, "function_calls_duration_seconds_sum%s %s\n", rest, strconv.FormatFloat(e.Seconds, 'g', -1, 64))
		fmt.Fprintf(&b, "function_calls_duration_seconds_count%s 1\n", rest)
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// startExemplarTarget serves the exemplars of opts on a free loopback port and returns the
// server and its address.
func startExemplarTarget(opts Options) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	body := exemplarText(opts)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
			w.Write([]byte(body))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(l)
	return srv, l.Addr().String(), nil
}

// incidentConfig writes the alert rule file and starts the exemplar target (nil without
// exemplars), and returns the configuration to append to prometheus.yml and the flags the final
// server needs.
func incidentConfig(opts Options, dir string) (cfg string, args []string, target *http.Server, err error) {
	if len(opts.AlertingRules) > 0 {
		file := filepath.Join(dir, "alerts.yml")
		if err := os.WriteFile(file, []byte(AlertRulesYAML(opts.AlertingRules)), 0o644); err != nil {
			return "", nil, nil, err
		}
		cfg += "rule_files:\n- " + strconv.Quote(file) + "\n"
	}
	if len(opts.Exemplars) > 0 {
		var addr string
		target, addr, err = startExemplarTarget(opts)
		if err != nil {
			return "", nil, nil, err
		}
		cfg += "scrape_configs:\n- job_name: " + ExemplarJob + "\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" +
			"  static_configs:\n  - targets: [" + strconv.Quote(addr) + "]\n"
		args = append(args, "--enable-feature=exemplar-storage")
	}
	return cfg, args, target, nil
}

// incidentReady reports whether every alerting rule has been evaluated and every exemplar is
// stored.
func (s *Server) incidentReady(ctx context.Context, opts Options) (bool, error) {
	if len(opts.AlertingRules) > 0 {
		rules, err := s.api.Rules(ctx, nil)
		if err != nil {
			return false, err
		}
		evaluated := 0
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if a, ok := r.(v1.AlertingRule); ok && !a.LastEvaluation.IsZero() {
					evaluated++
				}
			}
		}
		if evaluated < len(opts.AlertingRules) {
			return false, fmt.Errorf("%d of %d alerting rules evaluated", evaluated, len(opts.AlertingRules))
		}
	}
	if len(opts.Exemplars) > 0 {
		res, err := s.api.QueryExemplars(ctx, `{job="`+ExemplarJob+`"}`, opts.Now.Add(-24*time.Hour), opts.Now.Add(time.Hour))
		if err != nil {
			return false, err
		}
		n := 0
		for _, r := range res {
			n += len(r.Exemplars)
		}
		if n < len(opts.Exemplars) {
			return false, fmt.Errorf("%d of %d exemplars stored", n, len(opts.Exemplars))
		}
	}
	return true, nil
}

// Alerts returns the server's active alerts (/api/v1/alerts), sorted by name then labels.
func (s *Server) Alerts(ctx context.Context) ([]v1.Alert, error) {
	res, err := s.api.Alerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("promfixture: alerts: %w", err)
	}
	out := res.Alerts
	sort.Slice(out, func(i, j int) bool { return out[i].Labels.String() < out[j].Labels.String() })
	return out, nil
}

// QueryExemplars returns the server's own answer to /api/v1/query_exemplars.
func (s *Server) QueryExemplars(ctx context.Context, query string, start, end time.Time) ([]v1.ExemplarQueryResult, error) {
	res, err := s.api.QueryExemplars(ctx, query, start, end)
	if err != nil {
		return nil, fmt.Errorf("promfixture: query exemplars %s: %w", query, err)
	}
	return res, nil
}

var errNoIncidentOnVictoria = errors.New("promfixture: AlertingRules and Exemplars need Prometheus")
