package promclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// headerLog records the credentials and headers each request to a test server carried.
type headerLog struct {
	mu   sync.Mutex
	seen []string // "Authorization|X-Scope-OrgID" per request
}

func (l *headerLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, r.Header.Get("Authorization")+"|"+r.Header.Get("X-Scope-OrgID"))
}

func (l *headerLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// emptyVector answers every query with an empty vector.
func emptyVector(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
}

// A backend that redirects (307, as a proxy sending a client to a login page or another host
// would) never gets the credentials or custom headers to the other host: the redirect is
// refused with a reason that names the redirect. Without credentials the redirect is followed
// as before, and a redirect within the configured host keeps the credentials. Real Prometheus
// does not redirect its query API, hence test servers.
func TestCredentialsStayWithTheConfiguredHost(t *testing.T) {
	var elsewhere headerLog
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.add(r)
		emptyVector(w, r)
	}))
	defer other.Close()
	var home headerLog
	var backend *httptest.Server
	backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.add(r)
		switch {
		case strings.HasPrefix(r.URL.Path, "/away/"):
			http.Redirect(w, r, other.URL+strings.TrimPrefix(r.URL.Path, "/away"), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			http.Redirect(w, r, backend.URL+"/here"+strings.TrimPrefix(r.URL.Path, "/moved"), http.StatusTemporaryRedirect)
		default:
			emptyVector(w, r)
		}
	}))
	defer backend.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(backend.URL, "http://")
	tenant := map[string]string{"X-Scope-OrgID": "tenant-1"}
	for name, cfg := range map[string]Config{
		"basic auth in the URL": {URL: "http://alice:" + secret + "@" + host + "/away"},
		"bearer token":          {URL: backend.URL + "/away", BearerToken: secret},
		"bearer token file":     {URL: backend.URL + "/away", BearerTokenFile: tokenFile},
		"tenant header":         {URL: backend.URL + "/away", Headers: tenant},
	} {
		t.Run(name, func(t *testing.T) {
			before := len(elsewhere.all())
			snap, err := newClient(t, cfg).Fetch(context.Background(), []Series{apiHandle})
			fe := fetchError(t, snap, err)
			if fe.Kind != BadResponse || !strings.Contains(err.Error(), "redirected to another host ("+other.URL+")") {
				t.Errorf("Fetch: %v, want a refused redirect naming %s", err, other.URL)
			}
			for _, h := range elsewhere.all()[before:] {
				if h != "|" {
					t.Errorf("the other host received credentials or headers: %q", h)
				}
			}
		})
	}

	// No credentials, no headers: nothing to protect, the redirect is followed.
	before := len(elsewhere.all())
	if _, err := newClient(t, Config{URL: backend.URL + "/away"}).Fetch(context.Background(), []Series{apiHandle}); err != nil {
		t.Errorf("redirect without credentials: %v", err)
	}
	if n := len(elsewhere.all()) - before; n != QueriesPerFetch {
		t.Errorf("the other host answered %d queries, want %d", n, QueriesPerFetch)
	}

	// A redirect within the configured host keeps the credentials and headers.
	before = len(home.all())
	if _, err := newClient(t, Config{URL: backend.URL + "/moved", BearerToken: secret, Headers: tenant}).Fetch(context.Background(), []Series{apiHandle}); err != nil {
		t.Errorf("redirect within the host: %v", err)
	}
	for _, h := range home.all()[before:] {
		if h != "Bearer "+secret+"|tenant-1" {
			t.Errorf("a request within the configured host carried %q", h)
		}
	}
}
