package analysis

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/tools/go/gcexportdata"
)

// How packages get their types
//
// am-lsp needs little from type information: which function a call reaches, receiver types,
// import aliases. So it never compiles anything. The go command is asked for metadata only (go
// list -deps, see metadata.go); the packages that contain requested files (the roots) are
// type-checked from source with function bodies; every package they depend on is type-checked
// from source once, without function bodies, and its types are kept as export data in memory and
// on disk (typeCache), under a key that hashes its files (size and modification time, or the
// content of unsaved buffers) and its dependencies' keys. A root is checked against its direct
// imports read from that export data; the imported packages are kept between checks, so after an
// edit only the edited package is checked again, from source. Like gopls, which keeps export
// data of the packages it checked in a file cache keyed by content, the first load of a large
// module pays for checking its dependencies once; later loads and restarts read them back.

// typeCacheFormat changes whenever the key or the export data format changes.
const typeCacheFormat = "am-lsp types 1"

// memCacheLimit bounds the export data kept in memory when the disk cache works (it holds the
// rest); without a disk cache everything stays in memory.
const memCacheLimit = 64 << 20

// checkSlots caps concurrent type checks across the process, leaving a core for answering the
// editor; background checks (LoadPatterns: reports, the workspace sweep) yield to the loads of
// open files, and pause while the editor's requests are being answered (Answering).
var checkSlots = newSlots(max(1, runtime.NumCPU()-1))

// Answering notes that an editor request is being answered now. Background type checks do not
// start another package until no request has arrived for a short quiet period (50 ms); while
// requests keep coming, one background package starts per second, so a steady stream of
// requests slows a sweep without stopping it. It costs a clock read and one atomic store; the
// LSP layer calls it for every request.
func Answering() { checkSlots.answering() }

// slots is a counting semaphore where foreground holders go first, and background holders
// also wait for a pause in the editor's requests.
type slots struct {
	mu         sync.Mutex
	cond       *sync.Cond
	free       int
	foreground int // foreground callers waiting

	lastRequest atomic.Int64  // UnixNano of the newest Answering call
	lastPass    atomic.Int64  // UnixNano when a background caller last went ahead during requests
	quiet       time.Duration // the pause in requests background callers wait for
	passEvery   time.Duration // while requests keep coming, one background caller goes ahead this often
	clock       clock         // what the waiting for quiet and for a turn reads and sleeps on
}

// clock is the time source of slots: the system clock in the product, a clock the test moves
// by hand in the tests (so that they neither sleep nor depend on how fast the machine is).
type clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a function that stops
	// the timer (as time.Timer's Stop).
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// systemClock is the time package's clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func newSlots(n int) *slots {
	s := &slots{free: n, quiet: 50 * time.Millisecond, passEvery: time.Second, clock: systemClock{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *slots) answering() { s.lastRequest.Store(s.clock.Now().UnixNano()) }

// yieldToRequests waits until no request has arrived for quiet, or until it is this caller's
// turn to go ahead anyway (one caller per passEvery among all background callers). It gives up
// when ctx ends.
func (s *slots) yieldToRequests(ctx context.Context) error {
	for {
		now := s.clock.Now()
		wait := time.Unix(0, s.lastRequest.Load()).Add(s.quiet).Sub(now)
		if wait <= 0 {
			return nil
		}
		last := s.lastPass.Load()
		turn := time.Unix(0, last).Add(s.passEvery).Sub(now)
		if turn <= 0 && s.lastPass.CompareAndSwap(last, now.UnixNano()) {
			return nil
		}
		fired, stop := s.clock.NewTimer(max(min(wait, turn), time.Millisecond))
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-fired:
		}
	}
}

