package insight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// analyses keeps the analysis of every open file current: which functions it declares and
// calls, how they are instrumented and what labels their series carry.
//
// Contract: changed returns at once; the load runs on one background worker per file, started
// after debounce and run again while edits keep coming, so that a burst of edits costs one or two
// loads. Every finished load (and the syntax-only reading that precedes it, well under a
// millisecond) is handed to loaded, without a lock held, so that the numbers of its packages
// start loading. Readers (functionAt, current, packages) never wait for the go command longer
// than wait. mu guards the fields below it and is never held while loading or calling out.
type analyses struct {
	log    *slog.Logger
	docs   *textdoc.Store
	loader *analysis.Loader
	notify *notifier
	ctx    context.Context
	loaded func([]*analysis.Package)
	// wait bounds how long a reader waits for the analysis of the text it reads before it
	// answers without it.
	wait time.Duration
	// debounce is how long a worker waits for further edits before it loads.
	debounce time.Duration

	mu       sync.Mutex
	files    map[string]fileAnalysis // open file path → newest analysis that covers it
	workers  map[string]*worker      // file path → its background analysis worker
	updated  chan struct{}           // closed and replaced whenever files changes
	degraded map[string]string       // package path → the degraded reason last announced
	// syntax caches the syntax-only reading of open files until any document changes; reading
	// holds the readings under way, which callers for the same path share (a generated file of
	// megabytes takes a second or more to parse, and its syntax hundreds of MiB).
	syntax    map[string]*syntaxReading
	reading   map[string]*syntaxReading
	syntaxGen int // bumped whenever syntax is cleared
}

// syntaxReading is a syntax-only reading of one open file's package: pkgs, read from the open
// documents at versions. Under way (in analyses.reading), they are set when done is closed;
// cached (in analyses.syntax), they are set.
type syntaxReading struct {
	done     chan struct{}
	pkgs     []*analysis.Package
	versions map[string]int32
}

// fileAnalysis is the result of analysing one open file at one document version.
type fileAnalysis struct {
	version int32
	pkg     *analysis.Package // nil when the load failed outright
}

// worker is the background analysis of one file; dirty says the text changed since its load
// began.
type worker struct{ dirty bool }

func newAnalyses(ctx context.Context, log *slog.Logger, docs *textdoc.Store, notify *notifier, loaded func([]*analysis.Package)) *analyses {
	return &analyses{
		log:      log,
		docs:     docs,
		loader:   &analysis.Loader{},
		notify:   notify,
		ctx:      ctx,
		loaded:   loaded,
		wait:     3 * time.Second,
		debounce: 30 * time.Millisecond,
		files:    map[string]fileAnalysis{},
		workers:  map[string]*worker{},
		updated:  make(chan struct{}),
		degraded: map[string]string{},
		syntax:   map[string]*syntaxReading{},
		reading:  map[string]*syntaxReading{},
	}
}

// changed records that the text of the open document path changed: the syntax readings are
// dropped and the file's worker (re)scheduled.
func (a *analyses) changed(path string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropSyntaxLocked()
	a.scheduleLocked(path)
}

// closed forgets the analysis of a closed document.
func (a *analyses) closed(path string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropSyntaxLocked()
	delete(a.files, path)
}

func (a *analyses) dropSyntaxLocked() {
	clear(a.syntax)
	clear(a.reading) // callers from now on read the new text; those waiting keep theirs
	a.syntaxGen++
}

// scheduleLocked marks the worker of path dirty, starting one if there is none.
func (a *analyses) scheduleLocked(path string) {
	if wk, ok := a.workers[path]; ok {
		wk.dirty = true
		return
	}
	wk := &worker{dirty: true}
	a.workers[path] = wk
	go a.run(path, wk)
}

