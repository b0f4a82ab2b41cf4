package promfixture

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// incidentOptions has a deploy 30 minutes before Now (v1 with 1 % errors, then v2 with 25 %),
// an alert that fires, one that stays pending, and three exemplars.
func incidentOptions(now time.Time) Options {
	deploy := now.Add(-30 * time.Minute)
	fn := func(version string, errs float64, start, end time.Time) Function {
		return Function{Function: "Checkout", Module: "example.com/shop", CallsPerSec: 4, ErrorsPerSec: errs,
			Latencies: []float64{0.02, 0.3}, ServiceName: "shop", Version: version, Start: start, End: end}
	}
	return Options{
		Now: now,
		Functions: []Function{
			fn("v1", 0.04, time.Time{}, deploy),
			fn("v2", 1, deploy, time.Time{}),
		},
		BuildInfo: []BuildInfo{
			{ServiceName: "shop", Version: "v1", Commit: "aaa111", End: deploy},
			{ServiceName: "shop", Version: "v2", Commit: "bbb222", Start: deploy},
		},
		AlertingRules: []AlertRule{
			{
				Alert:       "CheckoutErrors",
				Expr:        `sum by (function, module) (rate(function_calls_total{result="error"}[5m])) / sum by (function, module) (rate(function_calls_total[5m])) > 0.1`,
				Labels:      map[string]string{"severity": "page"},
				Annotations: map[string]string{"summary": "Checkout fails *a lot* <b>"},
			},
			{Alert: "CheckoutSlow", Expr: `sum by (function, module) (rate(function_calls_total[5m])) > 1`, For: time.Hour},
		},
		Exemplars: []Exemplar{
			{Function: "Checkout", Module: "example.com/shop", Seconds: 0.3, TraceID: "aaaa0001", Ago: 20 * time.Second},
			{Function: "Checkout", Module: "example.com/shop", Seconds: 1.7, TraceID: "aaaa0002", SpanID: "5b2f", Ago: 40 * time.Second},
			{Function: "Checkout", Module: "example.com/shop", Seconds: 0.004, TraceID: "aaaa0003", Ago: 10 * time.Second},
		},
	}
}

