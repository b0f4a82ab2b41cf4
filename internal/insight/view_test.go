package insight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

func testClient(t *testing.T, url string) *promclient.Client {
	t.Helper()
	c, err := promclient.New(promclient.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func handleMethod(inst analysis.Instrumentation) *analysis.Function {
	return &analysis.Function{
		Name: "Handle", Receiver: "Server", PointerReceiver: true, PkgPath: "example.com/app", PkgName: "app",
		Instrumentation: inst, Labels: analysis.Labels{Function: "Handle", Module: "example.com/app.Server"},
	}
}

func TestCardShowsNumbersWithLinksKeepingThePathPrefix(t *testing.T) {
	client := testClient(t, "https://user:pw@prom.example/prometheus")
	fn := handleMethod(analysis.Generated)
	series := SeriesOf(fn)
	snap := &promclient.Snapshot{
		Stats: map[promclient.Series]promclient.Stats{series: {
			Series: series, RequestRate: 4, ErrorRatio: 0.25, P95: 0.0913, P99: 0.243, Concurrent: 3,
			ServiceName: "api", Version: "v1.2.3",
		}},
		Warnings:  []string{"partial response: store gateway down"},
		FetchedAt: time.Now(), Window: 5 * time.Minute,
	}
	v := Explain(fn, Links{Prom: client}, snap, nil)
	if v.Status != StatusOK {
		t.Fatalf("status %v, reason %q", v.Status, v.Reason)
	}
	card := Card(v)
	for _, want := range []string{
		"`(*Server).Handle`", "api v1.2.3", `function="Handle", module="example.com/app.Server"`,
		"[4.00 req/s](https://prom.example/prometheus/graph?g0.expr=", "[25.0 %](", "[91.3 ms](", "[243 ms](", "[3](",
		"over 5m", "> partial response: store gateway down",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "pw@") || strings.Contains(card, "user:") {
		t.Errorf("card leaks credentials:\n%s", card)
	}
}

func TestExplainSaysWhyThereAreNoNumbers(t *testing.T) {
	client := testClient(t, "http://127.0.0.1:9")
	empty := &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{}, Window: 5 * time.Minute}
	cases := []struct {
		name   string
		fn     *analysis.Function
		snap   *promclient.Snapshot
		err    error
		status Status
		want   []string
	}{
		{"no series", handleMethod(analysis.Generated), empty, nil, StatusNoSeries,
			[]string{`function="Handle"`, `module="example.com/app.Server"`, "last 5m"}},
		{"directive only", handleMethod(analysis.DirectiveOnly), empty, nil, StatusNoSeries,
			[]string{"instrumentation statements are missing", "go generate"}},
		{"unreachable", handleMethod(analysis.Generated),
			&promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.Unreachable, URL: "http://127.0.0.1:9", Err: errors.New("connection refused")}},
			nil, StatusBackendError, []string{"unreachable", "connection refused", "prometheusUrl"}},
		{"unauthorized", handleMethod(analysis.Generated),
			&promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.Unauthorized, URL: "http://127.0.0.1:9", Err: errors.New("HTTP 401")}},
			nil, StatusBackendError, []string{"authentication failed"}},
		{"late", handleMethod(analysis.Generated), nil, context.DeadlineExceeded, StatusLoading,
			[]string{"still loading"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Explain(c.fn, Links{Prom: client}, c.snap, c.err)
			if v.Status != c.status {
				t.Fatalf("status %v, want %v (reason %q)", v.Status, c.status, v.Reason)
			}
			card := Card(v)
			for _, w := range c.want {
				if !strings.Contains(card, w) {
					t.Errorf("card lacks %q:\n%s", w, card)
				}
			}
		})
	}
}