// run is the worker of path: it loads until no edit arrived during the last load.
func (a *analyses) run(path string, wk *worker) {
	for {
		select {
		case <-time.After(a.debounce):
		case <-a.ctx.Done():
			return
		}
		a.mu.Lock()
		wk.dirty = false
		a.mu.Unlock()

		a.analyse(path)

		a.mu.Lock()
		if !wk.dirty || a.ctx.Err() != nil {
			delete(a.workers, path)
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
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

// analyse loads the package(s) of path with the current overlay and records the result for
// every open file they contain, then hands them to loaded.
func (a *analyses) analyse(path string) {
	a.mu.Lock()
	gen := a.syntaxGen
	a.mu.Unlock()
	overlay, versions := a.openDocuments()
	version, open := versions[path]
	if !open {
		return
	}
	// A syntax-only reading takes well under a millisecond and names the same series as the typed
	// load that follows, so the numbers start loading now rather than after the go command. A
	// reading of the same texts by a request (syntaxOf) is used rather than repeated, and this
	// one is kept for the requests to come.
	syntax := a.sharedSyntax(path, versions)
	if syntax == nil {
		syntax = a.readSyntax(path, overlay)
		a.keepSyntax(path, gen, &syntaxReading{pkgs: syntax, versions: versions})
	}
	a.loaded(syntax)
	a.notify.observe(func(o Observer) { o.AnalysisStarted(path) })
	defer a.notify.observe(func(o Observer) { o.AnalysisFinished(path) })
	start := time.Now()
	var pkgs []*analysis.Package
	if IsLarge(len(overlay[path])) {
		// Type-checking a file this large costs the go command and this process gigabytes. The
		// syntax reading says why (readSyntax).
		pkgs = syntax
	} else {
		var err error
		pkgs, err = a.loader.Load(a.ctx, []string{path}, overlay)
		switch {
		case errors.Is(err, context.Canceled):
			a.log.Debug("analysis cancelled", "file", path) // shutting down: not a problem
		case err != nil:
			a.log.Warn("analysis failed", "file", path, "err", err)
		}
	}
	a.log.Debug("analysed", "file", path, "packages", len(pkgs), "took", time.Since(start))

	announce := a.record(path, version, versions, pkgs)
	for _, p := range announce {
		a.notify.observe(func(o Observer) { o.AnalysisDegraded(p.Path, p.Degraded) })
	}
	a.loaded(pkgs)
	a.retryWhenSettled(path, pkgs)
}

// retryWhenSettled analyses path again once the load a syntax-only result of pkgs stopped
// waiting for has ended (a first type check of a large module's dependencies can outlast the
// loader's timeout): the typed result then comes from the warm cache without the user editing.
func (a *analyses) retryWhenSettled(path string, pkgs []*analysis.Package) {
	for _, p := range pkgs {
		if p.Settled == nil {
			continue
		}
		go func() {
			select {
			case <-p.Settled:
			case <-a.ctx.Done():
				return
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if _, open := a.docs.Get(path); open {
				a.scheduleLocked(path)
			}
		}()
		return
	}
}

// record stores the result of a load of path at version (versions: those of every open file it
// read) and wakes the readers waiting for it. It returns the degraded packages whose reason was
// not announced yet.
func (a *analyses) record(path string, version int32, versions map[string]int32, pkgs []*analysis.Package) (announce []*analysis.Package) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, stillOpen := a.docs.Get(path); stillOpen {
		a.files[path] = fileAnalysis{version: version}
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			if v, isOpen := versions[f]; isOpen {
				if cur, ok := a.files[f]; !ok || cur.version <= v {
					a.files[f] = fileAnalysis{version: v, pkg: p}
				}
			}
		}
	}
	close(a.updated)
	a.updated = make(chan struct{})
	for _, p := range pkgs {
		if p.Degraded != "" && a.degraded[p.Path] != p.Degraded {
			a.degraded[p.Path] = p.Degraded
			announce = append(announce, p)
		} else if p.Degraded == "" {
			delete(a.degraded, p.Path)
		}
	}
	return announce
}

// current returns the newest analysis of path if it covers version (no waiting).
func (a *analyses) current(path string, version int32) (fileAnalysis, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fa, ok := a.files[path]
	return fa, ok && fa.version >= version
}

// currentOrRebased is current, or else the newest typed analysis of path carried over to the
// text at version when the edits since cannot change what it found (a change inside a body
// that touches no call, declaration or instrumentation: see analysis.Package.Rebased). The
// carried-over analysis is recorded until the background load of that text replaces it, so
// typing inside a body never waits for the go command or a type check.
func (a *analyses) currentOrRebased(path string, version int32) (fileAnalysis, bool) {
	a.mu.Lock()
	fa, have := a.files[path]
	a.mu.Unlock()
	if have && fa.version >= version {
		return fa, true
	}
	snap, open := a.docs.Get(path)
	if !have || fa.pkg == nil || !open || snap.Version != version {
		return fa, false
	}
	p, ok := fa.pkg.Rebased(path, snap.Text)
	if !ok {
		return fa, false
	}
	rebased := fileAnalysis{version: version, pkg: p}
	a.mu.Lock()
	if cur := a.files[path]; cur.version < version {
		a.files[path] = rebased
	}
	a.mu.Unlock()
	return rebased, true
}

// newest returns the package of the newest load of path, whatever text it read; nil when
// there is none or it failed outright.
func (a *analyses) newest(path string) *analysis.Package {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.files[path].pkg
}

// awaitCurrent returns the analysis of path that covers version, waiting up to a.wait (and ctx)
// for it. When no worker is analysing path (after a failed or superseded load, say), it starts
// one, without touching the syntax readings: the text did not change. ok is false when no
// analysis covering version arrived in time.
func (a *analyses) awaitCurrent(ctx context.Context, path string, version int32) (fileAnalysis, bool) {
	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	for {
		a.mu.Lock()
		fa, have := a.files[path]
		updated := a.updated
		if !have || fa.version < version {
			if _, running := a.workers[path]; !running {
				a.scheduleLocked(path)
			}
		}
		a.mu.Unlock()
		if have && fa.version >= version {
			return fa, true
		}
		select {
		case <-updated:
		case <-timer.C:
			return fileAnalysis{}, false
		case <-ctx.Done():
			return fileAnalysis{}, false
		}
	}
}

// analysed reports whether the typed analysis of the open document path covers its current text.
func (a *analyses) analysed(path string) bool {
	snap, ok := a.docs.Get(path)
	if !ok {
		return false
	}
	fa, ok := a.current(path, snap.Version)
	return ok && fa.pkg != nil
}

// packages returns the packages of the newest analyses of the open files.
func (a *analyses) packages() []*analysis.Package {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[*analysis.Package]bool{}
	var out []*analysis.Package
	for _, fa := range a.files {
		if fa.pkg != nil && !seen[fa.pkg] {
			seen[fa.pkg] = true
			out = append(out, fa.pkg)
		}
	}
	return out
}

// pkgByPath returns an analysed package with import path pkgPath, or nil.
func (a *analyses) pkgByPath(pkgPath string) *analysis.Package {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fa := range a.files {
		if fa.pkg != nil && fa.pkg.Path == pkgPath {
			return fa.pkg
		}
	}
	return nil
}

// openDocuments returns the text and version of every open document.
func (a *analyses) openDocuments() (overlay map[string][]byte, versions map[string]int32) {
	overlay, versions = map[string][]byte{}, map[string]int32{}
	for _, p := range a.docs.Paths() {
		if s, ok := a.docs.Get(p); ok {
			versions[p] = s.Version
			overlay[p] = s.Text
		}
	}
	return overlay, versions
}

// syntaxOf returns the syntax-only reading of the package of the open document path, from the
// cache while no document changed since it was read. Callers for one path share a reading under
// way, unless a document changed since it began.
func (a *analyses) syntaxOf(path string) []*analysis.Package {
	a.mu.Lock()
	if r, ok := a.syntax[path]; ok {
		a.mu.Unlock()
		return r.pkgs
	}
	if r, ok := a.reading[path]; ok {
		a.mu.Unlock()
		<-r.done
		return r.pkgs
	}
	r := &syntaxReading{done: make(chan struct{})}
	a.reading[path] = r
	gen := a.syntaxGen
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.reading[path] == r {
			delete(a.reading, path)
		}
		a.mu.Unlock()
		close(r.done)
	}()
	overlay, versions := a.openDocuments()
	r.pkgs, r.versions = a.readSyntax(path, overlay), versions
	a.keepSyntax(path, gen, r)
	return r.pkgs
}

// readSyntax reads the package of path from syntax alone, from overlay. A file beyond
// MaxAnalysedBytes is never type-checked, so its packages say why (largeReason) from the start,
// before they are shared.
func (a *analyses) readSyntax(path string, overlay map[string][]byte) []*analysis.Package {
	pkgs := a.loader.LoadSyntax([]string{path}, overlay)
	if IsLarge(len(overlay[path])) {
		for _, p := range pkgs {
			p.Degraded = largeReason(path)
		}
	}
	return pkgs
}

// keepSyntax caches r (its pkgs and versions set) as the reading of path, unless a document
// changed since gen (the texts it read may be gone) or a reading is cached already.
func (a *analyses) keepSyntax(path string, gen int, r *syntaxReading) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.syntax[path]; !ok && gen == a.syntaxGen {
		a.syntax[path] = r
	}
}

