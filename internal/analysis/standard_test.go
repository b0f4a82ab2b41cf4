package analysis

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// ImportAt names the package of a qualified identifier, from the package or the function part,
// and nothing when the qualifier may be a local variable shadowing the import.
func TestImportAt(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module shop\n\ngo 1.22\n")
	src := `package shop

import (
	"strings"
	lib "example.com/other/lib"
)

func A() string { return strings.TrimSpace(" x ") + lib.Name() }

func B(strings fake) string { return strings.TrimSpace(" x ") }

func C() string {
	strings := fake{}
	return strings.TrimSpace(" x ")
}

func D() func() string { return func() string { return plain() } }

type fake struct{}

func (fake) TrimSpace(s string) string { return s }

func plain() string { return "" }
`
	file := filepath.Join(dir, "shop.go")
	writeFile(t, file, src)
	p := (&Loader{}).syntaxPackage(dir, nil, nil, "syntax only")
	at := func(needle string, nth int, shift int) int {
		off := -1
		for i := 0; i <= nth; i++ {
			next := strings.Index(src[off+1:], needle)
			if next < 0 {
				t.Fatalf("%q #%d not in the source", needle, nth)
			}
			off += 1 + next
		}
		return off + shift
	}
	for _, c := range []struct {
		name   string
		offset int
		want   string
	}{
		{"on the function part", at("strings.TrimSpace", 0, len("strings.")+2), "strings"},
		{"on the package part", at("strings.TrimSpace", 0, 1), "strings"},
		{"aliased import", at("lib.Name", 0, len("lib.")), "example.com/other/lib"},
		{"a parameter shadows the import", at("strings.TrimSpace", 1, len("strings.")), ""},
		{"a local variable shadows the import", at("strings.TrimSpace", 2, len("strings.")), ""},
		{"a plain call", at("plain()", 0, 1), ""},
		{"not an identifier", at("\" x \"", 0, 1), ""},
	} {
		if got := p.ImportAt(file, c.offset); got != c.want {
			t.Errorf("%s: ImportAt = %q, want %q", c.name, got, c.want)
		}
	}
}

// The standard library is told from GOROOT without the go command; module paths without a dot
// (the module's own, or one GOROOT does not hold) are not taken for it.
func TestIsStandard(t *testing.T) {
	if build.Default.GOROOT == "" {
		t.Fatal("no GOROOT: the standard library cannot be told apart")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module strings/inner\n\ngo 1.22\n")
	writeFile(t, filepath.Join(dir, "p.go"), "package inner\n")
	p := (&Loader{}).syntaxPackage(dir, nil, nil, "syntax only")
	for path, want := range map[string]bool{
		"strings": true, "net/http": true, "C": true,
		"example.com/lib": false, "strings/inner": false, "strings/inner/x": false,
		"shop/api": false, "": false,
	} {
		if got := p.IsStandard(path); got != want {
			t.Errorf("IsStandard(%q) = %v, want %v", path, got, want)
		}
	}
}
