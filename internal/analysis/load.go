package analysis

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/tools/go/packages"
)

// DefaultTimeout bounds one Load when Loader.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Loader loads packages with go/packages and detects their functions. The zero value is ready
// to use; a Loader must not be copied after first use. It is safe for concurrent use.
type Loader struct {
	// Dir is the workspace directory: where LoadPatterns runs the go command, and the fallback
	// for files outside any module. "" means the current directory.
	Dir string
	// Timeout bounds each Load or LoadPatterns call, go command included (DefaultTimeout if 0).
	// When it expires the call returns syntax-only results; the go command is left to finish
	// warming the build cache in the background (see goPackages).
	Timeout time.Duration
	// Env holds extra KEY=VALUE settings for the go command, added to the process environment.
	Env []string

	cache fileCache // syntax-only detections of files in other packages, for FunctionAt

	mu      sync.Mutex
	warming map[string]bool // directories where an abandoned go command still runs
}

// parseMode is how every file is parsed, by go/packages and by the syntax-only fallback.
const parseMode = parser.ParseComments | parser.AllErrors | parser.SkipObjectResolution

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

// config is the one go/packages configuration the analysis uses.
func (l *Loader) config(ctx context.Context, dir string, overlay map[string][]byte) *packages.Config {
	return &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
			packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule,
		Context: ctx,
		Dir:     dir,
		Env:     append(os.Environ(), l.Env...),
		Overlay: overlay,
		Tests:   false,
		ParseFile: func(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
			return parser.ParseFile(fset, filename, src, parseMode)
		},
	}
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
		pkgs, reason := l.goPackages(ctx, deadline, runDir, g.dirs, overlay)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reason != "" {
			for _, dir := range g.dirs {
				out = append(out, l.syntaxPackage(dir, nil, overlay, reason))
			}
			continue
		}
		loaded := l.convert(pkgs, overlay)
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
	linkMiddleware(out)
	return out, nil
}

// LoadPatterns is Load for go list patterns such as "./..." (relative to Dir), used by the
// `am-lsp report` command. If the go command fails or times out, directory patterns ("./x",
// "./x/...", absolute directories, import paths inside Dir's module) are expanded by walking
// the file system, skipping testdata, vendor, hidden directories and nested modules.
func (l *Loader) LoadPatterns(ctx context.Context, patterns []string, overlay map[string][]byte) ([]*Package, error) {
	overlay = cleanOverlay(overlay, l.dir())
	pkgs, reason := l.goPackages(ctx, time.Now().Add(l.timeout()), l.dir(), patterns, overlay)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var out []*Package
	if reason != "" {
		for _, dir := range expandPatterns(l.dir(), patterns, overlay) {
			if p := l.syntaxPackage(dir, nil, overlay, reason); len(p.Files) > 0 {
				out = append(out, p)
			}
		}
	} else {
		out = l.convert(pkgs, overlay)
	}
	linkMiddleware(out)
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
	linkMiddleware(out)
	return out
}

// goPackages runs go/packages in dir. It returns the root packages, or a user-readable reason
// why the go command gave nothing usable. It returns by deadline even if the go command has not
// exited yet.
//
// The go command is killed when ctx is cancelled, but not at deadline: it may be building export
// data of dependencies for the first time (seconds for net/http on a cold build cache), and
// killing it would make every later load time out too. It is left running, up to warmupLimit,
// to fill the build cache, and until it exits further loads in dir come from syntax alone
// rather than queue more go commands behind it.
func (l *Loader) goPackages(ctx context.Context, deadline time.Time, dir string, patterns []string, overlay map[string][]byte) ([]*packages.Package, string) {
	if l.busy(dir) {
		return nil, "the go command is still busy with an earlier load of this module (a first build of the dependencies?); results come from syntax alone until it finishes"
	}
	runCtx, cancelRun := context.WithTimeout(context.WithoutCancel(ctx), max(warmupLimit, 4*l.timeout()))
	stopCancelOnCaller := context.AfterFunc(ctx, cancelRun)
	release := func() {
		stopCancelOnCaller()
		cancelRun()
	}
	type result struct {
		pkgs []*packages.Package
		err  error
	}
	done := make(chan result, 1)
	go func() {
		pkgs, err := packages.Load(l.config(runCtx, dir, overlay), patterns...)
		done <- result{pkgs, err}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case r := <-done:
		release()
		if r.err != nil {
			if ctx.Err() != nil {
				return nil, "the load was cancelled"
			}
			return nil, "the go command failed (" + summarizeGoError(r.err) + "); results come from syntax alone"
		}
		return r.pkgs, ""
	case <-ctx.Done():
		release()
		return nil, "the load was cancelled"
	case <-timer.C:
		l.setBusy(dir, true)
		go func() {
			<-done
			release()
			l.setBusy(dir, false)
		}()
		return nil, fmt.Sprintf("the go command did not finish within %v; results come from syntax alone", l.timeout())
	}
}

