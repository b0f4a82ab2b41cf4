package insight

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// Workspace keeps the analysis of the editor's open files fresh and the numbers of their
// instrumented functions prefetched, so that a hover only reads what is already there. It is
// safe for concurrent use. Analysis runs in the background, one worker per changed file,
// coalescing bursts of edits.
type Workspace struct {
	log    *slog.Logger
	docs   *textdoc.Store
	loader *analysis.Loader
	// analysisWait bounds how long a hover waits for the analysis of the text it hovers before it
	// falls back to syntax-only detection of that text.
	analysisWait time.Duration
	// debounce is how long a worker waits for further edits before it loads.
	debounce time.Duration

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	settings  config.Settings
	client    *promclient.Client // nil until a Configure succeeded
	links     Links              // jump targets, rebuilt by Configure
	configErr error              // why the last Configure failed
	observer  Observer
	seen      map[string]time.Time // batch key → FetchedAt of the newest numbers announced
	health    BackendStatus        // outcome of the newest background fetch
	// syntax caches the syntax-only reading of open files until any document changes.
	syntax    map[string][]*analysis.Package
	syntaxGen int                     // bumped whenever syntax is cleared
	degraded  map[string]string       // package path → the degraded reason last announced
	cards     cardCache               // rendered hover cards
	files     map[string]fileAnalysis // open file path → newest analysis that covers it
	workers   map[string]*worker      // file path → its background analysis worker
	updated   chan struct{}           // closed and replaced whenever files changes
}

// MaxAnalysedBytes bounds the work spent on one document. A larger file (generated code, most
// likely) is read from syntax alone, without the go command, and IsLarge tells the editor layer
// to skip the heavy features (code diagnostics and actions); hovers and lenses are served.
const MaxAnalysedBytes = 1 << 20

// IsLarge reports whether a document of n bytes is beyond MaxAnalysedBytes.
func IsLarge(n int) bool { return n > MaxAnalysedBytes }

// largeReason is the Degraded reason of a package analysed from syntax because of a large file.
func largeReason(path string) string {
	return fmt.Sprintf("%s is larger than %d MiB, so am-lsp reads it from syntax alone and skips its code diagnostics and code actions", filepath.Base(path), MaxAnalysedBytes>>20)
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

// SetObserver installs o (nil for none).
func (w *Workspace) SetObserver(o Observer) {
	w.mu.Lock()
	w.observer = o
	w.mu.Unlock()
}

func (w *Workspace) observe(f func(Observer)) {
	w.mu.Lock()
	o := w.observer
	w.mu.Unlock()
	if o != nil {
		f(o)
	}
}

// fileAnalysis is the result of analysing one open file at one document version.
type fileAnalysis struct {
	version int32
	pkg     *analysis.Package // nil when the load failed outright
}

type worker struct{ dirty bool }

// HoverCard is the answer to a hover: markdown and, when the cursor is on the declaration's
// name, the span to highlight.
type HoverCard struct {
	Markdown string
	Span     analysis.Span
}

// NewWorkspace returns a workspace reading open documents from docs. Call Configure before use.
func NewWorkspace(log *slog.Logger, docs *textdoc.Store) *Workspace {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workspace{
		log:          log,
		docs:         docs,
		loader:       &analysis.Loader{},
		analysisWait: 3 * time.Second,
		debounce:     30 * time.Millisecond,
		ctx:          ctx,
		cancel:       cancel,
		files:        map[string]fileAnalysis{},
		seen:         map[string]time.Time{},
		syntax:       map[string][]*analysis.Package{},
		degraded:     map[string]string{},
		workers:      map[string]*worker{},
		updated:      make(chan struct{}),
	}
	go w.refreshLoop()
	return w
}

// refreshLoop fetches the numbers of every analysed package again each time they go stale, so
// CodeLens and inlay hints stay live without the user doing anything.
func (w *Workspace) refreshLoop() {
	for {
		w.mu.Lock()
		period := w.settings.CacheTTL
		w.mu.Unlock()
		if period < 5*time.Second {
			period = 5 * time.Second
		}
		select {
		case <-w.ctx.Done():
			return
		case <-time.After(period):
		}
		w.mu.Lock()
		pkgs := w.packagesLocked()
		w.mu.Unlock()
		w.prefetch(pkgs)
	}
}

// Configure applies settings: a new backend client when the backend settings change, after which
// the numbers of every analysed package are fetched again.
func (w *Workspace) Configure(s config.Settings) error {
	client, err := promclient.New(promclient.Config{
		URL: s.PrometheusURL, Window: s.Window, Timeout: s.QueryTimeout, TTL: s.CacheTTL,
		BearerToken: s.BearerToken, Username: s.Username, Password: s.Password, Headers: s.Headers,
		ExtraMatchers: s.LabelMatchers, BearerTokenFile: s.BearerTokenFile,
		TLSCAFile: s.TLSCAFile, InsecureSkipVerify: s.TLSInsecureSkipVerify,
	})
	if err != nil {
		w.mu.Lock()
		w.configErr = err
		w.mu.Unlock()
		return err
	}
	w.mu.Lock()
	w.configErr = nil
	w.settings = s
	w.client = client
	w.links = Links{Grafana: s.GrafanaURL, GrafanaDatasource: s.GrafanaDatasource, Prom: client}
	pkgs := w.packagesLocked()
	w.mu.Unlock()
	w.prefetch(pkgs)
	return nil
}

// Close stops background work.
func (w *Workspace) Close() { w.cancel() }

// Changed schedules the analysis of the package of path (an open document) and the prefetch of
// its numbers. It returns at once.
func (w *Workspace) Changed(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.syntax)
	w.syntaxGen++
	if wk, ok := w.workers[path]; ok {
		wk.dirty = true
		return
	}
	wk := &worker{dirty: true}
	w.workers[path] = wk
	go w.run(path, wk)
}

