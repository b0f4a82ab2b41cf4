package lsp

import (
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/demodata"
	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// Editors push settings that did not change (Neovim and VS Code do on any configuration change):
// the backend client and its cached numbers stay, so the pushes cost Prometheus no query and the
// hover still shows the cached numbers; a display-only change shows at once, without a query;
// a changed URL builds a client for the new backend.
func TestUnchangedSettingsKeepTheBackend(t *testing.T) {
	prom, fns := demoBackend(t, nil)
	other, _ := demoBackend(t, nil)
	var many []demodata.Function
	for _, f := range fns {
		if f.PkgPath == "example.com/demo/many" {
			many = append(many, f)
		}
	}
	if len(many) == 0 {
		t.Fatal("no instrumented functions in testdata/demo/many")
	}
	settings := map[string]any{"prometheusUrl": prom.URL, "cacheTtl": "10m"}
	s := startInitialized(t, prom.URL, settings)
	ctx := ctxFor(t, 2*time.Minute)
	file := many[0].NameSpan.File
	line, char := openAt(t, s, file, many[0].NameSpan.Start)
	// Numbers, then the incident data (the version) the refresh fetches after them: every
	// fetch of the open file is done and cached.
	settled := func(backend string) string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			card, err := s.client.Hover(ctx, file, line, char)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(card, "req/s") && strings.Contains(card, "running since") && strings.Contains(card, backend) {
				return card
			}
			if time.Now().After(deadline) {
				t.Fatalf("no numbers and version from %s in the hover:\n%s", backend, card)
			}
		}
	}
	cached := settled(prom.URL)
	before, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}

	push := func(settings map[string]any) {
		t.Helper()
		if err := s.client.Notify("workspace/didChangeConfiguration", map[string]any{"settings": settings}); err != nil {
			t.Fatal(err)
		}
	}
	push(settings)
	push(map[string]any{"am-lsp": settings}) // the same, nested as some editors send it
	if card := settled(prom.URL); card != cached {
		t.Errorf("the hover after unchanged settings differs from the cached one:\n%s\nwas:\n%s", card, cached)
	}
	push(map[string]any{"codeLensFormat": "{rate} (custom)"})
	var lenses []struct{ Command struct{ Title string } }
	if err := s.client.Call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	if len(lenses) == 0 || !strings.Contains(lenses[0].Command.Title, "(custom)") || !strings.Contains(lenses[0].Command.Title, "req/s") {
		t.Errorf("CodeLens after a new codeLensFormat: %+v, want the cached numbers in the new format", lenses)
	}
	after, err := prom.QueryCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := after - before; n != 0 {
		t.Errorf("unchanged settings pushed twice and a display-only change cost %d queries, want 0", n)
	}

	push(map[string]any{"prometheusUrl": other.URL})
	settled(other.URL)
	if n, err := other.QueryCount(ctx); err != nil || n == 0 {
		t.Errorf("the new backend served %d queries (%v), want its numbers fetched", n, err)
	}
}
