package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// serviceMain is a package main naming service on its OpenTelemetry resource.
func serviceMain(service string) string {
	return `package main

import semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

var attr = semconv.ServiceName("` + service + `")

func main() {}
`
}

// The scan for service names leaves out node_modules, vendor, testdata and hidden directories,
// however many files they hold, and reads the module's own package main.
func TestServiceNamesSkipsDependencyAndDataDirectories(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/shop\n\ngo 1.22\n")
	writeFile(t, filepath.Join(root, "cmd", "shopd", "main.go"), serviceMain("shop"))
	for _, skipped := range []string{"node_modules/pkg", "vendor/example.com/x", "testdata/app", ".cache/app", "_old/app"} {
		writeFile(t, filepath.Join(root, filepath.FromSlash(skipped), "main.go"), serviceMain("wrong"))
	}
	manyFiles(t, filepath.Join(root, "node_modules", "big"), 3000)
	got := ServiceNames(filepath.Join(root, "cmd", "shopd"))
	if len(got) != 1 || got[0].Name != "shop" || got[0].Rel != "cmd/shopd/main.go" {
		t.Errorf("service names: %+v, want shop in cmd/shopd/main.go alone", got)
	}
}

// Files of any kind count toward the scan's bound on directory entries: a module full of data
// files ends the scan there, without reading further directories.
func TestServiceNamesStopsAtTheEntryBound(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/shop\n\ngo 1.22\n")
	writeFile(t, filepath.Join(root, "main.go"), serviceMain("shop"))
	manyFiles(t, filepath.Join(root, "assets"), 3000)
	writeFile(t, filepath.Join(root, "zz", "cmd", "main.go"), serviceMain("late"))
	if got := ServiceNames(root); len(got) != 2 {
		t.Fatalf("within the bounds the scan finds both services: %+v", got)
	}
	defer func(old int) { maxServiceScanEntries = old }(maxServiceScanEntries)
	maxServiceScanEntries = 1000
	got := ServiceNames(root)
	if len(got) != 1 || got[0].Name != "shop" {
		t.Errorf("past the entry bound the scan went on: %+v", got)
	}
}

// manyFiles writes n small non-Go files into dir.
func manyFiles(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.js", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
