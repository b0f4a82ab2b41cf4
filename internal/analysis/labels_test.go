package analysis

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeriveLabels(t *testing.T) {
	tests := []struct {
		name    FuncName
		runtime string
		want    Labels
	}{
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Name: "Handle"},
			"example.com/app.Handle", Labels{"Handle", "example.com/app"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Receiver: "Server", Pointer: true, Name: "Handle"},
			"example.com/app.(*Server).Handle", Labels{"Handle", "example.com/app.Server"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Receiver: "Server", Name: "Status"},
			"example.com/app.Server.Status", Labels{"Status", "example.com/app.Server"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "main", Name: "run"},
			"main.run", Labels{"run", "main"}},
		{FuncName{PkgPath: "example.com/app/cmd/tool", PkgName: "main", Receiver: "Server", Pointer: true, Name: "Start"},
			"main.(*Server).Start", Labels{"Start", "main.Server"}},
		{FuncName{PkgPath: "gopkg.in/yaml.v3", PkgName: "yaml", Name: "Decode"},
			"gopkg.in/yaml%2ev3.Decode", Labels{"Decode", "gopkg.in/yaml%2ev3"}},
		{FuncName{PkgPath: "example.com/a.b/c.d", PkgName: "c", Receiver: "T", Pointer: true, Name: "M"},
			"example.com/a.b/c%2ed.(*T).M", Labels{"M", "example.com/a.b/c%2ed.T"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Receiver: "Cache", Pointer: true, Generic: true, Name: "Get"},
			"example.com/app.(*Cache[...]).Get", Labels{"Get", "example.com/app.Cache[...]"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Receiver: "Cache", Generic: true, Name: "Len"},
			"example.com/app.Cache[...].Len", Labels{"Len", "example.com/app.Cache[...]"}},
		// The runtime names a generic function "Map[...]" and autometrics-go splits it at the last dot.
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Generic: true, Name: "Map"},
			"example.com/app.Map[...]", Labels{"]", "example.com/app.Map[.."}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Receiver: "Server", Pointer: true, Name: "Ping", MethodValue: true},
			"example.com/app.(*Server).Ping-fm", Labels{"Ping-fm", "example.com/app.Server"}},
		{FuncName{PkgPath: "example.com/app", PkgName: "app", Name: "Healthz", MethodValue: true},
			"example.com/app.Healthz", Labels{"Healthz", "example.com/app"}},
	}
	for _, tt := range tests {
		if got := RuntimeName(tt.name); got != tt.runtime {
			t.Errorf("RuntimeName(%+v) = %q, want %q", tt.name, got, tt.runtime)
		}
		if got := DeriveLabels(tt.name); got != tt.want {
			t.Errorf("DeriveLabels(%+v) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestEscapePkgPath(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/app":       "example.com/app",
		"gopkg.in/yaml.v3":      "gopkg.in/yaml%2ev3",
		"example.com/demo/a.b":  "example.com/demo/a%2eb",
		"yaml.v3":               "yaml%2ev3",
		"example.com/100%":      "example.com/100%25",
		"example.com/sp ace":    "example.com/sp%20ace",
		"example.com/é":         "example.com/%c3%a9",
		"example.com/a.b/c.d.e": "example.com/a.b/c%2ed%2ee",
	} {
		if got := EscapePkgPath(in); got != want {
			t.Errorf("EscapePkgPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabelsFromRuntimeName(t *testing.T) {
	for in, want := range map[string]Labels{
		"example.com/app.(*Server).Handle": {"Handle", "example.com/app.Server"},
		"main.main":                        {"main", "main"},
		"noDot":                            {"noDot", ""},
		"example.com/app.Handle.func1":     {"func1", "example.com/app.Handle"},
	} {
		if got := LabelsFromRuntimeName(in); got != want {
			t.Errorf("LabelsFromRuntimeName(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// TestRuntimeNameMatchesTheGoRuntime builds and runs a small program that prints the names the
// Go runtime gives its functions (the names autometrics-go derives labels from) and compares them
// with RuntimeName.
func TestRuntimeNameMatchesTheGoRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/rt\n\ngo 1.22\n")
	write("yaml.v3/y.go", `package yaml

import (
	"net/http"
	"reflect"
	"runtime"
)

func caller() string {
	pc, _, _, _ := runtime.Caller(1)
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return f.Function
}

func F() string { return caller() }

type Cache[K comparable, V any] struct{}

func (c *Cache[K, V]) Get() string { return caller() }
func (c Cache[K, V]) Len() string  { return caller() }

//go:noinline
func Map[T any](t T) string { return caller() }

type Server struct{}

func (s *Server) Ping(w http.ResponseWriter, r *http.Request) {}

func MethodValue() string {
	var h http.HandlerFunc = (&Server{}).Ping
	return runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
}
`)
	write("main.go", `package main

import (
	"fmt"
	"runtime"

	yaml "example.com/rt/yaml.v3"
)

type App struct{}

func (a *App) Start() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

func main() {
	fmt.Println(yaml.F())
	fmt.Println((&yaml.Cache[int, string]{}).Get())
	fmt.Println(yaml.Cache[int, int]{}.Len())
	fmt.Println(yaml.Map(1))
	fmt.Println(yaml.MethodValue())
	fmt.Println((&App{}).Start())
}
`)
	cmd := exec.Command("go", "run", "-gcflags=-l", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	yamlPkg := FuncName{PkgPath: "example.com/rt/yaml.v3", PkgName: "yaml"}
	with := func(n FuncName, f func(*FuncName)) FuncName { f(&n); return n }
	want := []string{
		RuntimeName(with(yamlPkg, func(n *FuncName) { n.Name = "F" })),
		RuntimeName(with(yamlPkg, func(n *FuncName) { n.Receiver, n.Pointer, n.Generic, n.Name = "Cache", true, true, "Get" })),
		RuntimeName(with(yamlPkg, func(n *FuncName) { n.Receiver, n.Generic, n.Name = "Cache", true, "Len" })),
		RuntimeName(with(yamlPkg, func(n *FuncName) { n.Generic, n.Name = true, "Map" })),
		RuntimeName(with(yamlPkg, func(n *FuncName) { n.Receiver, n.Pointer, n.Name, n.MethodValue = "Server", true, "Ping", true })),
		RuntimeName(FuncName{PkgPath: "example.com/rt", PkgName: "main", Receiver: "App", Pointer: true, Name: "Start"}),
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("runtime names:\n%s\nRuntimeName:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
