package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampler samples, through a whole session, the resident memory of a server process and of
// the server plus every process it started (the go command, compilers, ...), and keeps the peaks.
type memSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	peakServer float64 // MiB
	peakTotal  float64 // MiB
}

// sampleEvery is the sampling period: short enough to catch a compile child of a few hundred ms.
const sampleEvery = 50 * time.Millisecond

func sampleMemory(pid int) *memSampler {
	m := &memSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	server := rssMiB(m.pid)
	total := server
	for _, child := range descendants(m.pid) {
		total += rssMiB(child)
	}
	m.mu.Lock()
	m.peakServer = max(m.peakServer, server, hwmMiB(m.pid))
	m.peakTotal = max(m.peakTotal, total)
	m.mu.Unlock()
}

// finish stops sampling and returns the peaks (server, server + children) in MiB.
func (m *memSampler) finish() (server, total float64) {
	m.sample()
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peakServer, max(m.peakTotal, m.peakServer)
}

// cpuTime returns the CPU time used so far by pid and its live descendants, in clock ticks.
func cpuTime(pid int) int64 {
	total := statTicks(pid)
	for _, c := range descendants(pid) {
		total += statTicks(c)
	}
	return total
}

func statTicks(pid int) int64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseInt(f[13], 10, 64)
	s, _ := strconv.ParseInt(f[14], 10, 64)
	return u + s
}

// statFields returns the fields of /proc/pid/stat (the command name, which may hold spaces, is
// skipped, so index 0 is the pid, 1 the state, 2 the parent pid, ...; same numbering as proc(5)
// minus one).
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{strings.Fields(s[:i])[0], "comm"}, strings.Fields(s[i+1:])...)
}

// descendants lists the live processes below pid.
func descendants(pid int) []int {
	entries, _ := filepath.Glob("/proc/[0-9]*")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 3 {
			if ppid, err := strconv.Atoi(f[3]); err == nil {
				children[ppid] = append(children[ppid], p)
			}
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func rssMiB(pid int) float64 { return statusKiB(pid, "VmRSS:") / 1024 }
func hwmMiB(pid int) float64 { return statusKiB(pid, "VmHWM:") / 1024 }

func statusKiB(pid int, field string) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb
		}
	}
	return 0
}
