package promclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// A real Prometheus behind basic auth and a route prefix: with the right credentials every
// query (numbers, SLO rules, trend) gets through under the prefix; without them the failure is
// Unauthorized; the password shows nowhere.
func TestBasicAuthAndPrefixPrometheus(t *testing.T) {
	s := Series{Function: "Handle", Module: "example.com/app"}
	rules, err := promfixture.SLORules("99")
	if err != nil {
		t.Fatal(err)
	}
	srv := promfixture.StartT(t, promfixture.Options{
		Functions: []promfixture.Function{{
			Function: s.Function, Module: s.Module, CallsPerSec: 4, ErrorsPerSec: 1, Latencies: []float64{0.01, 0.3},
			ObjectiveName: "api", ObjectivePercentile: "99", ServiceName: "api",
		}},
		RecordingRules: rules, RuleInterval: 4 * time.Minute,
		BasicAuthUser: "alice", BasicAuthPassword: secret,
		RoutePrefix: "/prom",
		Before:      70 * time.Minute, After: 30 * time.Minute,
	})
	t.Logf("prometheus with basic auth, prefix and rules started in %v", srv.StartupTime)
	u, _ := url.Parse(srv.URL)
	withUser := func(pass string) string { return "http://alice:" + pass + "@" + u.Host + "/prom" }

	for _, cfg := range []Config{
		{URL: withUser(secret)},
		{URL: srv.URL + "/", Username: "alice", Password: secret},
	} {
		c := newClient(t, cfg)
		if c.DisplayURL() != srv.URL {
			t.Errorf("DisplayURL = %q, want %q", c.DisplayURL(), srv.URL)
		}
		snap, err := c.Fetch(context.Background(), []Series{s})
		if err != nil {
			t.Fatal(err)
		}
		st := snap.Stats[s]
		if !sameNumber(st.RequestRate, 4) || !sameNumber(st.ErrorRatio, 0.25) {
			t.Errorf("stats through auth and prefix = %+v", st)
		}
		for _, k := range allKinds {
			q := c.QueryFor(k, s)
			if ref := promValue(t, srv, q); !sameNumber(statOf(st, k), ref) {
				t.Errorf("%v = %v, Prometheus answers %v to QueryFor", k, statOf(st, k), ref)
			}
		}
		if got := c.SLO(snap, s, Objective{Name: "api", Percentile: 99, LatencyThreshold: 0}); got.Source != SourceRecordingRules || !sameNumber(got.SuccessRate, 0.75) {
			t.Errorf("SLO through auth and prefix = %+v", got)
		}
		tr, err := c.FetchTrend(context.Background(), []Series{s})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Series[s].RequestRate; len(got) != tr.Points || !sameNumber(got[tr.Points-1], 4) || !sameNumber(got[0], 4) {
			t.Errorf("trend through auth and prefix = %v", got)
		}
	}

	// The graph link keeps the prefix and opens the graph page of this Prometheus.
	c := newClient(t, Config{URL: withUser(secret)})
	link := c.GraphURL(c.QueryFor(ErrorRatio, s))
	if !strings.HasPrefix(link, srv.URL+"/graph?g0.expr=") {
		t.Errorf("GraphURL = %s, want it under %s", link, srv.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.SetBasicAuth("alice", secret)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", link, resp.Status)
	}

	encoded := base64.StdEncoding.EncodeToString([]byte("alice:" + secret))
	for name, cfg := range map[string]Config{
		"wrong password": {URL: withUser(secret + "x")},
		"no credentials": {URL: srv.URL},
		"bearer instead": {URL: srv.URL, BearerToken: secret},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, cfg)
			snap, err := c.Fetch(context.Background(), []Series{s})
			if fe := fetchError(t, snap, err); fe.Kind != Unauthorized {
				t.Errorf("Fetch: %v, want unauthorized", err)
			}
			tr, terr := c.FetchTrend(context.Background(), []Series{s})
			var fe *FetchError
			if !errors.As(terr, &fe) || fe.Kind != Unauthorized || tr == nil || tr.Err != terr {
				t.Errorf("FetchTrend: %v, want unauthorized", terr)
			}
			shown := strings.Join([]string{err.Error(), terr.Error(), c.DisplayURL(), c.GraphURL(c.QueryFor(ErrorRatio, s)), c.QueryFor(RequestRate, s)}, "\n")
			for _, leak := range []string{secret, encoded, base64.StdEncoding.EncodeToString([]byte("alice:" + secret + "x"))} {
				if strings.Contains(shown, leak) {
					t.Errorf("a credential shows in:\n%s", shown)
				}
			}
		})
	}

	// Without the prefix the server has no API: a bad response that says 404.
	c = newClient(t, Config{URL: "http://" + u.Host, Username: "alice", Password: secret})
	snap, err := c.Fetch(context.Background(), []Series{s})
	if fe := fetchError(t, snap, err); fe.Kind != BadResponse || !strings.Contains(err.Error(), "404") {
		t.Errorf("without the prefix: %v", err)
	}
}

