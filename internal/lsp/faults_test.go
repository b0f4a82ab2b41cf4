package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// handleDecl opens testdata/demo/api/handle.go and returns the position of Handle's name.
func handleDecl(t *testing.T, s *testSession) (string, int, int) {
	t.Helper()
	file := filepath.Join(demoModule(t), "api", "handle.go")
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line, char := openAt(t, s, file, strings.Index(string(text), "func Handle(")+len("func H"))
	return file, line, char
}

// TestPrometheusRestartedMidSession kills Prometheus while am-lsp runs and starts it again at the
// same URL: hovers explain the outage, then show numbers again, without restarting am-lsp.
func TestPrometheusRestartedMidSession(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts, _, err := demodata.Build(ctx, demoModule(t))
	if err != nil {
		t.Fatal(err)
	}
	opts.Port = port
	prom := promfixture.StartT(t, opts)
	s := startInitialized(t, prom.URL, map[string]any{"cacheTtl": "1s"})
	file, line, char := handleDecl(t, s)
	hoverUntilNumbers(t, s, file, line, char)

	if err := prom.Stop(); err != nil {
		t.Fatal(err)
	}
	var card string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if card, err = s.client.Hover(ctx, file, line, char); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(card, "unreachable") {
			break
		}
	}
	if !strings.Contains(card, "unreachable") || !strings.Contains(card, prom.URL) {
		t.Fatalf("card while Prometheus is down:\n%s", card)
	}

	restarted := promfixture.StartT(t, opts)
	if restarted.URL != prom.URL {
		t.Fatalf("restarted at %s, want %s", restarted.URL, prom.URL)
	}
	card = hoverUntilNumbers(t, s, file, line, char)
	if !strings.Contains(card, `function="Handle", module="example.com/demo/api"`) {
		t.Errorf("card after the restart:\n%s", card)
	}
}

