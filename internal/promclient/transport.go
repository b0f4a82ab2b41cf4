package promclient

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// newTransport builds the round tripper every request of a client goes through: TLS as
// configured, authentication and headers added, 401/403 turned into errors, bodies capped, the
// Date of the configured backend's answers recorded in clock. cfg has passed checkConfig.
func newTransport(cfg Config, clock *serverClock) (*transport, error) {
	ht := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLSCAFile != "" || cfg.InsecureSkipVerify {
		tc, err := tlsConfig(cfg.TLSCAFile, cfg.InsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		ht.TLSClientConfig = tc
	}
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, urlError(cfg.URL, err.Error())
	}
	rt := &transport{
		base:      ht,
		origin:    originOf(base),
		headers:   cfg.Headers,
		tokenFile: cfg.BearerTokenFile,
		maxBytes:  defaultMaxBytes,
		clock:     clock,
	}
	switch {
	case cfg.BearerToken != "":
		rt.authorization = "Bearer " + cfg.BearerToken
	case cfg.Username != "" || cfg.Password != "":
		rt.authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	}
	return rt, nil
}

// tlsConfig trusts the authorities of caFile (the system's when ""), or nothing with insecure.
func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: insecure}
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("prometheus TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("prometheus TLS CA file %s: no PEM certificate in it", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// defaultMaxBytes caps a response body; larger answers are a BadResponse. A package batch of 50
// functions answers in well under 1 MiB; the cap bounds what a broken backend can make us buffer
// (client_golang reads the body whole, up to twice the cap while growing, per query in flight).
const defaultMaxBytes = 8 << 20

// transport adds authentication and headers to requests, turns 401/403 into errors and caps the
// size of response bodies. It is immutable after newTransport (clock records the backend's time
// under its own lock).
//
// Credentials and headers go only to the configured origin (scheme, host and port). A request to
// another origin can only be a redirect the backend answered: with credentials or headers
// configured it is refused (a *redirectError), so that a proxy that redirects to a login page or
// another host never receives them; without any it is followed as net/http does.
type transport struct {
	base          http.RoundTripper
	origin        string // scheme://host:port of the configured URL
	authorization string
	tokenFile     string // read for every request
	headers       map[string]string
	maxBytes      int64
	clock         *serverClock // the Date of the configured origin's answers; nil: not recorded
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

// redirectError is a redirect to another origin that was not followed because credentials or
// headers are configured. To is the target's origin only (its path and query may hold anything).
type redirectError struct{ To string }

func (e *redirectError) Error() string {
	return "the backend redirected to another host (" + e.To + "); am-lsp sends credentials and headers only to the configured host, " +
		"so it does not follow: set the Prometheus URL to the address that answers the query API"
}

// originOf returns scheme://host:port of u, lower case, with the scheme's default port filled in.
func originOf(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// authorize adds the headers and credentials to r.
func (t *transport) authorize(r *http.Request) error {
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	if t.authorization != "" {
		r.Header.Set("Authorization", t.authorization)
	}
	if t.tokenFile != "" {
		tok, err := readToken(t.tokenFile)
		if err != nil {
			return err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

// sendsSecrets reports whether requests carry credentials or configured headers.
func (t *transport) sendsSecrets() bool {
	return t.authorization != "" || t.tokenFile != "" || len(t.headers) > 0
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if originOf(req.URL) != t.origin {
		if t.sendsSecrets() {
			return nil, &redirectError{To: originOf(req.URL)}
		}
	} else if err := t.authorize(r); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if t.clock != nil && originOf(req.URL) == t.origin {
		t.clock.observe(resp)
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

// limitedBody fails a read past left bytes with errTooLarge.
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
