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
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

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

// hoverWithin runs w.Hover on another goroutine and returns its answer. The hover is only
// allowed to end through its own deadline (what it waits for is held by the test), so guard is
// not a latency bound but how long the test waits before calling the hover stuck; it is far
// above any hover deadline the tests configure and far below what the held work would take.
func hoverWithin(t *testing.T, w *Workspace, path string, version int32, offset int, stuck string) (HoverCard, bool) {
	t.Helper()
	type answer struct {
		card HoverCard
		ok   bool
	}
	got := make(chan answer, 1)
	go func() {
		card, ok := w.Hover(context.Background(), path, version, offset)
		got <- answer{card, ok}
	}()
	select {
	case a := <-got:
		return a.card, a.ok
	case <-time.After(hoverGuard):
		t.Fatalf("no hover answer after %v: %s", hoverGuard, stuck)
		return HoverCard{}, false
	}
}

// hoverGuard is how long hoverWithin waits before calling a hover stuck.
const hoverGuard = time.Minute

// While the go command has not answered (a first load, a cold cache), a hover on a call into
// another package answers through its deadline, without the typed result, and a call into the
// standard library or onto a declaration answers without waiting for the typed result at all.
// The go command is held until the test ends and the analysis's own wait is longer than the
// test, so the only way for these hovers to answer is the behaviour under test.
func TestHoverKeepsToItsDeadlineWhileTheGoCommandIsSlow(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	release := filepath.Join(t.TempDir(), "release")
	withFakeGo(t, func(string) string {
		return "while [ ! -e " + release + " ]; do sleep 0.05; done\nexec " + realGo + " \"$@\""
	})
	t.Cleanup(func() { writeFile(t, release, "") })
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

	w, docs := hoverWorkspace(t, `{"prometheusUrl":"`+refusedURL(t)+`","hoverDeadline":"300ms"}`)
	w.analyses.wait = 10 * hoverGuard // only the hover deadline ends a wait for the typed result
	docs.Open(file, 1, src)
	w.Changed(file)

	onLib := strings.Index(src, "lib.Name()") + len("lib.")
	_, ok := hoverWithin(t, w, file, 1, onLib, "the hover on a call into another module waits for the held go command past its 300ms deadline")
	if w.Analysed(file) {
		t.Fatal("the typed analysis arrived while the go command is held: the test shows nothing")
	}
	if ok {
		t.Errorf("lib.Name is not instrumented, yet the hover shows a card")
	}

	// The standard library: no waiting for the typed result, with no deadline at all.
	onStd := strings.Index(src, "strings.TrimSpace") + len("strings.")
	resolved := make(chan string, 1)
	go func() {
		fn, _ := w.analyses.functionAt(context.Background(), file, 1, onStd)
		if fn == nil {
			resolved <- ""
			return
		}
		resolved <- fn.QualifiedName()
	}()
	select {
	case name := <-resolved:
		if name != "" {
			t.Errorf("strings.TrimSpace resolved to %s", name)
		}
	case <-time.After(hoverGuard):
		t.Fatal("a call into the standard library waits for the held go command")
	}
	// A declaration is read from syntax: without the typed result (which cannot arrive) the
	// hover still shows its card, and says why the numbers are missing.
	onWork := strings.Index(src, "func Work") + len("func ")
	card, ok := hoverWithin(t, w, file, 1, onWork, "the hover on an instrumented declaration waits for the held go command")
	// On a busy machine the refused connection may not have been told within the 300ms: the
	// card then says the numbers are loading, and a later hover has the failure.
	for i := 0; ok && strings.Contains(card.Markdown, "**Loading**") && i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		card, ok = hoverWithin(t, w, file, 1, onWork, "the hover on an instrumented declaration waits for the held go command")
	}
	if w.Analysed(file) {
		t.Fatal("the typed analysis arrived while the go command is held: the test shows nothing")
	}
	if !ok || !strings.Contains(card.Markdown, "Work") {
		t.Errorf("no card for the instrumented Work: %q", card.Markdown)
	}
	if !strings.Contains(card.Markdown, "Prometheus unavailable") {
		t.Errorf("the card does not say the numbers are unavailable (nothing listens at the URL):\n%s", card.Markdown)
	}
}

// The scan for the code's service.name runs in the background: a span card answers while the
// scan has not ended (the test holds it), saying it reads all services for now, and once the
// scan ends the cards keep to the service the code names.
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
	w, docs := hoverWorkspace(t, `{"prometheusUrl":"`+refusedURL(t)+`","hoverDeadline":"200ms"}`)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
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
	card, ok := hoverWithin(t, w, file, 1, onCheckout, "the first span hover waits for the held service scan past its 200ms deadline")
	if !ok {
		t.Fatal("no card for the traced Checkout")
	}
	for _, want := range []string{"of all services", ScopeScanningNote} {
		if !strings.Contains(card.Markdown, want) {
			t.Errorf("while the scan runs the card lacks %q:\n%s", want, card.Markdown)
		}
	}
	releaseOnce.Do(func() { close(release) })
	select {
	case dir := <-scanned:
		if dir != filepath.Dir(file) {
			t.Errorf("scanned %s, want the traced function's directory %s", dir, filepath.Dir(file))
		}
	case <-time.After(time.Minute):
		t.Fatal("the scan never ran")
	}
	want := "service `shop` (service.name in cmd/shopd/main.go:"
	for end := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
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
