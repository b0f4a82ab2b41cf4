// Package promclient reads Autometrics numbers (request rate, error ratio, latency percentiles,
// concurrency, callers, objectives and their SLO status, recent trends) from a
// Prometheus-compatible query API: Prometheus (also behind a path prefix), VictoriaMetrics, and
// Thanos, Mimir or Cortex query endpoints (tenant header through Config.Headers; their
// partial-response warnings are kept).
//
// It asks for whole batches of functions at once, a fixed handful of queries per batch whatever
// its size (QueriesPerFetch for the numbers, callers, objectives and SLO recording rules,
// QueriesPerTrend for the trend), filters every query on both the function and the module label
// and on the configured extra matchers, caches answers for a short time and shares a fetch
// between the callers that want it. SLO statuses are computed from a snapshot without the
// network. Credentials are used for requests only: they never appear in errors, URLs it returns
// or queries.
//
// It is built on client_golang's api and api/prometheus/v1 packages, behind the small querier
// interface of this package.
package promclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Defaults of Config.
const (
	DefaultWindow  = 5 * time.Minute
	DefaultTimeout = 10 * time.Second
	DefaultTTL     = 30 * time.Second
)

// Series names the series of one function: the values of its function and module labels.
type Series struct{ Function, Module string }

func (s Series) String() string { return s.Module + "." + s.Function }

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
	// to every selector of every query (numbers, callers, trends, SLO recording rules and the
	// QueryFor links), e.g. to keep to one environment. New checks them (the regexes too);
	// the metric name cannot be matched. SLO recording rules that lack a matched label are
	// not used then (the SLO status comes from the raw counters).
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
}

// Defaults of the trend.
const (
	DefaultTrendRange  = time.Hour
	DefaultTrendPoints = 30
	maxTrendPoints     = 11000 // Prometheus refuses range queries of more points
)

// Client fetches Autometrics numbers. It is safe for concurrent use.
type Client struct {
	cfg     Config
	display string
	extra   []string // ExtraMatchers, checked and rendered
	q       querier

	mu     sync.Mutex
	snaps  *batchCache[*Snapshot]
	trends *batchCache[*Trend]
	sem    chan struct{} // bounds the queries in flight
	now    func() time.Time
}

