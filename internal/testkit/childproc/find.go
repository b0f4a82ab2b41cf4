package childproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Process is a running process as /proc shows it.
type Process struct {
	PID     int
	Cmdline string // arguments joined by spaces
	Environ string // NUL-separated, with a NUL at both ends: match "\x00NAME=value\x00"
}

// Find returns the processes of this user for which match holds (Linux: read from /proc;
// elsewhere none). Tests use it to look for what they started and should have stopped.
func Find(match func(Process) bool) []Process {
	var out []Process
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err1 := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, err2 := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err1 != nil || err2 != nil || len(cmdline) == 0 { // gone, another user's, or a zombie
			continue
		}
		p := Process{PID: pid, Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")), Environ: "\x00" + string(environ) + "\x00"}
		if match(p) {
			out = append(out, p)
		}
	}
	return out
}

// Kill sends SIGKILL to each of procs (found by Find: only processes the caller started).
func Kill(procs []Process) {
	for _, p := range procs {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
