package promclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

var (
	incCheckout = Series{Function: "Checkout", Module: "example.com/shop"}
	incFlap     = Series{Function: "Flap", Module: "example.com/flappy"}
	incQuiet    = Series{Function: "Quiet", Module: "example.com/shop"}
)

const noiseAlerts = 250

// incidentData: Checkout deployed 30 minutes ago from v1 (1 % errors, p99 in the 0.5 s bucket)
// to v2 (25 % errors, p99 in the 1 s bucket); a service whose version flaps every 10 minutes;
// alerts on Checkout (by function, by objective, pending, with Markdown in its summary) and
// 250 noise alerts; seven exemplars of Checkout (one trace twice) and one of Quiet.
func incidentData(now time.Time) promfixture.Options {
	deploy := now.Add(-30 * time.Minute)
	checkout := func(version string, errs float64, lat []float64, start, end time.Time) promfixture.Function {
		return promfixture.Function{Function: incCheckout.Function, Module: incCheckout.Module, CallsPerSec: 4, ErrorsPerSec: errs,
			Latencies: lat, ServiceName: "shop", Version: version, Start: start, End: end,
			ObjectiveName: "shop-api", ObjectivePercentile: "99"}
	}
	opts := promfixture.Options{
		Now: now, Before: 2 * time.Hour, After: time.Hour,
		Functions: []promfixture.Function{
			checkout("v1", 0.04, []float64{0.02, 0.3}, time.Time{}, deploy),
			checkout("v2", 1, []float64{0.02, 0.9}, deploy, time.Time{}),
			{Function: incQuiet.Function, Module: incQuiet.Module, CallsPerSec: 1, ServiceName: "shop", Version: "v2", Start: deploy},
			{Function: incFlap.Function, Module: incFlap.Module, CallsPerSec: 2, ServiceName: "flappy", Version: "v8", Job: "flappy"},
		},
		BuildInfo: []promfixture.BuildInfo{
			{ServiceName: "shop", Version: "v1", Commit: "aaa111", RepositoryURL: "https://github.com/example/shop", RepositoryProvider: "github", End: deploy},
			{ServiceName: "shop", Version: "v2", Commit: "bbb222", RepositoryURL: "https://github.com/example/shop", RepositoryProvider: "github", Start: deploy},
		},
		AlertingRules: []promfixture.AlertRule{
			{Alert: "CheckoutErrors", Expr: `sum by (function, module) (rate(function_calls_total{module="example.com/shop",result="error"}[5m])) > 0.5`,
				Labels: map[string]string{"severity": "page"}, Annotations: map[string]string{"summary": "**Checkout** fails [click](javascript:alert(1)) <img src=x>"}},
			{Alert: "ShopBudget", Expr: `vector(1)`, Labels: map[string]string{"objective_name": "shop-api", "objective_percentile": "99", "severity": "ticket"}},
			{Alert: "OtherBudget", Expr: `vector(1)`, Labels: map[string]string{"objective_name": "shop-api", "objective_percentile": "99.9"}},
			// As Autometrics' rules write them: the objective and the Sloth SLO (its kind).
			{Alert: "ShopSuccessSLO", Expr: `vector(1)`, Labels: map[string]string{"objective_name": "shop-api", "objective_percentile": "99", "sloth_slo": "success-rate-99"}},
			{Alert: "ShopLatencySLO", Expr: `vector(1)`, Labels: map[string]string{"objective_name": "shop-api", "objective_percentile": "99", "sloth_slo": "latency-99"}},
			{Alert: "CheckoutSlow", Expr: `sum by (function, module) (rate(function_calls_total{function="Checkout"}[5m])) > 1`, For: time.Hour},
			{Alert: "Noise", Expr: `sum by (function, module) (rate(function_calls_total{module="example.com/noise"}[5m])) > 0`},
		},
	}
	for t, v := now.Add(-2*time.Hour), 0; t.Before(now.Add(time.Hour)); t, v = t.Add(10*time.Minute), v+1 {
		opts.BuildInfo = append(opts.BuildInfo, promfixture.BuildInfo{Job: "flappy", ServiceName: "flappy", Version: fmt.Sprintf("v%d", 7+v%2), Start: t, End: t.Add(10 * time.Minute)})
	}
	for i := 0; i < noiseAlerts; i++ {
		opts.Functions = append(opts.Functions, promfixture.Function{Function: fmt.Sprintf("N%03d", i), Module: "example.com/noise", CallsPerSec: 1, Job: "noise"})
	}
	for i, sec := range []float64{0.3, 1.7, 0.004, 0.9, 2.2, 0.05, 0.6} {
		opts.Exemplars = append(opts.Exemplars, promfixture.Exemplar{Function: incCheckout.Function, Module: incCheckout.Module,
			Seconds: sec, TraceID: fmt.Sprintf("trace%02d", i), Ago: time.Duration(10+i) * time.Second})
	}
	opts.Exemplars = append(opts.Exemplars,
		promfixture.Exemplar{Function: incCheckout.Function, Module: incCheckout.Module, Seconds: 2.0, TraceID: "trace04", Ago: 5 * time.Second},
		promfixture.Exemplar{Function: incQuiet.Function, Module: incQuiet.Module, Seconds: 0.1, TraceID: "quiet1", SpanID: "s1", Ago: 5 * time.Second})
	return opts
}

