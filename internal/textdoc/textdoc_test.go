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
