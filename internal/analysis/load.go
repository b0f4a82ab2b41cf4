package analysis

import (
	"context"
	"fmt"
	"go/parser"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds one Load when Loader.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Loader loads and type-checks packages and detects their functions (see typecheck.go for how
// types are obtained without compiling). The zero value is ready to use; a Loader must not be
// copied after first use. It is safe for concurrent use, and concurrent loads of the same
// packages share their work: one go list run per module at a time (requests arriving meanwhile
// are batched into the next), one type check per package content.
type Loader struct {
	// Dir is the workspace directory: where LoadPatterns runs the go command, and the fallback
	// for files outside any module. "" means the current directory.
	Dir string
	// Timeout bounds each Load or LoadPatterns call, go command included (DefaultTimeout if 0).
	// When it expires the call returns syntax-only results; the work goes on in the background
	// to fill the type cache (see typed).
	Timeout time.Duration
	// Env holds extra KEY=VALUE settings for the go command, added to the process environment.
	// Whatever they say, the go command never modifies go.mod or go.sum and never downloads a
	// toolchain (see goEnv).
	Env []string
	// CacheDir holds the export data of type-checked dependencies between runs. "" means
	// am-lsp/types in the user's cache directory; "off" keeps it in memory only.
	CacheDir string

	cache fileCache // syntax-only detections of files in other packages, for FunctionAt

	// running counts the loads under way, until their go commands ended and their temporary
	// files are removed; once Wait began, no load starts (see Wait and start).
	running inflight

	mu      sync.Mutex
	warming map[string]chan struct{} // module roots where an abandoned load still runs → closed when it ends
	graphs  map[string]*moduleGraph  // module root → package graph
	types   *typeCache
}

// parseMode is how every file is parsed, by go/packages and by the syntax-only fallback.
const parseMode = parser.ParseComments | parser.AllErrors | parser.SkipObjectResolution

// Wait shuts the Loader down and waits, at most d, until every load it started has ended and
// removed its temporary files, and the prune of the disk type cache it started, if any (see
// prune), has ended; after a cancelled Load its go command is being killed. A process
// about to exit calls it so that nothing of a load outlives it. It reports whether all loads
// ended.
//
// From the moment Wait is called the Loader starts no go command: a Load or LoadPatterns
// arriving later, or concurrently on another goroutine, answers from syntax alone (Degraded says
// the loader is shutting down), so that no load can begin behind Wait's back. Wait may be called
// from any goroutine, concurrently with loads, and more than once.
func (l *Loader) Wait(d time.Duration) bool {
	idle := l.running.close()
	if idle == nil {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-idle:
		return true
	case <-timer.C:
		return false
	}
}

// inflight counts the loads under way and refuses new ones once closed. Unlike a
// sync.WaitGroup, whose Add from zero must not run concurrently with Wait, starting work and
// closing may happen on any goroutines in any order: one lock orders them.
type inflight struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // made by close while n > 0, closed when n drops to zero
}

// start counts one more load under way and reports true, or reports false, counting nothing,
// when close was called: the caller must then not start the work. Each true start is
// matched by one done when the work has ended.
func (f *inflight) start() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.n++
	return true
}

// done ends one load counted by start.
func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// close refuses every later start and returns a channel closed when the loads under way have
// ended, or nil when none is under way.
func (f *inflight) close() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.n == 0 {
		return nil
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	return f.idle
}

func (l *Loader) timeout() time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	return DefaultTimeout
}

func (l *Loader) dir() string {
	if l.Dir != "" {
		if abs, err := filepath.Abs(l.Dir); err == nil {
			return abs
		}
		return l.Dir
	}
	wd, _ := os.Getwd()
	return wd
}

