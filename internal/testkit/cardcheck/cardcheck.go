// Package cardcheck is test support: it reads the numbers back out of a hover card and compares
// them with Prometheus's own answer to the Autometrics spec's queries (spec §3, filtered on
// function AND module), so every test that shows numbers checks them the same way.
package cardcheck

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Number names one figure of a card.
type Number string

const (
	RequestRate Number = "Request rate"
	ErrorRatio  Number = "Error ratio"
	LatencyP95  Number = "Latency p95"
	LatencyP99  Number = "Latency p99"
	Concurrent  Number = "Concurrent calls"
)

// All lists the figures a card with numbers shows.
var All = []Number{RequestRate, ErrorRatio, LatencyP95, LatencyP99, Concurrent}

var rowPattern = regexp.MustCompile(`(?m)^\| (Request rate|Error ratio|Latency p95|Latency p99|Concurrent calls) \| \[([^\]]*)\]\(([^)]*)\) \|$`)

// Parse returns the figures of a card in base units (calls/s, ratio 0..1, seconds, count) and
// their links. A dash is NaN.
func Parse(card string) (values map[Number]float64, links map[Number]string, err error) {
	values, links = map[Number]float64{}, map[Number]string{}
	for _, m := range rowPattern.FindAllStringSubmatch(card, -1) {
		v, err := parseDisplayed(m[2])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m[1], err)
		}
		values[Number(m[1])] = v
		links[Number(m[1])] = m[3]
	}
	if len(values) == 0 {
		return nil, nil, fmt.Errorf("no numbers in card:\n%s", card)
	}
	return values, links, nil
}

func parseDisplayed(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "–" {
		return math.NaN(), nil
	}
	scale := 1.0
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{" req/s", 1}, {" %", 0.01}, {" ms", 0.001}, {" s", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, scale = strings.TrimSuffix(s, u.suffix), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read %q", s)
	}
	return v * scale, nil
}

// SpecQueries returns the spec's queries for one function (window like "5m"), filtered on
// function and module, over current and legacy metric names. The upstream build_info join is left
// out: it only adds version labels, and drops every series when build_info is absent.
func SpecQueries(function, module, window string) map[Number]string {
	sel := fmt.Sprintf(`function=%q, module=%q`, function, module)
	rate := func(extra string) string {
		return fmt.Sprintf(`sum by (function, module) (rate({__name__=~"function_calls_total|function_calls_count_total", %s%s}[%s]))`, sel, extra, window)
	}
	quantile := func(q string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (le, function, module) (rate({__name__=~"function_calls_duration_seconds_bucket|function_calls_duration_bucket", %s}[%s])))`, q, sel, window)
	}
	return map[Number]string{
		RequestRate: rate(""),
		ErrorRatio:  fmt.Sprintf(`(%s or (0 * %s)) / %s`, rate(`, result="error"`), rate(""), rate("")),
		LatencyP95:  quantile("0.95"),
		LatencyP99:  quantile("0.99"),
		Concurrent:  fmt.Sprintf(`sum by (function, module) (function_calls_concurrent{%s})`, sel),
	}
}

// Querier answers one instant query with a single value (NaN when the result is empty).
type Querier func(ctx context.Context, promql string) (float64, error)

// Compare checks every figure of card against Prometheus's answer, allowing for display
// rounding (three significant digits). It returns one message per mismatch.
func Compare(ctx context.Context, card string, query Querier, function, module, window string) ([]string, error) {
	got, _, err := Parse(card)
	if err != nil {
		return nil, err
	}
	var problems []string
	for number, q := range SpecQueries(function, module, window) {
		want, err := query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		g, shown := got[number]
		if !shown {
			problems = append(problems, fmt.Sprintf("%s is missing from the card", number))
			continue
		}
		if !Close(g, want) {
			problems = append(problems, fmt.Sprintf("%s: card shows %g, Prometheus answers %g for %s", number, g, want, q))
		}
	}
	return problems, nil
}

// Close reports whether a displayed value matches the exact one within display rounding.
func Close(shown, exact float64) bool {
	if math.IsNaN(shown) || math.IsNaN(exact) {
		return math.IsNaN(shown) && math.IsNaN(exact)
	}
	return math.Abs(shown-exact) <= 0.006*math.Abs(exact)+1e-12
}
