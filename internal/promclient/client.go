// Package promclient reads the numbers of instrumented functions (request rate, error ratio,
// latency percentiles, concurrency, callers, objectives and their SLO status, recent trends)
// from a Prometheus-compatible query API: Prometheus (also behind a path prefix),
// VictoriaMetrics, and Thanos, Mimir or Cortex query endpoints (tenant header through
// Config.Headers; their partial-response warnings are kept).
//
// It asks for whole batches of functions at once, a fixed handful of queries per batch and
// source whatever the batch's size (QueriesPerFetch for the numbers, callers, objectives and
// SLO recording rules, QueriesPerTrend for the trend), filters every query on the labels that
// name a function and on the configured extra matchers, caches answers for a short time and
// shares a fetch between the callers that want it. SLO statuses are computed from a snapshot
// without the network. Credentials are used for requests only: they never appear in errors,
// URLs it returns or queries.
//
// # Files and extension points
//
//   - source.go: the sources table. A Source describes one naming of telemetry (metric
//     families, the labels naming a function, the failure condition, the latency unit, the
//     optional Autometrics parts); a Series says which source it follows. A new naming
//     (OpenTelemetry span metrics, Tempo) is a new SourceID and table entry, nothing else.
//   - query.go: every PromQL text, built from a Source by sourceQueries.
//   - fetch.go: Fetch, Cached, Prefetch; the batch answers (batchAnswers) and the accumulator
//     that adds samples up into Stats. A batch of several sources runs each source's queries
//     concurrently and merges them into one Snapshot.
//   - trend.go, slo.go: trends and SLO status on top of the same batches.
//   - cache.go: the TTL cache and in-flight sharing, generic in the answer type, so another
//     kind of background answer (alerts, versions, exemplars) gets its own batchCache.
//   - querier.go: the backend seam; new endpoints (alerts, exemplars) are methods here.
//   - transport.go: TLS, authentication, headers, response size cap.
//   - client.go: Config, New and its checks; errors.go: how failures are classified.
//   - clock.go: the instant queries are evaluated at (Config.Now, held back to the backend's
//     time when the client's clock runs ahead of it).
//
// It is built on client_golang's api and api/prometheus/v1 packages, behind the small querier
// interface of this package.
package promclient

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/credurl"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Defaults of Config.
const (
	DefaultWindow  = 5 * time.Minute
	DefaultTimeout = 10 * time.Second
	DefaultTTL     = 30 * time.Second
)

// Config says where the backend is and how to ask it.
type Config struct {
	// URL is the base URL of the query API (http or https). It may carry a path prefix (a
	// Prometheus behind --web.route-prefix, a Thanos/Mimir/Cortex gateway such as
	// /prometheus), which is kept in every request and link, and userinfo, which is sent as
	// basic auth and never shown.
	URL string
	// Window is the rate window (default 5m).
	Window time.Duration
	// Timeout bounds each fetch, sent as the server's `timeout` parameter as well (default 10s).
	Timeout time.Duration
	// TTL is how long an answer is fresh (default 30s).
	TTL time.Duration

	// ExtraMatchers are label matchers such as `service_name="api"` or `env=~"prod.*"` added
	// to every selector of every query over the metrics (numbers, callers, trends and the
	// QueryFor links), e.g. to keep to one environment. New checks them (the regexes too);
	// the metric name cannot be matched. SLO recording rules, Autometrics' (spec §5) and a
	// span's Sloth rules alike, are the exception: a matcher applies only to the rule series
	// that carry its label (see SLO and SlothSLOs), since Sloth's rules are sums that keep few
	// labels (objective, service, sloth_*), never the metrics' cluster, environment or job.
	ExtraMatchers []string

	// TrendRange and TrendPoints shape FetchTrend: TrendPoints points (default 30) spaced
	// TrendRange/TrendPoints apart (rounded down to a whole second, default 2m) and ending
	// at most that long ago, which covers the last TrendRange (default 1h).
	TrendRange  time.Duration
	TrendPoints int

	// Authentication: a bearer token (BearerToken, or BearerTokenFile, read again for every
	// request so that a rotated token is picked up), or basic auth (Username/Password or the
	// URL's userinfo), plus any headers (e.g. X-Scope-OrgID for a Mimir or Cortex tenant).
	// None of it is ever logged or shown.
	BearerToken        string
	BearerTokenFile    string
	Username, Password string
	Headers            map[string]string

	// TLSCAFile is a PEM file of the certificate authorities that sign the server's
	// certificate (instead of the system's). InsecureSkipVerify turns certificate
	// verification off: an explicit opt-in, never a default.
	TLSCAFile          string
	InsecureSkipVerify bool

	// SpanMetrics forces the naming of OpenTelemetry span metrics (a key of SpanFamilies);
	// empty means DiscoverSpans asks the backend. SpanService, when not empty, restricts span
	// metrics to that service (the naming's service label); empty means all services.
	SpanMetrics string
	SpanService string

	// Now is the client's clock (default time.Now). It dates answers (FetchedAt, and when
	// they stop being fresh) and gives the instant every batch of queries is evaluated at
	// (Snapshot.EvaluatedAt, the version history, the trend's end, the exemplars' window),
	// unless it runs ahead of the backend's clock (see Snapshot.EvaluatedAt). Tests inject a
	// fixed clock here.
	Now func() time.Time
}

