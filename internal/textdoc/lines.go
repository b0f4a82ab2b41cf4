package textdoc

import (
	"fmt"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// Lines indexes the line starts of one text. Lines end, as LSP counts them, at "\r\n", "\n" or
// a lone "\r". Building the index reads the text once; conversions then cost a binary search and
// a scan of one line. The zero Lines is the index of an empty text.
type Lines struct {
	text   []byte
	starts []int // byte offset of the start of each line; starts[0] == 0
}

// IndexLines returns the line index of text. text must not change afterwards.
func IndexLines(text []byte) Lines {
	starts := make([]int, 1, 1+len(text)/32)
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			starts = append(starts, i+1)
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		}
	}
	return Lines{text: text, starts: starts}
}

// Count returns the number of lines: one more than the number of line ends.
func (l Lines) Count() int {
	if l.starts == nil {
		return 1
	}
	return len(l.starts)
}

// contentEnd returns the offset where line's content ends (before its line end).
func (l Lines) contentEnd(line int) int {
	end := len(l.text)
	if line+1 < len(l.starts) {
		end = l.starts[line+1]
		if end > 0 && l.text[end-1] == '\n' {
			end--
		}
		if end > l.starts[line] && l.text[end-1] == '\r' {
			end--
		}
	}
	return end
}

// Offset converts an LSP position to a byte offset. A character offset past the end of its
// line clamps to the line end (as LSP asks), as does one inside a surrogate pair (to before the
// rune); a line past the end of the text is an error, except the line just after a trailing
// line end.
func (l Lines) Offset(pos Position) (int, error) {
	if int64(pos.Line) >= int64(l.Count()) {
		return 0, fmt.Errorf("position %d:%d is beyond the last line (%d)", pos.Line, pos.Character, l.Count()-1)
	}
	if l.starts == nil {
		return 0, nil
	}
	i, end := l.starts[pos.Line], l.contentEnd(int(pos.Line))
	units := uint32(0)
	for i < end && units < pos.Character {
		r, size := utf8.DecodeRune(l.text[i:])
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

// PositionOf converts a byte offset to an LSP position. Offsets beyond the text clamp to its
// end; an offset inside a "\r\n" clamps to the end of its line's content.
func (l Lines) PositionOf(offset int) Position {
	offset = max(0, min(offset, len(l.text)))
	if l.starts == nil {
		return Position{}
	}
	line := sort.SearchInts(l.starts, offset+1) - 1
	offset = min(offset, l.contentEnd(line))
	pos := Position{Line: uint32(line)}
	for i := l.starts[line]; i < offset; {
		r, size := utf8.DecodeRune(l.text[i:])
		n := utf16.RuneLen(r)
		if n <= 0 {
			n = 1
		}
		pos.Character += uint32(n)
		i += size
	}
	return pos
}

// Offset converts an LSP position to a byte offset in text; see Lines.Offset. It indexes text
// first: to convert several positions of one text, index it once with IndexLines.
func Offset(text []byte, pos Position) (int, error) { return IndexLines(text).Offset(pos) }

// PositionOf converts a byte offset in text to an LSP position; see Lines.PositionOf. It
// indexes text first: to convert several offsets of one text, index it once with IndexLines.
func PositionOf(text []byte, offset int) Position { return IndexLines(text).PositionOf(offset) }