// Load type-checks the packages that contain files (absolute paths; relative ones are taken from
// Dir), and only those, with overlay (absolute path → unsaved content) applied. Files are grouped
// by the module that contains them and the go command runs once per module, in its root.
//
// Load never fails wholesale: when the go command fails, hangs past Timeout, or reports a package
// broken, the files' directories are analysed from syntax alone (the package path derived from
// the nearest go.mod's module line and the relative directory) and Package.Degraded says why.
// A file the build excludes (a _test.go file, build constraints) gets a syntax-only package of
// its own. Load returns an error only when ctx is cancelled by the caller.
//
// Spans are byte offsets into the overlay content for files in the overlay, else into the file
// on disk. midhttp.Autometrics calls mark functions of any package loaded by the same call.
func (l *Loader) Load(ctx context.Context, files []string, overlay map[string][]byte) ([]*Package, error) {
	overlay = cleanOverlay(overlay, l.dir())
	deadline := time.Now().Add(l.timeout())

	type group struct {
		module moduleInfo
		dirs   []string
		files  []string
	}
	var (
		groups []*group
		byRoot = map[string]*group{}
		seen   = map[string]bool{}
	)
	for _, f := range files {
		f = absClean(f, l.dir())
		if seen[f] {
			continue
		}
		seen[f] = true
		dir := filepath.Dir(f)
		mod := findModule(dir, overlay)
		g := byRoot[mod.Root]
		if g == nil {
			g = &group{module: mod}
			byRoot[mod.Root] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, f)
		if !slices.Contains(g.dirs, dir) {
			g.dirs = append(g.dirs, dir)
		}
	}

	var out []*Package
	for _, g := range groups {
		runDir := g.module.Root
		if runDir == "" {
			runDir = l.dir()
		}
		loaded, reason, settled := l.typed(ctx, deadline, runDir, g.dirs, false, overlay)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reason != "" {
			for _, dir := range g.dirs {
				p := l.syntaxPackage(dir, nil, overlay, reason)
				p.Settled = settled
				out = append(out, p)
			}
			continue
		}
		covered := map[string]bool{}
		for _, p := range loaded {
			for _, f := range p.Files {
				covered[f] = true
			}
		}
		out = append(out, loaded...)
		// Files the build leaves out, or directories the go command returned nothing for.
		var missing []string
		for _, f := range g.files {
			if !covered[f] {
				missing = append(missing, f)
			}
		}
		out = append(out, l.uncoveredPackages(missing, overlay)...)
	}
	out = linkMiddleware(out)
	return out, nil
}

// LoadPatterns is Load for go list patterns such as "./..." (relative to Dir), used by the
// `am-lsp report` command and the workspace sweep. Its packages carry their functions only
// (FunctionAt finds nothing in them), and its type checks wait while a Load's are waiting, so
// that a sweep of a whole module neither holds every package's type information nor delays the
// analysis of the files being edited. If the go command fails or times out, directory patterns ("./x",
// "./x/...", absolute directories, import paths inside Dir's module) are expanded by walking
// the file system, skipping testdata, vendor, hidden directories and nested modules; as with
// Load, when the go command timed out (or was still busy) their Package.Settled is closed once
// the work they stopped waiting for has ended.
func (l *Loader) LoadPatterns(ctx context.Context, patterns []string, overlay map[string][]byte) ([]*Package, error) {
	overlay = cleanOverlay(overlay, l.dir())
	loaded, reason, settled := l.typed(ctx, time.Now().Add(l.timeout()), l.dir(), patterns, true, overlay)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var out []*Package
	if reason != "" {
		for _, dir := range expandPatterns(l.dir(), patterns, overlay) {
			if p := l.syntaxPackage(dir, nil, overlay, reason); len(p.Files) > 0 {
				p.Settled = settled
				out = append(out, p)
			}
		}
	} else {
		out = loaded
	}
	out = linkMiddleware(out)
	return out, nil
}

// LoadSyntax analyses the directories of files from syntax alone, without the go command: the
// fast path (well under a millisecond per small package) for showing something while a Load
// runs, e.g. on every keystroke. Results are those of Load's fallback; Degraded says they come
// from syntax alone.
func (l *Loader) LoadSyntax(files []string, overlay map[string][]byte) []*Package {
	overlay = cleanOverlay(overlay, l.dir())
	var (
		out  []*Package
		dirs = map[string]bool{}
	)
	for _, f := range files {
		dir := filepath.Dir(absClean(f, l.dir()))
		if !dirs[dir] {
			dirs[dir] = true
			out = append(out, l.syntaxPackage(dir, nil, overlay, "loaded from syntax alone (no type information)"))
		}
	}
	out = linkMiddleware(out)
	return out
}

