package analysis

import (
	"bytes"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// syntaxPackage analyses a directory without the go command: it parses the Go files of dir that
// the default build context selects (or exactly the files in only, when not nil), with overlay
// content winning over the disk, and detects from syntax. The package path is derived from the
// nearest go.mod; reason becomes Package.Degraded.
func (l *Loader) syntaxPackage(dir string, only []string, overlay map[string][]byte, reason string) *Package {
	p := &Package{
		Dir:        dir,
		Degraded:   reason,
		SyntaxOnly: true,
		fset:       token.NewFileSet(),
		syntax:     map[string]*ast.File{},
		module:     findModule(dir, overlay),
		overlay:    overlay,
		loader:     l,
	}
	names := only
	if names == nil {
		names = goFilesIn(dir, overlay)
	}
	type parsed struct {
		name string
		file *ast.File
	}
	var files []parsed
	count := map[string]int{}
	for _, name := range names {
		src, err := readSource(name, overlay)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
			continue
		}
		f, err := parser.ParseFile(p.fset, name, src, parseMode)
		if err != nil {
			p.Errors = append(p.Errors, err.Error())
		}
		if f == nil || f.Name == nil {
			continue
		}
		files = append(files, parsed{name, f})
		if !strings.HasSuffix(f.Name.Name, "_test") || only != nil {
			count[f.Name.Name]++
		}
	}
	// A directory holds one package; ignore files that disagree with the majority (an external
	// test package, a stray file), keeping the first name seen on ties.
	for _, f := range files {
		if n := f.file.Name.Name; p.Name == "" || count[n] > count[p.Name] {
			p.Name = n
		}
	}
	var syntax []*ast.File
	for _, f := range files {
		if f.file.Name.Name == p.Name {
			p.Files = append(p.Files, f.name)
			p.syntax[f.name] = f.file
			syntax = append(syntax, f.file)
		}
	}
	p.Path = p.module.importPathOf(dir)
	if p.Path == "" {
		p.Path = p.Name
		if p.module.Root == "" {
			p.Degraded += "; no go.mod was found, so the module label may be wrong"
		} else {
			p.Degraded += "; the go.mod has no readable module line, so the module label may be wrong"
		}
	}
	p.Functions, p.refs, p.otelRefs = detectPackage(p.fset, syntax, p.Path, p.Name, nil)
	return p
}

// goFilesIn lists the Go files of dir the default build context would compile (tests excluded),
// files present only in the overlay included, sorted.
func goFilesIn(dir string, overlay map[string][]byte) []string {
	set := map[string]bool{}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				set[filepath.Join(dir, e.Name())] = true
			}
		}
	}
	for name := range overlay {
		if filepath.Dir(name) == dir {
			set[name] = true
		}
	}
	ctxt := build.Default
	ctxt.OpenFile = func(path string) (io.ReadCloser, error) {
		src, err := readSource(path, overlay)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(src)), nil
	}
	var out []string
	for _, name := range sortedKeys(set) {
		base := filepath.Base(name)
		if !strings.HasSuffix(base, ".go") || strings.HasSuffix(base, "_test.go") {
			continue
		}
		if ok, err := ctxt.MatchFile(dir, base); err == nil && !ok {
			continue
		}
		out = append(out, name)
	}
	return out
}

// readSource returns the overlay content of name, else the file on disk.
func readSource(name string, overlay map[string][]byte) ([]byte, error) {
	if src, ok := overlay[name]; ok {
		return src, nil
	}
	return os.ReadFile(name)
}

// expandPatterns turns go list patterns into directories without the go command: "./x",
// "./x/...", "." and absolute directories, and import paths inside the module containing base.
// Recursive patterns skip testdata, vendor, directories starting with '.' or '_', and nested
// modules. Other patterns are dropped.
func expandPatterns(base string, patterns []string, overlay map[string][]byte) []string {
	mod := findModule(base, overlay)
	seen := map[string]bool{}
	var dirs []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	for _, pat := range patterns {
		pat, recursive := strings.CutSuffix(pat, "/...")
		if pat == "..." {
			pat, recursive = ".", true
		}
		var dir string
		switch {
		case filepath.IsAbs(pat):
			dir = filepath.Clean(pat)
		case pat == "." || pat == ".." || strings.HasPrefix(pat, "./") || strings.HasPrefix(pat, "../"):
			dir = filepath.Join(base, pat)
		default:
			dir = mod.dirOf(pat)
		}
		if dir == "" {
			continue
		}
		if !recursive {
			add(dir)
			continue
		}
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if path != dir {
				name := d.Name()
				if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			add(path)
			return nil
		})
	}
	return dirs
}
