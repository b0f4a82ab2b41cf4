package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"go.lsp.dev/protocol"
)

// progress reports background analysis with $/progress, for clients that advertise
// window.workDoneProgress. One report runs per file being analysed.
type progress struct {
	mu     sync.Mutex
	active map[string]*report // by file path
	next   atomic.Int64
}

// report is one $/progress sequence. begun is closed once the begin message went out (or
// creating the token failed, then created is false).
type report struct {
	token   string
	begun   chan struct{}
	created bool
}

func (n *notifier) AnalysisStarted(path string) {
	s := n.srv
	s.mu.Lock()
	enabled := s.caps.workDoneProgress && s.state == stateInitialized
	s.mu.Unlock()
	if !enabled {
		return
	}
	p := &s.progress
	p.mu.Lock()
	if p.active == nil {
		p.active = map[string]*report{}
	}
	if _, running := p.active[path]; running {
		p.mu.Unlock()
		return
	}
	r := &report{token: fmt.Sprintf("am-lsp/analysis/%d", p.next.Add(1)), begun: make(chan struct{})}
	p.active[path] = r
	p.mu.Unlock()
	go func() {
		defer close(r.begun)
		ctx, cancel := context.WithTimeout(context.Background(), 5*s.grace)
		defer cancel()
		if err := s.client.call(ctx, "window/workDoneProgress/create", map[string]any{"token": r.token}, nil); err != nil {
			s.log.Debug("progress not created", "err", err)
			return
		}
		r.created = true
		_ = s.client.notify(ctx, "$/progress", map[string]any{"token": r.token, "value": map[string]any{
			"kind": "begin", "title": "am-lsp", "message": "analysing " + filepath.Base(filepath.Dir(path)) + " and loading its numbers",
		}})
	}()
}

func (n *notifier) AnalysisFinished(path string) {
	s := n.srv
	go s.publishDiagnostics(path)
	p := &s.progress
	p.mu.Lock()
	r, running := p.active[path]
	delete(p.active, path)
	p.mu.Unlock()
	if !running {
		return
	}
	go func() {
		<-r.begun
		if r.created {
			_ = s.client.notify(context.Background(), "$/progress", map[string]any{"token": r.token, "value": map[string]any{"kind": "end", "message": "done"}})
		}
	}()
}

// AnalysisDegraded tells the user, once per package and reason, that the go command could not
// load a package and detection falls back to syntax.
func (n *notifier) AnalysisDegraded(pkgPath, reason string) {
	s := n.srv
	msg := fmt.Sprintf("am-lsp: %s: %s. Instrumented functions are still found from syntax, but calls into other packages are not resolved until this is fixed.", pkgPath, reason)
	_ = s.showMessage(context.Background(), protocol.MessageTypeWarning, msg)
}
