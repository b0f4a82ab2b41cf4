package promclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

const secret = "s3cret-pass"

func fetchError(t *testing.T, snap *Snapshot, err error) *FetchError {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *FetchError", err, err)
	}
	if snap == nil || snap.Err != err || len(snap.Stats) != 0 {
		t.Errorf("snapshot with the failure = %+v", snap)
	}
	return fe
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachable(t *testing.T) {
	addr := closedPort(t)
	c := newClient(t, Config{URL: "http://alice:" + secret + "@" + addr + "/prom/", Timeout: 5 * time.Second})
	snap, err := c.Fetch(context.Background(), []Series{apiHandle})
	fe := fetchError(t, snap, err)
	if fe.Kind != Unreachable {
		t.Errorf("Kind = %v, want unreachable (%v)", fe.Kind, err)
	}
	if want := "http://" + addr + "/prom"; fe.URL != want || c.DisplayURL() != want {
		t.Errorf("URL = %q, DisplayURL = %q, want %q", fe.URL, c.DisplayURL(), want)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "alice") {
		t.Errorf("error shows credentials: %v", err)
	}
	// A failure is fresh for a short while: no second attempt right away.
	if again, err2 := c.Fetch(context.Background(), []Series{apiHandle}); again != snap || err2 != err || c.snaps.started != 1 {
		t.Errorf("second Fetch after a failure: %v, %v, %d fetches", again, err2, c.snaps.started)
	}
}

func TestHangingBackend(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	requests := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) })

	// The fetch's timeout is far above the caller's deadline (and scheduling delays on a busy
	// machine), so that a caller that waited for the fetch is told apart by what it gets and by
	// the fetch no longer being in flight, not by how long it took.
	const timeout = 3 * time.Second
	c := newClient(t, Config{URL: ts.URL, Timeout: timeout})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	snap, err := c.Fetch(ctx, []Series{apiHandle})
	waited := time.Since(start)
	if snap != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch = %v, %v; want nil, context.DeadlineExceeded", snap, err)
	}
	c.mu.Lock()
	inFlight := len(c.snaps.flights)
	c.mu.Unlock()
	if inFlight != 1 {
		t.Errorf("the caller with a 200ms deadline returned after %v, when %d fetches were in flight; want it back while the fetch runs on", waited, inFlight)
	}
	// The fetch goes on without the caller; the next caller joins it and gets its end (within
	// a minute: only a fetch that ignores its timeout takes that long).
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err = c.Fetch(ctx, []Series{apiHandle})
	total := time.Since(start)
	fe := fetchError(t, snap, err)
	if fe.Kind != Timeout {
		t.Errorf("Kind = %v, want timeout (%v)", fe.Kind, err)
	}
	if total < timeout {
		t.Errorf("detached fetch ended after %v, before its %v timeout", total, timeout)
	}
	if c.snaps.started != 1 {
		t.Errorf("%d fetches, want 1", c.snaps.started)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != QueriesPerFetch {
		t.Errorf("%d requests, want %d", requests, QueriesPerFetch)
	}
}