// TestBrokenBackends points am-lsp at backends that misbehave in ways a real Prometheus can't be
// made to: every hover answers, with a card that says what is wrong, and memory stays bounded
// with a huge body. A hover never waits for the backend: while it never answers, the card says
// the numbers are loading (after the 60 s query timeout it would say the backend did not answer
// in time), and no hover takes lspclient.HangBound. How close hovers keep to the deadline is the
// bench's to measure (internal/cmd/bench, "hover while Prometheus hangs"), not this test's: on a
// busy machine a hover here took over a second with the 400 ms deadline while the server
// decoded the 50 MB body.
func TestBrokenBackends(t *testing.T) {
	// release is replaced for each case and closed before its backend closes, so hung handlers
	// return (httptest's Close waits for every handler).
	var release chan struct{}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "answered with an error"},
		{"503", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, "answered with an error"},
		{"garbage JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{`)
		}, "answered with an error"},
		{"50 MB body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[`)
			chunk := bytes.Repeat([]byte(`{"metric":{"function":"x"},"value":[1,"1"]},`), 1<<12)
			for written := 0; written < 50<<20; written += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "answered with an error"},
		{"never answers", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hangRelease(&release):
			case <-r.Context().Done():
			}
		}, "Loading"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			releaseMu.Lock()
			release = make(chan struct{})
			releaseMu.Unlock()
			backend := httptest.NewServer(c.handler)
			defer func() {
				releaseMu.Lock()
				close(release)
				releaseMu.Unlock()
				backend.CloseClientConnections()
				backend.Close()
			}()
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := startInitialized(t, backend.URL, map[string]any{"hoverDeadline": "400ms", "queryTimeout": "60s"})
			file, line, char := handleDecl(t, s)
			ctx := ctxFor(t, time.Minute)
			var card string
			var worst time.Duration
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				var took time.Duration
				var err error
				if card, took, err = s.client.HoverWithinHangBound(ctx, file, line, char); err != nil {
					t.Fatal(err)
				}
				worst = max(worst, took)
				if strings.Contains(card, c.want) {
					break
				}
			}
			if !strings.Contains(card, c.want) {
				t.Fatalf("card does not say %q:\n%s", c.want, card)
			}
			if strings.Contains(card, "| Request rate |") || !strings.Contains(card, `function="Handle", module="example.com/demo/api"`) {
				t.Errorf("card with numbers from a broken backend, or without the function:\n%s", card)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			// Bodies are capped (8 MiB) so a fetch allocates tens of MiB at most, whatever the backend
			// sends; reading the 50 MB bodies whole would take several hundred. (The retained heap is
			// only logged: other tests' background loads share this process.)
			allocated := after.TotalAlloc - before.TotalAlloc
			if allocated > 300<<20 {
				t.Errorf("%d MiB allocated while answering", allocated>>20)
			}
			time.Sleep(time.Second)
			runtime.GC()
			runtime.ReadMemStats(&after)
			t.Logf("slowest hover %s, %d MiB allocated, heap %d → %d MiB", worst, allocated>>20, before.HeapAlloc>>20, after.HeapAlloc>>20)
		})
	}
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAuthenticationFailureNamesAuthNeverTheSecret: a 401/403 card says authentication failed;
// neither the password nor the token appears in the card, its links, messages or the log.
func TestAuthenticationFailureNamesAuthNeverTheSecret(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", status)
			}))
			defer backend.Close()
			s, logs := startLoggedSession(t)
			ctx := ctxFor(t, 30*time.Second)
			// Basic auth in the URL against a 401, a bearer token against a 403.
			settings := map[string]any{"prometheusUrl": strings.Replace(backend.URL, "http://", "http://alice:hunter2@", 1)}
			if status == http.StatusForbidden {
				settings = map[string]any{"prometheusUrl": backend.URL, "bearerToken": "tok-s3cr3t"}
			}
			if _, err := s.client.Initialize(ctx, demoModule(t), nil, settings); err != nil {
				t.Fatal(err)
			}
			file, line, char := handleDecl(t, s)
			card := hoverSettled(t, s, file, line, char)
			if !strings.Contains(card, "authentication failed") {
				t.Errorf("card:\n%s", card)
			}
			var status struct{ Reason string }
			if err := s.client.Call(ctx, "workspace/executeCommand", map[string]any{"command": "am-lsp.status"}, &status); err != nil {
				t.Fatal(err)
			}
			everything := card + status.Reason + logs.String()
			for _, m := range s.client.Notifications("window/showMessage") {
				everything += string(m.Params)
			}
			for _, secret := range []string{"hunter2", "tok-s3cr3t", "YWxpY2U6aHVudGVyMg"} {
				if strings.Contains(everything, secret) {
					t.Errorf("%q leaked into the card, status, messages or log", secret)
				}
			}
		})
	}
}

