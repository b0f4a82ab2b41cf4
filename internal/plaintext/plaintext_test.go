package plaintext

import (
	"strings"
	"testing"
)

func TestCleanDropsTerminalEscapesAndBidiOverrides(t *testing.T) {
	in := "upstream error \x1b]0;PWNED\x07\x1b[31mRED\x1b[0m \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \u009b2J" +
		" abc\u202edcba\u2066x\u2069 del\x7f nul\x00\nnext\tcol\r\nend"
	got := Clean(in)
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\u2066", "\u2069", "\x7f", "\x00", "\r"} {
		if strings.Contains(got, bad) {
			t.Errorf("Clean kept %q: %q", bad, got)
		}
	}
	want := "upstream error ]0;PWNED[31mRED[0m ]8;;https://evil.example/click]8;; 2J abcdcbax del nul\nnext\tcol \nend"
	if got != want {
		t.Errorf("Clean:\n got %q\nwant %q", got, want)
	}
	if ok := "plain, ünïcode — text\n"; Clean(ok) != ok {
		t.Errorf("Clean changed clean text: %q", Clean(ok))
	}
	if got := Clean("bad \xff utf8"); got != "bad \uFFFD utf8" {
		t.Errorf("Clean of invalid UTF-8 = %q", got)
	}
}

func TestLineOneLineAndClipped(t *testing.T) {
	if got := Line("a\n\tb  \x1b[1mc", 100); got != "a b [1mc" {
		t.Errorf("Line = %q", got)
	}
	if got := Line("abcdef ghij", 8); got != "abcdef…" {
		t.Errorf("Line clipped = %q", got)
	}
	if got := Line("ééé", 3); got != "ééé" {
		t.Errorf("Line at the limit = %q", got)
	}
}

func TestMessageBreaksLinkSyntax(t *testing.T) {
	in := `example.com/x: malformed import path "example.com/x/[Sign in](https://evil.example/a)"` + "\n[x]\n(https://e.example)"
	got := Message(in, 400)
	if strings.Contains(got, "](") {
		t.Errorf("Message keeps a link: %q", got)
	}
	if !strings.Contains(got, "[Sign in] (https://evil.example/a)") {
		t.Errorf("Message lost the text: %q", got)
	}
}
