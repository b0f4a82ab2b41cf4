// Package plaintext makes text from outside am-lsp (the repository, the go command, the
// backend) safe to show as plain text: printed on a terminal, written into an editor
// notification (window/showMessage), or placed in a table cell. Markdown output has its own
// escaping on top of this (internal/insight/markdown.go).
package plaintext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s without the characters that would act instead of show: C0 and C1 control
// characters (ESC, BEL, CSI…, so no terminal escape sequence survives), DEL, and the
// bidirectional formatting characters that reorder what is displayed (U+061C, U+200E–U+200F,
// U+202A–U+202E, U+2066–U+2069). Line breaks and tabs are kept; invalid UTF-8 becomes U+FFFD.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == '\r' || r == '\v' || r == '\f' || r == 0x85 {
			return ' ' // white space that moves the cursor: keep the words apart
		}
		if unsafe(r) {
			return -1
		}
		return r
	}, s)
}

// Line returns Clean(s) on one line: white space (line breaks included) collapsed to single
// spaces, cut to at most n characters and then ending in "…".
func Line(s string, n int) string {
	s = strings.Join(strings.Fields(Clean(s)), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:max(n-1, 0)]), unicode.IsSpace) + "…"
}

// Message returns Line(s, n) for an editor notification. Editors render "[text](target)" in
// a notification as a link whose text hides its target (VS Code does); Message breaks that
// syntax by putting a space between "]" and "(", so text from outside am-lsp cannot make a
// link. Bare URLs stay as they are: what they show is where they go.
func Message(s string, n int) string {
	return strings.ReplaceAll(Line(s, n), "](", "] (")
}

// unsafe reports whether r is a control or bidirectional formatting character.
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func isClean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (unsafe(r) && r != '\n' && r != '\t') {
			return false
		}
	}
	return true
}
