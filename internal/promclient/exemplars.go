package promclient

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Exemplar is one traced call of a function's latency histogram.
type Exemplar struct {
	// TraceID is the exemplar's trace id (labels trace_id, traceID, traceId or TraceID). It is
	// the backend's text: escape it before rendering.
	TraceID string
	SpanID  string
	Seconds float64 // the call's duration
	At      time.Time
}

// MaxExemplars bounds the exemplars kept per function.
const MaxExemplars = 5

var traceLabels = []string{"trace_id", "traceID", "traceId", "TraceID"}
var spanLabels = []string{"span_id", "spanID", "spanId", "SpanID"}

// exemplars asks for the exemplars of the series' latency histograms over the window ending at
// end, the instant the batch's numbers were evaluated at (Snapshot.EvaluatedAt), so that the
// slowest traces shown are calls of the window the numbers describe; a zero end means now (the
// client's clock, held back to the backend's when it runs ahead, see Client.instant). It keeps
// the slowest MaxExemplars of each series (one per trace). The note says why there are none at
// all ("" when the backend answered).
func (c *Client) exemplars(ctx context.Context, series []Series, end time.Time) (map[Series][]Exemplar, string) {
	resolved, back, _, err := c.resolveSpans(ctx, series)
	if err != nil {
		return map[Series][]Exemplar{}, c.classify(err).Error()
	}
	if end.IsZero() {
		end = c.instant()
	}
	out, note := c.exemplarsResolved(ctx, resolved, end)
	return rekey(out, back), note
}

// exemplarsResolved is exemplars for series without span placeholders, over the window ending
// at end.
func (c *Client) exemplarsResolved(ctx context.Context, series []Series, end time.Time) (map[Series][]Exemplar, string) {
	out := map[Series][]Exemplar{}
	want := setOf(series)
	var notes []string
	for _, run := range bySource(series) {
		q := c.queries(run[0].Source)
		if len(q.src.Buckets) == 0 {
			continue
		}
		query := `{__name__=~"` + strings.Join(q.src.Buckets, "|") + `",` + q.selector(run) + `}`
		release, err := c.acquire(ctx)
		if err != nil {
			return out, c.classify(err).Error()
		}
		res, err := c.q.QueryExemplars(ctx, query, end.Add(-c.cfg.Window), end)
		release()
		if err != nil {
			notes = append(notes, c.explainMissing(err, "exemplar queries (/api/v1/query_exemplars)"))
			continue
		}
		for _, r := range res {
			s := q.src.seriesOf(mapMetric(r.SeriesLabels))
			if !want[s] {
				continue
			}
			for _, e := range r.Exemplars {
				ex := Exemplar{Seconds: float64(e.Value) * q.src.LatencySeconds, At: e.Timestamp.Time().UTC()}
				for _, l := range traceLabels {
					if v := string(e.Labels[labelName(l)]); v != "" {
						ex.TraceID = v
						break
					}
				}
				for _, l := range spanLabels {
					if v := string(e.Labels[labelName(l)]); v != "" {
						ex.SpanID = v
						break
					}
				}
				if ex.TraceID != "" {
					out[s] = append(out[s], ex)
				}
			}
		}
	}
	for s, list := range out {
		sort.Slice(list, func(i, j int) bool {
			if list[i].Seconds != list[j].Seconds {
				return list[i].Seconds > list[j].Seconds
			}
			return list[i].TraceID < list[j].TraceID
		})
		seen := map[string]bool{}
		kept := list[:0]
		for _, e := range list {
			if !seen[e.TraceID] && len(kept) < MaxExemplars {
				seen[e.TraceID] = true
				kept = append(kept, e)
			}
		}
		out[s] = kept
	}
	return out, strings.Join(notes, "; ")
}

func labelName(s string) model.LabelName { return model.LabelName(s) }

// mapMetric turns a label set into a metric, to read it like a sample's.
func mapMetric(ls model.LabelSet) model.Metric { return model.Metric(ls) }
