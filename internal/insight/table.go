package insight

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/am-lsp/am-lsp/internal/plaintext"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// WriteTable prints views as an aligned table, one row per function: the same numbers and
// reasons as the hover card.
func WriteTable(w io.Writer, views []View) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tMODULE\tREQ/S\tERRORS\tP95\tP99\tSTATUS")
	for _, v := range views {
		status := v.Status.String()
		// A backend failure is the same for every row: the report says it once, not per row.
		if v.Reason != "" && v.Status != StatusBackendError {
			status += ": " + firstSentence(v.Reason)
		}
		rate, errs, p95, p99 := "–", "–", "–", "–"
		if v.Status == StatusOK {
			rate = strings.TrimSuffix(FormatRate(v.Stats.RequestRate), " req/s")
			errs, p95, p99 = FormatRatio(v.Stats.ErrorRatio), FormatLatency(v.Stats.P95), FormatLatency(v.Stats.P99)
		}
		name, module := v.Function.QualifiedName(), v.Series.Module
		if v.Span {
			name += " [span]"
			module = spanModuleColumn(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(name), cell(module), rate, errs, p95, p99, cell(status))
	}
	return tw.Flush()
}

// maxCellText bounds, in characters, a table cell of text from the repository or the backend.
const maxCellText = 200

// cell returns s as one table cell a terminal prints as text: no control character (so no
// escape sequence), no tab or line break to shift the columns (plaintext.Line).
func cell(s string) string { return plaintext.Line(s, maxCellText) }

// reportRow is the JSON shape of one function in `am-lsp report --json`. Missing numbers are null.
type reportRow struct {
	Function        string `json:"function"`
	Module          string `json:"module"`
	Name            string `json:"name"`
	File            string `json:"file"`
	Instrumentation string `json:"instrumentation"`
	// Source is "autometrics", or "opentelemetry" for a span's row, which names the span.
	Source        string   `json:"source"`
	SpanName      string   `json:"spanName,omitempty"`
	SpanKind      string   `json:"spanKind,omitempty"`
	Status        string   `json:"status"`
	Reason        string   `json:"reason,omitempty"`
	RequestRate   *float64 `json:"requestRate"`
	ErrorRatio    *float64 `json:"errorRatio"`
	P95Seconds    *float64 `json:"p95Seconds"`
	P99Seconds    *float64 `json:"p99Seconds"`
	Concurrent    *float64 `json:"concurrent"`
	Notes         []string `json:"notes,omitempty"`
	WindowSeconds float64  `json:"windowSeconds,omitempty"`
}

// WriteJSON prints views as a JSON array of rows.
func WriteJSON(w io.Writer, views []View) error {
	rows := make([]reportRow, 0, len(views))
	for _, v := range views {
		r := reportRow{
			Function: v.Series.Function, Module: v.Series.Module, Name: v.Function.QualifiedName(),
			File: v.Function.NameSpan.File, Instrumentation: v.Function.Instrumentation.String(),
			Status: v.Status.String(), Reason: v.Reason, Notes: v.Notes, WindowSeconds: v.Window.Seconds(),
			Source: "autometrics",
		}
		if v.Span {
			r.Source, r.Function, r.Module = "opentelemetry", "", ""
			if t := v.Function.Trace; t != nil {
				r.SpanName, r.SpanKind = t.SpanName, t.Kind
			}
		}
		if v.Status == StatusOK {
			r.RequestRate, r.ErrorRatio = number(v.Stats.RequestRate), number(v.Stats.ErrorRatio)
			r.P95Seconds, r.P99Seconds, r.Concurrent = number(v.Stats.P95), number(v.Stats.P99), number(v.Stats.Concurrent)
		}
		rows = append(rows, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func number(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// firstSentence returns the first sentence of s without its closing period. A sentence ends at
// a period followed by a space and an upper-case letter, outside quotes, parentheses and
// brackets: the periods of a URL, a host name or address, a version number, a file name or a
// quoted name (span_name="a. B") do not end one, nor does ". " before a lower-case word
// ("context deadline exceeded. retrying"). Without such a period, s is the sentence.
func firstSentence(s string) string {
	depth := 0
	quoted, escaped := rune(0), false
	for i, r := range s {
		switch {
		case quoted != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quoted == '"':
				escaped = true
			case r == quoted:
				quoted = 0
			}
		case r == '"' || r == '`':
			quoted = r
		case r == '(' || r == '[' || r == '{':
			depth++
		case (r == ')' || r == ']' || r == '}') && depth > 0:
			depth--
		case r == '.' && depth == 0 && strings.HasPrefix(s[i+1:], " "):
			if next, _ := utf8.DecodeRuneInString(strings.TrimLeft(s[i+1:], " ")); unicode.IsUpper(next) {
				return s[:i]
			}
		}
	}
	return strings.TrimSuffix(s, ".")
}

// spanModuleColumn is what the table's MODULE column shows for a span: its name and kind.
func spanModuleColumn(v View) string {
	if v.Series.Source == promclient.SpanAutoByFunction {
		return "code_function_name=" + v.Series.Function
	}
	if v.Series.Function == "" {
		return "span name not known statically"
	}
	return v.Series.Function + " (" + strings.ToLower(strings.TrimPrefix(v.Series.Module, "SPAN_KIND_")) + ")"
}
