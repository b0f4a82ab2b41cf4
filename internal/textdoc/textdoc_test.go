package textdoc

import (
	"strings"
	"testing"
)

func TestApplyIncrementalEditsCountUTF16(t *testing.T) {
	s := NewStore()
	s.Open("/a.go", 1, "héllo 😀 world\nsecond\n")
	// Replace "world" (after an emoji that is two UTF-16 units) with "there".
	snap, err := s.Apply("/a.go", 2, []Change{{
		Range: &Range{Start: Position{0, 9}, End: Position{0, 14}},
		Text:  "there",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(snap.Text), "héllo 😀 there\nsecond\n"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
	// Two changes in one notification apply in order; the second sees the first.
	snap, err = s.Apply("/a.go", 3, []Change{
		{Range: &Range{Start: Position{1, 0}, End: Position{1, 6}}, Text: "2nd"},
		{Range: &Range{Start: Position{1, 3}, End: Position{1, 3}}, Text: "!"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(snap.Text), "héllo 😀 there\n2nd!\n"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
}

func TestApplyRejectsBadInputAndKeepsText(t *testing.T) {
	s := NewStore()
	s.Open("/a.go", 5, "one\ntwo\n")
	if _, err := s.Apply("/b.go", 1, []Change{{Text: "x"}}); err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("unopened document: err = %v", err)
	}
	if _, err := s.Apply("/a.go", 4, []Change{{Text: "x"}}); err == nil || !strings.Contains(err.Error(), "not newer") {
		t.Fatalf("old version: err = %v", err)
	}
	if _, err := s.Apply("/a.go", 6, []Change{{Range: &Range{Start: Position{9, 0}, End: Position{9, 1}}, Text: "x"}}); err == nil {
		t.Fatal("range beyond the text was accepted")
	}
	snap, _ := s.Get("/a.go")
	if string(snap.Text) != "one\ntwo\n" || snap.Version != 5 {
		t.Fatalf("document changed by rejected edits: %q v%d", snap.Text, snap.Version)
	}
}

func TestOffsetAndPositionRoundTrip(t *testing.T) {
	text := []byte("a😀b\nxyz")
	for off := 0; off <= len(text); off++ {
		if off > 1 && off < 5 { // inside the emoji's UTF-8 bytes
			continue
		}
		pos := PositionOf(text, off)
		back, err := Offset(text, pos)
		if err != nil {
			t.Fatal(err)
		}
		if back != off {
			t.Errorf("offset %d → %v → %d", off, pos, back)
		}
	}
	if pos := PositionOf(text, 5); pos != (Position{0, 3}) {
		t.Errorf("position after emoji = %v, want 0:3", pos)
	}
	// Characters past the line end clamp to the end of that line.
	if off, _ := Offset(text, Position{0, 99}); off != 6 {
		t.Errorf("clamped offset = %d, want 6", off)
	}
}

// TestLineEndsAsLSPCountsThem: "\r\n", "\n" and a lone "\r" each end a line, so positions
// after a lone "\r" (pasted text) name the bytes the editor shows there.
func TestLineEndsAsLSPCountsThem(t *testing.T) {
	text := []byte("a\r\nb\rc\nd\r\re")
	lines := IndexLines(text)
	if lines.Count() != 6 {
		t.Fatalf("%d lines, want 6", lines.Count())
	}
	for _, c := range []struct {
		pos Position
		off int
	}{{Position{0, 0}, 0}, {Position{0, 9}, 1}, {Position{1, 0}, 3}, {Position{2, 0}, 5}, {Position{3, 0}, 7}, {Position{3, 5}, 8}, {Position{4, 0}, 9}, {Position{5, 0}, 10}, {Position{5, 1}, 11}} {
		got, err := lines.Offset(c.pos)
		if err != nil || got != c.off {
			t.Errorf("Offset(%v) = %d, %v; want %d", c.pos, got, err, c.off)
		}
		if c.pos.Character <= 1 && PositionOf(text, c.off) != c.pos {
			t.Errorf("PositionOf(%d) = %v, want %v", c.off, PositionOf(text, c.off), c.pos)
		}
	}
	// Inside a "\r\n": the end of that line's content.
	if got := PositionOf(text, 2); got != (Position{0, 1}) {
		t.Errorf("PositionOf inside CRLF = %v, want 0:1", got)
	}
	if _, err := lines.Offset(Position{6, 0}); err == nil {
		t.Error("line 6 of a 6-line text was accepted")
	}
	s := NewStore()
	s.Open("/a.go", 1, "x\ry\r\nz")
	snap, err := s.Apply("/a.go", 2, []Change{{Range: &Range{Start: Position{1, 0}, End: Position{1, 1}}, Text: "Y"}, {Range: &Range{Start: Position{2, 0}, End: Position{2, 1}}, Text: "Z"}})
	if err != nil || string(snap.Text) != "x\rY\r\nZ" {
		t.Fatalf("edits after a lone CR: %q, %v", snap.Text, err)
	}
}

// TestLFViewRoundTrip: an insertion computed on the "\n" view of a CRLF text, mapped back,
// writes CRLF lines; deleting it again restores the original bytes.
func TestLFViewRoundTrip(t *testing.T) {
	orig := "package p\r\n\r\nfunc F() {\r\n\treturn\r\n}\r\n"
	v := NewLFView([]byte(orig))
	if !v.CRLF || string(v.Text) != strings.ReplaceAll(orig, "\r\n", "\n") {
		t.Fatalf("view %q CRLF=%v", v.Text, v.CRLF)
	}
	at := strings.Index(string(v.Text), "{") + 1 // before the "\n" after "{"
	insert := "\n\tdefer f()"
	o := v.Original(at)
	if orig[o-1:o+2] != "{\r\n" {
		t.Fatalf("insertion point %d maps to %d: %q", at, o, orig[o-1:o+2])
	}
	if back := v.Normalized(o); back != at {
		t.Errorf("Normalized(Original(%d)) = %d", at, back)
	}
	if back := v.Normalized(o + 1); back != at { // between "\r" and "\n"
		t.Errorf("Normalized inside CRLF = %d, want %d", back, at)
	}
	out := orig[:o] + v.NewText(insert) + orig[o:]
	if want := "package p\r\n\r\nfunc F() {\r\n\tdefer f()\r\n\treturn\r\n}\r\n"; out != want {
		t.Fatalf("inserted: %q\nwant %q", out, want)
	}
	w := NewLFView([]byte(out))
	start := strings.Index(string(w.Text), insert)
	a, b := w.Original(start), w.Original(start+len(insert))
	if restored := out[:a] + out[b:]; restored != orig {
		t.Errorf("removal gives %q, want %q", restored, orig)
	}
	if lf := NewLFView([]byte("a\nb\r\nc\n")); lf.CRLF || lf.NewText("x\ny") != "x\ny" {
		t.Errorf("mostly-LF text: CRLF=%v", lf.CRLF)
	}
}

func TestLFViewReadsALoneCRAsALineEnd(t *testing.T) {
	v := NewLFView([]byte("// a\r// b\r\nx"))
	if string(v.Text) != "// a\n// b\nx" || v.Original(5) != 5 || v.Original(10) != 11 || !v.CRLF {
		t.Errorf("view %q, Original(5)=%d Original(10)=%d CRLF=%v", v.Text, v.Original(5), v.Original(10), v.CRLF)
	}
}
