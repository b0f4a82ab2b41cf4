package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLeavesTestAndDevCodeOut checks that the shipped binary links nothing from the test kit
// (internal/testkit/...) or the developer commands (internal/cmd/...): they start real servers and
// may carry heavy dependencies that users must never download or run.
func TestBinaryLeavesTestAndDevCodeOut(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages; expected the binary's whole closure:\n%s", len(deps), out)
	}
	for _, dep := range deps {
		for _, forbidden := range []string{"/internal/testkit", "/internal/cmd/"} {
			if strings.Contains(dep, forbidden) {
				t.Errorf("cmd/am-lsp depends on %s (no %s package may reach the shipped binary)", dep, forbidden)
			}
		}
	}
}
