package insight

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// render turns card markdown into HTML with a CommonMark parser with GitHub's extensions
// (tables, strikethrough, extended autolinks), as editors render hovers.
func render(t *testing.T, md string) string {
	t.Helper()
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var hrefPattern = regexp.MustCompile(`<a href="([^"]*)"`)

// Hostile text from the repository (an --slo name, a module path with a backtick and an
// autolink) and from the backend (service and caller labels, warnings, error messages, a huge
// error body) renders as text: the card's only links are the ones am-lsp builds, there is no
// HTML, and backend text is cut short with "…".
func TestCardsEscapeRepositoryAndBackendText(t *testing.T) {
	client := testClient(t, "http://prom.example:9090/prefix")
	links := Links{Grafana: "https://grafana.example", Prom: client}
	const (
		phishing = "API [Session expired - sign in](https://evil.example/login)"
		autolink = "<file:/etc/passwd>"
	)
	huge := "bad_data: parse error <img src=x onerror=alert(1)> see https://evil.example/a and www.evil.example or a@evil.example " + strings.Repeat("x", 8<<20)
	fn := &analysis.Function{
		Name: "Handle", PkgPath: "example.com/x", PkgName: "x", Instrumentation: analysis.Generated,
		Labels:    analysis.Labels{Function: "Handle", Module: "example.com/x`" + autolink + "`"},
		Directive: &analysis.Directive{Verb: "inst", SLO: phishing, SuccessTarget: 99},
	}
	series := SeriesOf(fn)
	ok := &promclient.Snapshot{
		Stats: map[promclient.Series]promclient.Stats{series: {
			Series: series, RequestRate: 4, ErrorRatio: 0.25, P95: 0.1, P99: 0.2, Concurrent: 1,
			ServiceName: "[login](https://evil.example)", Version: "<script>alert(1)</script>",
			Callers:    []promclient.Caller{{Function: "x`](https://evil.example)", Module: "*bold*", RequestRate: 1}},
			Objectives: []promclient.Objective{{Name: "**" + phishing, Percentile: 99}},
		}},
		Warnings:  []string{"# heading [w](https://evil.example/w) " + autolink, huge},
		FetchedAt: time.Now(), Window: 5 * time.Minute,
	}
	empty := &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{}, Window: 5 * time.Minute}
	failed := &promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.QueryError, URL: client.DisplayURL(), Err: errors.New(huge)}}
	cards := map[string]string{
		"numbers":        Card(Explain(fn, links, ok, nil)),
		"no series":      Card(Explain(fn, links, empty, nil)),
		"backend error":  Card(Explain(fn, links, failed, nil)),
		"not configured": NotConfiguredCard("Autometrics", fn.QualifiedName(), errors.New(`prometheus URL "http://h/[x](https://evil.example)": `+autolink)),
	}
	for name, md := range cards {
		t.Run(name, func(t *testing.T) {
			html := render(t, md)
			for _, m := range hrefPattern.FindAllStringSubmatch(html, -1) {
				if !strings.HasPrefix(m[1], "http://prom.example:9090/prefix/graph?") && !strings.HasPrefix(m[1], "https://grafana.example/") {
					t.Errorf("a link am-lsp did not build: %s\n%s", m[1], md)
				}
			}
			for _, bad := range []string{"raw HTML omitted", "<img", "<script", "<h1", "<em>", "evil.example/login\"", "file:/etc/passwd\""} {
				if strings.Contains(html, bad) {
					t.Errorf("rendered card has %q:\n%s", bad, html)
				}
			}
			if len(md) > 8<<10 {
				t.Errorf("card of %d bytes: backend text is not cut", len(md))
			}
		})
	}
	// The text is still there to read, as text.
	for name, want := range map[string]string{
		"numbers":       "Session expired - sign in",
		"no series":     "example.com/x`&lt;file:/etc/passwd&gt;`",
		"backend error": "parse error &lt;img src=x onerror=alert(1)&gt;",
	} {
		if html := render(t, cards[name]); !strings.Contains(html, want) {
			t.Errorf("%s: rendered card lacks %q:\n%s", name, want, html)
		}
	}
	if !strings.Contains(cards["backend error"], "…") {
		t.Errorf("a cut backend message does not end with …:\n%s", cards["backend error"])
	}
}

// A code span holds any text, backticks included, and renders exactly it.
func TestCodeSpanCannotBeClosedEarly(t *testing.T) {
	for _, s := range []string{"plain", "a`b", "``x", "y``", "` `", "a ``` b", "<b>[x](y)</b>"} {
		html := render(t, code(s, 100))
		want := "<p><code>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s) + "</code></p>\n"
		if html != want {
			t.Errorf("code(%q) = %q renders %q, want %q", s, code(s, 100), html, want)
		}
	}
}

// Escaped text renders as exactly the text: nothing is markup, nothing is lost.
func TestTextRendersAsItself(t *testing.T) {
	for _, s := range []string{
		"AM_PROMETHEUS_URL or _x_ and *y*", "# not a heading", "- not a list", "1. not a list", "a | b", "~~s~~",
		"see https://evil.example/x or www.evil.example or me@evil.example", `back\slash \* kept`, "[a](b) ![c](d) <e>",
	} {
		html := render(t, text(s, 400))
		want := "<p>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s) + "</p>\n"
		if html != want {
			t.Errorf("text(%q) = %q renders %q, want %q", s, text(s, 400), html, want)
		}
	}
	if got := text(strings.Repeat("é", 500), 10); got != strings.Repeat("é", 9)+"…" {
		t.Errorf("cut to %q", got)
	}
}