// typed lists (go list, metadata only) and type-checks the packages of dirs, or of go list
// patterns when patterns is set, in dir. It returns the checked packages, or a user-readable
// reason why the go command gave nothing usable. It returns by deadline even if the work has not
// finished.
//
// The work is cancelled when ctx is (the go command's whole process group is killed), but not at
// deadline: a first load of a large module type-checks its dependencies once, and abandoning it
// would make every later load time out too. It is left running, up to warmupLimit, to fill the
// type cache, and until it ends further loads in dir come from syntax alone rather than queue
// more work behind it.
func (l *Loader) typed(ctx context.Context, deadline time.Time, dir string, dirs []string, patterns bool, overlay map[string][]byte) ([]*Package, string, <-chan struct{}) {
	if settled := l.busy(dir); settled != nil {
		return nil, "the go command is still busy with an earlier load of this module (a first type check of the dependencies?); results come from syntax alone until it finishes", settled
	}
	runCtx, cancelRun := context.WithTimeout(context.WithoutCancel(ctx), max(warmupLimit, 4*l.timeout()))
	stopCancelOnCaller := context.AfterFunc(ctx, cancelRun)
	release := func() {
		stopCancelOnCaller()
		cancelRun()
	}
	type result struct {
		pkgs []*Package
		err  error
	}
	if !l.running.start() {
		release()
		return nil, shuttingDown, nil
	}
	done := make(chan result, 1)
	go func() {
		defer l.running.done()
		pkgs, err := l.check(runCtx, dir, dirs, patterns, overlay)
		done <- result{pkgs, err}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case r := <-done:
		release()
		if r.err != nil {
			if ctx.Err() != nil {
				return nil, "the load was cancelled", nil
			}
			return nil, "the go command failed (" + summarizeGoError(r.err) + "); results come from syntax alone", nil
		}
		return r.pkgs, "", nil
	case <-ctx.Done():
		release()
		return nil, "the load was cancelled", nil
	case <-timer.C:
		settled, finished := l.setBusy(dir)
		go func() {
			<-done
			release()
			finished()
		}()
		return nil, fmt.Sprintf("the go command did not finish within %v; results come from syntax alone", l.timeout()), settled
	}
}

