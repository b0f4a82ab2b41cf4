package hygiene

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
)

// TestTestRunsLeaveNothingBehind runs tests that start Emacs, am-lsp and the go command, with a
// private TMPDIR that every process they start inherits, and checks that once `go test` exits
// nothing is left in it and no process that inherited it still runs.
func TestTestRunsLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("runs other packages' tests")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ pkg, run string }{
		{"./editors/nvim", "^TestEmacsSnippets$"},
		{"./internal/lsp", "^(TestLoneCarriageReturn|TestCRLFInstrumentThenRemove|TestDidChangeIsAppliedBeforeTheNextHover)$"},
	} {
		t.Run(c.pkg, func(t *testing.T) {
			tmp := t.TempDir()
			t.Cleanup(func() { childproc.Kill(inheriting(tmp)) })
			cmd := exec.Command("go", "test", "-count=1", "-run", c.run, c.pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test %s: %v\n%s", c.pkg, err, out)
			}
			deadline := time.Now().Add(10 * time.Second) // killed processes may take a moment to go on a busy machine
			for len(inheriting(tmp)) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if left := inheriting(tmp); len(left) > 0 {
				t.Errorf("processes started by the tests still run after go test exited: %+v", left)
			}
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				t.Errorf("the tests left %s in TMPDIR", e.Name())
			}
		})
	}
}

// inheriting returns the processes whose environment has TMPDIR=tmp.
func inheriting(tmp string) []childproc.Process {
	return childproc.Find(func(p childproc.Process) bool { return strings.Contains(p.Environ, "\x00TMPDIR="+tmp+"\x00") })
}
