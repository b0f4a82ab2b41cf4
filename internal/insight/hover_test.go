package insight

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// hoverMargin is what a hover may take past its deadline in these tests: rendering the card and
// a busy machine's scheduling.
const hoverMargin = 250 * time.Millisecond

// hoverWorkspace returns a workspace configured with settings (JSON, over the defaults) and its
// document store; it is closed when the test ends.
func hoverWorkspace(t *testing.T, settings string) (*Workspace, *textdoc.Store) {
	t.Helper()
	docs := textdoc.NewStore()
	w := NewWorkspace(slog.New(slog.NewTextHandler(io.Discard, nil)), docs)
	t.Cleanup(w.Close)
	s, err := config.Merge(config.Defaults(nil), []byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Configure(s); err != nil {
		t.Fatal(err)
	}
	return w, docs
}

// refusedURL returns the URL of a port nothing listens on: fetches fail at once.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// While the go command is slow (a first load, a cold cache), a hover on a call into another
// package answers within the hover deadline without the typed result, and a call into the
// standard library answers at once, without waiting for the typed result at all.
func TestHoverKeepsToItsDeadlineWhileTheGoCommandIsSlow(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	withFakeGo(t, func(string) string { return "sleep 6\nexec " + realGo + " \"$@\"" })
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "other", "go.mod"), "module example.com/other\n\ngo 1.22\n")
	writeFile(t, filepath.Join(root, "other", "lib", "lib.go"), "package lib\n\nfunc Name() string { return \"lib\" }\n")
	writeFile(t, filepath.Join(root, "app", "go.mod"), "module example.com/app\n\ngo 1.22\n\nrequire example.com/other v0.0.0\n\nreplace example.com/other => ../other\n")
	src := `package main

import (
	"strings"

	"example.com/other/lib"
)

//autometrics:inst
func Work() {}

func Plain() string { return strings.TrimSpace(" x ") + lib.Name() }

func main() { Work(); _ = Plain() }
`
	file := filepath.Join(root, "app", "main.go")
	writeFile(t, file, src)

	const deadline = 300 * time.Millisecond
	w, docs := hoverWorkspace(t, `{"prometheusUrl":"`+refusedURL(t)+`","hoverDeadline":"300ms"}`)
	docs.Open(file, 1, src)
	w.Changed(file)

	onLib := strings.Index(src, "lib.Name()") + len("lib.")
	start := time.Now()
	_, ok := w.Hover(context.Background(), file, 1, onLib)
	took := time.Since(start)
	t.Logf("hover on lib.Name while the go command sleeps: %v", took)
	if took > deadline+hoverMargin {
		t.Errorf("hover on a call into another module took %v with a %v deadline", took, deadline)
	}
	if w.Analysed(file) {
		t.Fatal("the typed analysis arrived while the go command sleeps: the test shows nothing")
	}
	if ok {
		t.Errorf("lib.Name is not instrumented, yet the hover shows a card")
	}

	// The standard library: no waiting for the typed result, however long the reader may wait.
	w.analyses.wait = time.Minute
	onStd := strings.Index(src, "strings.TrimSpace") + len("strings.")
	if fn, _ := w.analyses.functionAt(context.Background(), file, 1, onStd); fn != nil {
		t.Errorf("strings.TrimSpace resolved to %s", fn.QualifiedName())
	}
	if w.Analysed(file) {
		t.Error("the typed analysis arrived before the call into the standard library was answered: it waited for it")
	}
	// A declaration is read from syntax: its card comes at once too.
	onWork := strings.Index(src, "func Work") + len("func ")
	start = time.Now()
	card, ok := w.Hover(context.Background(), file, 1, onWork)
	if took := time.Since(start); took > deadline+hoverMargin {
		t.Errorf("hover on an instrumented declaration took %v with a %v deadline", took, deadline)
	}
	if !ok || !strings.Contains(card.Markdown, "Work") {
		t.Errorf("no card for the instrumented Work: %q", card.Markdown)
	}
}

// The scan for the code's service.name runs in the background: a span card answers within the
// deadline while the scan has not ended, saying it reads all services for now, and once the scan
// ends the cards keep to the service the code names.
func TestSpanCardsDoNotWaitForTheServiceScan(t *testing.T) {
	file, err := filepath.Abs(filepath.Join("..", "..", "testdata", "otelapp", "shop", "shop.go"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	const deadline = 200 * time.Millisecond
	w, docs := hoverWorkspace(t, `{"prometheusUrl":"`+refusedURL(t)+`","hoverDeadline":"200ms"}`)
	release := make(chan struct{})
	scanned := make(chan string, 1)
	w.numbers.mu.Lock()
	w.numbers.scanCode = func(dir string) ServiceScope {
		<-release
		scanned <- dir
		return codeScope(dir)
	}
	w.numbers.mu.Unlock()
	docs.Open(file, 1, src)

	onCheckout := strings.Index(src, "func Checkout") + len("func ")
	start := time.Now()
	card, ok := w.Hover(context.Background(), file, 1, onCheckout)
	if took := time.Since(start); took > deadline+hoverMargin {
		t.Errorf("the first span hover took %v with a %v deadline", took, deadline)
	}
	if !ok {
		t.Fatal("no card for the traced Checkout")
	}
	for _, want := range []string{"of all services", ScopeScanningNote} {
		if !strings.Contains(card.Markdown, want) {
			t.Errorf("while the scan runs the card lacks %q:\n%s", want, card.Markdown)
		}
	}
	close(release)
	select {
	case dir := <-scanned:
		if dir != filepath.Dir(file) {
			t.Errorf("scanned %s, want the traced function's directory %s", dir, filepath.Dir(file))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the scan never ran")
	}
	want := "service `shop` (service.name in cmd/shopd/main.go:"
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		card, _ = w.Hover(context.Background(), file, 1, onCheckout)
		if strings.Contains(card.Markdown, want) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after the scan the card lacks %q:\n%s", want, card.Markdown)
		}
	}
	if strings.Contains(card.Markdown, ScopeScanningNote) {
		t.Errorf("after the scan the card still says %q", ScopeScanningNote)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
