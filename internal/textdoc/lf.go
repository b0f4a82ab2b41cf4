package textdoc

import (
	"bytes"
	"sort"
	"strings"
)

// LFView is a text with every line end read as "\n", for code that only knows "\n" line ends
// (the instrumentation edits), with the conversions of offsets and inserted text back to the
// original. Each "\r\n" becomes "\n"; a lone "\r" becomes "\n" too (one byte for one, so
// offsets do not move), and the view's lines are the editor's: a comment pasted with a lone
// "\r" reads as the two comment lines the user sees, not as the one Go's scanner reads. An edit
// computed on Text, mapped with Original and NewText, keeps a CRLF file CRLF; removing text
// that was inserted that way restores the original bytes.
type LFView struct {
	Text []byte // the text with every "\r\n" and every lone "\r" replaced by "\n"
	// CRLF says most line ends of the original are "\r\n": text inserted into it should use them.
	CRLF bool
	crs  []int // ascending offsets in Text of the "\n"s that were "\r\n"
}

// NewLFView returns the view of text. Without any "\r", Text is text itself.
func NewLFView(text []byte) *LFView {
	if bytes.IndexByte(text, '\r') < 0 {
		return &LFView{Text: text}
	}
	n := bytes.Count(text, []byte("\r\n"))
	v := &LFView{Text: make([]byte, 0, len(text)-n), crs: make([]int, 0, n)}
	for i := 0; i < len(text); i++ {
		switch {
		case text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n':
			continue
		case text[i] == '\r':
			v.Text = append(v.Text, '\n')
			continue
		case text[i] == '\n' && i > 0 && text[i-1] == '\r':
			v.crs = append(v.crs, len(v.Text))
		}
		v.Text = append(v.Text, text[i])
	}
	v.CRLF = 2*n > bytes.Count(text, []byte("\n"))
	return v
}

// Original converts an offset in Text to the offset in the original text. An offset just
// before a "\n" that was "\r\n" maps to before the "\r".
func (v *LFView) Original(offset int) int {
	return offset + sort.SearchInts(v.crs, offset)
}

// Normalized converts an offset in the original text to one in Text; an offset between a "\r"
// and its "\n" maps to before the "\n".
func (v *LFView) Normalized(offset int) int {
	// The j-th "\r" removed sat at crs[j]+j in the original.
	removed := sort.Search(len(v.crs), func(j int) bool { return v.crs[j]+j >= offset })
	return offset - removed
}

// NewText converts text to insert into the original: in a CRLF text every "\n" not already
// preceded by "\r" becomes "\r\n"; otherwise text is unchanged.
func (v *LFView) NewText(text string) string {
	if !v.CRLF || !strings.Contains(text, "\n") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + strings.Count(text, "\n"))
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' && (i == 0 || text[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(text[i])
	}
	return b.String()
}
