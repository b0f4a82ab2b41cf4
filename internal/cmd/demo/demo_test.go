package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/childproc"
)

// TestDemoStopsEverythingOnSignals runs `bash scripts/demo` as a user does, interrupts it once
// Prometheus is up — SIGTERM to the script, and Ctrl-C (SIGINT to the terminal's process
// group) — and checks that it exits promptly with no process of its still running and no
// temporary directory of its left; run to its end without a signal, it exits 0 as cleanly.
func TestDemoStopsEverythingOnSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		group bool // signal the whole process group, as a terminal's Ctrl-C does
		sig   syscall.Signal
	}{{"SIGTERM to the script", false, syscall.SIGTERM}, {"Ctrl-C", true, syscall.SIGINT}, {"no signal", false, 0}} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command("bash", "scripts/demo")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			t.Cleanup(func() { killAll(pid, tmp) })
			ready := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stdout)
				signalled := false
				for sc.Scan() {
					t.Log(sc.Text())
					if !signalled && strings.Contains(sc.Text(), "Prometheus http://") && strings.Contains(sc.Text(), "ready") {
						signalled = true
						close(ready)
					}
				}
			}()
			select {
			case <-ready:
			case <-time.After(5 * time.Minute):
				t.Fatal("the demo did not start Prometheus within 5 minutes")
			}
			target := pid
			if c.group {
				target = -pid
			}
			wait := 30 * time.Second
			if c.sig == 0 {
				wait = 3 * time.Minute // the whole demo runs: it must finish with status 0
			} else if err := syscall.Kill(target, c.sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if c.sig == 0 && err != nil {
					t.Errorf("the demo run to its end: %v", err)
				}
			case <-time.After(wait):
				t.Fatalf("the demo did not exit within %s", wait)
			}
			// Children tied to the demo die with it; give the kernel a moment to reap them (not
			// more: an orphaned demo would finish its work and clean up by itself in seconds).
			deadline := time.Now().Add(time.Second)
			for len(processesUsing(tmp)) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if left := processesUsing(tmp); len(left) > 0 {
				t.Errorf("processes of the demo still run after it exited: %v", left)
			}
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "promfixture") {
					t.Errorf("the demo left %s behind", e.Name())
				}
			}
		})
	}
}

// processesUsing returns the processes whose command line mentions dir (Prometheus's storage
// path is in it).
func processesUsing(dir string) []childproc.Process {
	return childproc.Find(func(p childproc.Process) bool { return strings.Contains(p.Cmdline, dir) })
}

// killAll stops whatever the test's demo left: its process group and any process using tmp.
func killAll(pid int, tmp string) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	childproc.Kill(processesUsing(tmp))
}
