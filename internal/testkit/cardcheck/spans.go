package cardcheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// SpanNaming names span metrics the way one producer writes them (see promfixture.SpanNaming).
type SpanNaming struct {
	Calls, Bucket string  // calls counter and histogram bucket series
	Unit          float64 // histogram unit in seconds
	StatusLabel   string  // status_code or otel_status_code
}

// SpanQueries returns hand-written queries for the numbers of one span: selector (e.g.
// `span_name="shop.Checkout",span_kind="SPAN_KIND_SERVER"`) picks its series; errors are
// STATUS_CODE_ERROR over all calls; latencies are scaled to seconds.
func SpanQueries(n SpanNaming, selector, window string) map[Number]string {
	all := fmt.Sprintf(`sum(rate(%s{%s}[%s]))`, n.Calls, selector, window)
	q := func(p string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (le) (rate(%s{%s}[%s]))) * %s`, p, n.Bucket, selector, window, strconv.FormatFloat(n.Unit, 'g', -1, 64))
	}
	return map[Number]string{
		RequestRate: all,
		ErrorRatio:  fmt.Sprintf(`(sum(rate(%s{%s,%s="STATUS_CODE_ERROR"}[%s])) or vector(0)) / %s`, n.Calls, selector, n.StatusLabel, window, all),
		LatencyP95:  q("0.95"),
		LatencyP99:  q("0.99"),
	}
}

// Section returns the part of a card that starts with title (cards of a function both
// instrumented and traced have one part per source, separated by a rule), or "".
func Section(card, title string) string {
	for _, part := range strings.Split(card, "\n---\n") {
		if strings.Contains(strings.SplitN(strings.TrimSpace(part), "\n", 2)[0], title) {
			return part
		}
	}
	return ""
}

// CompareQueries checks the figures of card named in queries against Prometheus's answers to
// them, allowing for display rounding. It returns one message per mismatch.
func CompareQueries(ctx context.Context, card string, query Querier, queries map[Number]string) ([]string, error) {
	got, _, err := Parse(card)
	if err != nil {
		return nil, err
	}
	var problems []string
	for number, q := range queries {
		want, err := query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
		g, shown := got[number]
		switch {
		case !shown:
			problems = append(problems, fmt.Sprintf("%s is missing from the card", number))
		case !Close(g, want):
			problems = append(problems, fmt.Sprintf("%s: card shows %g, Prometheus answers %g for %s", number, g, want, q))
		}
	}
	return problems, nil
}