// Closed forgets the analysis of a closed document.
func (w *Workspace) Closed(path string) {
	w.mu.Lock()
	clear(w.syntax)
	w.syntaxGen++
	delete(w.files, path)
	w.mu.Unlock()
}

func (w *Workspace) run(path string, wk *worker) {
	for {
		select {
		case <-time.After(w.debounce):
		case <-w.ctx.Done():
			return
		}
		w.mu.Lock()
		wk.dirty = false
		w.mu.Unlock()

		w.analyse(path)

		w.mu.Lock()
		if !wk.dirty || w.ctx.Err() != nil {
			delete(w.workers, path)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// analyse loads the package(s) of path with the current overlay and records the result for
// every open file they contain, then prefetches their numbers.
func (w *Workspace) analyse(path string) {
	snaps := map[string]int32{}
	overlay := map[string][]byte{}
	for _, p := range w.docs.Paths() {
		if s, ok := w.docs.Get(p); ok {
			snaps[p] = s.Version
			overlay[p] = s.Text
		}
	}
	version, open := snaps[path]
	if !open {
		return
	}
	// A syntax-only reading takes well under a millisecond and names the same series as the typed
	// load that follows, so the numbers start loading now rather than after the go command.
	syntax := w.loader.LoadSyntax([]string{path}, overlay)
	w.prefetch(syntax)
	w.observe(func(o Observer) { o.AnalysisStarted(path) })
	defer w.observe(func(o Observer) { o.AnalysisFinished(path) })
	start := time.Now()
	var pkgs []*analysis.Package
	if IsLarge(len(overlay[path])) {
		// Type-checking a file this large costs the go command and this process gigabytes.
		pkgs = syntax
		for _, p := range pkgs {
			p.Degraded = largeReason(path)
		}
	} else {
		var err error
		pkgs, err = w.loader.Load(w.ctx, []string{path}, overlay)
		if err != nil {
			w.log.Warn("analysis failed", "file", path, "err", err)
		}
	}
	w.log.Debug("analysed", "file", path, "packages", len(pkgs), "took", time.Since(start))

	w.mu.Lock()
	if _, stillOpen := w.docs.Get(path); stillOpen {
		w.files[path] = fileAnalysis{version: version}
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			if v, isOpen := snaps[f]; isOpen {
				if cur, ok := w.files[f]; !ok || cur.version <= v {
					w.files[f] = fileAnalysis{version: v, pkg: p}
				}
			}
		}
	}
	close(w.updated)
	w.updated = make(chan struct{})
	var announce []*analysis.Package
	for _, p := range pkgs {
		if p.Degraded != "" && w.degraded[p.Path] != p.Degraded {
			w.degraded[p.Path] = p.Degraded
			announce = append(announce, p)
		} else if p.Degraded == "" {
			delete(w.degraded, p.Path)
		}
	}
	w.mu.Unlock()
	for _, p := range announce {
		w.observe(func(o Observer) { o.AnalysisDegraded(p.Path, p.Degraded) })
	}
	w.prefetch(pkgs)
}

// prefetch starts fetching the numbers of pkgs' instrumented functions, one batch per package,
// in the background, and tells the observer when numbers newer than those it last heard of
// arrive.
func (w *Workspace) prefetch(pkgs []*analysis.Package) {
	w.mu.Lock()
	client, timeout := w.client, w.settings.QueryTimeout
	w.mu.Unlock()
	if client == nil {
		return
	}
	for _, p := range pkgs {
		batch := SeriesOfPackage(p)
		if len(batch) == 0 {
			continue
		}
		client.PrefetchTrend(batch)
		go func() {
			ctx, cancel := context.WithTimeout(w.ctx, 2*timeout+time.Second)
			defer cancel()
			snap, _ := client.Fetch(ctx, batch)
			if snap == nil {
				return
			}
			key := fmt.Sprint(batch)
			w.noteHealth(client, snap)
			w.mu.Lock()
			isNew := !snap.FetchedAt.Equal(w.seen[key])
			w.seen[key] = snap.FetchedAt
			w.mu.Unlock()
			if isNew {
				w.observe(func(o Observer) { o.NumbersUpdated() })
			}
		}()
	}
}

// waitAnalysis returns the analysis of path that covers version, waiting for the background
// worker up to analysisWait (and ctx). ok is false when none arrived in time; stale is then the
// newest older analysis, if any.
func (w *Workspace) waitAnalysis(ctx context.Context, path string, version int32) (fa fileAnalysis, ok bool) {
	timer := time.NewTimer(w.analysisWait)
	defer timer.Stop()
	for {
		w.mu.Lock()
		fa, have := w.files[path]
		updated := w.updated
		_, running := w.workers[path]
		w.mu.Unlock()
		if have && fa.version >= version {
			return fa, true
		}
		if !running {
			// Nothing is analysing this text (for instance after a failed load): analyse now.
			w.Changed(path)
		}
		select {
		case <-updated:
		case <-timer.C:
			return fa, false
		case <-ctx.Done():
			return fa, false
		}
	}
}

func (w *Workspace) packagesLocked() []*analysis.Package {
	seen := map[*analysis.Package]bool{}
	var out []*analysis.Package
	for _, fa := range w.files {
		if fa.pkg != nil && !seen[fa.pkg] {
			seen[fa.pkg] = true
			out = append(out, fa.pkg)
		}
	}
	return out
}

// Hover returns the card for the instrumented function at offset of the open document path at
// version: declared there, or called there. It waits for numbers at most the hover deadline and
// answers without them (saying why) when they are late. ok is false when no instrumented
// function is there.
func (w *Workspace) Hover(ctx context.Context, path string, version int32, offset int) (HoverCard, bool) {
	fn, pkg := w.functionAt(ctx, path, version, offset)
	if fn == nil || fn.Instrumentation == analysis.NotInstrumented {
		return HoverCard{}, false
	}

	w.mu.Lock()
	client, links, deadline, configErr := w.client, w.links, w.settings.HoverDeadline, w.configErr
	batch := w.batchForLocked(fn, pkg)
	w.mu.Unlock()
	if client == nil {
		return HoverCard{Markdown: fmt.Sprintf("**Autometrics** · `%s`\n\n**Not configured** — %v\n",
			fn.QualifiedName(), configErr)}, true
	}

	fetchCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	snap, err := client.Fetch(fetchCtx, batch)
	if snap != nil {
		w.noteHealth(client, snap)
	}
	if snap == nil {
		if cached, ok := client.Cached(batch); ok {
			snap = cached
		}
	}
	trend, _ := client.FetchTrend(fetchCtx, batch)
	if trend == nil {
		trend, _ = client.CachedTrend(batch)
	}
	w.mu.Lock()
	typed := w.files[path].pkg
	w.mu.Unlock()
	degraded := pkg != nil && pkg == typed && pkg.Degraded != ""
	// The same function with the same numbers renders the same card: reuse it.
	key := cardKey{labels: fn.Labels, inst: fn.Instrumentation, snap: snap, trend: trend, links: links, degraded: degraded, fetchErr: err != nil}
	if d := fn.Directive; d != nil {
		key.objectives = [4]float64{d.SuccessTarget, d.LatencyMs, d.LatencyTarget, 1}
		key.slo = d.SLO
	}
	markdown, cached := w.cards.get(key)
	if !cached {
		view := Explain(fn, links, snap, err).WithTrend(trend)
		if degraded {
			view.Notes = append(view.Notes, "Type information is unavailable ("+pkg.Degraded+"): am-lsp reads this package from syntax alone, so calls into other packages are not resolved.")
		}
		markdown = Card(view)
		w.cards.put(key, markdown)
	}
	card := HoverCard{Markdown: markdown}
	if fn.NameSpan.File == path && fn.NameSpan.Contains(offset) {
		card.Span = fn.NameSpan
	}
	return card, true
}

// functionAt finds the function declared or called at offset of the document's text at version.
// The typed analysis of exactly that text answers when it is there. Otherwise (the user is
// typing, the background load of 0.1–1 s is under way) a syntax-only reading of the current text
// answers at once for declarations and same-package calls; only what needs type information
// (calls into other packages) waits for the typed analysis, at most analysisWait.
// It also returns the package of path that answered.
func (w *Workspace) functionAt(ctx context.Context, path string, version int32, offset int) (*analysis.Function, *analysis.Package) {
	w.mu.Lock()
	fa, have := w.files[path]
	w.mu.Unlock()
	if have && fa.version >= version && fa.pkg != nil {
		fn, _ := fa.pkg.FunctionAt(path, offset)
		return fn, fa.pkg
	}
	for _, p := range w.syntaxOf(path) {
		if fn, ok := p.FunctionAt(path, offset); ok {
			return fn, p
		}
	}
	fa, current := w.waitAnalysis(ctx, path, version)
	if current && fa.pkg != nil {
		fn, _ := fa.pkg.FunctionAt(path, offset)
		return fn, fa.pkg
	}
	return nil, nil
}

// batchForLocked returns the series batch fn's numbers are fetched in: its whole package when
// the package is known (the batch the prefetch asks for), else fn alone. from is the package the
// hover resolved fn in, which is fn's own unless fn was called from another package.
func (w *Workspace) batchForLocked(fn *analysis.Function, from *analysis.Package) []promclient.Series {
	if from != nil && from.Path == fn.PkgPath {
		if batch := SeriesOfPackage(from); len(batch) > 0 {
			return batch
		}
	}
	for _, fa := range w.files {
		if fa.pkg != nil && fa.pkg.Path == fn.PkgPath {
			if batch := SeriesOfPackage(fa.pkg); len(batch) > 0 {
				return batch
			}
		}
	}
	return []promclient.Series{SeriesOf(fn)}
}

// Function returns the instrumented function declared or called at offset of the open document
// path at version, or nil.
func (w *Workspace) Function(ctx context.Context, path string, version int32, offset int) *analysis.Function {
	fn, _ := w.functionAt(ctx, path, version, offset)
	if fn == nil || fn.Instrumentation == analysis.NotInstrumented {
		return nil
	}
	return fn
}

// JumpURL returns the link that opens series at target (Prometheus when Grafana is not set).
func (w *Workspace) JumpURL(target Target, s promclient.Series) (string, error) {
	w.mu.Lock()
	links, configErr := w.links, w.configErr
	w.mu.Unlock()
	if links.Prom == nil {
		return "", fmt.Errorf("no usable Prometheus URL is configured: %v", configErr)
	}
	return links.URL(target, s), nil
}

// BackendStatus says whether the backend answered the newest background fetch.
type BackendStatus struct {
	Backend string    `json:"backend"` // URL without credentials
	OK      bool      `json:"ok"`
	Reason  string    `json:"reason,omitempty"` // why not, in words a user can act on
	Checked time.Time `json:"checked,omitzero"` // zero when nothing was fetched yet
}

// Status reports the backend's health as seen by the background fetches (no network).
func (w *Workspace) Status() BackendStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.client == nil:
		return BackendStatus{Reason: fmt.Sprintf("no usable Prometheus URL is configured: %v", w.configErr)}
	case w.health.Backend != w.client.DisplayURL() || w.health.Checked.IsZero():
		return BackendStatus{Backend: w.client.DisplayURL(), OK: true, Reason: "no numbers fetched yet: open a Go file with instrumented functions"}
	}
	return w.health
}