// check gets the metadata of dirs (or patterns) in dir and type-checks their packages.
func (l *Loader) check(ctx context.Context, dir string, dirs []string, patterns bool, overlay map[string][]byte) ([]*Package, error) {
	var (
		metas map[string]*pkgMeta
		roots []*pkgMeta
	)
	if patterns {
		list, err := l.goList(ctx, dir, dirs, overlay)
		if err != nil {
			return nil, err
		}
		metas = map[string]*pkgMeta{}
		for _, m := range list {
			metas[m.ImportPath] = m
			if !m.DepOnly {
				roots = append(roots, m)
			}
		}
	} else {
		g := l.graph(dir)
		var err error
		if metas, err = g.packages(ctx, l, dirs, overlay); err != nil {
			return nil, err
		}
		g.mu.Lock()
		for _, d := range dirs {
			if m := g.byDir[d]; m != nil && metas[m.ImportPath] == m {
				roots = append(roots, m)
			}
		}
		g.mu.Unlock()
	}
	s := &checkSession{ctx: ctx, cache: l.typeCache(), metas: metas, overlay: overlay, roots: map[string]bool{}, std: map[string]bool{}, background: patterns}
	for path, m := range metas {
		if m.Standard {
			s.std[path] = true
		}
	}
	for _, m := range roots {
		s.roots[m.ImportPath] = true
	}
	out := make([]*Package, len(roots))
	var wg sync.WaitGroup
	for i, m := range roots {
		if len(m.GoFiles)+len(m.CgoFiles) == 0 {
			continue // no files the build compiles: uncoveredPackages explains why
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.checkRoot(l, m)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var pkgs []*Package
	for _, p := range out {
		if p != nil {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

func (l *Loader) graph(dir string) *moduleGraph {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.graphs == nil {
		l.graphs = map[string]*moduleGraph{}
	}
	g := l.graphs[dir]
	if g == nil {
		g = newModuleGraph(dir)
		l.graphs[dir] = g
	}
	return g
}

func (l *Loader) typeCache() *typeCache {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.types == nil {
		c := &typeCache{}
		c.init()
		switch l.CacheDir {
		case "off":
		case "":
			if base, err := os.UserCacheDir(); err == nil {
				c.dir = filepath.Join(base, "am-lsp", "types")
			}
		default:
			c.dir = l.CacheDir
		}
		prune(l, c.dir)
		l.types = c
	}
	return l.types
}

// shuttingDown is the reason for syntax-only results of loads asked for after Wait.
const shuttingDown = "the language server is shutting down; results come from syntax alone"

// warmupLimit bounds how long a go command may run after its Load gave up waiting.
const warmupLimit = 5 * time.Minute

// busy returns a channel closed when the abandoned load in dir ends, or nil when none runs.
func (l *Loader) busy(dir string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.warming[dir]; ok {
		return ch
	}
	return nil
}

// setBusy marks dir busy until the returned function is called.
func (l *Loader) setBusy(dir string) (settled <-chan struct{}, done func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.warming == nil {
		l.warming = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	l.warming[dir] = ch
	return ch, func() {
		l.mu.Lock()
		delete(l.warming, dir)
		l.mu.Unlock()
		close(ch)
	}
}

// summarizeGoError shortens a go/packages error to the go command's own message.
func summarizeGoError(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "stderr: "); ok && strings.TrimSpace(after) != "" {
		msg = after
	}
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(line)
	}
	msg = b.String()
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return msg
}

// uncoveredPackages analyses from syntax alone the requested files no loaded package contains,
// one package per directory.
func (l *Loader) uncoveredPackages(files []string, overlay map[string][]byte) []*Package {
	byDir := map[string][]string{}
	var dirs []string
	for _, f := range files {
		dir := filepath.Dir(f)
		if byDir[dir] == nil {
			dirs = append(dirs, dir)
		}
		byDir[dir] = append(byDir[dir], f)
	}
	var out []*Package
	for _, dir := range dirs {
		reason := "the build leaves this file out (a _test.go file or build constraints); results come from syntax alone"
		if _, err := os.Stat(dir); err != nil && !hasOverlayIn(overlay, dir) {
			reason = "the directory does not exist; results come from syntax alone"
		} else if usesCgo(byDir[dir], overlay) {
			reason = "this file uses cgo (import \"C\") and cgo is off for the go command (CGO_ENABLED=0, or no C compiler found), so the build leaves it out; results come from syntax alone"
		}
		out = append(out, l.syntaxPackage(dir, byDir[dir], overlay, reason))
	}
	return out
}

// usesCgo reports whether one of files imports "C".
func usesCgo(files []string, overlay map[string][]byte) bool {
	for _, f := range files {
		if src, err := readSource(f, overlay); err == nil && slices.Contains(importsOf(src), "C") {
			return true
		}
	}
	return false
}

// linkMiddleware returns pkgs with each package's midhttp.Autometrics and otelhttp calls applied
// to the functions of the other packages loaded together (detectPackage applied them to the
// package's own functions already). pkgs themselves are not modified: a typed package may be
// published already, shared through the typed cache with other loads and read by hovers on
// other goroutines. A function a call changes is copied, and so is its package, with a
// Functions slice of its own; packages nothing changes are returned as they are. Since links
// always start from the packages as detected, the result depends only on which packages are
// loaded together, not on what was loaded before or in which order: the packages making calls
// are applied in import path order.
func linkMiddleware(pkgs []*Package) []*Package {
	callers := make([]int, 0, len(pkgs))
	for i, p := range pkgs {
		if len(p.refs) > 0 || len(p.otelRefs) > 0 {
			callers = append(callers, i)
		}
	}
	if len(pkgs) < 2 || len(callers) == 0 {
		return pkgs
	}
	sort.SliceStable(callers, func(a, b int) bool {
		pa, pb := pkgs[callers[a]], pkgs[callers[b]]
		return pa.Path < pb.Path || (pa.Path == pb.Path && pa.Dir < pb.Dir)
	})
	e := &funcEditor{}
	for _, i := range callers {
		var others []*Function
		for j, q := range pkgs {
			if j != i {
				others = append(others, q.Functions...)
			}
		}
		applyMiddleware(others, pkgs[i].refs, e)
		applyOtelhttp(others, pkgs[i].otelRefs, e)
	}
	if len(e.copies) == 0 {
		return pkgs
	}
	out := make([]*Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = p
		for k, f := range p.Functions {
			c := e.copies[f]
			if c == nil {
				continue
			}
			if out[i] == p {
				q := *p
				q.Functions = slices.Clone(p.Functions)
				out[i] = &q
			}
			out[i].Functions[k] = c
		}
	}
	return out
}

// cleanOverlay returns overlay with absolute, cleaned keys.
func cleanOverlay(overlay map[string][]byte, base string) map[string][]byte {
	if len(overlay) == 0 {
		return nil
	}
	out := make(map[string][]byte, len(overlay))
	for name, content := range overlay {
		out[absClean(name, base)] = content
	}
	return out
}

func absClean(name, base string) string {
	if !filepath.IsAbs(name) {
		name = filepath.Join(base, name)
	}
	return filepath.Clean(name)
}

func hasOverlayIn(overlay map[string][]byte, dir string) bool {
	for name := range overlay {
		if filepath.Dir(name) == dir {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