func TestIncidentAgainstPrometheus(t *testing.T) {
	now := time.Now()
	srv := promfixture.StartT(t, incidentData(now))
	t.Logf("incident prometheus started in %v", srv.StartupTime)
	ctx := context.Background()
	c := newClient(t, Config{URL: srv.URL})
	batch := []Series{incCheckout, incFlap, incQuiet}
	snap, err := c.Fetch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	before, err := srv.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	after, err := srv.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The history, the comparison and the exemplars (/api/v1/query_exemplars counts as
	// /api/v1/query*); alerts are another endpoint.
	if after-before != 3 {
		t.Errorf("FetchIncident sent %d queries, want 3", after-before)
	}
	if again, _ := c.FetchIncident(ctx, snap); again != inc {
		t.Error("a second FetchIncident within the TTL fetched again")
	}

	t.Run("alerts", func(t *testing.T) {
		own, err := srv.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a := inc.Alerts
		if a.Note != "" || a.Total != len(own) || a.Total < noiseAlerts+4 {
			t.Fatalf("alerts: note %q, total %d, Prometheus has %d", a.Note, a.Total, len(own))
		}
		for i := 1; i < len(a.List); i++ {
			if !a.List[i-1].Firing() && a.List[i].Firing() {
				t.Fatalf("pending alert %s before firing %s", a.List[i-1].Name, a.List[i].Name)
			}
		}
		got := map[string]Alert{}
		for _, al := range a.For(incCheckout, snap.Stats[incCheckout].Objectives) {
			got[al.Name] = al
		}
		// Checkout's objective shop-api is a success rate only (its histogram has no objective
		// labels): the latency SLO's alert of that name is another function's.
		if len(got) != 4 || got["CheckoutErrors"].State != "firing" || got["ShopBudget"].Severity != "ticket" || got["ShopSuccessSLO"].Name == "" ||
			got["CheckoutSlow"].State != "pending" || !strings.Contains(got["CheckoutErrors"].Summary, "javascript:") {
			t.Errorf("alerts of Checkout: %+v", got)
		}
		if _, ok := got["OtherBudget"]; ok {
			t.Error("an alert of another objective percentile matched")
		}
		if _, ok := got["ShopLatencySLO"]; ok {
			t.Error("the alert of the latency SLO of Checkout's success objective matched")
		}
		// A function whose shop-api objective is a latency one gets the latency SLO's alert
		// and the alert without a kind, not the success SLO's.
		var names []string
		for _, al := range a.For(incFlap, []Objective{{Name: "shop-api", Percentile: 99, LatencyThreshold: 0.5}}) {
			names = append(names, al.Name)
		}
		sort.Strings(names)
		if strings.Join(names, " ") != "ShopBudget ShopLatencySLO" {
			t.Errorf("alerts of a latency objective shop-api 99: %v", names)
		}
		if n := len(a.For(incFlap, nil)); n != 0 {
			t.Errorf("Flap has %d alerts", n)
		}
	})

	t.Run("deploy", func(t *testing.T) {
		d, ok := inc.Deploys[incCheckout]
		if !ok || inc.VersionsNote != "" {
			t.Fatalf("no deploy for Checkout: %q", inc.VersionsNote)
		}
		if d.Current.Version != "v2" || d.Previous.Version != "v1" || d.Current.Commit != "bbb222" || d.Previous.Commit != "aaa111" ||
			d.Current.RepositoryProvider != "github" || d.Note != "" {
			t.Fatalf("deploy %+v", d)
		}
		deploy := now.Add(-30 * time.Minute)
		if off := d.At.Sub(deploy); off < 0 || off > HistoryResolution+promfixture.DefaultStep {
			t.Errorf("deploy found at %v, was at %v", d.At, deploy)
		}
		// Both versions' numbers are Prometheus's own over the same windows.
		for _, side := range []struct {
			n       VersionNumbers
			version string
			at      time.Time
			err     float64
		}{{d.PreviousNumbers, "v1", d.Previous.LastSeen, 0.01}, {d.CurrentNumbers, "v2", time.Time{}, 0.25}} {
			at := ""
			if !side.at.IsZero() {
				at = fmt.Sprintf(" @ %.3f", float64(side.at.UnixMilli())/1000)
			}
			sel := `function="Checkout",module="example.com/shop",version="` + side.version + `"`
			wantErr, err := srv.QueryValue(ctx, `sum(rate(function_calls_total{`+sel+`,result="error"}[5m]`+at+`)) / sum(rate(function_calls_total{`+sel+`}[5m]`+at+`))`)
			if err != nil {
				t.Fatal(err)
			}
			wantP99, err := srv.QueryValue(ctx, `histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket{`+sel+`}[5m]`+at+`)))`)
			if err != nil {
				t.Fatal(err)
			}
			if !sameNumber(side.n.ErrorRatio, wantErr) || !sameNumber(side.n.ErrorRatio, side.err) || !sameNumber(side.n.P99, wantP99) || !sameNumber(side.n.RequestRate, 4) {
				t.Errorf("%s: got %+v, Prometheus says error ratio %v, p99 %v", side.version, side.n, wantErr, wantP99)
			}
		}
		if !strings.Contains(d.Regression, "error ratio 1.0 % → 25.0 %") || !strings.Contains(d.Regression, "p99") {
			t.Errorf("regression %q", d.Regression)
		}
		if q := inc.Deploys[incQuiet]; q.Current.Version != "v2" || q.Note == "" || q.Regression != "" {
			t.Errorf("Quiet (no v1 series): %+v", q)
		}
		if f := inc.Deploys[incFlap]; !strings.Contains(f.Note, "alternate") || f.Regression != "" {
			t.Errorf("flapping version: %+v", f)
		}
	})

	t.Run("exemplars", func(t *testing.T) {
		ex := inc.Exemplars[incCheckout]
		var ids []string
		for _, e := range ex {
			ids = append(ids, fmt.Sprintf("%s=%g", e.TraceID, e.Seconds))
		}
		// trace04 is there twice (2.2 s and 2.0 s): once, at its slowest.
		want := "trace04=2.2 trace01=1.7 trace03=0.9 trace06=0.6 trace00=0.3"
		if strings.Join(ids, " ") != want || inc.ExemplarsNote != "" {
			t.Errorf("exemplars %v (note %q), want %s", ids, inc.ExemplarsNote, want)
		}
		own, err := srv.QueryExemplars(ctx, `function_calls_duration_seconds_bucket{function="Checkout"}`, now.Add(-10*time.Minute), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range own {
			n += len(r.Exemplars)
		}
		if n < 8 {
			t.Errorf("Prometheus holds %d exemplars of Checkout", n)
		}
		if q := inc.Exemplars[incQuiet]; len(q) != 1 || q[0].SpanID != "s1" {
			t.Errorf("Quiet's exemplars %+v", q)
		}
		if len(inc.Exemplars[incFlap]) != 0 {
			t.Error("Flap has exemplars")
		}
	})
}

// A Prometheus without alerting rules, exemplar storage or build_info: every part says so or
// is empty, nothing fails.
func TestIncidentWithoutIncidentData(t *testing.T) {
	ctx := context.Background()
	opts := promfixture.Options{Functions: []promfixture.Function{{Function: "Plain", Module: "example.com/plain", CallsPerSec: 1, Version: "v1", ServiceName: "plain"}},
		Before: 10 * time.Minute, After: 30 * time.Minute}
	bare := promfixture.StartT(t, opts)
	c := newClient(t, Config{URL: bare.URL})
	s := Series{Function: "Plain", Module: "example.com/plain"}
	snap, err := c.Fetch(ctx, []Series{s})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Alerts.Note != "" || inc.Alerts.Total != 0 {
		t.Errorf("alerts %+v", inc.Alerts)
	}
	if !strings.Contains(inc.VersionsNote, "no build_info series") || len(inc.Deploys) != 0 {
		t.Errorf("versions note %q, deploys %v", inc.VersionsNote, inc.Deploys)
	}
	if len(inc.Exemplars) != 0 {
		t.Errorf("exemplars %v", inc.Exemplars)
	}
}

// A backend without the alerts and exemplar APIs (404, as a plain remote-read proxy or an old
// gateway answers; a real Prometheus always has them, so a proxy in front of one drops them):
// the notes say so and the versions still work.
func TestIncidentWithoutAlertsAndExemplarAPIs(t *testing.T) {
	srv := sharedServer(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/alerts") || strings.HasSuffix(r.URL.Path, "/query_exemplars") {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	ctx := context.Background()
	c := newClient(t, Config{URL: front.URL})
	snap, err := c.Fetch(ctx, []Series{apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, note := range []string{inc.Alerts.Note, inc.ExemplarsNote} {
		if !strings.Contains(note, "answers 404") || !strings.Contains(note, front.URL) {
			t.Errorf("note %q", note)
		}
	}
	if d := inc.Deploys[apiHandle]; d.Current.Version != "1.4.0" || inc.VersionsNote != "" {
		t.Errorf("deploy %+v (note %q)", d, inc.VersionsNote)
	}
}

// VictoriaMetrics (single node, no vmalert) answers an empty alert list and no exemplars; the
// version history works.
func TestIncidentOnVictoriaMetrics(t *testing.T) {
	opts := promfixture.Options{Functions: []promfixture.Function{{Function: "Plain", Module: "example.com/plain", CallsPerSec: 1, Version: "v1", ServiceName: "plain"}},
		BuildInfo: []promfixture.BuildInfo{{ServiceName: "plain", Version: "v1"}}, Before: 10 * time.Minute, After: 30 * time.Minute}
	vm := promfixture.StartVictoriaMetricsT(t, opts)
	ctx := context.Background()
	c := newClient(t, Config{URL: vm.URL})
	s := Series{Function: "Plain", Module: "example.com/plain"}
	snap, err := c.Fetch(ctx, []Series{s})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("alerts %d, note %q; exemplars note %q; versions note %q", inc.Alerts.Total, inc.Alerts.Note, inc.ExemplarsNote, inc.VersionsNote)
	if d := inc.Deploys[s]; d.Current.Version != "v1" || d.Previous.Version != "" || len(inc.Exemplars) != 0 {
		t.Errorf("deploy %+v, exemplars %v", d, inc.Exemplars)
	}
}

// The exemplars shown with a batch's numbers are those of the window the numbers were evaluated
// over, [EvaluatedAt-Window, EvaluatedAt], whatever the client's clock says when the incident
// data is fetched: here it moves 10 minutes back between the two, to a window in which
// Prometheus holds no exemplar of Checkout at all.
func TestExemplarsOfTheNumbersWindow(t *testing.T) {
	now := time.Now()
	opts := promfixture.Options{Now: now, Before: 30 * time.Minute, After: time.Minute,
		Functions: []promfixture.Function{{Function: incCheckout.Function, Module: incCheckout.Module, CallsPerSec: 4, Latencies: []float64{0.02, 0.3}}}}
	for i, sec := range []float64{0.3, 1.7, 0.004, 0.9, 2.2, 0.05, 0.6} {
		opts.Exemplars = append(opts.Exemplars, promfixture.Exemplar{Function: incCheckout.Function, Module: incCheckout.Module,
			Seconds: sec, TraceID: fmt.Sprintf("trace%02d", i), Ago: time.Duration(10+i) * time.Second})
	}
	srv := promfixture.StartT(t, opts)
	ctx := context.Background()
	var (
		mu    sync.Mutex
		clock = time.Now()
	)
	c := newClient(t, Config{URL: srv.URL, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}})
	snap, err := c.Fetch(ctx, []Series{incCheckout})
	if err != nil || snap.Err != nil {
		t.Fatal(err, snap.Err)
	}
	mu.Lock()
	clock = clock.Add(-10 * time.Minute)
	later := clock
	mu.Unlock()
	// The window ending at the clock's reading holds none of the exemplars: a window ending
	// there would show no traces.
	query := `function_calls_duration_seconds_bucket{function="Checkout"}`
	if own, err := srv.QueryExemplars(ctx, query, later.Add(-c.Window()), later); err != nil || len(own) != 0 {
		t.Fatalf("Prometheus's exemplars of Checkout in [%v, %v]: %v (%v)", later.Add(-c.Window()), later, own, err)
	}
	own, err := srv.QueryExemplars(ctx, query, snap.EvaluatedAt.Add(-c.Window()), snap.EvaluatedAt)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range own {
		n += len(r.Exemplars)
	}
	if n != len(opts.Exemplars) {
		t.Fatalf("Prometheus holds %d exemplars of Checkout in the numbers' window, want %d", n, len(opts.Exemplars))
	}
	inc, err := c.FetchIncident(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range inc.Exemplars[incCheckout] {
		ids = append(ids, fmt.Sprintf("%s=%g", e.TraceID, e.Seconds))
		if e.At.After(snap.EvaluatedAt) || e.At.Before(snap.EvaluatedAt.Add(-c.Window())) {
			t.Errorf("exemplar %s at %v, outside the numbers' window ending %v", e.TraceID, e.At, snap.EvaluatedAt)
		}
	}
	if want := "trace04=2.2 trace01=1.7 trace03=0.9 trace06=0.6 trace00=0.3"; strings.Join(ids, " ") != want || inc.ExemplarsNote != "" {
		t.Errorf("exemplars %v (note %q), want %s", ids, inc.ExemplarsNote, want)
	}
}
