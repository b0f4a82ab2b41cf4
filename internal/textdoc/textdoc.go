// Package textdoc keeps the editor's open documents: their text, version and language, edited
// with LSP-style ranges whose character offsets count UTF-16 code units. Every update replaces a
// document with a new immutable Snapshot, so readers never see half an edit.
//
// Lines end, as in LSP, at "\r\n", "\n" or a lone "\r". Each Snapshot indexes its line starts
// once, on first use, so converting between positions and byte offsets costs a binary search
// plus the length of one line, whatever the document's size.
package textdoc

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Position is a zero-based line and UTF-16 character offset, as in LSP.
type Position struct{ Line, Character uint32 }

// Range is a half-open [Start, End) range of Positions.
type Range struct{ Start, End Position }

// Change is one content change: with Range nil it replaces the whole text.
type Change struct {
	Range *Range
	Text  string
}

// Snapshot is one immutable version of a document.
type Snapshot struct {
	Path    string // absolute file path
	Version int32
	Text    []byte // never modified after creation

	linesOnce sync.Once
	lines     Lines
	lfOnce    sync.Once
	lf        *LFView
}

// Lines returns the line index of the snapshot's text, built on first use.
func (s *Snapshot) Lines() Lines {
	s.linesOnce.Do(func() { s.lines = IndexLines(s.Text) })
	return s.lines
}

// Offset converts an LSP position in the snapshot's text to a byte offset; see Lines.Offset.
func (s *Snapshot) Offset(pos Position) (int, error) { return s.Lines().Offset(pos) }

// PositionOf converts a byte offset in the snapshot's text to an LSP position; see
// Lines.PositionOf.
func (s *Snapshot) PositionOf(offset int) Position { return s.Lines().PositionOf(offset) }

// LF returns the snapshot's text as tools that only know "\n" line ends read it; see LFView.
func (s *Snapshot) LF() *LFView {
	s.lfOnce.Do(func() { s.lf = NewLFView(s.Text) })
	return s.lf
}

// ErrNotOpen is returned for documents the editor has not opened.
var ErrNotOpen = errors.New("document is not open")

// Store holds the open documents, keyed by absolute path. It is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	docs map[string]*Snapshot
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{docs: map[string]*Snapshot{}} }

// Open records a document as opened with its full text, replacing any earlier state.
func (s *Store) Open(path string, version int32, text string) *Snapshot {
	snap := &Snapshot{Path: path, Version: version, Text: []byte(text)}
	s.mu.Lock()
	s.docs[path] = snap
	s.mu.Unlock()
	return snap
}

// Apply applies changes in order to the open document and records the new version. A change
// whose range lies outside the text is an error and leaves the document untouched, as does a
// version not newer than the current one (versions increase with every change).
func (s *Store) Apply(path string, version int32, changes []Change) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.docs[path]
	if !ok {
		return nil, fmt.Errorf("didChange for %s: %w", path, ErrNotOpen)
	}
	if version <= cur.Version {
		return nil, fmt.Errorf("didChange for %s: version %d is not newer than the current %d", path, version, cur.Version)
	}
	text, lines := cur.Text, cur.Lines()
	for i, ch := range changes {
		if i > 0 {
			lines = IndexLines(text) // the previous change moved the lines
		}
		if ch.Range == nil {
			text = []byte(ch.Text)
			continue
		}
		start, err := lines.Offset(ch.Range.Start)
		if err != nil {
			return nil, fmt.Errorf("didChange for %s, change %d: %w", path, i, err)
		}
		end, err := lines.Offset(ch.Range.End)
		if err != nil {
			return nil, fmt.Errorf("didChange for %s, change %d: %w", path, i, err)
		}
		if end < start {
			return nil, fmt.Errorf("didChange for %s, change %d: range end before start", path, i)
		}
		next := make([]byte, 0, len(text)-(end-start)+len(ch.Text))
		next = append(next, text[:start]...)
		next = append(next, ch.Text...)
		next = append(next, text[end:]...)
		text = next
	}
	snap := &Snapshot{Path: path, Version: version, Text: text}
	s.docs[path] = snap
	return snap, nil
}

// Close forgets a document. Closing an unknown document is not an error.
func (s *Store) Close(path string) {
	s.mu.Lock()
	delete(s.docs, path)
	s.mu.Unlock()
}

// Get returns the current snapshot of an open document.
func (s *Store) Get(path string) (*Snapshot, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap, ok := s.docs[path]
	return snap, ok
}

// Paths returns the paths of all open documents, sorted.
func (s *Store) Paths() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.docs))
	for p := range s.docs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Overlay returns path → text of every open document, for go/packages overlays.
func (s *Store) Overlay() map[string][]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string][]byte, len(s.docs))
	for p, d := range s.docs {
		out[p] = d.Text
	}
	return out
}
