package insight

import (
	"strings"
	"unicode"

	"github.com/am-lsp/am-lsp/internal/plaintext"
)

// Text from the repository (module paths, directive SLO names) and from the backend (label
// values, warnings, error messages) goes into hover cards only through these helpers: as plain
// text with everything Markdown would read as markup escaped (text), or as an inline code span
// it cannot close (code). The only links in a card are the ones am-lsp builds (link).

// Length limits of text from outside am-lsp in a card, in characters.
const (
	maxLabelText = 120 // one label value: a service, a version, an SLO name, a caller
	maxProseText = 400 // a sentence: a reason, a note, a backend warning
)

// clip drops control and bidirectional formatting characters, collapses white space (line
// breaks included) to single spaces and cuts s to at most n characters, ending it with "…" when
// cut (plaintext.Line).
func clip(s string, n int) string { return plaintext.Line(s, n) }

// text returns s (clipped to n characters, on one line) as Markdown that renders as exactly that
// text: no emphasis, code, link, autolink, image, HTML, table cell or block marker. Characters
// that would start markup are backslash-escaped; "://", "www." and "@" are broken up with an
// escape so that no extended autolink forms.
func text(s string, n int) string {
	s = clip(s, n)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case '\\', '`', '*', '[', ']', '<', '>', '|', '~', '@':
			b.WriteByte('\\')
		case '_':
			// Inside a word (AM_PROMETHEUS_URL) "_" is not emphasis; elsewhere it may be.
			if !(i > 0 && i+1 < len(rs) && isWordRune(rs[i-1]) && isWordRune(rs[i+1])) {
				b.WriteByte('\\')
			}
		case ':':
			if strings.HasPrefix(string(rs[i+1:]), "//") {
				b.WriteByte('\\')
			}
		case '.':
			if i >= 3 && strings.EqualFold(string(rs[i-3:i]), "www") {
				b.WriteByte('\\')
			}
		case '#', '-', '+', '=':
			if i == 0 { // a heading, list item or setext underline at the start of a line
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	out := b.String()
	// "1." or "1)" at the start is an ordered list item.
	if j := strings.IndexFunc(out, func(r rune) bool { return r < '0' || r > '9' }); j > 0 && (out[j] == '.' || out[j] == ')') {
		out = out[:j] + `\` + out[j:]
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// code returns s (clipped to n characters, on one line) as an inline code span: its fence is
// one backtick longer than the longest run of backticks in s, so s cannot close it, and nothing
// inside a code span is markup.
func code(s string, n int) string {
	s = clip(s, n)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " " // the spaces are stripped again; they keep edge backticks apart from the fence
	}
	return fence + s + fence
}

// link returns a Markdown link with label (am-lsp's own text) to dest, a URL am-lsp built.
// Characters that would end the destination or the link early are percent-encoded, so a path
// prefix from the settings cannot add a link of its own.
func link(label, dest string) string {
	return "[" + label + "](" + linkDest.Replace(dest) + ")"
}

var linkDest = strings.NewReplacer("(", "%28", ")", "%29", "<", "%3C", ">", "%3E", " ", "%20", "\\", "%5C", "\n", "%0A", "\r", "%0D", "`", "%60")
