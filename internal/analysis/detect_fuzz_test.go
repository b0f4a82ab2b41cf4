package analysis

import (
	"go/parser"
	"go/token"
	"testing"
)

// FuzzDetectAndResolve runs detection and position lookups on arbitrary source, as the editor
// does on every keystroke: no input may panic, and every function found lies inside the file.
// Run longer with: go test ./internal/analysis/ -run '^$' -fuzz FuzzDetectAndResolve -fuzztime 10m
func FuzzDetectAndResolve(f *testing.F) {
	f.Add("package p\n\n//autometrics:inst --slo A --success-target 99\nfunc F() {\n\tdefer am.Instrument(am.PreInstrument(am.NewContext(nil)), nil) //autometrics:defer\n}\n")
	f.Add("package main\n\nimport prom \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n\nfunc (s *S[T]) M() { prom.Instrument(nil, nil) }\n")
	f.Add("package p\nfunc (")
	f.Add("package p\nimport m \"github.com/autometrics-dev/autometrics-go/prometheus/midhttp\"\nvar h = m.Autometrics(H)\nfunc H() {}\n")
	f.Fuzz(func(t *testing.T, src string) {
		fset := token.NewFileSet()
		file, _ := parser.ParseFile(fset, "/fuzz/p.go", src, parser.ParseComments|parser.AllErrors|parser.SkipObjectResolution)
		if file == nil {
			return
		}
		for _, fn := range DetectFile(fset, file, "example.com/fuzz", "p") {
			if fn.NameSpan.Start < 0 || fn.NameSpan.End > len(src) || fn.DeclSpan.Start > fn.NameSpan.Start {
				t.Fatalf("span outside the source: %+v in %q", fn, src)
			}
		}
		l := &Loader{}
		for _, p := range l.LoadSyntax([]string{"/fuzz/p.go"}, map[string][]byte{"/fuzz/p.go": []byte(src)}) {
			for off := 0; off <= len(src); off += 1 + len(src)/64 {
				p.FunctionAt("/fuzz/p.go", off)
			}
		}
	})
}
