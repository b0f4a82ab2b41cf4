package analysis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata returns the absolute path of a file or directory under the repository's testdata.
func testdata(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", "testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, l *Loader, files []string, overlay map[string][]byte) []*Package {
	t.Helper()
	pkgs, err := l.Load(context.Background(), files, overlay)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return pkgs
}

func packageByPath(t *testing.T, pkgs []*Package, path string) *Package {
	t.Helper()
	for _, p := range pkgs {
		if p.Path == path {
			return p
		}
	}
	var have []string
	for _, p := range pkgs {
		have = append(have, p.Path)
	}
	t.Fatalf("no package %s among %v", path, have)
	return nil
}

// demoExpectation is what the analysis must report for a function of testdata/demo.
type demoExpectation struct {
	pkgPath   string
	qualified string
	instr     Instrumentation
	labels    Labels
}

var demoExpectations = []demoExpectation{
	{"example.com/demo/api", "Handle", Generated, Labels{"Handle", "example.com/demo/api"}},
	{"example.com/demo/api", "normalize", NotInstrumented, Labels{"normalize", "example.com/demo/api"}},
	{"example.com/demo/api", "Pending", DirectiveOnly, Labels{"Pending", "example.com/demo/api"}},
	{"example.com/demo/api", "Legacy", LegacyDefer, Labels{"Legacy", "example.com/demo/api"}},
	{"example.com/demo/api", "(*Server).Handle", Generated, Labels{"Handle", "example.com/demo/api.Server"}},
	{"example.com/demo/api", "Server.Status", Generated, Labels{"Status", "example.com/demo/api.Server"}},
	{"example.com/demo/api", "Map", Generated, Labels{"]", "example.com/demo/api.Map[.."}},
	{"example.com/demo/api", "(*Cache).Get", Generated, Labels{"Get", "example.com/demo/api.Cache[...]"}},
	{"example.com/demo/api", "Aliased", Generated, Labels{"Aliased", "example.com/demo/api"}},
	{"example.com/demo/api", "Lookup", Generated, Labels{"Lookup", "example.com/demo/api"}},
	{"example.com/demo/billing", "Handle", Generated, Labels{"Handle", "example.com/demo/billing"}},
	{"example.com/demo/yaml.v3", "Decode", Generated, Labels{"Decode", "example.com/demo/yaml%2ev3"}},
	{"example.com/demo", "(*App).Start", Generated, Labels{"Start", "main.App"}},
	{"example.com/demo", "Serve", Generated, Labels{"Serve", "main"}},
	{"example.com/demo", "Healthz", Middleware, Labels{"Healthz", "main"}},
	{"example.com/demo", "main", NotInstrumented, Labels{"main", "main"}},
	{"example.com/demo/many", "F00", Generated, Labels{"F00", "example.com/demo/many"}},
	{"example.com/demo/many", "F49", Generated, Labels{"F49", "example.com/demo/many"}},
}

// checkDemo compares the loaded demo packages with demoExpectations. Packages not loaded are
// skipped unless required.
func checkDemo(t *testing.T, pkgs []*Package, required ...string) {
	t.Helper()
	loaded := map[string]*Package{}
	for _, p := range pkgs {
		loaded[p.Path] = p
	}
	for _, path := range required {
		if loaded[path] == nil {
			t.Errorf("package %s not loaded", path)
		}
	}
	for _, e := range demoExpectations {
		p := loaded[e.pkgPath]
		if p == nil {
			continue
		}
		f := function(t, p.Functions, e.qualified)
		if f.Instrumentation != e.instr || f.Labels != e.labels || f.PkgPath != e.pkgPath {
			t.Errorf("%s %s: %v %+v (PkgPath %s); want %v %+v", e.pkgPath, e.qualified, f.Instrumentation, f.Labels, f.PkgPath, e.instr, e.labels)
		}
	}
}