// sharedSyntax returns the reading of path cached or under way (waiting for it) when it read
// exactly the open documents at versions, else nil.
func (a *analyses) sharedSyntax(path string, versions map[string]int32) []*analysis.Package {
	a.mu.Lock()
	r, cached := a.syntax[path]
	underWay, reading := a.reading[path]
	a.mu.Unlock()
	if !cached {
		if !reading {
			return nil
		}
		<-underWay.done
		r = underWay
	}
	if !maps.Equal(r.versions, versions) {
		return nil
	}
	return r.pkgs
}

// functionAt finds the function declared or called at offset of the document's text at version,
// and the package of path that answered. The typed analysis of exactly that text answers when it
// is there. Otherwise (the user is typing, the background load of 0.1–1 s is under way) a
// syntax-only reading of the current text answers at once for declarations and same-package
// calls; only what needs type information (calls into other packages) waits for the typed
// analysis, at most a.wait and until ctx is done (a hover passes its deadline). A call into a
// package that cannot hold a measured function (the standard library) answers nils at once.
// It returns nils when nothing is found.
func (a *analyses) functionAt(ctx context.Context, path string, version int32, offset int) (*analysis.Function, *analysis.Package) {
	if fa, ok := a.currentOrRebased(path, version); ok && fa.pkg != nil {
		fn, _ := fa.pkg.FunctionAt(path, offset)
		return fn, fa.pkg
	}
	syntax := a.syntaxOf(path)
	for _, p := range syntax {
		if fn, ok := p.FunctionAt(path, offset); ok {
			return fn, p
		}
	}
	for _, p := range syntax {
		if a.intoUnmeasuredPackage(p, path, offset) {
			return nil, nil
		}
	}
	if fa, ok := a.awaitCurrent(ctx, path, version); ok && fa.pkg != nil {
		fn, _ := fa.pkg.FunctionAt(path, offset)
		return fn, fa.pkg
	}
	return nil, nil
}

// intoUnmeasuredPackage reports whether offset of path (read by p, a syntax-only package) is on
// a qualified identifier of a package that holds no measured function: the standard library,
// as p or the newest typed analysis of path knows it.
func (a *analyses) intoUnmeasuredPackage(p *analysis.Package, path string, offset int) bool {
	imp := p.ImportAt(path, offset)
	if imp == "" {
		return false
	}
	if p.IsStandard(imp) {
		return true
	}
	typed := a.newest(path)
	return typed != nil && typed.IsStandard(imp)
}

// packageForLens returns the package whose functions the lenses of path at version show: the
// typed analysis when it covers version, else the syntax-only reading; nil when neither has one.
func (a *analyses) packageForLens(path string, version int32) *analysis.Package {
	if fa, ok := a.currentOrRebased(path, version); ok && fa.pkg != nil {
		return fa.pkg
	}
	if pkgs := a.syntaxOf(path); len(pkgs) > 0 {
		return pkgs[0]
	}
	return nil
}
