package instrument

import (
	"go/ast"
	"strings"
	"testing"
)

// TestOutsideTellsLocalsFromTheRest checks the identifier resolution that replaced the
// parser's deprecated objects: each occurrence of a name is marked with the answer it must get.
func TestOutsideTellsLocalsFromTheRest(t *testing.T) {
	src := []byte(`package p

import (
	"fmt"
	alias "strings"
)

var pkgVar = 1

type T struct{ field int }

func (T) method() {}

func F(param int) (result error) {
	local := param + pkgVar
	_ = T{field: local}
	fmt.Println(alias.ToUpper("x"), otherFile, len("x"), result)
	func() {
		inner := local
		_ = inner
	}()
	var pkgVar = 2
	_ = pkgVar
	return nil
}
`)
	f, err := parseFile("p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]bool{ // by name, in source order
		"pkgVar":    {true, true, false, false},
		"param":     {false, false},
		"result":    {false, false},
		"local":     {false, false, false},
		"inner":     {false, false},
		"fmt":       {true},
		"alias":     {true, true}, // the import's name and its use
		"field":     {false, false},
		"method":    {false},
		"otherFile": {true},
		"len":       {true},
		"F":         {true},
		"T":         {true, true, true},
	}
	got := map[string][]bool{}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if _, tracked := want[id.Name]; tracked {
				got[id.Name] = append(got[id.Name], f.outside(id))
			}
		}
		if sel, ok := n.(*ast.SelectorExpr); ok {
			ast.Inspect(sel.X, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					if _, tracked := want[id.Name]; tracked {
						got[id.Name] = append(got[id.Name], f.outside(id))
					}
				}
				return true
			})
			return false // the selected name is a field or method
		}
		return true
	})
	for name, w := range want {
		if strings.Trim(strings.Join(boolsText(got[name]), " "), " ") != strings.Join(boolsText(w), " ") {
			t.Errorf("%s: outside = %v, want %v", name, got[name], w)
		}
	}
}

func boolsText(bs []bool) []string {
	var out []string
	for _, b := range bs {
		if b {
			out = append(out, "outside")
		} else {
			out = append(out, "local")
		}
	}
	return out
}