// noteHealth records the outcome of a fetch by client for Status.
func (w *Workspace) noteHealth(client *promclient.Client, snap *promclient.Snapshot) {
	health := BackendStatus{Backend: client.DisplayURL(), OK: snap.Err == nil, Checked: snap.FetchedAt}
	if health.Checked.IsZero() {
		health.Checked = time.Now()
	}
	if snap.Err != nil {
		health.Reason = describeError(snap.Err, health.Backend)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.client == client && !health.Checked.Before(w.health.Checked) {
		w.health = health
	}
}

// syntaxOf returns the syntax-only reading of the package of the open document path, from the
// cache while no document changed since it was read.
func (w *Workspace) syntaxOf(path string) []*analysis.Package {
	w.mu.Lock()
	pkgs, ok := w.syntax[path]
	gen := w.syntaxGen
	w.mu.Unlock()
	if ok {
		return pkgs
	}
	pkgs = w.loader.LoadSyntax([]string{path}, w.docs.Overlay())
	w.mu.Lock()
	if gen == w.syntaxGen { // no document changed while reading
		w.syntax[path] = pkgs
	}
	w.mu.Unlock()
	return pkgs
}

// Analysed reports whether the typed analysis of the open document path covers its current text.
func (w *Workspace) Analysed(path string) bool {
	snap, ok := w.docs.Get(path)
	if !ok {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	fa, have := w.files[path]
	return have && fa.pkg != nil && fa.version >= snap.Version
}

// cardKey is everything a hover card depends on. Snapshots and trends are immutable, so their
// pointers stand for their contents.
type cardKey struct {
	labels     analysis.Labels
	inst       analysis.Instrumentation
	slo        string     // the directive's --slo
	objectives [4]float64 // the directive's targets (last: 1 when there is a directive)
	snap       *promclient.Snapshot
	trend      *promclient.Trend
	links      Links
	degraded   bool
	fetchErr   bool
}

// cardCache keeps rendered cards; it is emptied when it grows past a bound (new snapshots
// replace old ones every cacheTtl, so old keys are dead weight).
type cardCache struct {
	mu    sync.Mutex
	cards map[cardKey]string
}

const maxCachedCards = 512

func (c *cardCache) get(k cardKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	md, ok := c.cards[k]
	return md, ok
}

func (c *cardCache) put(k cardKey, md string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards == nil || len(c.cards) >= maxCachedCards {
		c.cards = map[cardKey]string{}
	}
	c.cards[k] = md
}
