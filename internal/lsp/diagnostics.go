package lsp

import (
	"context"
	"sync"
	"time"

	"go.lsp.dev/protocol"
)

// diagnosticResult is the wire shape of one diagnostic.
type diagnosticResult struct {
	Range           protocol.Range   `json:"range"`
	Severity        int              `json:"severity"`
	Code            string           `json:"code,omitempty"`
	CodeDescription *codeDescription `json:"codeDescription,omitempty"`
	Source          string           `json:"source"`
	Message         string           `json:"message"`
	Data            any              `json:"data,omitempty"`
}

type codeDescription struct {
	Href string `json:"href"`
}

// LSP diagnostic severities.
const (
	severityError       = 1
	severityWarning     = 2
	severityInformation = 3
	severityHint        = 4
)

// diagnosticsDelay is how long the diagnostics of a changed document wait for further changes:
// a burst of edits (typing, a paste, an editor replaying changes) publishes once, at its end.
const diagnosticsDelay = 150 * time.Millisecond

// debouncer runs a function per key once no schedule of that key came for its delay.
type debouncer struct {
	delay  time.Duration
	mu     sync.Mutex
	timers map[string]*time.Timer
}

// schedule runs f (on its own goroutine) delay after the last schedule of key; a pending run of
// key is postponed and its f replaced.
func (d *debouncer) schedule(key string, f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.timers[key]; ok && t.Stop() {
		delete(d.timers, key)
	}
	if d.timers == nil {
		d.timers = map[string]*time.Timer{}
	}
	var t *time.Timer
	t = time.AfterFunc(d.delay, func() {
		d.mu.Lock()
		if d.timers[key] == t {
			delete(d.timers, key)
		}
		d.mu.Unlock()
		f()
	})
	d.timers[key] = t
}

// schedulePublish publishes the diagnostics of the open document path once its changes pause.
func (s *Server) schedulePublish(path string) {
	s.publishes.schedule(path, func() { s.publishDiagnostics(path) })
}

// publishDiagnostics computes and sends the diagnostics of the open document path, unless the
// document changed meanwhile (a newer publish follows then). It runs off the read loop.
func (s *Server) publishDiagnostics(path string) {
	doc, ok := s.docs.Get(path)
	if !ok {
		return
	}
	diags := []diagnosticResult{}
	for _, w := range s.workspace.SLOWarnings(doc.Path, doc.Version) {
		diags = append(diags, sloDiagnostic(doc, w.Function.NameSpan.Start, w.Function.NameSpan.End, w.Breached, w.Message, w.Href))
	}
	diags = append(diags, s.codeDiagnostics(doc)...)
	s.sends.Lock()
	defer s.sends.Unlock()
	if cur, ok := s.docs.Get(path); !ok || cur.Version != doc.Version {
		return
	}
	version := doc.Version
	_ = s.client.notify(context.Background(), "textDocument/publishDiagnostics", map[string]any{
		"uri": fileURI(path), "version": version, "diagnostics": diags,
	})
}

// publishAll refreshes the diagnostics of every open document.
func (s *Server) publishAll() {
	for _, p := range s.docs.Paths() {
		s.publishDiagnostics(p)
	}
}