// gateway stands for a Thanos, Mimir or Cortex query frontend in front of a real Prometheus: it
// serves the API under /prometheus, wants a tenant header and a bearer token, and adds a
// partial-response warning to every answer.
type gateway struct {
	mu      sync.Mutex
	token   string // the one it accepts
	tenants []string
	paths   []string
}

const partialWarning = "partial response: store 10.0.3.7:10901 (zone b) is unavailable"

func startGateway(t *testing.T, upstream string, token string) (*httptest.Server, *gateway) {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{token: token}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/prometheus")
			r.Out.Header.Del("Accept-Encoding") // plain JSON, to edit
		},
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var doc map[string]any
			if json.Unmarshal(body, &doc) == nil {
				doc["warnings"] = []string{partialWarning}
				body, _ = json.Marshal(doc)
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.tenants = append(g.tenants, r.Header.Get("X-Scope-OrgID"))
		g.paths = append(g.paths, r.URL.Path)
		ok := r.Header.Get("Authorization") == "Bearer "+g.token
		g.mu.Unlock()
		switch {
		case r.Header.Get("X-Scope-OrgID") == "":
			http.Error(w, "no org id", http.StatusUnauthorized)
		case !ok:
			http.Error(w, "bad token", http.StatusUnauthorized)
		case !strings.HasPrefix(r.URL.Path, "/prometheus/api/v1/"):
			http.NotFound(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, g
}

func TestTenantGatewayWithTokenFile(t *testing.T) {
	srv := sharedServer(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("token-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, g := startGateway(t, srv.URL, "token-one")
	c := newClient(t, Config{
		URL: ts.URL + "/prometheus", BearerTokenFile: tokenFile, TTL: 30 * time.Second,
		Headers: map[string]string{"X-Scope-OrgID": "tenant-a"},
	})
	now := time.Now()
	var mu sync.Mutex
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	asked := []Series{apiHandle, fanIn, checkout}
	want, err := newClient(t, Config{URL: srv.URL}).Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) != 1 || snap.Warnings[0] != partialWarning {
		t.Errorf("warnings = %q, want the partial response once", snap.Warnings)
	}
	for _, s := range asked {
		g, w := snap.Stats[s], want.Stats[s]
		for _, k := range allKinds {
			if !sameNumber(statOf(g, k), statOf(w, k)) {
				t.Errorf("%v %v through the gateway = %v, directly %v", s, k, statOf(g, k), statOf(w, k))
			}
		}
		if len(g.Callers) != len(w.Callers) {
			t.Errorf("%v callers through the gateway %v, directly %v", s, g.Callers, w.Callers)
		}
	}
	if got := c.SLO(snap, fanIn, Objective{Name: "db", Percentile: 99.9, LatencyThreshold: 0.1}); got.Source != SourceRecordingRules || !sameNumber(got.LatencyAttainment, 0.5) {
		t.Errorf("SLO through the gateway = %+v", got)
	}
	tr, err := c.FetchTrend(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Warnings) != 1 || tr.Warnings[0] != partialWarning || !sameNumber(tr.Series[apiHandle].RequestRate[tr.Points-1], 15) {
		t.Errorf("trend through the gateway: warnings %q, %v", tr.Warnings, tr.Series[apiHandle])
	}

	// The token is rotated: the file changes, the gateway wants the new one.
	if err := os.WriteFile(tokenFile, []byte("token-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.token = "token-two"
	g.mu.Unlock()
	advance(time.Minute)
	if _, err := c.Fetch(context.Background(), asked); err != nil {
		t.Errorf("after the rotation: %v", err)
	}

	// The file is gone: an authorization failure that names the file, not the token.
	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	g.mu.Lock()
	requests := len(g.paths)
	g.mu.Unlock()
	snap, err = c.Fetch(context.Background(), asked)
	fe := fetchError(t, snap, err)
	if fe.Kind != Unauthorized || !strings.Contains(err.Error(), tokenFile) || strings.Contains(err.Error(), "token-two") {
		t.Errorf("without the token file: %v", err)
	}
	g.mu.Lock()
	if len(g.paths) != requests {
		t.Errorf("requests sent without a token")
	}
	for i, tenant := range g.tenants {
		if tenant != "tenant-a" || !strings.HasPrefix(g.paths[i], "/prometheus/api/v1/query") {
			t.Errorf("request %d: tenant %q, path %s", i, tenant, g.paths[i])
		}
	}
	if len(g.paths) != 2*QueriesPerFetch+QueriesPerTrend {
		t.Errorf("%d requests, want %d", len(g.paths), 2*QueriesPerFetch+QueriesPerTrend)
	}
	g.mu.Unlock()

	// Without the tenant header the gateway refuses.
	c2 := newClient(t, Config{URL: ts.URL + "/prometheus", BearerToken: "token-two"})
	snap, err = c2.Fetch(context.Background(), asked)
	if fe := fetchError(t, snap, err); fe.Kind != Unauthorized {
		t.Errorf("without the tenant: %v", err)
	}
}

func TestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"function":"Handle","module":"example.com/shop/api"},"value":[1,"3"]}]}}`)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	ts.StartTLS()
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	fetch := func(cfg Config) (*Snapshot, error) {
		cfg.URL = ts.URL
		return newClient(t, cfg).Fetch(context.Background(), []Series{apiHandle})
	}
	snap, err := fetch(Config{TLSCAFile: ca})
	if err != nil || !sameNumber(snap.Stats[apiHandle].RequestRate, 3) {
		t.Errorf("with the CA file: %v, %+v", err, snap)
	}
	snap, err = fetch(Config{})
	if fe := fetchError(t, snap, err); fe.Kind != Unreachable || !strings.Contains(err.Error(), "certificate is not trusted") || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("without the CA: %v", err)
	}
	if snap, err := fetch(Config{InsecureSkipVerify: true}); err != nil || !sameNumber(snap.Stats[apiHandle].RequestRate, 3) {
		t.Errorf("with InsecureSkipVerify: %v", err)
	}

	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o644)
	for file, want := range map[string]string{
		garbage:                       "no PEM certificate",
		filepath.Join(dir, "missing"): "no such file",
	} {
		_, err := New(Config{URL: ts.URL, TLSCAFile: file})
		if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), want) {
			t.Errorf("New with CA file %s: %v, want an error naming it and saying %q", file, err, want)
		}
	}
}

// ExtraMatchers restrict every query: the series of another service count nowhere. The SLO
// recording rules' selectors are the exception: the client applies the matchers to the rule
// series that carry their label (TestAutometricsSLORulesLikeSloth).
func TestExtraMatchers(t *testing.T) {
	srv := sharedServer(t)
	c := newClient(t, Config{URL: srv.URL, ExtraMatchers: []string{`service_name="shop"`}})
	asked := []Series{syncer, apiHandle}

	// Every selector of every query carries the matcher.
	q := c.queries(Autometrics).batch(Normalize(asked))
	selector := regexp.MustCompile(`\{[^{}]*\}`)
	for name, text := range map[string]string{"calls": q.calls, "latency": q.latency, "concurrent": q.concurrent, "build info": q.buildInfo,
		"trend": c.queries(Autometrics).trend(Normalize(asked)), "QueryFor": c.QueryFor(LatencyP99, syncer)} {
		sels := selector.FindAllString(text, -1)
		if len(sels) == 0 {
			t.Errorf("%s: no selector in %s", name, text)
		}
		for _, s := range sels {
			if !strings.Contains(s, `service_name="shop"`) && !strings.Contains(s, "build_info") && !strings.HasPrefix(s, `{__name__=~"slo:`) {
				t.Errorf("%s: selector %s lacks the matcher", name, s)
			}
		}
	}

	snap, err := c.Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	st := snap.Stats[syncer]
	// The shop's Sync only: 4 calls/s, 1 error/s, all 0.05s, 1 in progress, called by Nightly.
	if !sameNumber(st.RequestRate, 4) || !sameNumber(st.ErrorRatio, 0.25) || !sameNumber(st.Concurrent, 1) ||
		!(st.P99 > 0.025 && st.P99 <= 0.05) || st.ServiceName != "shop" || st.Version != "1.4.0" {
		t.Errorf("stats = %+v", st)
	}
	if len(st.Callers) != 1 || st.Callers[0].Function != "Nightly" || !sameNumber(st.Callers[0].RequestRate, 4) {
		t.Errorf("callers = %+v", st.Callers)
	}
	for _, k := range allKinds {
		if ref := promValue(t, srv, c.QueryFor(k, syncer)); !sameNumber(statOf(st, k), ref) {
			t.Errorf("%v = %v, Prometheus answers %v to QueryFor", k, statOf(st, k), ref)
		}
	}
	// The shop's recording rules, not the billing's.
	checkSLO(t, "sync in the shop", c.SLO(snap, syncer, Objective{Name: "sync", Percentile: 99, LatencyThreshold: 0}), SourceRecordingRules, 0.75, 0.25/(1-0.99), 1-0.25/(1-0.99))
	tr, err := c.FetchTrend(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.Series[syncer]; !sameNumber(got.RequestRate[tr.Points-1], 4) || !sameNumber(got.ErrorRatio[tr.Points-1], 0.25) {
		t.Errorf("trend = %+v", got)
	}

	// The other service, by a negative regex matcher in single quotes.
	c = newClient(t, Config{URL: srv.URL, ExtraMatchers: []string{` service_name !~ 'sho.*' `}})
	snap, err = c.Fetch(context.Background(), asked)
	if err != nil {
		t.Fatal(err)
	}
	if st := snap.Stats[syncer]; !sameNumber(st.RequestRate, 6) || st.ServiceName != "billing" || len(st.Callers) != 1 || st.Callers[0].Function != "Invoice" {
		t.Errorf("billing's Sync = %+v", st)
	}
	if _, ok := snap.Stats[apiHandle]; ok {
		t.Errorf("the shop's Handle has stats under service_name!~\"sho.*\"")
	}
	if got := c.SLO(snap, syncer, Objective{Name: "sync", Percentile: 99, LatencyThreshold: 0}); got.Source != SourceRecordingRules || !sameNumber(got.SuccessRate, 0.5) {
		t.Errorf("billing's SLO = %+v", got)
	}
	if math.IsNaN(snap.Stats[syncer].P99) {
		t.Errorf("no latency for billing's Sync")
	}
}
