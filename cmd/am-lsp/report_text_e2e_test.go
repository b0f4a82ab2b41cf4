package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReportPrintsBackendTextPlain: a backend's error body with terminal escape sequences (a
// window title, colours, an OSC 8 hyperlink) and a bidirectional override reaches the
// terminal as plain words, once, on stderr (the table's rows say "backend error"). (A real Prometheus does not answer
// such bodies: a fake one does.)
func TestReportPrintsBackendTextPlain(t *testing.T) {
	bin := buildBinary(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "upstream error \x1b]0;PWNED\x07\x1b[31mRED\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \u202eevil")
	}))
	defer backend.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "report", "--prometheus-url", backend.URL, "./api")
	cmd.Dir = demoDir(t)
	cmd.Env = append(os.Environ(), "AM_PROMETHEUS_URL=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Errorf("report against a failing backend exited 0")
	}
	// The backend's failure is said once, on stderr, not in every row of the table.
	if n := strings.Count(stderr.String(), "upstream error"); n != 1 || strings.Contains(stdout.String(), "upstream error") {
		t.Errorf("the backend's words are said %d times on stderr and in the table: %v:\n%q\n%q", n, strings.Contains(stdout.String(), "upstream error"), stdout.String(), stderr.String())
	}
	for what, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("%s prints control characters:\n%q", what, out)
		}
	}
}
