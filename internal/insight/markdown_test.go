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

// A "|" in a version label (the backend's text) stays inside its cell of the deploy table: the
// table keeps its three columns and the label shows whole, with no link of its own.
func TestDeployTableKeepsPipesInCells(t *testing.T) {
	d := &promclient.Deploy{
		Current:  promclient.Version{Version: "v2|[Session expired - sign in](https://evil.example/login)|", Commit: "bbbb"},
		Previous: promclient.Version{Version: "v1|x", Commit: "aaaa"},
		At:       time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
	html := render(t, deployMarkdown(d))
	if links := hrefPattern.FindAllStringSubmatch(html, -1); len(links) != 0 {
		t.Errorf("links in the deploy table: %q", links)
	}
	head := regexp.MustCompile(`(?s)<thead>.*</thead>`).FindString(html)
	if got := len(regexp.MustCompile(`<th[ >]`).FindAllString(head, -1)); got != 3 {
		t.Errorf("header has %d cells, want 3:\n%s", got, head)
	}
	for _, want := range []string{"<code>v1|x</code>", "<code>v2|[Session expired - sign in](https://evil.example/login)|</code>"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %s:\n%s", want, head)
		}
	}
}

// Links to commits go only to the provider's own host (github.com, gitlab.com), whatever
// repository URL build_info names, and their text names that host.
func TestRepositoryLinksOnlyToTheProvidersHost(t *testing.T) {
	version := func(repo, provider, commit string) promclient.Version {
		return promclient.Version{Version: commit, Commit: commit, RepositoryURL: repo, RepositoryProvider: provider}
	}
	for _, tc := range []struct{ repo, provider, compare, tree string }{
		{"https://github.com/acme/shop.git", "github", "https://github.com/acme/shop/compare/aaaa...bbbb", "https://github.com/acme/shop/tree/bbbb"},
		{"https://GitLab.com/acme/shop/", "GitLab", "https://GitLab.com/acme/shop/-/compare/aaaa...bbbb", "https://GitLab.com/acme/shop/-/tree/bbbb"},
		{"https://github.com.evil.example/acme/shop", "github", "", ""},
		{"https://evil.example/github.com/acme/shop", "github", "", ""},
		{"https://github.com@evil.example/acme/shop", "github", "", ""},
		{"https://github.com:8443/acme/shop", "github", "", ""},
		{"https://gitlab.com/acme/shop", "github", "", ""},
		{"https://git.example/acme/shop", "gitea", "", ""},
	} {
		prev, cur := version(tc.repo, tc.provider, "aaaa"), version(tc.repo, tc.provider, "bbbb")
		if got := CompareURL(prev, cur); got != tc.compare {
			t.Errorf("CompareURL(%s, %s) = %q, want %q", tc.repo, tc.provider, got, tc.compare)
		}
		if got := CommitURL(cur); got != tc.tree {
			t.Errorf("CommitURL(%s, %s) = %q, want %q", tc.repo, tc.provider, got, tc.tree)
		}
		html := render(t, deployMarkdown(&promclient.Deploy{Previous: prev, Current: cur, At: time.Now()}))
		links := hrefPattern.FindAllStringSubmatch(html, -1)
		if tc.compare == "" && len(links) != 0 {
			t.Errorf("%s: deploy links to %q", tc.repo, links)
		}
		if tc.compare != "" && (len(links) != 1 || !regexp.MustCompile(`>Commits .* on (github|gitlab)\.com</a>`).MatchString(html)) {
			t.Errorf("%s: deploy card does not link the commits naming the host:\n%s", tc.repo, html)
		}
	}
}
