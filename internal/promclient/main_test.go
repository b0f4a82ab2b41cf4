package promclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"

	"github.com/am-lsp/am-lsp/internal/testkit/ci"
)

// One Prometheus with the data below serves all tests that only read.
var (
	shared     *promfixture.Server
	sharedErr  error
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping prometheus:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Series of the shared data.
var (
	apiHandle   = Series{Function: "Handle", Module: "example.com/shop/api"}
	adminHandle = Series{Function: "Handle", Module: "example.com/shop/admin"}
	decoyHandle = Series{Function: "Handle", Module: "exampleXcom/shop/api"} // "." unescaped would match it
	checkout    = Series{Function: "Checkout", Module: "example.com/shop/api.Server"}
	mainRun     = Series{Function: "run", Module: "main"}
	legacyParse = Series{Function: "Parse", Module: "example.com/legacy"}
	yamlUnm     = Series{Function: "Unmarshal", Module: "gopkg.in/yaml%2ev3"}
	idle        = Series{Function: "Idle", Module: "example.com/shop/api"}
	pay         = Series{Function: "Pay", Module: "example.com/shop/api"}
	plusAdd     = Series{Function: "Add", Module: "example.com/x+y"}
	plusDecoy   = Series{Function: "Add", Module: "example.com/xxxy"} // "+" unescaped would match it
	missing     = Series{Function: "Nope", Module: "example.com/shop/api"}
	// The plain function Checkout of the package of the method Server.Checkout: asking for
	// Handle and Server.Checkout puts it in the functions × modules cross product.
	checkoutFn = Series{Function: "Checkout", Module: "example.com/shop/api"}
	// Quotes and backslashes must survive PromQL string and regex quoting.
	odd = Series{Function: "Odd", Module: `example.com/we"ird\mod.v2`}
	// Seven callers (and one idle) at distinct rates; a latency-only objective.
	fanIn = Series{Function: "Lookup", Module: "example.com/shop/db"}
	// The same function in two services, each with its caller, latency and SLO rules.
	syncer = Series{Function: "Sync", Module: "example.com/shop/sync"}
)

// genSeries are 40 more functions of one package, for batching; genSeries[i] has rate i+1.
var genSeries = func() []Series {
	var out []Series
	for i := 0; i < 40; i++ {
		out = append(out, Series{Function: fmt.Sprintf("Gen%02d", i), Module: "example.com/shop/gen"})
	}
	return out
}()

func sharedData() promfixture.Options {
	fns := []promfixture.Function{
		{
			Function: apiHandle.Function, Module: apiHandle.Module, CallerFunction: "ServeHTTP", CallerModule: "net/http",
			CallsPerSec: 12, ErrorsPerSec: 1.5, Latencies: []float64{0.004, 0.02, 0.02, 0.06, 0.3}, Concurrent: 2,
			ServiceName: "shop", Version: "1.4.0", Commit: "abc123",
			ObjectiveName: "api", ObjectivePercentile: "99", ObjectiveLatencyThreshold: "0.1",
		},
		// A second caller of the same function: its series add up.
		{
			Function: apiHandle.Function, Module: apiHandle.Module, CallerFunction: "Retry", CallerModule: "example.com/shop/api",
			CallsPerSec: 3, ErrorsPerSec: 0.5, Latencies: []float64{1.2}, Concurrent: 1, ServiceName: "shop", Version: "1.4.0",
			ObjectiveName: "api", ObjectivePercentile: "99", ObjectiveLatencyThreshold: "0.1",
		},
		{
			Function: fanIn.Function, Module: fanIn.Module, Latencies: []float64{0.01, 0.2}, ServiceName: "shop", Version: "1.4.0",
			ObjectiveName: "db", LatencyObjectivePercentile: "99.9", ObjectiveLatencyThreshold: "0.1",
			Callers: []promfixture.Caller{
				{Function: "C1", Module: "example.com/shop/x", CallsPerSec: 1},
				{Function: "C2", Module: "example.com/shop/x", CallsPerSec: 2, ErrorsPerSec: 0.5},
				{Function: "C3", Module: "example.com/shop/x", CallsPerSec: 3},
				{Function: "C4", Module: "example.com/shop/x", CallsPerSec: 4, ErrorsPerSec: 1},
				{Function: "C5", Module: "example.com/shop/x", CallsPerSec: 5},
				{Function: "Handle", Module: "example.com/shop/api.Server", CallsPerSec: 7, Concurrent: 2},
				{Function: "C6", Module: "example.com/shop/x", CallsPerSec: 6},
				{Function: "Idle", Module: "example.com/shop/x"},
			},
		},
		{
			Function: syncer.Function, Module: syncer.Module, CallerFunction: "Nightly", CallerModule: "example.com/shop/cron",
			CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.05}, Concurrent: 1, ServiceName: "shop", Version: "1.4.0",
			ObjectiveName: "sync", ObjectivePercentile: "99", Instance: "10.0.2.1:8080",
		},
		{
			Function: syncer.Function, Module: syncer.Module, CallerFunction: "Invoice", CallerModule: "example.com/billing",
			CallsPerSec: 6, ErrorsPerSec: 3, Latencies: []float64{0.5}, Concurrent: 5, ServiceName: "billing", Version: "2.0.0",
			ObjectiveName: "sync", ObjectivePercentile: "99", Instance: "10.0.2.2:8080",
		},
		{Function: adminHandle.Function, Module: adminHandle.Module, CallsPerSec: 100, ErrorsPerSec: 50, Latencies: []float64{7}, Concurrent: 40, ServiceName: "admin", Version: "9.9.9"},
		{Function: decoyHandle.Function, Module: decoyHandle.Module, CallsPerSec: 1000, ErrorsPerSec: 1000, Latencies: []float64{9}, Concurrent: 99},
		{Function: checkout.Function, Module: checkout.Module, CallsPerSec: 5, ErrorsPerSec: 0.25, Latencies: []float64{0.01, 0.05, 0.2}, Concurrent: 4, ServiceName: "shop", Version: "1.4.0"},
		// No service labels of its own: build_info of its target names it.
		{Function: mainRun.Function, Module: mainRun.Module, CallsPerSec: 0.5, Latencies: []float64{0.08}, Job: "cli", Instance: "10.0.0.3:9100"},
		{Function: legacyParse.Function, Module: legacyParse.Module, CallsPerSec: 2, ErrorsPerSec: 0.2, Latencies: []float64{0.002, 0.7}, Legacy: true, Job: "legacy", Instance: "10.0.0.4:9100",
			CallerFunction: "main", CallerModule: "example.com/legacy/cmd"},
		// A target without build_info: the upstream join would drop it.
		{Function: yamlUnm.Function, Module: yamlUnm.Module, CallsPerSec: 7, Latencies: []float64{0.0005}, Job: "worker", Instance: "10.0.0.2:9000"},
		{Function: idle.Function, Module: idle.Module, CallsPerSec: 0, ServiceName: "shop", Version: "1.4.0"},
		// A rollout: two versions on two instances.
		{Function: pay.Function, Module: pay.Module, CallsPerSec: 1, ServiceName: "shop", Version: "1.4.0", Instance: "10.0.1.1:8080"},
		{Function: pay.Function, Module: pay.Module, CallsPerSec: 2, ServiceName: "shop", Version: "1.5.0", Instance: "10.0.1.2:8080"},
		{Function: plusAdd.Function, Module: plusAdd.Module, CallsPerSec: 0.75, Latencies: []float64{0.03}},
		{Function: plusDecoy.Function, Module: plusDecoy.Module, CallsPerSec: 500, Latencies: []float64{5}},
		{Function: checkoutFn.Function, Module: checkoutFn.Module, CallsPerSec: 60, ErrorsPerSec: 30, Concurrent: 8},
		{Function: odd.Function, Module: odd.Module, CallsPerSec: 0.125, Latencies: []float64{0.04}, Job: "odd"},
	}
	for i, s := range genSeries {
		fns = append(fns, promfixture.Function{Function: s.Function, Module: s.Module, CallsPerSec: float64(i + 1), ServiceName: "shop", Version: "1.4.0"})
	}
	rules, err := promfixture.SLORules("99", "99.9")
	if err != nil {
		panic(err)
	}
	return promfixture.Options{
		Functions:      fns,
		RecordingRules: rules,
		// Every 4m is enough for instant queries (which look back 5m) and quick to evaluate.
		RuleInterval: 4 * time.Minute,
		BuildInfo: []promfixture.BuildInfo{
			{ServiceName: "shop", Version: "1.4.0", Commit: "abc123"}, // job app, instance 127.0.0.1:8080
			{Job: "cli", Instance: "10.0.0.3:9100", ServiceName: "shopctl", Version: "0.3.0"},
		},
		// The tests query "now" only: a shorter span than the default keeps the start fast.
		Before: 30 * time.Minute, After: 90 * time.Minute,
	}
}

// sharedServer returns the shared Prometheus, starting it on first use.
func sharedServer(t *testing.T) *promfixture.Server {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = promfixture.Start(context.Background(), sharedData())
		if shared != nil {
			t.Logf("shared prometheus %s started in %v", shared.URL, shared.StartupTime)
		}
	})
	skipOrFail(t, sharedErr)
	return shared
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, promfixture.ErrNotInstalled) {
		if ci.Enabled() {
			t.Fatalf("%v: CI must have it", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
