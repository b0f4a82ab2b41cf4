package analysis

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestOverlaysOfEndedServersAreRemoved(t *testing.T) {
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dirs := map[string]bool{ // name → kept
		overlayPrefix + strconv.Itoa(ended.Process.Pid) + "-123": false,
		overlayPrefix + strconv.Itoa(os.Getpid()) + "-456":       true, // this server's own
		overlayPrefix + strconv.Itoa(os.Getppid()) + "-789":      true, // a running process
		overlayPrefix + "unreadable":                             true,
		"other-" + strconv.Itoa(ended.Process.Pid) + "-1":        true,
	}
	for name := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, name, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeOverlaysOfEndedServers(tmp)
	for name, kept := range dirs {
		_, err := os.Stat(filepath.Join(tmp, name))
		if exists := err == nil; exists != kept {
			t.Errorf("%s: exists %v, want %v", name, exists, kept)
		}
	}
}

func TestWriteOverlayNamesItsServer(t *testing.T) {
	file, cleanup, err := writeOverlay(map[string][]byte{"/x/a.go": []byte("package a\n")})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	want := overlayPrefix + strconv.Itoa(os.Getpid()) + "-"
	if base := filepath.Base(filepath.Dir(file)); len(base) <= len(want) || base[:len(want)] != want {
		t.Errorf("overlay directory %q does not start with %q", base, want)
	}
}