// acquire takes a slot, waiting while none is free (and, for background callers, while a
// foreground caller waits or the editor's requests are being answered). It gives up when ctx
// ends.
func (s *slots) acquire(ctx context.Context, background bool) error {
	if background {
		if err := s.yieldToRequests(ctx); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !background {
		s.foreground++
		defer func() {
			s.foreground--
			if s.foreground == 0 && s.free > 0 {
				// Background waiters held back by this caller may go, also when it leaves
				// without a slot (cancelled as a slot was released): none would wake them.
				s.cond.Broadcast()
			}
		}()
	}
	for s.free == 0 || (background && s.foreground > 0) {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cond.Wait()
	}
	// Woken by a release, or free from the start: a cancelled caller takes no slot either (each
	// waiter of a cancelled load would otherwise run its check in turn).
	if err := ctx.Err(); err != nil {
		return err
	}
	s.free--
	return nil
}

func (s *slots) release() {
	s.mu.Lock()
	s.free++
	s.cond.Broadcast()
	s.mu.Unlock()
}

// typeCache holds export data of type-checked packages by key.
type typeCache struct {
	dir string // "" when there is no usable disk cache

	mu      sync.Mutex
	mem     map[string][]byte
	memSize int
	flight  map[string]*flight
	stamps  map[string]stamp // file → last stat, for dependencies' files
	roots   map[string]*rootState
	results map[string]rootResult // root import path → newest checked package
}

type flight struct {
	done chan struct{}
	data []byte
	err  error
}

type stamp struct {
	at  time.Time // when it was read
	sum string
}

// rootResult is the newest typed Package of a root and its key.
type rootResult struct {
	key string
	pkg *Package
}

// rootState keeps the imported packages a root was checked against, so that the next check of
// the same root (after an edit) does not read them again.
type rootState struct {
	mu   sync.Mutex // held during a check: the importer fills view
	deps string     // keys of the direct imports
	fset *token.FileSet
	view map[string]*types.Package
	uses int
}

// maxRootStateUses bounds how often a root's imports are reused: every check parses the root's
// files into the same FileSet, which only grows.
const maxRootStateUses = 200

func (c *typeCache) init() {
	if c.mem == nil {
		c.mem = map[string][]byte{}
		c.flight = map[string]*flight{}
		c.stamps = map[string]stamp{}
		c.roots = map[string]*rootState{}
		c.results = map[string]rootResult{}
	}
}

func (c *typeCache) get(key string) []byte {
	c.mu.Lock()
	data, ok := c.mem[key]
	c.mu.Unlock()
	if ok || c.dir == "" {
		return data
	}
	file := c.file(key)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	if st, err := os.Stat(file); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
		now := time.Now()
		_ = os.Chtimes(file, now, now) // recently used entries survive pruning
	}
	c.remember(key, data)
	return data
}

func (c *typeCache) remember(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != "" && c.memSize+len(data) > memCacheLimit {
		clear(c.mem)
		c.memSize = 0
	}
	c.mem[key] = data
	c.memSize += len(data)
}

func (c *typeCache) put(key string, data []byte) {
	c.remember(key, data)
	if c.dir == "" {
		return
	}
	file := c.file(key)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}

func (c *typeCache) file(key string) string { return filepath.Join(c.dir, key[:2], key) }

// typeCachePruneAge is how long an unused disk cache entry is kept.
const typeCachePruneAge = 10 * 24 * time.Hour

// pruneRuns records, per type cache directory, that this process pruned it or is pruning it:
// a directory is walked once per process, whichever Loader opens it first (the workspace
// sweep makes a Loader per reload, each with a type cache of its own).
var pruneRuns struct {
	mu   sync.Mutex
	dirs map[string]bool
}

// prune removes the disk entries of dir unused for typeCachePruneAge, once per process, in the
// background, as a piece of l's work (one directory walk): l.Wait waits for it as for a
// load. It does nothing when dir is "" or l is shutting down (Wait was called), leaving dir
// to the next Loader that opens it.
func prune(l *Loader, dir string) {
	if dir == "" {
		return
	}
	pruneRuns.mu.Lock()
	if pruneRuns.dirs[dir] {
		pruneRuns.mu.Unlock()
		return
	}
	if !l.running.start() {
		pruneRuns.mu.Unlock()
		return
	}
	if pruneRuns.dirs == nil {
		pruneRuns.dirs = map[string]bool{}
	}
	pruneRuns.dirs[dir] = true
	pruneRuns.mu.Unlock()
	go func() {
		defer l.running.done()
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > typeCachePruneAge {
				os.Remove(path)
			}
			return nil
		})
	}()
}

// checkSession type-checks packages of one metadata graph with one overlay.
type checkSession struct {
	ctx     context.Context
	cache   *typeCache
	metas   map[string]*pkgMeta
	overlay map[string][]byte
	roots   map[string]bool // root import paths: their files are stamped afresh on every load
	std     map[string]bool // standard library import paths among metas
	// background: checks yield to foreground ones, and roots keep only their functions.
	background bool

	mu   sync.Mutex
	keys map[string]string
}

// key returns the cache key of the package at path: a hash of its files and of its imports'
// keys. Files of open documents count by content, other files by size and modification time.
func (s *checkSession) key(path string) string {
	s.mu.Lock()
	k, ok := s.keys[path]
	s.mu.Unlock()
	if ok {
		return k
	}
	m := s.metas[path]
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", typeCacheFormat, runtime.Version(), runtime.GOARCH, path)
	if m != nil {
		for _, f := range m.files() {
			fmt.Fprintf(h, "f %s %s\x00", f, s.stampOf(f, s.roots[path]))
		}
		if m.Error != nil {
			fmt.Fprintf(h, "e %s\x00", m.Error.Err)
		}
		imports := append([]string(nil), m.Imports...)
		sort.Strings(imports)
		for _, imp := range imports {
			fmt.Fprintf(h, "i %s %s\x00", imp, s.key(imp))
		}
	}
	k = hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[string]string{}
	}
	s.keys[path] = k
	s.mu.Unlock()
	return k
}

