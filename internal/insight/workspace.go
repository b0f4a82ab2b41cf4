package insight

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Workspace keeps the analysis of the editor's open files fresh and the numbers of their
// instrumented functions prefetched, so that a hover only reads what is already there. It is
// safe for concurrent use.
//
// It is three parts, each with its own lock, that call each other only through the methods
// named here:
//
//   - analyses (analyses.go): which functions the open files hold. One background worker per
//     changed file loads its package, coalescing bursts of edits; a syntax-only reading answers
//     while the typed load runs. It tells numbers which packages it loaded.
//   - numbers (numbers.go): the backend client built from the settings, the background fetch
//     and periodic refresh of every analysed package, and the backend's health. A second
//     telemetry source and incident data (alerts, versions, exemplars) belong here: the refresh
//     fetches them, hovers and lenses only read what it stored.
//   - cards (cards.go): rendered hover cards, reused while function and numbers are unchanged.
//
// hover.go and lens.go answer the editor's requests from the three.
type Workspace struct {
	analyses *analyses
	numbers  *numbers
	cards    cardCache
	notify   *notifier
	// sweepLoaders are the Loaders of the workspace SLO sweep (sweep.go), which Close waits for
	// as for analyses.loader.
	sweepLoaders loaderSet

	ctx    context.Context
	cancel context.CancelFunc
}

// Observer hears about background work, so the editor layer can show progress and refresh
// CodeLens and inlay hints. Its methods are called from background goroutines and must not block.
type Observer interface {
	AnalysisStarted(path string)
	AnalysisFinished(path string)
	// NumbersUpdated says new numbers arrived for a package with open files.
	NumbersUpdated()
	// AnalysisDegraded says the go command could not type-check a package (broken go.mod,
	// missing module, timeout): detection goes on from syntax alone. Called once per package
	// and reason.
	AnalysisDegraded(pkgPath, reason string)
}

// notifier holds the Observer; its lock guards only that field.
type notifier struct {
	mu       sync.Mutex
	observer Observer
}

// observe calls f with the observer, if there is one, without holding any lock.
func (n *notifier) observe(f func(Observer)) {
	n.mu.Lock()
	o := n.observer
	n.mu.Unlock()
	if o != nil {
		f(o)
	}
}

// SetObserver installs o (nil for none).
func (w *Workspace) SetObserver(o Observer) {
	w.notify.mu.Lock()
	w.notify.observer = o
	w.notify.mu.Unlock()
}

// HoverCard is the answer to a hover: markdown and, when the cursor is on the declaration's
// name, the span to highlight (the zero Span otherwise).
type HoverCard struct {
	Markdown string
	Span     analysis.Span
}

// NewWorkspace returns a workspace reading open documents from docs. Call Configure before use.
func NewWorkspace(log *slog.Logger, docs *textdoc.Store) *Workspace {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workspace{notify: &notifier{}, ctx: ctx, cancel: cancel}
	w.numbers = newNumbers(ctx, w.notify)
	w.analyses = newAnalyses(ctx, log, docs, w.notify, w.numbers.prefetch)
	w.numbers.scopeKnown = func() { w.numbers.prefetch(w.analyses.packages()) }
	go w.numbers.refreshLoop(w.analyses.packages)
	return w
}

// Configure applies settings: a new backend client when the settings the backend depends on
// changed (see sameBackend; otherwise the client and its cached numbers stay), after which the
// numbers of every analysed package are fetched unless the cache holds fresh ones. Settings a
// client cannot be built from are refused whole (the previous ones stay) and the error says
// why.
func (w *Workspace) Configure(s config.Settings) error {
	if err := w.numbers.configure(s); err != nil {
		return err
	}
	w.numbers.prefetch(w.analyses.packages())
	return nil
}

// Close stops background work and waits (a few seconds at most, closeWait) until the loads
// under way, the editor's and the workspace SLO sweep's, have ended: their go commands and type
// checks, which write the type cache, and the removal of their temporary files, so none outlives
// the server. It may run concurrently with any other method: analyses asked for from then on
// start no go command (see analysis.Loader.Wait), nor does the sweep.
func (w *Workspace) Close() {
	w.cancel()
	deadline := time.Now().Add(closeWait)
	// Every loader is shut down here, even when the time is up: the loads are cancelled already,
	// and whatever starts later must start nothing.
	for _, l := range append([]*analysis.Loader{w.analyses.loader}, w.sweepLoaders.close()...) {
		l.Wait(time.Until(deadline))
	}
}

// closeWait bounds how long Close waits for the cancelled loads to end.
const closeWait = 5 * time.Second

// loaderSet tracks Loaders used once each, from the moment they are made until their work has
// ended, so that Close can wait for them. The sweep makes one per reload of a root rather than
// keeping one, so that no type cache (up to 64 MiB of export data in memory) stays between
// reloads, as before, and shares none with the editor's loader, whose busy state (a load that
// outlived its timeout makes the module syntax-only until it ends) the sweep must not set. The
// zero value is ready to use.
type loaderSet struct {
	mu      sync.Mutex
	closed  bool
	loaders map[*analysis.Loader]struct{}
}

// add tracks l, before its first load, and reports true; once close was called it reports false
// and the caller must not load with l.
func (s *loaderSet) add(l *analysis.Loader) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.loaders == nil {
		s.loaders = map[*analysis.Loader]struct{}{}
	}
	s.loaders[l] = struct{}{}
	return true
}

// retire says that l, tracked by add, will not be used again: it is shut down
// (analysis.Loader.Wait) and forgotten once its work has ended, at once or, when a load went on
// past its Timeout to fill the type cache (for minutes at most, less once Close cancels it),
// by a goroutine that waits for it; neither l nor its type cache is kept longer.
func (s *loaderSet) retire(l *analysis.Loader) {
	forget := func() {
		s.mu.Lock()
		delete(s.loaders, l)
		s.mu.Unlock()
	}
	if l.Wait(0) {
		forget()
		return
	}
	go func() {
		for !l.Wait(time.Minute) {
		}
		forget()
	}()
}

// close refuses every later add and returns the loaders tracked now, for the caller to wait for.
func (s *loaderSet) close() []*analysis.Loader {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	out := make([]*analysis.Loader, 0, len(s.loaders))
	for l := range s.loaders {
		out = append(out, l)
	}
	return out
}

// Changed schedules the analysis of the package of path (an open document whose text changed)
// and, when it is done, the prefetch of its numbers. It returns at once.
func (w *Workspace) Changed(path string) { w.analyses.changed(path) }

// Closed forgets the analysis of a closed document.
func (w *Workspace) Closed(path string) { w.analyses.closed(path) }

// Analysed reports whether the typed analysis of the open document path covers its current text.
func (w *Workspace) Analysed(path string) bool { return w.analyses.analysed(path) }

// Function returns the instrumented or traced function declared or called at offset of the open
// document path at version, or nil.
func (w *Workspace) Function(ctx context.Context, path string, version int32, offset int) *analysis.Function {
	fn, _ := w.analyses.functionAt(ctx, path, version, offset)
	if fn == nil || !fn.Measured() {
		return nil
	}
	return fn
}

// JumpURL returns the link that opens series at target (Prometheus when Grafana is not set).
func (w *Workspace) JumpURL(target Target, s promclient.Series) (string, error) {
	b := w.numbers.backend()
	if b.client == nil {
		return "", fmt.Errorf("no usable Prometheus URL is configured: %v", b.configErr)
	}
	return b.links.URL(target, s), nil
}

// Status reports the backend's health as seen by the background fetches (no network).
func (w *Workspace) Status() BackendStatus { return w.numbers.status() }