func TestFormats(t *testing.T) {
	cases := []struct{ got, want string }{
		{FormatRate(4), "4.00 req/s"}, {FormatRate(0.0123), "0.0123 req/s"}, {FormatRate(1234.4), "1234 req/s"},
		{FormatRate(0), "0 req/s"}, {FormatRatio(0.25), "25.0 %"}, {FormatRatio(0.00123), "0.123 %"},
		{FormatRatio(math.NaN()), "–"}, {FormatLatency(0.243), "243 ms"}, {FormatLatency(0.0075), "7.5 ms"},
		{FormatLatency(2.5), "2.5 s"}, {FormatLatency(math.NaN()), "–"}, {FormatCount(3), "3"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestReportTableAndJSON(t *testing.T) {
	client := testClient(t, "http://127.0.0.1:9")
	ok := Explain(handleMethod(analysis.Generated), Links{Prom: client}, &promclient.Snapshot{
		Stats: map[promclient.Series]promclient.Stats{{Function: "Handle", Module: "example.com/app.Server"}: {
			RequestRate: 2, ErrorRatio: 0, P95: math.NaN(), P99: math.NaN(), Concurrent: math.NaN()}},
		Window: 5 * time.Minute,
	}, nil)
	pending := Explain(&analysis.Function{Name: "Pending", PkgPath: "example.com/app", Instrumentation: analysis.DirectiveOnly,
		Labels: analysis.Labels{Function: "Pending", Module: "example.com/app"}}, Links{Prom: client},
		&promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{}}, nil)
	var table bytes.Buffer
	if err := WriteTable(&table, []View{ok, pending}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "FUNCTION") {
		t.Fatalf("table:\n%s", table.String())
	}
	col := strings.Index(lines[0], "REQ/S")
	if !strings.HasPrefix(lines[1][col:], "2.00") || !strings.Contains(lines[2], "no data: The //autometrics directive") {
		t.Errorf("table columns are not aligned or rows are wrong:\n%s", table.String())
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, []View{ok, pending}); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if rows[0]["requestRate"] != 2.0 || rows[0]["p99Seconds"] != nil || rows[1]["status"] != "no data" {
		t.Errorf("json rows: %v", rows)
	}
}

func TestLensTitles(t *testing.T) {
	client := testClient(t, "http://127.0.0.1:9")
	fn := handleMethod(analysis.Generated)
	ok := Explain(fn, Links{Prom: client}, &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{
		SeriesOf(fn): {RequestRate: 4, ErrorRatio: 0.25, P95: 0.1, P99: 0.243, Concurrent: 2}}}, nil)
	if got, want := LensTitle(ok, "{rate} · {errors} errors · p99 {p99}"), "4.00 req/s · 25.0 % errors · p99 243 ms"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got := LensTitle(ok, "{concurrent} in flight, p95 {p95}"); got != "2 in flight, p95 100 ms" {
		t.Errorf("custom format: %q", got)
	}
	down := Explain(fn, Links{Prom: client}, &promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.Unreachable, Err: errors.New("refused")}}, nil)
	if got := LensTitle(down, "{rate}"); got != "Autometrics: no data (Prometheus unreachable)" {
		t.Errorf("down: %q", got)
	}
	if got := LensTitle(Explain(fn, Links{Prom: client}, nil, nil), "{rate}"); got != "Autometrics: loading…" {
		t.Errorf("loading: %q", got)
	}
}

// Text from the repository or the backend in a table cell cannot drive the terminal (no escape
// sequence survives) nor break the columns (no tab or line break).
func TestReportTableCellsArePlainText(t *testing.T) {
	client := testClient(t, "http://127.0.0.1:9")
	fn := handleMethod(analysis.Generated)
	fn.Labels.Module = "example.com/app\x1b]0;PWNED\x07\tX\u202e"
	v := Explain(fn, Links{Prom: client}, &promclient.Snapshot{Err: &promclient.FetchError{Kind: promclient.BadResponse,
		Err: errors.New("boom \x1b[31mred\x1b[0m\nsecond line")}}, nil)
	var problems []SLOProblem
	for _, status := range []promclient.SLOStatus{{Objective: promclient.Objective{Name: "api\x1b[2J", Percentile: 99}, SuccessRate: 0.5, BurnRate: 50}} {
		problems = append(problems, SLOProblem{View: v, Status: status, Breached: true})
	}
	var table, burning bytes.Buffer
	if err := WriteTable(&table, []View{v}); err != nil {
		t.Fatal(err)
	}
	if err := WriteProblemsTable(&burning, problems); err != nil {
		t.Fatal(err)
	}
	for what, out := range map[string]string{"table": table.String(), "burning table": burning.String()} {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], "example.com/app]0;PWNED X") {
			t.Errorf("%s:\n%q", what, out)
		}
		if strings.ContainsAny(out, "\x1b\x07\t\u202e") {
			t.Errorf("%s keeps a control character or tab:\n%q", what, out)
		}
	}
	// A backend failure is the same for every row: the report command says it once (on stderr,
	// through plaintext.Clean), not in the table.
	if strings.Contains(table.String(), "boom") {
		t.Errorf("the table repeats the backend's failure in a row:\n%q", table.String())
	}
}

