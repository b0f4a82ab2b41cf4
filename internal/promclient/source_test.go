package promclient

import (
	"context"
	"math"
	"testing"
)

// Every entry of the sources table is complete and sits at its own ID.
func TestSourcesTable(t *testing.T) {
	for i, src := range sources {
		switch {
		case src == nil:
			t.Errorf("sources[%d] is nil", i)
		case int(src.ID) != i:
			t.Errorf("sources[%d] has ID %d", i, src.ID)
		case src.Name == "" || src.FunctionLabel == "" || len(src.Calls) == 0 || src.ErrorLabel == "" || src.ErrorValue == "":
			t.Errorf("sources[%d] (%s): name, function label, calls and error condition are required", i, src.Name)
		case !(src.LatencySeconds > 0):
			t.Errorf("sources[%d] (%s): latency unit %v", i, src.Name, src.LatencySeconds)
		}
	}
}

// A source is a description: one that reads the Autometrics metrics by function name alone,
// counts result="ok" as the failure condition and takes the histogram for milliseconds gets
// numbers that follow exactly that description, while Autometrics series in the same Fetch keep
// theirs. Prometheus's answers to hand-written queries are the reference.
func TestSourceDescriptionDrivesQueries(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL})
	byName := &Source{
		Name:           "test naming",
		FunctionLabel:  "function",
		Calls:          []string{"function_calls_total"},
		Buckets:        []string{"function_calls_duration_seconds_bucket"},
		LatencySeconds: 0.001,
		ErrorLabel:     "result",
		ErrorValue:     "ok",
	}
	byName.ID = SourceID(len(c.sources))
	c.sources = append(append([]*Source(nil), c.sources...), byName)

	handle := Series{Function: "Handle", Source: byName.ID}
	snap, err := c.Fetch(context.Background(), []Series{handle, apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := snap.Stats[handle]
	if !ok {
		t.Fatalf("no stats for %v: %+v", handle, snap.Stats)
	}
	all := `sum(rate(function_calls_total{function="Handle"}[5m]))`
	want := map[Kind]float64{
		RequestRate: promValue(t, srv, all),
		ErrorRatio:  promValue(t, srv, `sum(rate(function_calls_total{function="Handle",result="ok"}[5m])) / `+all),
		LatencyP95:  promValue(t, srv, `histogram_quantile(0.95, sum by (le) (rate(function_calls_duration_seconds_bucket{function="Handle"}[5m]))) * 0.001`),
		LatencyP99:  promValue(t, srv, `histogram_quantile(0.99, sum by (le) (rate(function_calls_duration_seconds_bucket{function="Handle"}[5m]))) * 0.001`),
		Concurrent:  math.NaN(), // the source has no gauge
	}
	for k, w := range want {
		if got := statOf(st, k); !sameNumber(got, w) {
			t.Errorf("%v = %v, want %v", k, got, w)
		}
		if k == Concurrent {
			if q := c.QueryFor(k, handle); q != "" {
				t.Errorf("QueryFor(Concurrent) = %q for a source without the gauge", q)
			}
			continue
		}
		if ref := promValue(t, srv, c.QueryFor(k, handle)); !sameNumber(ref, w) {
			t.Errorf("QueryFor(%v) answers %v, want %v", k, ref, w)
		}
	}
	if st.ServiceName != "" || st.Callers != nil || st.Objectives != nil {
		t.Errorf("parts the source does not describe: %+v", st)
	}
	// The Autometrics series of the same batch reads as when fetched alone.
	alone, err := newClient(t, Config{URL: srv.URL}).Fetch(context.Background(), []Series{apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allKinds {
		if got, w := statOf(snap.Stats[apiHandle], k), statOf(alone.Stats[apiHandle], k); !sameNumber(got, w) {
			t.Errorf("Autometrics %v in a mixed batch = %v, alone %v", k, got, w)
		}
	}
}
