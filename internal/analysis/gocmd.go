package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// maxGoCommands caps the go commands the analysis runs at once, across all Loaders of the
// process: opening a hundred files must not start a hundred go commands.
const maxGoCommands = 2

var goCommandSlots = make(chan struct{}, maxGoCommands)

// goCommandNice is the scheduling priority (nice value) of the go command and its children, so
// that a load cannot starve the editor or the server's own answers of CPU.
const goCommandNice = 10

// goEnv returns the environment the go command runs with: the process environment, then extra,
// then the settings that keep the go command from touching the user's files or fetching a
// toolchain, which override both:
//
//   - GOFLAGS keeps every flag but -mod: the go command then uses its default (-mod=readonly, or
//     -mod=vendor when the module vendors), so it never writes go.mod or go.sum. A -mod=mod
//     there (common in CI shells) used to make opening a file rewrite them.
//   - GOTOOLCHAIN=local: a `toolchain` line asking for a newer Go makes the load fail (and the
//     analysis degrade to syntax-only, saying why) instead of downloading a toolchain.
func goEnv(extra []string) []string {
	env := append(os.Environ(), extra...)
	goflags := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			goflags = v // the last one wins, as in os/exec
		}
	}
	var kept []string
	for _, f := range strings.Fields(goflags) {
		if name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "="); name == "mod" {
			continue
		}
		kept = append(kept, f)
	}
	return append(env, "GOFLAGS="+strings.Join(kept, " "), "GOTOOLCHAIN=local")
}

// runGo runs the go command with args in dir and returns its standard output. It waits for one
// of maxGoCommands slots; the command runs at lower priority in a process group of its own, and
// when ctx ends the whole group is killed, so no compiler or other child outlives the load.
func runGo(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	select {
	case goCommandSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-goCommandSlots }()

	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative pid addresses the process group: go and everything it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Children started from now on inherit the priority; go list starts none before it has read
	// its arguments and the module graph.
	_ = syscall.Setpriority(syscall.PRIO_PGRP, cmd.Process.Pid, goCommandNice)
	err := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exit *exec.ExitError
		if msg == "" || !errors.As(err, &exit) {
			msg = strings.TrimSpace(err.Error() + "\n" + msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s", msg)
	}
	return stdout.Bytes(), nil
}