// New checks cfg and returns a client. It does not contact the backend; it reads the TLS CA
// file and checks that the bearer token file can be read.
func New(cfg Config) (*Client, error) {
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
	extra, err := parseMatchers(cfg.ExtraMatchers)
	if err != nil {
		return nil, err
	}
	if cfg.Window < 0 || cfg.Timeout < 0 || cfg.TTL < 0 || cfg.TrendRange < 0 || cfg.TrendPoints < 0 {
		return nil, errors.New("prometheus client: Window, Timeout, TTL, TrendRange and TrendPoints must not be negative")
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Window < time.Second || cfg.Window%time.Second != 0 {
		return nil, fmt.Errorf("prometheus client: window %v: must be a whole number of seconds", cfg.Window)
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
		return nil, fmt.Errorf("prometheus client: %d trend points: want 2 to %d", cfg.TrendPoints, maxTrendPoints)
	}
	if cfg.TrendRange/time.Duration(cfg.TrendPoints) < time.Second {
		return nil, fmt.Errorf("prometheus client: trend range %v is too short for %d points a whole second apart", cfg.TrendRange, cfg.TrendPoints)
	}
	cfg.URL = base.String()

	ht := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLSCAFile != "" || cfg.InsecureSkipVerify {
		tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.TLSCAFile != "" {
			pem, err := os.ReadFile(cfg.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("prometheus TLS CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("prometheus TLS CA file %s: no PEM certificate in it", cfg.TLSCAFile)
			}
			tc.RootCAs = pool
		}
		ht.TLSClientConfig = tc
	}
	rt := &transport{
		base:      ht,
		headers:   cfg.Headers,
		tokenFile: cfg.BearerTokenFile,
		maxBytes:  defaultMaxBytes,
	}
	switch {
	case cfg.BearerToken != "":
		rt.authorization = "Bearer " + cfg.BearerToken
	case basic:
		rt.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	ac, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, urlError(cfg.URL, err.Error())
	}
	return &Client{
		cfg:     cfg,
		display: base.String(),
		extra:   extra,
		q:       &promAPI{api: v1.NewAPI(ac), rt: rt},
		snaps:   newBatchCache[*Snapshot](),
		trends:  newBatchCache[*Trend](),
		sem:     make(chan struct{}, maxConcurrentQueries),
		now:     time.Now,
	}, nil
}

// maxConcurrentQueries bounds the queries one client has in flight at once.
const maxConcurrentQueries = 8

// defaultMaxBytes caps a response body; larger answers are a BadResponse. A package batch of 50
// functions answers in well under 1 MiB; the cap bounds what a broken backend can make us buffer
// (client_golang reads the body whole, up to twice the cap while growing, per query in flight).
const defaultMaxBytes = 8 << 20

// parseURL validates a base URL and splits off its credentials.
func parseURL(raw string) (base *url.URL, user, pass string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, "", "", urlError(raw, "empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error text would repeat the URL, credentials included
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
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
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

// redactRaw removes userinfo from a URL that may not parse.
func redactRaw(raw string) string {
	s := strings.TrimSpace(raw)
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	end := len(s)
	if i := strings.IndexAny(s[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
		return s[:start] + s[start+at+1:]
	}
	return s
}

// DisplayURL returns the base URL without credentials, for showing to the user.
func (c *Client) DisplayURL() string { return c.display }

// GraphURL returns the link to query in the backend's graph page:
// <base>/graph?g0.expr=<query>&g0.tab=0, path prefix kept, no credentials.
func (c *Client) GraphURL(query string) string {
	return c.display + "/graph?g0.expr=" + url.QueryEscape(query) + "&g0.tab=0"
}

// Window returns the rate window of the client's queries.
func (c *Client) Window() time.Duration { return c.cfg.Window }

// querier is the part of the backend the client uses: instant queries at the server's current
// time answering a vector, and range queries answering a matrix, each with the backend's
// warnings (and infos).
type querier interface {
	Query(ctx context.Context, query string, timeout time.Duration) (model.Vector, []string, error)
	QueryRange(ctx context.Context, query string, r v1.Range, timeout time.Duration) (model.Matrix, []string, error)
}

// promAPI is the querier over client_golang's v1 API.
type promAPI struct {
	api v1.API
	rt  *transport
}

func (p *promAPI) Query(ctx context.Context, query string, timeout time.Duration) (model.Vector, []string, error) {
	val, warnings, infos, err := p.api.Query(ctx, query, time.Time{}, v1.WithTimeout(serverTimeout(timeout)))
	notes := append(append([]string(nil), warnings...), infos...)
	if err != nil {
		return nil, notes, err
	}
	switch v := val.(type) {
	case model.Vector:
		return v, notes, nil
	case nil:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: "no result in the response"}
	default:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("result of type %s, want vector", val.Type())}
	}
}

func (p *promAPI) QueryRange(ctx context.Context, query string, r v1.Range, timeout time.Duration) (model.Matrix, []string, error) {
	val, warnings, infos, err := p.api.QueryRange(ctx, query, r, v1.WithTimeout(serverTimeout(timeout)))
	notes := append(append([]string(nil), warnings...), infos...)
	if err != nil {
		return nil, notes, err
	}
	switch v := val.(type) {
	case model.Matrix:
		return v, notes, nil
	case nil:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: "no result in the response"}
	default:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("result of type %s, want matrix", val.Type())}
	}
}

// serverTimeout renders d in a form the server's duration parser accepts (it rejects "1.5s").
func serverTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Truncate(time.Second)
	}
	if d >= time.Millisecond {
		return d.Truncate(time.Millisecond)
	}
	return time.Millisecond
}

// transport adds authentication and headers to requests, turns 401/403 into errors and caps the
// size of response bodies.
type transport struct {
	base          http.RoundTripper
	authorization string
	tokenFile     string // read for every request
	headers       map[string]string
	maxBytes      int64
}

// credentialsError is a bearer token file that cannot be used. It names the file, never the
// token.
type credentialsError struct {
	File string
	Err  error
}

func (e *credentialsError) Error() string {
	return "bearer token file " + e.File + ": " + e.Err.Error()
}

func (e *credentialsError) Unwrap() error { return e.Err }

// readToken returns the token in file, without surrounding white space.
func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return "", &credentialsError{File: file, Err: err}
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", &credentialsError{File: file, Err: errors.New("empty")}
	}
	if strings.ContainsAny(tok, "\r\n\x00") {
		return "", &credentialsError{File: file, Err: errors.New("more than one line")}
	}
	return tok, nil
}

// statusError is a response the server refused for lack of authorization.
type statusError struct {
	Code   int
	Status string
}

func (e *statusError) Error() string { return "HTTP " + e.Status }

var errTooLarge = errors.New("response body too large")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	if t.authorization != "" {
		r.Header.Set("Authorization", t.authorization)
	}
	if t.tokenFile != "" {
		tok, err := readToken(t.tokenFile)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// client_golang retries a POST refused with 403 as a GET; a 403 to that GET, or any 401,
	// is an authorization failure.
	if resp.StatusCode == http.StatusUnauthorized || (resp.StatusCode == http.StatusForbidden && req.Method == http.MethodGet) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &statusError{Code: resp.StatusCode, Status: resp.Status}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.maxBytes}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Tell a body that ends exactly at the limit from one that goes on.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
