package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pkgMeta is what `go list -deps` says about one package: metadata only. The go command runs
// without -export and without -compiled, so it compiles nothing and runs no C compiler.
type pkgMeta struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	DepOnly    bool
	GoFiles    []string // file names in Dir, cgo files excluded
	CgoFiles   []string // files that import "C": type-checked with a fake "C" package
	// IgnoredGoFiles are left out by build constraints (cgo files too when cgo is disabled).
	IgnoredGoFiles []string
	Imports        []string          // resolved import paths
	ImportMap      map[string]string // import path in the source → resolved path (vendoring)
	Module         *struct {
		Path      string
		Dir       string
		GoVersion string
	}
	Error *struct {
		Err string
	}
	DepsErrors []*struct {
		Err string
	}
}

// files returns the absolute paths of the files the build compiles.
func (m *pkgMeta) files() []string {
	out := make([]string, 0, len(m.GoFiles)+len(m.CgoFiles))
	for _, f := range slices.Concat(m.GoFiles, m.CgoFiles) {
		out = append(out, filepath.Join(m.Dir, f))
	}
	sort.Strings(out)
	return out
}

// resolve maps an import path as written in m's source to the package it denotes.
func (m *pkgMeta) resolve(path string) string {
	if r, ok := m.ImportMap[path]; ok {
		return r
	}
	return path
}

// metaFields are the go list fields the analysis reads.
const metaFields = "ImportPath,Name,Dir,Standard,DepOnly,GoFiles,CgoFiles,IgnoredGoFiles,Imports,ImportMap,Module,Error,DepsErrors"

// metadataTTL is how long a module's package graph is reused without asking the go command
// again while the requested packages' files and imports are unchanged. Changes on disk to the
// dependencies' file lists (not their content, which is checked on every load) show up after it.
const metadataTTL = time.Minute

// moduleGraph is the package graph of one module (or workspace directory), merged from the go
// list runs made in it. Concurrent requests for packages the graph lacks are batched into one
// go list run while another runs.
type moduleGraph struct {
	dir string

	mu      sync.Mutex
	pkgs    map[string]*pkgMeta // import path → metadata
	byDir   map[string]*pkgMeta // directory → the (non-test) package there
	listed  map[string]time.Time
	running chan struct{} // closed when the current go list run ends; nil when none runs
	pending map[string]bool
	lastErr error
}

func newModuleGraph(dir string) *moduleGraph {
	return &moduleGraph{dir: dir, pkgs: map[string]*pkgMeta{}, byDir: map[string]*pkgMeta{}, listed: map[string]time.Time{}}
}

// fresh reports whether dir's package is in the graph, listed less than metadataTTL ago, with the
// same files and imports as the sources now have (overlay included).
func (g *moduleGraph) freshLocked(dir string, overlay map[string][]byte) bool {
	m := g.byDir[dir]
	if m == nil || time.Since(g.listed[dir]) > metadataTTL {
		return false
	}
	files := goFilesIn(dir, overlay)
	known := map[string]bool{}
	for _, f := range slices.Concat(m.GoFiles, m.CgoFiles, m.IgnoredGoFiles) {
		known[filepath.Join(m.Dir, f)] = true
	}
	imports := map[string]bool{}
	for _, imp := range m.Imports {
		imports[imp] = true
	}
	for _, f := range files {
		if !known[f] {
			return false // a new file
		}
		src, err := readSource(f, overlay)
		if err != nil {
			return false
		}
		for _, imp := range importsOf(src) {
			if imp != "C" && !imports[m.resolve(imp)] {
				return false
			}
		}
	}
	return true
}

