package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// TestReportAdviceFitsTheFailure runs `am-lsp report` against backends that fail in different
// ways and checks that its advice fits each failure (the URL is named as the thing to fix only
// when nothing, or nothing serving the query API, answered there) and that the failure's own
// words reach the user whole (host:port, dotted addresses and numbers, the backend's text).
func TestReportAdviceFitsTheFailure(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A real Prometheus behind basic auth.
	const user, pass = "alice", "right-pass"
	secured := promfixture.StartT(t, promfixture.Options{
		Functions:     []promfixture.Function{{Function: "Other", Module: "example.com/other", CallsPerSec: 1}},
		Before:        10 * time.Minute,
		After:         10 * time.Minute,
		BasicAuthUser: user, BasicAuthPassword: pass,
	})
	withCreds := func(u, p string) string {
		parsed, err := url.Parse(secured.URL)
		if err != nil {
			t.Fatal(err)
		}
		parsed.User = url.UserPassword(u, p)
		return parsed.String()
	}
	// The right credentials work: what fails below is the credentials, nothing else.
	if _, stderr, code := reportIn(ctx, t, bin, withCreds(user, pass))("./api"); code != 0 || stderr != "" {
		t.Fatalf("report with the right credentials: exit %d, stderr:\n%s", code, stderr)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// A gateway that fails (a real Prometheus answers 5xx only when it is broken).
	const gatewayBody = "upstream connect error. Retry at 10.0.0.7:9090 in 1.5 s"
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, gatewayBody)
	}))
	defer gateway.Close()
	tlsServer := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	tlsServer.StartTLS()
	defer tlsServer.Close()

	// A real Prometheus with the demo's data that refuses queries loading more than one sample.
	demo, _, err := demodata.Build(ctx, demoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	demo.Args = append(demo.Args, "--query.max-samples=1")
	limited := promfixture.StartT(t, demo)

	const nameIt = "Name the backend with --prometheus-url URL (or AM_PROMETHEUS_URL)"
	for _, c := range []struct {
		name, url string
		args      []string
		want      []string // in stderr
		not       []string // not in stderr
	}{
		{
			name: "wrong credentials", url: withCreds(user, "wrong-pass"),
			want: []string{
				"refused the credentials (HTTP 401 Unauthorized)",
				"--prometheus-url " + strings.Replace(secured.URL, "http://", "http://USER:PASSWORD@", 1),
			},
			not: []string{"unreachable", nameIt, "wrong-pass", "right-pass", "alice"},
		},
		{
			name: "unreachable port", url: "http://" + closed,
			want: []string{"Prometheus at http://" + closed + " is unreachable", closed + ": connect: connection refused", "Is it running", nameIt},
			not:  []string{"credentials", "--timeout"},
		},
		{
			name: "5xx", url: gateway.URL + "/prometheus",
			want: []string{"failed the request (HTTP 502 Bad Gateway)", gatewayBody, "the URL is right", "its logs say why"},
			not:  []string{"--prometheus-url", "unreachable", "credentials"},
		},
		{
			name: "no query API there", url: withCreds(user, pass) + "/nothing-here",
			want: []string{"at " + secured.URL + "/nothing-here has no query API at this URL (HTTP 404 Not Found)", "path prefix", nameIt},
			not:  []string{"credentials", "unreachable", "right-pass"},
		},
		{
			name: "query refused", url: limited.URL,
			want: []string{"rejected am-lsp's query", "too many samples", "the URL is right"},
			not:  []string{"--prometheus-url", "unreachable", "credentials"},
		},
		{
			name: "timeout", url: promfixture.Hanging(t), args: []string{"--timeout=1s"},
			want: []string{"did not answer in time", "no answer within 1s", "--timeout DURATION"},
			not:  []string{"--prometheus-url", "unreachable"},
		},
		{
			name: "untrusted certificate", url: tlsServer.URL,
			want: []string{"is unreachable: its TLS certificate is not trusted (x509: ", "am-lsp report trusts the system's certificate authorities"},
			not:  []string{"--prometheus-url", "Is it running", "insecure", "CA file"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := reportIn(ctx, t, bin, c.url)(append(c.args, "./api")...)
			t.Logf("stderr: %s", stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1; stdout:\n%s", code, stdout)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 {
				t.Errorf("%d lines on stderr, want the one about the backend:\n%s", len(lines), stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, n := range c.not {
				if strings.Contains(stderr, n) {
					t.Errorf("stderr has %q:\n%s", n, stderr)
				}
			}
		})
	}
}