// Defaults of the trend.
const (
	DefaultTrendRange  = time.Hour
	DefaultTrendPoints = 30
	maxTrendPoints     = 11000 // Prometheus refuses range queries of more points
)

// Client fetches numbers. It is safe for concurrent use.
type Client struct {
	// Set by New, never changed: safe to read without mu.
	cfg     Config
	display string
	extra   []labelMatcher // ExtraMatchers, checked
	q       querier
	sources []*Source        // the sources table (a test may add its own)
	sem     chan struct{}    // bounds the queries in flight
	bulk    chan struct{}    // bounds those of bulk fetches (priority.go)
	now     func() time.Time // Config.Now
	server  *serverClock     // the backend's time, from the Date of its answers

	// mu guards the two caches: their answers, their fetches in flight and the fetch counters
	// (see batchCache). It is never held while a query runs.
	mu     sync.Mutex
	snaps  *batchCache[*Snapshot]
	trends *batchCache[*Trend]
	// Incident data (incident.go): alerts and the version history are one answer for the
	// whole backend (cached under the empty batch), the rest by batch.
	alerts    *batchCache[*Alerts]
	history   *batchCache[*versionHistory]
	incidents *batchCache[*Incident]
	// spans is the cached span-metrics discovery (spans.go), discoveries the queries it sent.
	spans       *spanDiscoveryEntry
	discoveries int
}

// New checks cfg and returns a client. It does not contact the backend; it reads the TLS CA
// file and checks that the bearer token file can be read.
func New(cfg Config) (*Client, error) {
	cfg, base, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := SpanFamilies[cfg.SpanMetrics]; cfg.SpanMetrics != "" && !ok {
		return nil, fmt.Errorf("spanMetrics %q is not one of %s", cfg.SpanMetrics, strings.Join(SpanFamilyNames(), ", "))
	}
	extra, err := parseMatchers(cfg.ExtraMatchers)
	if err != nil {
		return nil, err
	}
	server := &serverClock{}
	rt, err := newTransport(cfg, server)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	ac, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, urlError(cfg.URL, err.Error())
	}
	return &Client{
		cfg:       cfg,
		display:   base.String(),
		extra:     extra,
		q:         &promAPI{api: v1.NewAPI(ac), rt: rt},
		sources:   sources,
		snaps:     newBatchCache[*Snapshot](),
		trends:    newBatchCache[*Trend](),
		alerts:    newBatchCache[*Alerts](),
		history:   newBatchCache[*versionHistory](),
		incidents: newBatchCache[*Incident](),
		sem:       make(chan struct{}, maxConcurrentQueries),
		bulk:      make(chan struct{}, maxBulkQueries),
		now:       now,
		server:    server,
	}, nil
}

// checkConfig validates cfg and returns it with defaults filled in, the URL without its
// credentials (moved to Username/Password), and that URL parsed.
func checkConfig(cfg Config) (Config, *url.URL, error) {
	base, err := checkAuth(&cfg)
	if err != nil {
		return cfg, nil, err
	}
	if err := checkDurations(&cfg); err != nil {
		return cfg, nil, err
	}
	cfg.URL = base.String()
	return cfg, base, nil
}

