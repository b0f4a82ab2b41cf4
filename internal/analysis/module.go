package analysis

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// moduleInfo locates a module: the directory of its go.mod and the module path declared there.
type moduleInfo struct {
	Root string // "" when no go.mod was found
	Path string // "" when the go.mod has no readable module line
}

// findModule walks up from dir to the nearest go.mod (unsaved overlay content wins over the
// disk) and reads its module line. It does not need the go command, so it works on a go.mod
// the go command rejects, as long as the module line itself is readable.
func findModule(dir string, overlay map[string][]byte) moduleInfo {
	for d := dir; ; {
		gomod := filepath.Join(d, "go.mod")
		data, ok := overlay[gomod]
		if !ok {
			var err error
			data, err = os.ReadFile(gomod)
			ok = err == nil
		}
		if ok {
			return moduleInfo{Root: d, Path: modulePath(data)}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return moduleInfo{}
		}
		d = parent
	}
}

// modulePath returns the path of the first module directive of go.mod content
// (`module example.com/m`, possibly quoted, possibly followed by a comment), or "".
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"' && rest[0] != '`') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if unquoted, err := strconv.Unquote(rest); err == nil {
			rest = unquoted
		}
		if rest != "" && !strings.ContainsAny(rest, " \t(") {
			return rest
		}
	}
	return ""
}

// importPathOf derives the import path of dir from the module containing it, or "" when dir is
// not inside a module with a known path.
func (m moduleInfo) importPathOf(dir string) string {
	if m.Root == "" || m.Path == "" {
		return ""
	}
	rel, err := filepath.Rel(m.Root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return path.Join(m.Path, filepath.ToSlash(rel))
}

// dirOf returns the directory of the package with import path p if it belongs to the module,
// else "".
func (m moduleInfo) dirOf(p string) string {
	if m.Root == "" || m.Path == "" {
		return ""
	}
	if p == m.Path {
		return m.Root
	}
	if rest, ok := strings.CutPrefix(p, m.Path+"/"); ok {
		return filepath.Join(m.Root, filepath.FromSlash(rest))
	}
	return ""
}
