package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
	"github.com/am-lsp/am-lsp/internal/testkit/promfixture"
)

// The built binary, driven over stdio as an editor would, answers hovers while the backend
// accepts connections and never answers: the cards say the numbers are loading. The query
// timeout is a minute, so a hover that waited for the backend would take that long (beyond
// lspclient.HangBound) and then say the backend did not answer in time. How close hovers keep
// to the deadline is the bench's to measure (internal/cmd/bench, "hover while Prometheus
// hangs"): on a busy machine a hover can miss it by hundreds of milliseconds.
func TestBinaryHoverDoesNotWaitForAHungBackend(t *testing.T) {
	bin := buildBinary(t)
	hanging := promfixture.Hanging(t)

	dir := t.TempDir()
	src := "package hang\n\n//autometrics:inst\nfunc Wait() {}\n"
	for name, text := range map[string]string{"go.mod": "module example.com/hang\n\ngo 1.22\n", "wait.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AM_PROMETHEUS_URL=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	client := lspclient.New(stdout, stdin, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const deadline = 300 * time.Millisecond
	if _, err := client.Initialize(ctx, dir, nil, map[string]any{
		"prometheusUrl": hanging, "hoverDeadline": deadline.String(), "queryTimeout": "60s",
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "wait.go")
	if err := client.Open(file, src); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		card, took, err := client.HoverWithinHangBound(ctx, file, 3, 6)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(card, `function="Wait", module="example.com/hang"`) ||
			!strings.Contains(card, "**Loading**") || strings.Contains(card, "| Request rate |") {
			t.Fatalf("hover %d while the backend hangs:\n%s", i, card)
		}
		t.Logf("hover %d: %s (deadline %s)", i, took, deadline)
	}
	if err := client.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
