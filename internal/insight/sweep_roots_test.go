package insight

import (
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Workspace folders added and removed while sweeps run (the demo, a folder nested in it, a
// symlink to it, a folder that does not exist), and again while the workspace closes, leave
// no data race (run with -race) and no hang: once the demo's folders are all removed, every
// problem the sweeps reported is cleared, and Close returns while changes keep coming.
func TestChangeRootsWhileSweepingAndClosing(t *testing.T) {
	ctx, demo, _, prom := demoWithBackend(t)
	w := NewWorkspace(slog.New(slog.DiscardHandler), textdoc.NewStore())
	s := config.Defaults(func(string) string { return "" })
	s.PrometheusURL, s.CacheTTL = prom.URL, time.Second
	if err := w.Configure(s); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "demo")
	if err := os.Symlink(demo, link); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	folders := []string{demo, filepath.Join(demo, "api"), link, missing}

	var mu sync.Mutex
	shown := map[string]bool{} // files whose last report listed problems
	sweep := NewSweep(w, func(changed map[string][]SLOProblem) {
		mu.Lock()
		defer mu.Unlock()
		for f, list := range changed {
			shown[f] = len(list) > 0
		}
	})
	sweep.minPeriod = 50 * time.Millisecond
	sweep.SetRoots([]string{demo})
	anyShown := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, on := range shown {
			if on {
				return true
			}
		}
		return false
	}
	for !anyShown() {
		if ctx.Err() != nil {
			t.Fatal("the sweep of the demo reported no problem")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// change adds and removes random folders n times, reading the sweep meanwhile.
	change := func(seed uint64, n int) {
		rng := rand.New(rand.NewPCG(seed, 1))
		for range n {
			var added, removed []string
			for _, f := range folders {
				switch rng.IntN(3) {
				case 0:
					added = append(added, f)
				case 1:
					removed = append(removed, f)
				}
			}
			sweep.ChangeRoots(added, removed)
			if rng.IntN(4) == 0 {
				sweep.FilesChanged()
			}
			sweep.Problems(filepath.Join(demo, "api", "server.go"))
			sweep.Roots()
			time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); change(uint64(i), 100) }()
	}
	wg.Wait()

	// Every folder of the demo removed: the problems the sweeps reported are cleared.
	sweep.ChangeRoots([]string{missing}, folders[:3])
	for anyShown() {
		if ctx.Err() != nil {
			mu.Lock()
			t.Fatalf("problems still shown after the demo's folders were removed: %v", shown)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, f := range []string{demo, link} {
		if list := sweep.Problems(filepath.Join(f, "api", "server.go")); len(list) != 0 {
			t.Errorf("the sweep keeps %d problems of %s after its removal", len(list), f)
		}
	}

	// Close while changes keep coming: it returns, and later changes do nothing.
	sweep.ChangeRoots([]string{demo}, nil)
	stop := make(chan struct{})
	go func() { defer close(stop); change(9, 100) }()
	closed := make(chan struct{})
	go func() { defer close(closed); w.Close() }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return while workspace folders changed")
	}
	select {
	case <-stop:
	case <-ctx.Done():
		t.Fatal("ChangeRoots hung after Close")
	}
}