// fakeAPI answers queries with an empty vector when auth and headers are right.
func fakeAPI(t *testing.T, check func(r *http.Request) int) (*httptest.Server, *[]*http.Request) {
	var mu sync.Mutex
	var seen []*http.Request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		if code := check(r); code != http.StatusOK {
			w.WriteHeader(code)
			io.WriteString(w, `{"status":"error","errorType":"client_error","error":"denied"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	t.Cleanup(ts.Close)
	return ts, &seen
}

func TestAuth(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+secret))
	ts, seen := fakeAPI(t, func(r *http.Request) int {
		switch r.Header.Get("Authorization") {
		case basic, "Bearer good-token":
			if r.Header.Get("X-Scope-OrgID") != "tenant-1" {
				return http.StatusForbidden
			}
			return http.StatusOK
		case "":
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
	})
	host := strings.TrimPrefix(ts.URL, "http://")
	headers := map[string]string{"X-Scope-OrgID": "tenant-1"}

	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"userinfo", Config{URL: "http://alice:" + secret + "@" + host, Headers: headers}, true},
		{"basic fields", Config{URL: ts.URL, Username: "alice", Password: secret, Headers: headers}, true},
		{"bearer", Config{URL: ts.URL, BearerToken: "good-token", Headers: headers}, true},
		{"no credentials", Config{URL: ts.URL, Headers: headers}, false},
		{"wrong password", Config{URL: "http://alice:" + secret + "x@" + host, Headers: headers}, false},
		{"wrong token", Config{URL: ts.URL, BearerToken: secret, Headers: headers}, false},
		{"missing header", Config{URL: ts.URL, BearerToken: "good-token"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.cfg)
			snap, err := c.Fetch(context.Background(), []Series{apiHandle})
			if tc.ok {
				if err != nil || snap.Err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				return
			}
			fe := fetchError(t, snap, err)
			if fe.Kind != Unauthorized {
				t.Errorf("Kind = %v, want unauthorized (%v)", fe.Kind, err)
			}
			for _, s := range []string{secret, base64.StdEncoding.EncodeToString([]byte("alice:" + secret + "x"))} {
				if strings.Contains(err.Error(), s) || strings.Contains(fe.URL, s) || strings.Contains(c.DisplayURL(), s) {
					t.Errorf("credentials shown: %v", err)
				}
			}
		})
	}
	// The server timeout parameter is sent with every query.
	for _, r := range *seen {
		if r.Form.Get("timeout") != "10s" || r.URL.Path != "/api/v1/query" || r.Form.Get("query") == "" {
			t.Errorf("request %s %s timeout=%q", r.Method, r.URL.Path, r.Form.Get("timeout"))
		}
	}
}

func TestBadResponses(t *testing.T) {
	huge := strings.Repeat("x", 2<<20)
	for _, tc := range []struct {
		name    string
		handler func(w http.ResponseWriter)
		kind    ErrorKind
		text    string
	}{
		{"500", func(w http.ResponseWriter) { w.WriteHeader(500); io.WriteString(w, "<html>upstream exploded</html>") }, BadResponse, "upstream exploded"},
		{"503 unavailable", func(w http.ResponseWriter) { w.WriteHeader(503); io.WriteString(w, "no healthy upstream") }, BadResponse, "503"},
		{"503 query timeout", func(w http.ResponseWriter) {
			w.WriteHeader(503)
			io.WriteString(w, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)
		}, Timeout, "query timed out"},
		{"garbage JSON", func(w http.ResponseWriter) {
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":`)
		}, BadResponse, ""},
		{"not JSON", func(w http.ResponseWriter) { io.WriteString(w, "<html>login page</html>") }, BadResponse, ""},
		{"matrix", func(w http.ResponseWriter) {
			io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		}, BadResponse, "matrix"},
		{"huge body", func(w http.ResponseWriter) {
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[],"x":"`+huge+`"}}`)
		}, BadResponse, "too large"},
		{"404 wrong prefix", func(w http.ResponseWriter) { w.WriteHeader(404); io.WriteString(w, "404 page not found") }, BadResponse, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.handler(w) }))
			defer ts.Close()
			c := newClient(t, Config{URL: ts.URL})
			c.q.(*promAPI).rt.maxBytes = 1 << 20
			snap, err := c.Fetch(context.Background(), []Series{apiHandle})
			fe := fetchError(t, snap, err)
			if fe.Kind != tc.kind || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("got %v: %v; want %v containing %q", fe.Kind, err, tc.kind, tc.text)
			}
		})
	}
}

// Real Prometheus: a query it refuses to run is a QueryError; remote-read trouble comes back as
// warnings, which are kept.
func TestQueryErrorAndWarnings(t *testing.T) {
	opts := promfixture.Options{
		Functions: []promfixture.Function{{Function: "F", Module: "m", CallsPerSec: 1, Latencies: []float64{0.1}}},
		Before:    20 * time.Minute, After: 20 * time.Minute,
		Args: []string{"--query.max-samples=5"},
	}
	srv := promfixture.StartT(t, opts)
	c := newClient(t, Config{URL: srv.URL})
	snap, err := c.Fetch(context.Background(), []Series{{Function: "F", Module: "m"}})
	fe := fetchError(t, snap, err)
	if fe.Kind != QueryError || !strings.Contains(err.Error(), "too many samples") {
		t.Errorf("got %v: %v; want a query error about too many samples", fe.Kind, err)
	}

	opts.Args = nil
	opts.ExtraConfig = "remote_read:\n  - url: http://" + closedPort(t) + "/api/v1/read\n"
	srv = promfixture.StartT(t, opts)
	c = newClient(t, Config{URL: srv.URL})
	snap, err = c.Fetch(context.Background(), []Series{{Function: "F", Module: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) != 1 || !strings.Contains(snap.Warnings[0], "remote_read") {
		t.Errorf("warnings = %q, want the remote_read failure once", snap.Warnings)
	}
	if st := snap.Stats[Series{Function: "F", Module: "m"}]; !sameNumber(st.RequestRate, 1) {
		t.Errorf("numbers with warnings: %+v", st)
	}
}

// The backend's own text (an error message, warnings) is kept to one line of at most
// maxBackendText characters, ending with "…" when cut: a broken or hostile backend cannot fill
// cards, logs or report output.
func TestBackendTextIsCut(t *testing.T) {
	long := "line one\nline two " + strings.Repeat("é", 1<<20)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": long})
	}))
	defer failing.Close()
	_, err := newClient(t, Config{URL: failing.URL}).Fetch(context.Background(), []Series{apiHandle})
	if err == nil || len(err.Error()) > 2*maxBackendText+200 || !strings.Contains(err.Error(), "line one line two") || !strings.Contains(err.Error(), "…") {
		t.Errorf("error of %d bytes: %.300s", len(fmt.Sprint(err)), err)
	}

	warning := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "warnings": []string{long},
			"data": map[string]any{"resultType": "vector", "result": []any{}}})
	}))
	defer warning.Close()
	snap, err := newClient(t, Config{URL: warning.URL}).Fetch(context.Background(), []Series{apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) != 1 || utf8.RuneCountInString(snap.Warnings[0]) != maxBackendText || !strings.HasSuffix(snap.Warnings[0], "é…") ||
		!strings.HasPrefix(snap.Warnings[0], "line one line two ") {
		t.Errorf("warnings = %.300q", snap.Warnings)
	}
}

// A backend's text reaches terminals (am-lsp report) and editors: the control characters of
// terminal escape sequences (a window title, colours, an OSC 8 hyperlink) and bidirectional
// overrides are dropped from it, in errors and in warnings alike.
func TestBackendTextLosesControlCharacters(t *testing.T) {
	hostile := "upstream error \x1b]0;PWNED-TITLE\x07\x1b[31mRED\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \u202eevil\u202c \u009b2J"
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, hostile)
	}))
	defer failing.Close()
	warning := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "warnings": []string{hostile},
			"data": map[string]any{"resultType": "vector", "result": []any{}}})
	}))
	defer warning.Close()

	_, err := newClient(t, Config{URL: failing.URL}).Fetch(context.Background(), []Series{apiHandle})
	if err == nil {
		t.Fatal("a 500 gave no error")
	}
	snap, werr := newClient(t, Config{URL: warning.URL}).Fetch(context.Background(), []Series{apiHandle})
	if werr != nil {
		t.Fatal(werr)
	}
	for what, text := range map[string]string{"error": err.Error(), "warnings": strings.Join(snap.Warnings, "\n")} {
		if !strings.Contains(text, "upstream error") || !strings.Contains(text, "RED") {
			t.Errorf("%s lost the backend's words: %q", what, text)
		}
		if i := strings.IndexFunc(text, func(r rune) bool {
			return r == 0x1b || r == 0x07 || r == 0x9b || (r >= 0x202a && r <= 0x202e)
		}); i >= 0 {
			t.Errorf("%s keeps a control character at %d: %q", what, i, text)
		}
	}
}

// Thousands of distinct warnings (a federated backend with many stores down) are cut to the
// first maxWarnings, in the backend's order, and one line counting the rest; repeats are
// dropped, however many.
func TestManyWarningsAreCountedNotListed(t *testing.T) {
	const distinct = 20000
	var warnings []string
	for i := range distinct {
		w := fmt.Sprintf("store 10.0.%d.%d:10901 unavailable", i/256, i%256)
		warnings = append(warnings, w, w) // each twice
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "warnings": warnings,
			"data": map[string]any{"resultType": "vector", "result": []any{}}})
	}))
	defer backend.Close()
	snap, err := newClient(t, Config{URL: backend.URL}).Fetch(context.Background(), []Series{apiHandle})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{warnings[0], warnings[2], warnings[4], warnings[6], warnings[8],
		fmt.Sprintf("…and %d more warnings from the backend", distinct-maxWarnings)}
	if !slices.Equal(snap.Warnings, want) {
		t.Errorf("warnings (%d) = %.500q\nwant %q", len(snap.Warnings), snap.Warnings, want)
	}
}