// packages returns the metadata of the packages in dirs and of everything they import, running
// go list for the directories whose metadata is missing or stale. It runs at most one go list at
// a time per graph; requests arriving meanwhile are batched into the next run.
func (g *moduleGraph) packages(ctx context.Context, l *Loader, dirs []string, overlay map[string][]byte) (map[string]*pkgMeta, error) {
	for {
		g.mu.Lock()
		var missing []string
		for _, d := range dirs {
			if !g.freshLocked(d, overlay) {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			out := g.pkgs
			g.mu.Unlock()
			return out, nil
		}
		if g.running != nil {
			// Join the next run: it lists everything requested while this one runs.
			if g.pending == nil {
				g.pending = map[string]bool{}
			}
			for _, d := range missing {
				g.pending[d] = true
			}
			wait := g.running
			g.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			g.mu.Lock()
			err := g.lastErr
			covered := true
			for _, d := range missing {
				if g.byDir[d] == nil {
					covered = false
				}
			}
			g.mu.Unlock()
			if err != nil && !covered {
				return nil, err
			}
			if covered {
				g.mu.Lock()
				out := g.pkgs
				g.mu.Unlock()
				return out, nil
			}
			continue
		}
		for d := range g.pending {
			if !slices.Contains(missing, d) {
				missing = append(missing, d)
			}
		}
		g.pending = nil
		done := make(chan struct{})
		g.running = done
		g.mu.Unlock()

		metas, err := l.goList(ctx, g.dir, missing, overlay)

		g.mu.Lock()
		g.lastErr = err
		if err == nil {
			// A fresh graph of the listed packages and their dependencies replaces theirs.
			next := make(map[string]*pkgMeta, len(g.pkgs)+len(metas))
			for p, m := range g.pkgs {
				next[p] = m
			}
			now := time.Now()
			for _, m := range metas {
				next[m.ImportPath] = m
				if m.Dir != "" && !strings.HasSuffix(m.ImportPath, ".test") {
					g.byDir[m.Dir] = m
				}
			}
			for _, d := range missing {
				g.listed[d] = now
			}
			g.pkgs = next
		}
		g.running = nil
		close(done)
		out := g.pkgs
		g.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// goList runs `go list -e -deps` on dirs (metadata only) with overlay applied.
func (l *Loader) goList(ctx context.Context, dir string, patterns []string, overlay map[string][]byte) ([]*pkgMeta, error) {
	args := []string{"list", "-e", "-deps", "-json=" + metaFields}
	if len(overlay) > 0 {
		file, cleanup, err := writeOverlay(overlay)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		args = append(args, "-overlay="+file)
	}
	args = append(args, "--")
	args = append(args, patterns...)
	out, err := runGo(ctx, dir, l.Env, args...)
	if err != nil {
		return nil, err
	}
	var metas []*pkgMeta
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		m := new(pkgMeta)
		if err := dec.Decode(m); err != nil {
			return nil, fmt.Errorf("reading go list output: %v", err)
		}
		metas = append(metas, m)
	}
	return metas, nil
}

// writeOverlay writes overlay in the go command's -overlay format (a JSON file mapping each path
// to a file holding its content) into a temporary directory removed by cleanup.
func writeOverlay(overlay map[string][]byte) (string, func(), error) {
	removeStaleOverlays.Do(func() { removeOverlaysOfEndedServers(os.TempDir()) })
	dir, err := os.MkdirTemp("", overlayPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	replace := map[string]string{}
	for i, name := range sortedKeys(overlay) {
		tmp := filepath.Join(dir, strconv.Itoa(i)+".go")
		if err := os.WriteFile(tmp, overlay[name], 0o600); err != nil {
			cleanup()
			return "", nil, err
		}
		replace[name] = tmp
	}
	data, _ := json.Marshal(map[string]any{"Replace": replace})
	file := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	return file, cleanup, nil
}

// overlayPrefix starts the name of every overlay directory, followed by the writing server's
// process id and a dash.
const overlayPrefix = "am-lsp-overlay-"

var removeStaleOverlays sync.Once

// removeOverlaysOfEndedServers removes the overlay directories in tmp whose server process has
// ended. A server removes its own after each go command; one killed during a load (an editor that
// gives up waiting for shutdown) cannot, so the next server sweeps them once. Directories of
// running servers, and names it cannot read, are left alone.
func removeOverlaysOfEndedServers(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), overlayPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}