func TestDeployAlertsExemplars(t *testing.T) {
	now := time.Now()
	s := StartT(t, incidentOptions(now))
	t.Logf("started in %v", s.StartupTime)
	ctx := context.Background()
	deploy := now.Add(-30 * time.Minute)

	// Each version's series exist only on its side of the deploy, with exact rates.
	errRatio := func(at time.Time) string {
		sel := fmt.Sprintf(`function_calls_total{function="Checkout",job="app"}[5m] @ %d`, at.Unix())
		return `sum by (version) (rate(` + strings.Replace(sel, `job="app"`, `job="app",result="error"`, 1) + `)) / sum by (version) (rate(` + sel + `))`
	}
	for _, c := range []struct {
		at      time.Time
		version string
		want    float64
	}{{deploy.Add(-time.Minute), "v1", 0.01}, {now, "v2", 0.25}} {
		v, _, err := s.Query(ctx, errRatio(c.at))
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 1 || string(v[0].Metric["version"]) != c.version || math.Abs(float64(v[0].Value)-c.want) > 1e-9 {
			t.Errorf("error ratio at %v = %v, want only %s at %v", c.at, v, c.version, c.want)
		}
	}
	// build_info names one version at a time, with its first and last sample around the deploy.
	for _, c := range []struct{ q, version string }{
		{`build_info`, "v2"},
		{fmt.Sprintf(`build_info @ %d`, deploy.Add(-time.Minute).Unix()), "v1"},
	} {
		v, _, err := s.Query(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 1 || string(v[0].Metric["version"]) != c.version {
			t.Errorf("%s = %v, want only version %s", c.q, v, c.version)
		}
	}
	first, err := s.QueryValue(ctx, `min_over_time(timestamp(build_info{version="v2"})[2h:15s])`)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(first - float64(deploy.Unix())); d > 15 {
		t.Errorf("v2 first seen at %v, deploy at %v", first, deploy.Unix())
	}

	alerts, err := s.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, a := range alerts {
		states[string(a.Labels["alertname"])] = string(a.State)
		if a.Labels["alertname"] == "CheckoutErrors" && (a.Labels["severity"] != "page" || a.Labels["module"] != "example.com/shop" ||
			!strings.Contains(string(a.Annotations["summary"]), "*a lot*")) {
			t.Errorf("firing alert %v %v", a.Labels, a.Annotations)
		}
	}
	if states["CheckoutErrors"] != "firing" || states["CheckoutSlow"] != "pending" {
		t.Errorf("alert states %v, want CheckoutErrors firing and CheckoutSlow pending", states)
	}

	res, err := s.QueryExemplars(ctx, `function_calls_duration_seconds_bucket{function="Checkout"}`, now.Add(-5*time.Minute), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range res {
		for _, e := range r.Exemplars {
			got[string(e.Labels["trace_id"])] = float64(e.Value)
		}
	}
	if len(got) != 3 || got["aaaa0002"] != 1.7 || got["aaaa0003"] != 0.004 {
		t.Errorf("exemplars %v", got)
	}
	// The exemplar target's counters are constant: the backfilled rates stay exact.
	rate, err := s.QueryValue(ctx, `sum(rate(function_calls_duration_seconds_count{function="Checkout"}[5m]))`)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(rate-4) > 1e-9 {
		t.Errorf("call rate with the exemplar target = %v, want 4", rate)
	}
}

func TestIncidentOptionsChecked(t *testing.T) {
	now := time.Now()
	for name, mutate := range map[string]func(*Options){
		"overlapping versions": func(o *Options) {
			o.BuildInfo = append(o.BuildInfo, BuildInfo{ServiceName: "shop", Version: "v1", Commit: "aaa111", Start: now.Add(-40 * time.Minute)})
		},
		"end before start": func(o *Options) { o.Functions[0].Start = now },
		"alert name":       func(o *Options) { o.AlertingRules[0].Alert = "bad name" },
		"exemplar trace":   func(o *Options) { o.Exemplars[0].TraceID = "" },
	} {
		o := incidentOptions(now)
		mutate(&o)
		o.applyDefaults()
		if err := o.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := StartVictoriaMetrics(context.Background(), incidentOptions(now)); err == nil {
		t.Error("VictoriaMetrics accepted alerting rules and exemplars")
	}
	// Flapping is expressible: the same build_info labels in disjoint ranges.
	o := incidentOptions(now)
	o.BuildInfo = append(o.BuildInfo, BuildInfo{ServiceName: "shop", Version: "v1", Commit: "aaa111", Start: now.Add(time.Hour)})
	o.applyDefaults()
	if err := o.check(); err != nil {
		t.Errorf("disjoint repeats of a version: %v", err)
	}
}

// TestTrafficShapesCounters checks that a Traffic shape makes the counter the integral of the
// shaped rate (read back at sample times), and that the shape's wave and burst show in rate().
func TestTrafficShapesCounters(t *testing.T) {
	now := time.Now()
	tr := &Traffic{Amplitude: 0.3, Period: 20 * time.Minute, SpikeAt: now.Add(-40 * time.Minute), SpikeFor: 4 * time.Minute, SpikeFactor: 3}
	opts := Options{Now: now, Before: time.Hour, After: 30 * time.Minute,
		Functions: []Function{{Function: "F", Module: "m", CallsPerSec: 2, Traffic: tr}}}
	s := StartT(t, opts)
	ctx := context.Background()
	first, _ := opts.Span()
	for _, k := range []int{40, 80, 200} {
		at := first.Add(time.Duration(k) * DefaultStep)
		got, err := s.QueryValue(ctx, fmt.Sprintf(`function_calls_total{function="F"} @ %d`, at.Unix()))
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 * tr.integral(first, at); math.Abs(got-want) > 1e-6*want {
			t.Errorf("counter at %v = %v, want %v", at, got, want)
		}
	}
	burst, err := s.QueryValue(ctx, fmt.Sprintf(`rate(function_calls_total{function="F"}[2m] @ %d)`, now.Add(-37*time.Minute).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	calm, err := s.QueryValue(ctx, fmt.Sprintf(`rate(function_calls_total{function="F"}[2m] @ %d)`, now.Add(-20*time.Minute).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if burst < 2*calm {
		t.Errorf("burst rate %v, calm %v: the burst does not show", burst, calm)
	}
}