func TestLoadDemo(t *testing.T) {
	l := &Loader{}
	files := []string{
		testdata(t, "demo", "main.go"),
		testdata(t, "demo", "api", "handle.go"),
		testdata(t, "demo", "api", "server.go"), // same package: loaded once
		testdata(t, "demo", "billing", "billing.go"),
		testdata(t, "demo", "yaml.v3", "yaml.go"),
	}
	start := time.Now()
	pkgs := load(t, l, files, nil)
	t.Logf("Load of 4 demo packages took %v", time.Since(start))
	if len(pkgs) != 4 {
		t.Errorf("got %d packages, want 4 (main, api, billing, yaml.v3)", len(pkgs))
	}
	checkDemo(t, pkgs, "example.com/demo", "example.com/demo/api", "example.com/demo/billing", "example.com/demo/yaml.v3")
	for _, p := range pkgs {
		if p.Degraded != "" || len(p.Errors) > 0 || p.info == nil {
			t.Errorf("%s: degraded %q, errors %q, type info %v; want a clean type-checked package", p.Path, p.Degraded, p.Errors, p.info != nil)
		}
	}
	api := packageByPath(t, pkgs, "example.com/demo/api")
	if api.Name != "api" || api.Dir != testdata(t, "demo", "api") || len(api.Files) != 5 {
		t.Errorf("api: name %q dir %q files %v", api.Name, api.Dir, api.Files)
	}
	// main wraps the method value srv.Ping of package api: loaded together, api sees it.
	ping := function(t, api.Functions, "(*Server).Ping")
	if ping.Instrumentation != Middleware || ping.Labels != (Labels{"Ping-fm", "example.com/demo/api.Server"}) {
		t.Errorf("(*Server).Ping: %v %+v, want middleware with the -fm labels", ping.Instrumentation, ping.Labels)
	}
	if len(ping.InstrumentationSpans) != 1 || ping.InstrumentationSpans[0].File != testdata(t, "demo", "main.go") {
		t.Errorf("(*Server).Ping spans = %v, want the call in main.go", ping.InstrumentationSpans)
	}
	main := packageByPath(t, pkgs, "example.com/demo")
	if main.Name != "main" {
		t.Errorf("package main has name %q", main.Name)
	}
	var names []string
	for _, f := range api.Instrumented() {
		names = append(names, f.QualifiedName())
	}
	want := "Aliased Map (*Cache).Get Handle Pending Legacy (*Server).Handle Server.Status (*Server).Ping Lookup"
	if strings.Join(names, " ") != want {
		t.Errorf("api.Instrumented() = %s\nwant %s (file order, then source order)", strings.Join(names, " "), want)
	}
}

func TestLoadOnlyTheRequestedPackages(t *testing.T) {
	pkgs := load(t, &Loader{}, []string{testdata(t, "demo", "billing", "billing.go")}, nil)
	if len(pkgs) != 1 || pkgs[0].Path != "example.com/demo/billing" {
		var paths []string
		for _, p := range pkgs {
			paths = append(paths, p.Path)
		}
		t.Fatalf("got packages %v, want only example.com/demo/billing", paths)
	}
	checkDemo(t, pkgs)
}

func TestLoadMany(t *testing.T) {
	pkgs := load(t, &Loader{}, []string{testdata(t, "demo", "many", "many.go")}, nil)
	many := packageByPath(t, pkgs, "example.com/demo/many")
	if n := len(many.Instrumented()); n != 50 {
		t.Errorf("many has %d instrumented functions, want 50", n)
	}
	checkDemo(t, pkgs)
}

