// Package textdoc keeps the editor's open documents: their text, version and language, edited
// with LSP-style ranges whose character offsets count UTF-16 code units. Every update replaces a
// document with a new immutable Snapshot, so readers never see half an edit.
package textdoc

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
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
	text := cur.Text
	for i, ch := range changes {
		if ch.Range == nil {
			text = []byte(ch.Text)
			continue
		}
		start, err := Offset(text, ch.Range.Start)
		if err != nil {
			return nil, fmt.Errorf("didChange for %s, change %d: %w", path, i, err)
		}
		end, err := Offset(text, ch.Range.End)
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

// Offset converts an LSP position to a byte offset in text. A character offset past the end of
// its line clamps to the line end (as LSP asks); a line past the end of the text is an error,
// except the line just after a trailing newline.
func Offset(text []byte, pos Position) (int, error) {
	line := uint32(0)
	i := 0
	for line < pos.Line {
		j := indexByte(text[i:], '\n')
		if j < 0 {
			return 0, fmt.Errorf("position %d:%d is beyond the last line (%d)", pos.Line, pos.Character, line)
		}
		i += j + 1
		line++
	}
	units := uint32(0)
	for i < len(text) && text[i] != '\n' && units < pos.Character {
		r, size := utf8.DecodeRune(text[i:])
		n := uint32(utf16.RuneLen(r))
		if r == utf8.RuneError || n == 0 {
			n = 1
		}
		if units+n > pos.Character {
			break // position inside a surrogate pair: stay before the rune
		}
		units += n
		i += size
	}
	return i, nil
}

// PositionOf converts a byte offset in text to an LSP position. Offsets beyond the text clamp to
// its end.
func PositionOf(text []byte, offset int) Position {
	if offset > len(text) {
		offset = len(text)
	}
	if offset < 0 {
		offset = 0
	}
	var pos Position
	lineStart := 0
	for i := 0; i < offset; i++ {
		if text[i] == '\n' {
			pos.Line++
			lineStart = i + 1
		}
	}
	for i := lineStart; i < offset; {
		r, size := utf8.DecodeRune(text[i:])
		n := utf16.RuneLen(r)
		if n <= 0 {
			n = 1
		}
		pos.Character += uint32(n)
		i += size
	}
	return pos
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