// TestGoCommandFailingOrHanging: a broken go.mod or a go command that never returns degrade
// analysis to syntax; hovers still answer at once, and the user is told why once.
func TestGoCommandFailingOrHanging(t *testing.T) {
	t.Run("broken go.mod", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/broken\n\ngo 1.26\n\nrequire this is not valid\n")
		src := "package broken\n\nimport am \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n\n//autometrics:inst\nfunc Work() {\n\tdefer am.Instrument(am.PreInstrument(am.NewContext(nil)), nil) //autometrics:defer\n}\n"
		file := filepath.Join(dir, "work.go")
		writeFile(t, file, src)
		s := startInitialized(t, closedPortURL, nil)
		if err := s.client.Open(file, src); err != nil {
			t.Fatal(err)
		}
		ctx := ctxFor(t, time.Minute)
		msg, err := s.client.WaitNotification(ctx, "window/showMessage", "example.com/broken")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(msg.Params), "syntax") {
			t.Errorf("notice: %s", msg.Params)
		}
		card := hoverSettled(t, s, file, 5, 6)
		if !strings.Contains(card, `function="Work", module="example.com/broken"`) || !strings.Contains(card, "Type information is unavailable") {
			t.Errorf("card with a broken go.mod:\n%s", card)
		}
	})
	// The go command's error quotes repository text; in an editor notification "[text](url)"
	// would render as a link hiding where it goes, so the notice breaks that syntax.
	t.Run("link in an import path", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/linked\n\ngo 1.22\n")
		src := "package linked\n\nimport _ \"example.com/x/[Sign in](https://evil.example/a)\"\n\n//autometrics:inst\nfunc V() {}\n"
		file := filepath.Join(dir, "linked.go")
		writeFile(t, file, src)
		s := startInitialized(t, closedPortURL, nil)
		if err := s.client.Open(file, src); err != nil {
			t.Fatal(err)
		}
		msg, err := s.client.WaitNotification(ctxFor(t, time.Minute), "window/showMessage", "example.com/linked")
		if err != nil {
			t.Fatal(err)
		}
		var notice protocol.ShowMessageParams
		if err := json.Unmarshal(msg.Params, &notice); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(notice.Message, "Sign in") || strings.Contains(notice.Message, "](") || strings.ContainsAny(notice.Message, "\n\x1b") {
			t.Errorf("notice: %q", notice.Message)
		}
	})
	t.Run("go command hangs", func(t *testing.T) {
		bin := t.TempDir()
		writeFile(t, filepath.Join(bin, "go"), "#!/bin/sh\nsleep 600\n")
		if err := os.Chmod(filepath.Join(bin, "go"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/hang\n\ngo 1.26\n")
		src := "package hang\n\n//autometrics:inst\nfunc Wait() {}\n"
		file := filepath.Join(dir, "wait.go")
		writeFile(t, file, src)
		s := startInitialized(t, closedPortURL, map[string]any{"hoverDeadline": "300ms"})
		if err := s.client.Open(file, src); err != nil {
			t.Fatal(err)
		}
		// The go command hangs for ten minutes and the loader waits for it for 30 s (its default
		// Timeout): a hover that waited for the analysis would take that long, far beyond
		// lspclient.HangBound. How close hovers keep to the deadline is the bench's to measure.
		ctx := ctxFor(t, time.Minute)
		for i := 0; i < 5; i++ {
			card, took, err := s.client.HoverWithinHangBound(ctx, file, 3, 6)
			if err != nil {
				t.Fatal(err)
			}
			// The function is found from syntax; the numbers are not there, and the card says
			// why (the backend is unreachable, or its answer still loading).
			if !strings.Contains(card, `function="Wait", module="example.com/hang"`) || strings.Contains(card, "| Request rate |") ||
				(!strings.Contains(card, "**Prometheus unavailable**") && !strings.Contains(card, "**Loading**")) {
				t.Fatalf("card while the go command hangs:\n%s", card)
			}
			t.Logf("hover %d: %s", i, took)
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// startLoggedSession is startSession with the server's log kept in a buffer, to search it.
func startLoggedSession(t *testing.T) (*testSession, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	clientEnd, serverEnd := net.Pipe()
	srv := New(Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Getenv: func(string) string { return "" }})
	s := &testSession{client: lspclient.New(clientEnd, clientEnd, nil), code: make(chan int, 1), conn: clientEnd, srv: srv}
	go func() { s.code <- srv.Serve(context.Background(), serverEnd) }()
	t.Cleanup(func() { clientEnd.Close(); <-s.code })
	return s, logs
}

// TestRealPrometheusBasicAuth runs Prometheus with --web.config.file basic auth: the right
// credentials give numbers, wrong or missing ones a card that says authentication failed, and
// the password appears in no card, link, message or log line.
func TestRealPrometheusBasicAuth(t *testing.T) {
	const password = "pw/Zq8#secret" // "/" and "#" must not end the userinfo of the URL
	prom, fns := demoBackend(t, func(o *promfixture.Options, _ []demodata.Function) {
		o.BasicAuthUser, o.BasicAuthPassword = "alice", password
	})
	fn := demoFunction(t, fns, "example.com/demo/api", "(*Server).Handle")
	for _, c := range []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"right credentials", map[string]any{"username": "alice", "password": password}, "req/s"},
		{"credentials in the URL", map[string]any{"prometheusUrl": strings.Replace(prom.URL, "http://", "http://alice:"+password+"@", 1)}, "req/s"},
		{"wrong password", map[string]any{"username": "alice", "password": "not-" + password}, "authentication failed"},
		{"no credentials", map[string]any{}, "authentication failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, logs := startLoggedSession(t)
			ctx := ctxFor(t, 30*time.Second)
			settings := map[string]any{"prometheusUrl": prom.URL}
			for k, v := range c.settings {
				settings[k] = v
			}
			if _, err := s.client.Initialize(ctx, demoModule(t), nil, settings); err != nil {
				t.Fatal(err)
			}
			line, char := openAt(t, s, fn.NameSpan.File, fn.NameSpan.Start)
			var card string
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				var err error
				if card, err = s.client.Hover(ctx, fn.NameSpan.File, line, char); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(card, c.want) {
					break
				}
			}
			if !strings.Contains(card, c.want) {
				t.Fatalf("card does not say %q:\n%s", c.want, card)
			}
			everything := card + logs.String()
			for _, m := range s.client.Notifications("window/showMessage") {
				everything += string(m.Params)
			}
			if strings.Contains(everything, password) {
				t.Errorf("the password leaked into the card, a message or the log")
			}
		})
	}
}