// VS Code draws "$(name)" in a CodeLens title as an icon: an alert name or version from the
// backend cannot put icons (or hide its words) in a title; the user's own format still can.
func TestLensTitleShowsBackendTextNotIcons(t *testing.T) {
	fn := handleMethod(analysis.Generated)
	v := Explain(fn, Links{Prom: testClient(t, "http://127.0.0.1:9")}, &promclient.Snapshot{Stats: map[promclient.Series]promclient.Stats{
		SeriesOf(fn): {RequestRate: 4, ErrorRatio: 0.25, P95: 0.1, P99: 0.243, Concurrent: 2}}}, nil)
	v.Incident = &FunctionIncident{
		Alerts: []promclient.Alert{{Name: "$(check) all good $(pass-filled)", State: "firing"}},
		Deploy: &promclient.Deploy{Current: promclient.Version{Version: "v2$(sync~spin)"}, Regression: "error ratio up"},
	}
	got := LensTitle(v, "$(pulse) {rate}")
	want := "🔥 $ (check) all good $ (pass-filled) · regression since v2$ (sync~spin) · $(pulse) 4.00 req/s"
	if got != want {
		t.Errorf("title %q\nwant  %q", got, want)
	}
}

// firstSentence cuts at the end of a sentence only: not at the dots of a URL, an address, a
// version, a quoted or parenthesised text, nor before a lower-case word.
func TestFirstSentenceKeepsTheKeyPart(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Prometheus at http://prom.example.com:9090/x is unreachable: dial tcp 10.0.0.1:9090: connect: connection refused. Is it running?",
			"Prometheus at http://prom.example.com:9090/x is unreachable: dial tcp 10.0.0.1:9090: connect: connection refused"},
		{"needs autometrics-go v1.2.3 or later. Update it.", "needs autometrics-go v1.2.3 or later"},
		{`no span metrics for span_name="GET /a. B" in the last 5m. Enable the connector.`, `no span metrics for span_name="GET /a. B" in the last 5m`},
		{`quoted "a \"b. C\" d" ends. Here`, `quoted "a \"b. C\" d" ends`},
		{"the backend said (upstream error. Retry later) twice. Then it stopped.", "the backend said (upstream error. Retry later) twice"},
		{"context deadline exceeded. retrying in 1.5 s.", "context deadline exceeded. retrying in 1.5 s"},
		{`an unclosed "quote. Goes on. To the end.`, `an unclosed "quote. Goes on. To the end`},
		{"one sentence", "one sentence"},
	} {
		if got := firstSentence(c.in); got != c.want {
			t.Errorf("firstSentence(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A package's batch is built once: every caller gets the same slice, sorted as promclient keeps
// batches (so its cache lookups copy nothing), without duplicates; the memo lets the package go
// and drops the entry once it is collected.
func TestPackageBatchIsBuiltOnceAndDroppedWithThePackage(t *testing.T) {
	memo := &batchMemo{}
	func() { // pkg is unreachable once this returns
		twice := checkout()
		pkg := &analysis.Package{Path: "example.com/shop", Functions: []*analysis.Function{
			{Name: "Zeta", PkgPath: "example.com/shop", Instrumentation: analysis.Generated, Labels: analysis.Labels{Function: "Zeta", Module: "example.com/shop"}},
			checkout(), twice, // the same series twice
			{Name: "plain", PkgPath: "example.com/shop"}, // neither instrumented nor traced
		}}
		first, again := memo.of(pkg), memo.of(pkg)
		if len(first) != 3 {
			t.Fatalf("batch %v, want Checkout's Autometrics and span series and Zeta's, once each", first)
		}
		if &first[0] != &again[0] {
			t.Fatal("the second call built the batch again")
		}
		if !slices.Equal(promclient.Normalize(first), first) {
			t.Fatalf("batch %v is not in promclient's order", first)
		}
		if memo.len() != 1 {
			t.Fatalf("memo holds %d batches, want 1", memo.len())
		}
	}()
	for end := time.Now().Add(time.Minute); memo.len() != 0 && time.Now().Before(end); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if memo.len() != 0 {
		t.Fatal("the batch of a collected package is still held")
	}
	if memo.of(nil) != nil {
		t.Fatal("a nil package has a batch")
	}
}
