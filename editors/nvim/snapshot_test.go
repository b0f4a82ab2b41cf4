package nvim

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/cardcheck"
	"github.com/am-lsp/am-lsp/internal/textdoc"
)

// TestAmSnapshot runs :AmSnapshot in headless Neovim on (*Server).Handle of the demo: the
// snapshot Markdown lands in the unnamed register and a markdown scratch buffer, with the
// absolute UTC range and the numbers Prometheus answers.
func TestAmSnapshot(t *testing.T) {
	nvim := requireTool(t, "nvim", "neovim")
	prom, fns := startDemoPrometheus(t)
	bin := buildServer(t)
	var file string
	var offset int
	for _, f := range fns {
		if f.QualifiedName() == "(*Server).Handle" && f.PkgPath == "example.com/demo/api" {
			file, offset = f.NameSpan.File, f.NameSpan.Start
		}
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pos := textdoc.PositionOf(text, offset)
	home := t.TempDir()
	out := filepath.Join(home, "result.json")
	serverLog := filepath.Join(home, "am-lsp.log")
	init := userInit(t, bin, serverLog, prom.URL, initExtras{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := neovimCommand(ctx, t, nvim, init, "testdata/snapshot.lua", home,
		"AM_OUT="+out, "AM_FILE="+file, "AM_LINE="+strconv.Itoa(int(pos.Line)), "AM_COL="+strconv.Itoa(int(pos.Character)+1))
	output, runErr := cmd.CombinedOutput()
	var res struct {
		Error, Register, Scratch, Filetype string
		Messages                           []struct{ Msg string }
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no result (%v): %s", runErr, output)
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Error != "" {
		t.Fatalf("driver: %v %s\n%s", err, res.Error, output)
	}
	md := res.Register
	if !strings.HasPrefix(md, "### am-lsp snapshot · `(*Server).Handle`") || strings.TrimRight(res.Scratch, "\n") != strings.TrimRight(md, "\n") || res.Filetype != "markdown" {
		t.Fatalf("register %q, scratch %q (%s)", md, res.Scratch, res.Filetype)
	}
	m := regexp.MustCompile(`Time range \(UTC\): \*\*(\S+) – (\S+)\*\*`).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("no range:\n%s", md)
	}
	start, err1 := time.Parse(time.RFC3339, m[1])
	end, err2 := time.Parse(time.RFC3339, m[2])
	if err1 != nil || err2 != nil || end.Sub(start) != 5*time.Minute {
		t.Errorf("range %v – %v", m[1], m[2])
	}
	rm := regexp.MustCompile(`(?m)^\| Error ratio \| ([0-9.]+) % \|$`).FindStringSubmatch(md)
	if rm == nil {
		t.Fatalf("no error ratio:\n%s", md)
	}
	got, _ := strconv.ParseFloat(rm[1], 64)
	want, err := prom.QueryValue(ctx, cardcheck.SpecQueries("Handle", "example.com/demo/api.Server", "5m")[cardcheck.ErrorRatio])
	if err != nil {
		t.Fatal(err)
	}
	if !cardcheck.Close(got/100, want) {
		t.Errorf("snapshot error ratio %v %%, Prometheus %v", got, want)
	}
	seen := false
	for _, msg := range res.Messages {
		seen = seen || strings.Contains(msg.Msg, "snapshot") && strings.Contains(msg.Msg, "register")
	}
	if !seen {
		t.Errorf("no message saying where the snapshot went: %+v", res.Messages)
	}
}
