// Package childproc ties the servers that tests, the demo and the benchmarks start to the
// lifetime of the process that started them.
package childproc

import "os/exec"

// TieToParent arranges for cmd, once started, to be killed when the process that started it
// dies, even by SIGKILL, where the platform allows (Linux: the parent-death signal). Elsewhere
// it does nothing, and callers must stop their children themselves, as they should anyway.
//
// On Linux the signal follows the OS thread that started cmd; Go keeps those threads for the
// life of the process unless a goroutine exits while locked to one, which none of ours does.
func TieToParent(cmd *exec.Cmd) { tieToParent(cmd) }