// TestUnusableBackendSettings: settings the client cannot be built from (a token together with
// basic auth) are reported with a message naming the problem, and hovers say so.
func TestUnusableBackendSettings(t *testing.T) {
	s, _ := startLoggedSession(t)
	ctx := ctxFor(t, 30*time.Second)
	if _, err := s.client.Initialize(ctx, demoModule(t), nil, map[string]any{"prometheusUrl": "http://u:p@127.0.0.1:1", "bearerToken": "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.WaitNotification(ctx, "window/showMessage", "am-lsp"); err != nil {
		t.Fatal(err)
	}
	file, line, char := handleDecl(t, s)
	card, err := s.client.Hover(ctx, file, line, char)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card, "Not configured") {
		t.Errorf("card with unusable settings:\n%s", card)
	}
}

var releaseMu sync.Mutex

// hangRelease reads the current release channel of TestBrokenBackends under its lock.
func hangRelease(release *chan struct{}) chan struct{} {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	return *release
}

// TestUnusableSettingsPushIsRejectedWhole: a push the backend client cannot be built from is
// reported and leaves the previous settings in effect, so a later valid push builds on those.
func TestUnusableSettingsPushIsRejectedWhole(t *testing.T) {
	s, _ := startLoggedSession(t)
	ctx := ctxFor(t, 30*time.Second)
	if _, err := s.client.Initialize(ctx, demoModule(t), nil, map[string]any{"prometheusUrl": "http://127.0.0.1:1", "username": "u", "password": "p"}); err != nil {
		t.Fatal(err)
	}
	file, line, char := handleDecl(t, s)
	push := func(settings map[string]any) {
		t.Helper()
		if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{"settings": settings}); err != nil {
			t.Fatal(err)
		}
	}
	push(map[string]any{"bearerToken": "t"}) // together with basic auth: no client can be built
	if _, err := s.client.WaitNotification(ctx, "window/showMessage", "keeping the previous settings"); err != nil {
		t.Fatal(err)
	}
	push(map[string]any{"prometheusUrl": "http://127.0.0.1:2"}) // valid on top of the previous settings
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		card, err := s.client.Hover(ctx, file, line, char)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(card, "http://127.0.0.1:2") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the valid push after a rejected one was not applied:\n%s", card)
		}
	}
}
