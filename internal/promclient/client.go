// Package promclient reads Autometrics numbers (request rate, error ratio, latency percentiles,
// concurrency) from a Prometheus-compatible query API.
//
// It asks for whole batches of functions at once, a fixed handful of queries per batch whatever
// its size, filters every query on both the function and the module label, caches answers for a
// short time and shares a fetch between the callers that want it. Credentials are used for
// requests only: they never appear in errors, URLs it returns or queries.
//
// It is built on client_golang's api and api/prometheus/v1 packages, behind the small querier
// interface of this package.
package promclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// URL is the base URL of the query API (http or https). It may carry a path prefix, which
	// is kept, and userinfo, which is sent as basic auth and never shown.
	URL string
	// Window is the rate window (default 5m).
	Window time.Duration
	// Timeout bounds each fetch, sent as the server's `timeout` parameter as well (default 10s).
	Timeout time.Duration
	// TTL is how long an answer is fresh (default 30s).
	TTL time.Duration

	// Authentication: a bearer token, or basic auth (Username/Password or the URL's userinfo),
	// plus any headers. None of it is ever logged or shown.
	BearerToken        string
	Username, Password string
	Headers            map[string]string
}

// Client fetches Autometrics numbers. It is safe for concurrent use.
type Client struct {
	cfg     Config
	display string
	q       querier

	mu      sync.Mutex
	cache   map[string]*entry
	flights map[string]*flight
	sem     chan struct{} // bounds the queries in flight
	now     func() time.Time

	fetches int // fetches started (tests)
}

// New checks cfg and returns a client. It does not contact the backend.
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
	if cfg.BearerToken != "" && (cfg.Username != "" || cfg.Password != "") {
		return nil, errors.New("prometheus auth: a bearer token and basic auth cannot be used together")
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, fmt.Errorf("prometheus header %q: not a valid header name", k)
		}
	}
	if cfg.Window < 0 || cfg.Timeout < 0 || cfg.TTL < 0 {
		return nil, errors.New("prometheus client: Window, Timeout and TTL must not be negative")
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
	cfg.URL = base.String()

	rt := &transport{
		base:     http.DefaultTransport.(*http.Transport).Clone(),
		headers:  cfg.Headers,
		maxBytes: defaultMaxBytes,
	}
	switch {
	case cfg.BearerToken != "":
		rt.authorization = "Bearer " + cfg.BearerToken
	case cfg.Username != "" || cfg.Password != "":
		rt.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	ac, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, urlError(cfg.URL, err.Error())
	}
	return &Client{
		cfg:     cfg,
		display: base.String(),
		q:       &promAPI{api: v1.NewAPI(ac), rt: rt},
		cache:   map[string]*entry{},
		flights: map[string]*flight{},
		sem:     make(chan struct{}, maxConcurrentQueries),
		now:     time.Now,
	}, nil
}

// maxConcurrentQueries bounds the queries one client has in flight at once.
const maxConcurrentQueries = 8

// defaultMaxBytes caps a response body; larger answers are a BadResponse.
const defaultMaxBytes = 32 << 20

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

// querier is the part of the backend the client uses: one instant query at the server's
// current time, answering a vector and the backend's warnings (and infos).
type querier interface {
	Query(ctx context.Context, query string, timeout time.Duration) (model.Vector, []string, error)
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
	headers       map[string]string
	maxBytes      int64
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