// checkAuth parses cfg.URL, moves its userinfo to Username/Password and checks that the
// credentials and headers can be used together. It returns the URL without credentials.
func checkAuth(cfg *Config) (*url.URL, error) {
	base, user, pass, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if user != "" || pass != "" {
		if cfg.Username != "" || cfg.Password != "" {
			return nil, urlError(cfg.URL, "has credentials and Username/Password are set too: use one or the other")
		}
		cfg.Username, cfg.Password = user, pass
	}
	basic := cfg.Username != "" || cfg.Password != ""
	if cfg.BearerToken != "" && cfg.BearerTokenFile != "" {
		return nil, errors.New("prometheus auth: a bearer token and a bearer token file cannot be used together")
	}
	if (cfg.BearerToken != "" || cfg.BearerTokenFile != "") && basic {
		return nil, errors.New("prometheus auth: a bearer token and basic auth cannot be used together")
	}
	if cfg.BearerTokenFile != "" {
		if _, err := readToken(cfg.BearerTokenFile); err != nil {
			return nil, fmt.Errorf("prometheus auth: %w", err)
		}
	}
	for k, v := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, fmt.Errorf("prometheus header %q: not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("prometheus header %q: the value has a line break or NUL", k) // the value may be a secret
		}
	}
	return base, nil
}

// checkDurations fills in the default window, timeout, TTL and trend shape and checks them.
func checkDurations(cfg *Config) error {
	if cfg.Window < 0 || cfg.Timeout < 0 || cfg.TTL < 0 || cfg.TrendRange < 0 || cfg.TrendPoints < 0 {
		return errors.New("prometheus client: Window, Timeout, TTL, TrendRange and TrendPoints must not be negative")
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Window < time.Second || cfg.Window%time.Second != 0 {
		return fmt.Errorf("prometheus client: window %v: must be a whole number of seconds", cfg.Window)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TrendRange == 0 {
		cfg.TrendRange = DefaultTrendRange
	}
	if cfg.TrendPoints == 0 {
		cfg.TrendPoints = DefaultTrendPoints
	}
	if cfg.TrendPoints < 2 || cfg.TrendPoints > maxTrendPoints {
		return fmt.Errorf("prometheus client: %d trend points: want 2 to %d", cfg.TrendPoints, maxTrendPoints)
	}
	if cfg.TrendRange/time.Duration(cfg.TrendPoints) < time.Second {
		return fmt.Errorf("prometheus client: trend range %v is too short for %d points a whole second apart", cfg.TrendRange, cfg.TrendPoints)
	}
	return nil
}

// maxConcurrentQueries bounds the queries one client has in flight at once.
const maxConcurrentQueries = 8

// parseURL validates a base URL and splits off its credentials, as credurl reads them (a
// password may hold "/", "?", "#" or "@" unencoded).
func parseURL(raw string) (base *url.URL, user, pass string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, "", "", urlError(raw, "empty")
	}
	s, user, pass, _, err = credurl.Split(s)
	if err != nil {
		return nil, "", "", urlError(raw, err.Error())
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error text would repeat the URL
		}
		return nil, "", "", urlError(raw, err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" || u.Opaque != "" {
			return nil, "", "", urlError(raw, "no scheme: write it as http://host:port")
		}
		return nil, "", "", urlError(raw, fmt.Sprintf("scheme %q: want http or https", u.Scheme))
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, "", "", urlError(raw, "no host")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, "", "", urlError(raw, "must not have a query or fragment")
	}
	b := *u
	b.User = nil
	b.Path = strings.TrimRight(b.Path, "/")
	b.RawPath = ""
	return &b, user, pass, nil
}

func urlError(raw, reason string) error {
	return fmt.Errorf("prometheus URL %q: %s", redactRaw(raw), reason)
}

// redactRaw removes the credentials from a URL that may not parse.
func redactRaw(raw string) string { return credurl.Redact(raw) }

// DisplayURL returns the base URL without credentials, for showing to the user.
func (c *Client) DisplayURL() string { return c.display }

// GraphURL returns the link to query in the backend's graph page:
// <base>/graph?g0.expr=<query>&g0.tab=0, path prefix kept, no credentials.
func (c *Client) GraphURL(query string) string {
	return c.display + "/graph?g0.expr=" + url.QueryEscape(query) + "&g0.tab=0"
}

// Window returns the rate window of the client's queries.
func (c *Client) Window() time.Duration { return c.cfg.Window }