func TestLoadPatterns(t *testing.T) {
	l := &Loader{Dir: testdata(t, "demo")}
	pkgs, err := l.LoadPatterns(context.Background(), []string{"./..."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 6 {
		t.Errorf("got %d packages, want 6", len(pkgs))
	}
	checkDemo(t, pkgs, "example.com/demo", "example.com/demo/api", "example.com/demo/billing", "example.com/demo/yaml.v3", "example.com/demo/many", "example.com/demo/orders")
}

func TestLoadUnresolvableImport(t *testing.T) {
	pkgs := load(t, &Loader{}, []string{testdata(t, "unresolved", "unresolved.go")}, nil)
	p := packageByPath(t, pkgs, "example.com/unresolved")
	if !strings.Contains(p.Degraded, "github.com/autometrics-dev/autometrics-go/prometheus/autometrics") {
		t.Errorf("Degraded = %q, want it to name the import that cannot be resolved", p.Degraded)
	}
	wantInstrumentation(t, p.Functions, map[string]Instrumentation{
		"Fetch":        Generated,
		"Old":          LegacyDefer,
		"(*Store).Put": Generated,
		"helper":       NotInstrumented,
	})
	if f := function(t, p.Functions, "Fetch"); f.Directive == nil || f.Directive.SLO != "Fetch" || f.Directive.SuccessTarget != 99.9 {
		t.Errorf("Fetch directive = %+v", f.Directive)
	}
}

func TestLoadBrokenGoMod(t *testing.T) {
	pkgs := load(t, &Loader{}, []string{testdata(t, "brokenmod", "broken.go")}, nil)
	if len(pkgs) != 1 {
		t.Fatalf("got %d packages, want 1", len(pkgs))
	}
	p := pkgs[0]
	if p.Path != "example.com/brokenmod" || p.Name != "brokenmod" {
		t.Errorf("path %q name %q, want example.com/brokenmod (from the module line) and brokenmod", p.Path, p.Name)
	}
	if !strings.Contains(p.Degraded, "go.mod") || !strings.Contains(p.Degraded, "syntax alone") {
		t.Errorf("Degraded = %q, want the go command's complaint about go.mod", p.Degraded)
	}
	wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Work": Generated, "Idle": NotInstrumented})
	if f := function(t, p.Functions, "Work"); f.Labels != (Labels{"Work", "example.com/brokenmod"}) {
		t.Errorf("Work labels = %+v", f.Labels)
	}
}

func TestLoadSyntaxErrorInOverlay(t *testing.T) {
	file := testdata(t, "syntaxerr", "edit.go")
	broken, err := os.ReadFile(testdata(t, "syntaxerr", "edit.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := load(t, &Loader{}, []string{file}, map[string][]byte{file: broken})
	p := packageByPath(t, pkgs, "example.com/syntaxerr")
	if len(p.Errors) == 0 {
		t.Error("no errors reported for a file with syntax errors")
	}
	wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Before": Generated, "Editing": NotInstrumented, "After": Generated})
	after := function(t, p.Functions, "After")
	if s := after.NameSpan; string(broken[s.Start:s.End]) != "After" {
		t.Errorf("After.NameSpan covers %q of the overlay content", broken[s.Start:s.End])
	}
}

func TestLoadSyntaxErrorOnDiskWithoutGoCommand(t *testing.T) {
	dir := t.TempDir()
	broken, err := os.ReadFile(testdata(t, "syntaxerr", "edit.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/tmp/syntaxerr\n\ngo 1.22\n")
	writeFile(t, filepath.Join(dir, "sub", "edit.go"), string(broken))
	fakeGo(t, "echo 'go: simulated failure' >&2; exit 1")
	pkgs := load(t, &Loader{}, []string{filepath.Join(dir, "sub", "edit.go")}, nil)
	p := packageByPath(t, pkgs, "example.com/tmp/syntaxerr/sub")
	if !strings.Contains(p.Degraded, "simulated failure") || len(p.Errors) == 0 {
		t.Errorf("Degraded %q, errors %q; want the go command failure and the syntax errors", p.Degraded, p.Errors)
	}
	wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Before": Generated, "Editing": NotInstrumented, "After": Generated})
}

func TestLoadOverlayChangesResult(t *testing.T) {
	file := testdata(t, "demo", "api", "handle.go")
	disk, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The unsaved buffer has a new line on top (shifting offsets), lost Handle's generated
	// statements and gained a function.
	edited := strings.Replace(string(disk), "package api\n", "package api\n\n// edited\n", 1)
	edited = strings.Replace(edited, "\tdefer autometrics.Instrument(amCtx, nil) //autometrics:defer\n\n\treturn normalize(id), nil", "\t_ = amCtx\n\treturn normalize(id), nil", 1)
	edited += "\n// Added exists only in the editor.\n//\n//autometrics:inst\nfunc Added() {}\n"
	pkgs := load(t, &Loader{}, []string{file}, map[string][]byte{file: []byte(edited)})
	api := packageByPath(t, pkgs, "example.com/demo/api")
	if api.Degraded != "" || len(api.Errors) != 0 {
		t.Errorf("degraded %q, errors %q", api.Degraded, api.Errors)
	}
	wantInstrumentation(t, api.Functions, map[string]Instrumentation{"Handle": DirectiveOnly, "Added": DirectiveOnly, "Legacy": LegacyDefer})
	for _, name := range []string{"Handle", "Added", "Legacy"} {
		s := function(t, api.Functions, name).NameSpan
		if s.End > len(edited) || edited[s.Start:s.End] != name {
			t.Errorf("%s.NameSpan %+v does not cover the name in the overlay content", name, s)
		}
	}
	// Without the overlay the disk content counts again.
	api = packageByPath(t, load(t, &Loader{}, []string{file}, nil), "example.com/demo/api")
	wantInstrumentation(t, api.Functions, map[string]Instrumentation{"Handle": Generated})
}

func TestLoadOverlayOnlyFile(t *testing.T) {
	file := testdata(t, "demo", "billing", "new.go")
	src := "package billing\n\n//autometrics:inst\nfunc Refund() {}\n"
	pkgs := load(t, &Loader{}, []string{file}, map[string][]byte{file: []byte(src)})
	p := packageByPath(t, pkgs, "example.com/demo/billing")
	wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Refund": DirectiveOnly, "Handle": Generated})
}

func TestLoadFileLeftOutOfTheBuild(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/tmp/tags\n\ngo 1.22\n")
	writeFile(t, filepath.Join(dir, "a.go"), "package tags\n\nfunc A() {}\n")
	writeFile(t, filepath.Join(dir, "ignored.go"), "//go:build never\n\npackage tags\n\n//autometrics:inst\nfunc Ignored() {}\n")
	pkgs := load(t, &Loader{}, []string{filepath.Join(dir, "a.go"), filepath.Join(dir, "ignored.go")}, nil)
	if len(pkgs) != 2 {
		t.Fatalf("got %d packages, want the type-checked package and a syntax-only one for ignored.go", len(pkgs))
	}
	var ignored *Package
	for _, p := range pkgs {
		for _, f := range p.Functions {
			if f.Name == "Ignored" {
				ignored = p
			}
		}
	}
	if ignored == nil || ignored.Degraded == "" || ignored.Path != "example.com/tmp/tags" || len(ignored.Functions) != 1 {
		t.Errorf("package of ignored.go = %+v, want a degraded syntax-only package with just Ignored", ignored)
	}
}

func TestLoadTimeout(t *testing.T) {
	_, release := heldGo(t)
	l := &Loader{Timeout: 500 * time.Millisecond}
	demo := testdata(t, "demo")
	t.Cleanup(func() { release(0); waitNotBusy(t, l, demo) })
	start := time.Now()
	pkgs := load(t, l, []string{testdata(t, "demo", "api", "handle.go")}, nil)
	// The go command is held for a minute: a Load that waited for it takes that long.
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Load took %v with a 500ms timeout", elapsed)
	}
	api := packageByPath(t, pkgs, "example.com/demo/api")
	if !strings.Contains(api.Degraded, "did not finish within 500ms") {
		t.Errorf("Degraded = %q, want the timeout", api.Degraded)
	}
	checkDemo(t, pkgs, "example.com/demo/api")

	start = time.Now()
	l.Dir = demo
	pkgs, err := l.LoadPatterns(context.Background(), []string{"./..."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("LoadPatterns took %v with a 500ms timeout", elapsed)
	}
	if len(pkgs) != 6 {
		t.Errorf("LoadPatterns fell back to %d packages, want the 6 demo packages", len(pkgs))
	}
	if !strings.Contains(pkgs[0].Degraded, "still busy") {
		t.Errorf("Degraded = %q, want the earlier go command still running", pkgs[0].Degraded)
	}
	// Without type information, main's wrapping of a.srv.Ping cannot be resolved, so Ping is left
	// out of the comparison; everything else is found from syntax alone.
	checkDemo(t, pkgs, "example.com/demo", "example.com/demo/api", "example.com/demo/billing", "example.com/demo/yaml.v3", "example.com/demo/many")
}

func TestLoadAfterTimeoutDoesNotQueueGoCommands(t *testing.T) {
	// Each run of the go command is held until the test releases it, so that the second load
	// finds the first still running however slow the machine.
	count, release := heldGo(t)
	l := &Loader{Timeout: 200 * time.Millisecond}
	dir := testdata(t, "demo")
	t.Cleanup(func() { release(0); waitNotBusy(t, l, dir) })
	file := testdata(t, "demo", "api", "handle.go")
	if p := load(t, l, []string{file}, nil)[0]; !strings.Contains(p.Degraded, "did not finish") {
		t.Fatalf("Degraded = %q, want a timeout", p.Degraded)
	}
	// The abandoned go command runs on: on a busy machine it may not have started by the timeout.
	waitForCalls := func(over int) int {
		t.Helper()
		for start := time.Now(); count() <= over; time.Sleep(20 * time.Millisecond) {
			if time.Since(start) > time.Minute {
				t.Fatalf("the fake go command was not run (%d runs)", count())
			}
		}
		return count()
	}
	before := waitForCalls(0)
	p := load(t, l, []string{file}, nil)[0]
	if !strings.Contains(p.Degraded, "still busy") || p.Settled == nil {
		t.Errorf("second Degraded = %q (Settled %v), want the earlier go command still running", p.Degraded, p.Settled)
	}
	release(1)
	select {
	case <-p.Settled:
	case <-time.After(time.Minute):
		t.Fatal("Settled was never closed after the abandoned go command ended")
	}
	if count() != before {
		t.Errorf("the go command ran %d more times while the earlier one was still busy", count()-before)
	}
	waitNotBusy(t, l, dir)
	if p := load(t, l, []string{file}, nil)[0]; !strings.Contains(p.Degraded, "did not finish") {
		t.Errorf("after the go command finished: Degraded = %q, want a new attempt that times out", p.Degraded)
	}
	waitForCalls(before)
}

func TestLoadCallerCancellation(t *testing.T) {
	fakeGo(t, "exec sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := (&Loader{}).Load(ctx, []string{testdata(t, "demo", "api", "handle.go")}, nil); err == nil {
		t.Error("Load succeeded although the caller's context expired")
	}
	// Only a Load that waited for the go command (30 s) takes this long.
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("Load took %v after cancellation", elapsed)
	}
}

// heldGo puts first in PATH a fake go command that notes each run (count returns how many
// started) and then waits, without output, until the test releases it: release(n) lets the
// n-th run end, release(0) every run. An unreleased run ends by itself after a minute (only a
// load that waits for it takes that long). The test's cleanup must release(0) before its
// temporary directory goes.
func heldGo(t *testing.T) (count func() int, release func(n int)) {
	t.Helper()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fakeGo(t, `echo call >> `+calls+`
n=$(wc -l < `+calls+` | tr -d ' ')
i=0
while [ ! -e `+dir+`/release.$n ] && [ ! -e `+dir+`/release.all ] && [ $i -lt 1200 ]; do
	sleep 0.05
	i=$((i+1))
done`)
	count = func() int {
		data, _ := os.ReadFile(calls)
		return strings.Count(string(data), "call")
	}
	release = func(n int) {
		name := "release.all"
		if n > 0 {
			name = fmt.Sprintf("release.%d", n)
		}
		writeFile(t, filepath.Join(dir, name), "")
	}
	return count, release
}

// waitNotBusy waits until no abandoned load of l runs in dir (a minute at most).
func waitNotBusy(t *testing.T, l *Loader, dir string) {
	t.Helper()
	for start := time.Now(); l.busy(dir) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatal("the abandoned go command never finished")
		}
	}
}

func TestLoadEnvReachesTheGoCommand(t *testing.T) {
	l := &Loader{Env: []string{"GOFLAGS=-mod=mod -bogus"}}
	p := packageByPath(t, load(t, l, []string{testdata(t, "demo", "billing", "billing.go")}, nil), "example.com/demo/billing")
	if !strings.Contains(p.Degraded, "-bogus") {
		t.Errorf("Degraded = %q, want the go command's complaint about the unknown flag in GOFLAGS (other flags than -mod reach it)", p.Degraded)
	}
}

// fakeGo puts a `go` shell script with the given body first on PATH for the test. The go command
// is looked up in the test process's PATH (os/exec resolves it before applying Config.Env).
func fakeGo(t *testing.T, body string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go"), "#!/bin/sh\n"+body+"\n")
	if err := os.Chmod(filepath.Join(dir, "go"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSyntax(t *testing.T) {
	mainGo := testdata(t, "demo", "main.go")
	handle := testdata(t, "demo", "api", "handle.go")
	edited, err := os.ReadFile(handle)
	if err != nil {
		t.Fatal(err)
	}
	edited = append(edited, "\n//autometrics:inst\nfunc Typing() {}\n"...)
	pkgs := (&Loader{}).LoadSyntax([]string{mainGo, handle, testdata(t, "demo", "api", "server.go")}, map[string][]byte{handle: edited})
	if len(pkgs) != 2 {
		t.Fatalf("got %d packages, want main and api", len(pkgs))
	}
	checkDemo(t, pkgs, "example.com/demo", "example.com/demo/api")
	api := packageByPath(t, pkgs, "example.com/demo/api")
	wantInstrumentation(t, api.Functions, map[string]Instrumentation{"Typing": DirectiveOnly})
	if api.Degraded == "" || api.info != nil {
		t.Errorf("Degraded %q, type info %v; want a syntax-only package that says so", api.Degraded, api.info != nil)
	}
}

// A process shutting down calls Wait while a load it knows nothing of starts on another
// goroutine (the editor's analysis worker): Wait waits until that load's go command has ended,
// and a load asked for afterwards runs no go command at all. Nothing orders the two goroutines
// but the Loader itself (the test learns of the go command from a file, which the race detector
// does not count as synchronization), so under -race this also checks that the count of loads
// under way is not raised concurrently with Wait.
func TestWaitWhileALoadStarts(t *testing.T) {
	calls := filepath.Join(t.TempDir(), "calls")
	fakeGo(t, "echo call >> "+calls+"; sleep 1; echo end >> "+calls)
	count := func(what string) int {
		data, _ := os.ReadFile(calls)
		return strings.Count(string(data), what)
	}
	l := &Loader{CacheDir: "off"}
	file := testdata(t, "demo", "api", "handle.go")
	loaded := make(chan []*Package, 1)
	go func() {
		pkgs, _ := l.Load(context.Background(), []string{file}, nil)
		loaded <- pkgs
	}()
	for start := time.Now(); count("call") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the fake go command never ran")
		}
	}
	if !l.Wait(30 * time.Second) {
		t.Fatal("Wait gave up although the go command ends within a second")
	}
	if n := count("end"); n != 1 {
		t.Errorf("Wait returned with %d go commands ended, want the one that ran", n)
	}
	<-loaded

	p := load(t, l, []string{file}, nil)[0]
	if !strings.Contains(p.Degraded, "shutting down") {
		t.Errorf("a load after Wait: Degraded = %q, want syntax alone because the loader is shutting down", p.Degraded)
	}
	if n := count("call"); n != 1 {
		t.Errorf("the go command ran %d times, want no run after Wait", n)
	}
	if !l.Wait(time.Second) {
		t.Error("a second Wait, with nothing running, gave up")
	}
}

// A package reused from the typed cache is not linked to its middleware calls again: loading
// the same unchanged file twice leaves one wrapping call per function, not two.
func TestReloadDoesNotLinkMiddlewareTwice(t *testing.T) {
	l := &Loader{}
	mainFile := testdata(t, "demo", "main.go")
	for i := range 3 {
		pkgs := load(t, l, []string{mainFile}, nil)
		main := packageByPath(t, pkgs, "example.com/demo")
		healthz := function(t, main.Functions, "Healthz")
		if healthz.Instrumentation != Middleware || len(healthz.InstrumentationSpans) != 1 {
			t.Fatalf("load %d: Healthz %v with wrapping calls %v, want middleware with one", i+1, healthz.Instrumentation, healthz.InstrumentationSpans)
		}
	}
}

// A package published by the typed cache is never written again: when package main, loaded
// with package api, wraps api's (*Server).Ping with midhttp, the load returns api with Ping
// linked to that call exactly once, whichever package was loaded first and in whichever order
// the files are given, while the cached api package, read meanwhile by another goroutine as a
// hover would (go test -race reports a write), keeps Ping as detected. A later load of api
// alone does not inherit the link either.
func TestCrossPackageMiddlewareLeavesCachedPackagesAlone(t *testing.T) {
	mainFile := testdata(t, "demo", "main.go")
	serverFile := testdata(t, "demo", "api", "server.go")
	pingOf := func(pkgs []*Package) *Function {
		t.Helper()
		return function(t, packageByPath(t, pkgs, "example.com/demo/api").Functions, "(*Server).Ping")
	}
	wantLinked := func(order string, pkgs []*Package) {
		t.Helper()
		ping := pingOf(pkgs)
		if ping.Instrumentation != Middleware || len(ping.InstrumentationSpans) != 1 || ping.InstrumentationSpans[0].File != mainFile {
			t.Errorf("%s: (*Server).Ping %v with wrapping calls %v, want middleware with the one call in main.go", order, ping.Instrumentation, ping.InstrumentationSpans)
		}
		if ping.Labels != (Labels{"Ping-fm", "example.com/demo/api.Server"}) {
			t.Errorf("%s: (*Server).Ping labels %+v, want those of the method value", order, ping.Labels)
		}
	}
	wantAlone := func(order string, ping *Function) {
		t.Helper()
		if ping.Instrumentation != NotInstrumented || len(ping.InstrumentationSpans) != 0 || ping.Labels != (Labels{"Ping", "example.com/demo/api.Server"}) {
			t.Errorf("%s: (*Server).Ping of api loaded alone is %v %+v with wrapping calls %v, want not instrumented", order, ping.Instrumentation, ping.Labels, ping.InstrumentationSpans)
		}
	}

	t.Run("api cached first", func(t *testing.T) {
		l := &Loader{}
		cached := pingOf(load(t, l, []string{serverFile}, nil))
		wantAlone("api alone", cached)
		// A hover reading the cached package while main loads.
		stop := make(chan struct{})
		read := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					read <- n
					return
				default:
				}
				if cached.Instrumentation == Middleware || len(cached.InstrumentationSpans) > 0 || cached.Labels.Function != "Ping" {
					n++
				}
			}
		}()
		for _, files := range [][]string{{mainFile, serverFile}, {serverFile, mainFile}, {mainFile, serverFile}} {
			wantLinked("main loaded with the cached api", load(t, l, files, nil))
		}
		close(stop)
		if n := <-read; n > 0 {
			t.Errorf("the reader saw the cached (*Server).Ping linked %d times", n)
		}
		wantAlone("cached api after the loads with main", cached)
		wantAlone("api loaded alone again", pingOf(load(t, l, []string{serverFile}, nil)))
	})
	t.Run("loaded together first", func(t *testing.T) {
		l := &Loader{}
		wantLinked("main and api, fresh", load(t, l, []string{serverFile, mainFile}, nil))
		wantLinked("main and api, cached", load(t, l, []string{mainFile, serverFile}, nil))
		wantAlone("api alone after", pingOf(load(t, l, []string{serverFile}, nil)))
	})
}
