package demodata

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Analysis computes, for every function of the demo module, the labels DemoLabels spells out
// by hand; Build writes the series under the spelled-out ones and finds every function.
func TestAnalysisComputesTheDemoLabels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := filepath.Abs("../../../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	opts, fns, err := Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != len(DemoLabels) || len(opts.Functions) != len(fns) {
		t.Fatalf("%d functions, %d series, want %d", len(fns), len(opts.Functions), len(DemoLabels))
	}
	for i, f := range fns {
		want := DemoLabels[Decl{f.PkgPath, f.QualifiedName()}]
		if f.Function.Labels != want {
			t.Errorf("%s %s: analysis computes %+v, the runtime names it %+v", f.PkgPath, f.QualifiedName(), f.Function.Labels, want)
		}
		if f.Labels != want || opts.Functions[i].Function != want.Function || opts.Functions[i].Module != want.Module {
			t.Errorf("%s %s: series written under %+v / %s %s, want %+v", f.PkgPath, f.QualifiedName(), f.Labels, opts.Functions[i].Function, opts.Functions[i].Module, want)
		}
	}
}