// stampOf identifies the content of file: a hash of the overlay content, else size and
// modification time (re-read at most once per metadataTTL for dependencies).
func (s *checkSession) stampOf(file string, root bool) string {
	if src, ok := s.overlay[file]; ok {
		sum := sha256.Sum256(src)
		return "o" + hex.EncodeToString(sum[:])
	}
	c := s.cache
	if !root {
		c.mu.Lock()
		st, ok := c.stamps[file]
		c.mu.Unlock()
		if ok && time.Since(st.at) < metadataTTL {
			return st.sum
		}
	}
	sum := "missing"
	if info, err := os.Stat(file); err == nil {
		sum = fmt.Sprintf("d%d.%d", info.Size(), info.ModTime().UnixNano())
	}
	c.mu.Lock()
	c.stamps[file] = stamp{at: time.Now(), sum: sum}
	c.mu.Unlock()
	return sum
}

// exportData returns the export data of the package at path, type-checking it (without function
// bodies) and its dependencies first when the cache lacks them. Dependencies are checked in
// parallel, up to the process's check slots.
func (s *checkSession) exportData(path string) ([]byte, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err // cancelled: not even the key (a stat of every file) is worked out
	}
	m := s.metas[path]
	if m == nil {
		return nil, fmt.Errorf("the go command did not list %s", path)
	}
	if len(m.GoFiles)+len(m.CgoFiles) == 0 {
		if m.Error != nil {
			return nil, errors.New(firstLine(m.Error.Err))
		}
		return nil, fmt.Errorf("%s has no Go files", path)
	}
	key := s.key(path)
	if data := s.cache.get(key); data != nil {
		return data, nil
	}
	c := s.cache
	c.mu.Lock()
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.data, f.err
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()

	f.data, f.err = s.checkDependency(m)
	if f.err == nil {
		c.put(key, f.data)
	}
	c.mu.Lock()
	delete(c.flight, key)
	c.mu.Unlock()
	close(f.done)
	return f.data, f.err
}

// checkDependency type-checks m without function bodies and returns its export data.
func (s *checkSession) checkDependency(m *pkgMeta) ([]byte, error) {
	deps := s.importsData(m)
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range m.files() {
		// Parsing a large package takes longer than checking it: a cancelled load stops here
		// rather than keep its Loader's Wait (and the server's exit) waiting.
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		src, err := readSource(name, s.overlay)
		if err != nil {
			continue
		}
		if f, _ := parser.ParseFile(fset, name, src, parser.SkipObjectResolution); f != nil {
			files = append(files, f)
		}
	}
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	conf := s.config(m, fset, map[string]*types.Package{}, deps, nil)
	conf.IgnoreFuncBodies = true
	pkg, _ := conf.Check(m.ImportPath, fset, files, nil)
	var buf bytes.Buffer
	if err := gcexportdata.Write(&buf, fset, pkg); err != nil {
		return nil, fmt.Errorf("writing export data of %s: %v", m.ImportPath, err)
	}
	return buf.Bytes(), nil
}

