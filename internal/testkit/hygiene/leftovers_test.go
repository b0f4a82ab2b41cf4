package hygiene

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
			t.Cleanup(func() { killInheriting(tmp) })
			cmd := exec.Command("go", "test", "-count=1", "-run", c.run, c.pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test %s: %v\n%s", c.pkg, err, out)
			}
			deadline := time.Now().Add(2 * time.Second)
			for len(inheriting(tmp)) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if left := inheriting(tmp); len(left) > 0 {
				t.Errorf("processes started by the tests still run after go test exited:\n%s", strings.Join(left, "\n"))
			}
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				t.Errorf("the tests left %s in TMPDIR", e.Name())
			}
		})
	}
}

// inheriting returns "pid: command line" of the processes whose environment has TMPDIR=tmp.
func inheriting(tmp string) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if err != nil || !strings.Contains("\x00"+string(env)+"\x00", "\x00TMPDIR="+tmp+"\x00") {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		out = append(out, p.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// killInheriting kills what inheriting finds: only processes this test's go test started.
func killInheriting(tmp string) {
	for _, p := range inheriting(tmp) {
		if pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
