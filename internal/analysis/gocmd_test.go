package analysis

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// instrumentedSource is a file of package name with one function instrumented by the stand-in.
func instrumentedSource(name, fn string) string {
	return fmt.Sprintf(`package %s

import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"

//autometrics:inst
func %s() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
}
`, name, fn)
}

// tempModule writes a module example.com/m whose go.mod has body after the module line, and
// files (relative path → content); it returns its directory.
func tempModule(t *testing.T, gomod string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/m\n\n"+gomod)
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// The go command am-lsp runs never changes the user's go.mod or go.sum, whatever GOFLAGS says,
// and never fetches a toolchain: a module that needs either degrades to syntax-only.
func TestLoadNeverWritesGoModOrGoSum(t *testing.T) {
	standIn := testdata(t, "autometrics-go")
	for _, tt := range []struct {
		name, gomod, env, want string
	}{
		// The requirement is missing: -mod=mod would add it (and raise the go line to the
		// stand-in's).
		{"missing requirement", "go 1.22\n\nreplace github.com/autometrics-dev/autometrics-go => " + standIn + "\n",
			"GOFLAGS=-mod=mod", "autometrics"},
		// A newer toolchain is asked for: GOTOOLCHAIN=auto would try to download it.
		{"newer toolchain", "go 1.99\n\ntoolchain go1.99.1\n\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => " + standIn + "\n",
			"GOTOOLCHAIN=auto", "GOTOOLCHAIN=local"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tempModule(t, tt.gomod, map[string]string{
				"api/api.go": instrumentedSource("api", "Handle"),
				"go.sum":     "",
			})
			gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			key, value, _ := strings.Cut(tt.env, "=")
			t.Setenv(key, value)
			l := &Loader{CacheDir: "off"}
			p := packageByPath(t, load(t, l, []string{filepath.Join(dir, "api", "api.go")}, nil), "example.com/m/api")
			if after, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !bytes.Equal(after, gomod) {
				t.Errorf("go.mod changed:\n%s\nwas:\n%s", after, gomod)
			}
			if sum, _ := os.ReadFile(filepath.Join(dir, "go.sum")); len(sum) != 0 {
				t.Errorf("go.sum gained lines:\n%s", sum)
			}
			if !strings.Contains(p.Degraded, tt.want) {
				t.Errorf("Degraded = %q, want it to mention %q", p.Degraded, tt.want)
			}
			wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Handle": Generated})
		})
	}
}

// A cancelled load ends the go command and every process it started.
func TestLoadCancelEndsGoChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	fakeGo(t, "sleep 300 & echo $! > "+pidFile+"; wait")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := (&Loader{CacheDir: "off"}).Load(ctx, []string{testdata(t, "demo", "api", "handle.go")}, nil)
		done <- err
	}()
	var pid int
	for start := time.Now(); pid == 0; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the fake go command did not start its child")
		}
		data, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("Load succeeded although it was cancelled")
	}
	for start := time.Now(); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the go command's child %d outlived the cancelled load", pid)
		}
	}
}

// Opening a hundred files of one package at once runs the go command at most twice (one run,
// then one batch for everything requested meanwhile), and every load gets the same typed result.
func TestConcurrentLoadsShareGoCommands(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("api/f%03d.go", i)] = instrumentedSource("api", fmt.Sprintf("F%03d", i))
	}
	dir := tempModule(t, "go 1.22\n\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => "+testdata(t, "autometrics-go")+"\n", files)
	calls := filepath.Join(t.TempDir(), "calls")
	fakeGo(t, "echo call >> "+calls+"; exec "+realGo+` "$@"`)

	l := &Loader{CacheDir: "off"}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[*Package]bool{}
	)
	for name := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := packageByPath(t, load(t, l, []string{filepath.Join(dir, name)}, nil), "example.com/m/api")
			mu.Lock()
			seen[p] = true
			mu.Unlock()
			if p.Degraded != "" || p.info == nil || len(p.Functions) != 100 {
				t.Errorf("%s: degraded %q, typed %v, %d functions; want the typed package of 100 functions", name, p.Degraded, p.info != nil, len(p.Functions))
			}
		}()
	}
	wg.Wait()
	data, _ := os.ReadFile(calls)
	if n := strings.Count(string(data), "call"); n == 0 || n > 2 {
		t.Errorf("100 concurrent loads of one package ran the go command %d times, want 1 or 2", n)
	}
	if len(seen) != 1 {
		t.Errorf("100 loads of the same content gave %d different packages, want one shared result", len(seen))
	}
}

// cgo packages are type-checked without running a C compiler; with cgo off, the cgo file is
// read from syntax alone and the reason says so.
func TestLoadCgoPackage(t *testing.T) {
	ccCalls := filepath.Join(t.TempDir(), "cc-calls")
	cc := filepath.Join(t.TempDir(), "cc")
	writeFile(t, cc, "#!/bin/sh\necho \"$@\" >> "+ccCalls+"\nexit 1\n")
	if err := os.Chmod(cc, 0o755); err != nil {
		t.Fatal(err)
	}
	cgoFile := `package api

// #include <stdlib.h>
import "C"

import "github.com/autometrics-dev/autometrics-go/prometheus/autometrics"

//autometrics:inst
func Free() {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(nil)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer
	C.free(nil)
}
`
	caller := `package api

func call() { Free(); Handle() }
`
	dir := tempModule(t, "go 1.22\n\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => "+testdata(t, "autometrics-go")+"\n",
		map[string]string{"api/cgo.go": cgoFile, "api/api.go": instrumentedSource("api", "Handle"), "api/caller.go": caller})
	cgoPath, callerPath := filepath.Join(dir, "api", "cgo.go"), filepath.Join(dir, "api", "caller.go")
	t.Setenv("CC", cc)

	t.Run("cgo on", func(t *testing.T) {
		t.Setenv("CGO_ENABLED", "1")
		p := packageByPath(t, load(t, &Loader{CacheDir: "off"}, []string{cgoPath}, nil), "example.com/m/api")
		if p.Degraded != "" || p.info == nil {
			t.Errorf("degraded %q, typed %v; want a typed package", p.Degraded, p.info != nil)
		}
		wantInstrumentation(t, p.Functions, map[string]Instrumentation{"Free": Generated, "Handle": Generated})
		wantFunctionAt(t, p, callerPath, offsetOf(t, callerPath, "Free()", 0), "example.com/m/api", "Free", Generated)
		if data, err := os.ReadFile(ccCalls); err == nil {
			t.Errorf("the C compiler ran:\n%s", data)
		}
	})
	t.Run("cgo off", func(t *testing.T) {
		t.Setenv("CGO_ENABLED", "0")
		var cgoPkg *Package
		for _, p := range load(t, &Loader{CacheDir: "off"}, []string{cgoPath}, nil) {
			if len(p.Files) == 1 && p.Files[0] == cgoPath {
				cgoPkg = p
			}
		}
		if cgoPkg == nil || !strings.Contains(cgoPkg.Degraded, "cgo") || !strings.Contains(cgoPkg.Degraded, "CGO_ENABLED=0") {
			t.Fatalf("package of cgo.go = %+v, want a syntax-only package that names cgo being off", cgoPkg)
		}
		wantInstrumentation(t, cgoPkg.Functions, map[string]Instrumentation{"Free": Generated})
	})
}