// importsData gets the export data of m's imports, in parallel.
func (s *checkSession) importsData(m *pkgMeta) map[string]depData {
	out := make(map[string]depData, len(m.Imports))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, imp := range m.Imports {
		if imp == "unsafe" || imp == "C" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := s.exportData(imp)
			mu.Lock()
			out[imp] = depData{data, err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

type depData struct {
	data []byte
	err  error
}

func (s *checkSession) acquire() error { return checkSlots.acquire(s.ctx, s.background) }

func (s *checkSession) release() { checkSlots.release() }

// config is the types.Config of every check: errors collected rather than fatal, cgo's "C"
// faked (no C compiler runs), imports read from export data into view.
func (s *checkSession) config(m *pkgMeta, fset *token.FileSet, view map[string]*types.Package, deps map[string]depData, errs *[]string) *types.Config {
	return &types.Config{
		FakeImportC: true,
		Sizes:       types.SizesFor("gc", runtime.GOARCH),
		Error: func(err error) {
			if errs != nil && len(*errs) < 100 {
				*errs = append(*errs, err.Error())
			}
		},
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if path == "unsafe" {
				return types.Unsafe, nil
			}
			path = m.resolve(path)
			if p := view[path]; p != nil && p.Complete() {
				return p, nil
			}
			d, ok := deps[path]
			if !ok {
				return nil, fmt.Errorf("the go command did not list %s", path)
			}
			if d.err != nil {
				return nil, d.err
			}
			return gcexportdata.Read(bytes.NewReader(d.data), fset, view, path)
		}),
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// checkRoot type-checks the package m with function bodies and type information for FunctionAt,
// reusing the packages imported by the previous check of the same package when their keys are
// unchanged, and the previous result when nothing it depends on changed.
func (s *checkSession) checkRoot(l *Loader, m *pkgMeta) *Package {
	key := s.key(m.ImportPath)
	c := s.cache
	for {
		c.mu.Lock()
		if r, ok := c.results[m.ImportPath]; ok && r.key == key {
			c.mu.Unlock()
			return r.pkg
		}
		// Concurrent loads of the same content (a hundred files of one package opened at once)
		// share one check.
		f, running := c.flight["root "+key]
		if !running {
			f = &flight{done: make(chan struct{})}
			c.flight["root "+key] = f
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-s.ctx.Done():
			return nil
		}
	}
	defer func() {
		c.mu.Lock()
		f := c.flight["root "+key]
		delete(c.flight, "root "+key)
		c.mu.Unlock()
		close(f.done)
	}()

	deps := s.importsData(m)
	if s.ctx.Err() != nil {
		return nil
	}
	var depKeys strings.Builder
	for _, imp := range sortedKeys(deps) {
		fmt.Fprintf(&depKeys, "%s %s\n", imp, s.key(imp))
	}
	c.mu.Lock()
	st := c.roots[m.ImportPath]
	if st == nil || st.deps != depKeys.String() || st.uses >= maxRootStateUses || s.background {
		st = &rootState{deps: depKeys.String(), fset: token.NewFileSet(), view: map[string]*types.Package{}}
		if !s.background {
			c.roots[m.ImportPath] = st
		}
	}
	st.uses++
	c.mu.Unlock()

	if s.acquire() != nil {
		return nil
	}
	defer s.release()
	p := &Package{
		Path:     m.ImportPath,
		Name:     m.Name,
		Dir:      m.Dir,
		fset:     st.fset,
		syntax:   map[string]*ast.File{},
		sources:  map[string][]byte{},
		overlay:  s.overlay,
		loader:   l,
		standard: s.std,
	}
	var files []*ast.File
	for _, name := range m.files() {
		src, err := readSource(name, s.overlay)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
			continue
		}
		f, err := parser.ParseFile(st.fset, name, src, parseMode)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
		}
		if f != nil {
			p.Files = append(p.Files, name)
			p.syntax[name] = f
			p.sources[name] = src
			files = append(files, f)
		}
	}
	var typeErrs []string
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Types: map[ast.Expr]types.TypeAndValue{}}
	st.mu.Lock()
	pkg, _ := s.config(m, st.fset, st.view, deps, &typeErrs).Check(m.ImportPath, st.fset, files, info)
	st.mu.Unlock()
	p.info, p.types = info, pkg
	p.module = findModule(p.Dir, s.overlay)
	if m.Error != nil {
		p.Errors = append(p.Errors, m.Error.Err)
		p.Degraded = "the go command reports a problem with this package (" + firstLine(m.Error.Err) + "); type information is incomplete"
	}
	p.Errors = append(p.Errors, typeErrs...)
	if p.Degraded == "" {
		p.Degraded = importFailure(typeErrs)
	}
	p.Functions, p.refs, p.otelRefs = detectPackage(p.fset, files, p.Path, p.Name, p.info)

	var buf bytes.Buffer
	if gcexportdata.Write(&buf, st.fset, pkg) == nil {
		c.put(key, buf.Bytes()) // dependents of this package need not check it again
	}
	if s.background {
		// Reports and sweeps read functions only: drop what FunctionAt would need.
		p.syntax, p.info, p.types, p.sources = nil, nil, nil, nil
		return p
	}
	c.mu.Lock()
	c.results[m.ImportPath] = rootResult{key: key, pkg: p}
	c.mu.Unlock()
	return p
}

// importFailure says why type information is incomplete when an import could not be read, or
// "" (ordinary type errors such as an undefined name mid-edit do not count).
func importFailure(typeErrs []string) string {
	for _, e := range typeErrs {
		_, msg, _ := strings.Cut(e, ": ")
		if rest, ok := strings.CutPrefix(msg, "could not import "); ok {
			imported, _, _ := strings.Cut(rest, " ")
			return fmt.Sprintf("cannot import %s (is it required in go.mod and downloaded?); type information is incomplete, instrumentation is detected from syntax", imported)
		}
	}
	return ""
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// importsOf returns the import paths of a Go source file, or nil when its header does not parse.
func importsOf(src []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly|parser.SkipObjectResolution)
	if err != nil && f == nil {
		return nil
	}
	var out []string
	for _, spec := range f.Imports {
		if p, err := strconv.Unquote(spec.Path.Value); err == nil {
			out = append(out, p)
		}
	}
	return out
}