// warmupLimit bounds how long a go command may run after its Load gave up waiting.
const warmupLimit = 5 * time.Minute

func (l *Loader) busy(dir string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warming[dir]
}

func (l *Loader) setBusy(dir string, busy bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.warming == nil {
		l.warming = map[string]bool{}
	}
	if busy {
		l.warming[dir] = true
	} else {
		delete(l.warming, dir)
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

// convert turns go/packages results into Packages. A package without syntax (the go command
// could not list it) is analysed from syntax alone when its directory is known.
func (l *Loader) convert(pkgs []*packages.Package, overlay map[string][]byte) []*Package {
	var out []*Package
	for _, lp := range pkgs {
		if len(lp.Syntax) == 0 || lp.Fset == nil {
			dir := lp.Dir
			if dir == "" && len(lp.GoFiles) > 0 {
				dir = filepath.Dir(lp.GoFiles[0])
			}
			if dir != "" {
				reason := "the go command could not load this package"
				if len(lp.Errors) > 0 {
					reason += " (" + lp.Errors[0].Msg + ")"
				}
				if p := l.syntaxPackage(dir, nil, overlay, reason+"; results come from syntax alone"); len(p.Files) > 0 {
					out = append(out, p)
				}
			}
			continue
		}
		p := &Package{
			Path:    lp.PkgPath,
			Name:    lp.Name,
			Dir:     lp.Dir,
			fset:    lp.Fset,
			syntax:  map[string]*ast.File{},
			info:    lp.TypesInfo,
			types:   lp.Types,
			overlay: overlay,
			loader:  l,
		}
		for _, f := range lp.Syntax {
			if tf := lp.Fset.File(f.FileStart); tf != nil {
				name := filepath.Clean(tf.Name())
				p.Files = append(p.Files, name)
				p.syntax[name] = f
			}
		}
		if p.Dir == "" && len(p.Files) > 0 {
			p.Dir = filepath.Dir(p.Files[0])
		}
		p.module = findModule(p.Dir, overlay)
		for _, e := range lp.Errors {
			p.Errors = append(p.Errors, e.Error())
		}
		p.Degraded = degradedReason(lp)
		p.Functions, p.refs, p.otelRefs = detectPackage(p.fset, lp.Syntax, p.Path, p.Name, p.info)
		out = append(out, p)
	}
	return out
}

// degradedReason says why a type-checked package's type information is incomplete, or "" when
// it is complete enough (ordinary type errors such as an undefined name mid-edit do not count).
func degradedReason(lp *packages.Package) string {
	for _, e := range lp.Errors {
		if e.Kind == packages.ListError {
			return "the go command reports a problem with this package (" + e.Msg + "); type information is incomplete"
		}
	}
	for _, e := range lp.Errors {
		if e.Kind != packages.TypeError {
			continue
		}
		if rest, ok := strings.CutPrefix(e.Msg, "could not import "); ok {
			imported, _, _ := strings.Cut(rest, " ")
			return fmt.Sprintf("cannot import %s (is it required in go.mod and downloaded?); type information is incomplete, instrumentation is detected from syntax", imported)
		}
	}
	return ""
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
		}
		out = append(out, l.syntaxPackage(dir, byDir[dir], overlay, reason))
	}
	return out
}

// linkMiddleware applies every package's midhttp.Autometrics calls to the functions of all the
// packages loaded together.
func linkMiddleware(pkgs []*Package) {
	var (
		funcs []*Function
		refs  []middlewareRef
		orefs []otelhttpRef
	)
	for _, p := range pkgs {
		funcs = append(funcs, p.Functions...)
		refs = append(refs, p.refs...)
		orefs = append(orefs, p.otelRefs...)
	}
	applyMiddleware(funcs, refs)
	applyOtelhttp(funcs, orefs)
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
