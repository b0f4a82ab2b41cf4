package insight

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"

	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Size of a trend chart in CSS pixels, and the most points it draws.
const (
	chartWidth     = 160
	chartHeight    = 32
	chartPad       = 2 // keeps the stroke inside the picture at the top and bottom
	maxChartPoints = 60
)

// trendChart draws values (left to right, evenly spaced, NaN a gap) as a small SVG line chart:
// fixed size, no axes and no text, scaled from 0 to the largest of the values and threshold.
// A threshold > 0 is drawn as a dashed red line at its height; 0 or less draws none. More than
// maxChartPoints values are reduced to that many, each the largest of its run, so the picture
// keeps its spikes and its size stays bounded. The SVG holds nothing but numbers am-lsp
// formats, so nothing from the backend or the repository can reach it.
func trendChart(values []float64, threshold float64) string {
	values = reducePoints(values, maxChartPoints)
	hi := 0.0
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) && v > hi {
			hi = v
		}
	}
	if threshold > 0 && !math.IsInf(threshold, 0) && threshold > hi {
		hi = threshold
	}
	if hi == 0 {
		hi = 1 // all zero (or no data): a flat line at the bottom
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, chartWidth, chartHeight, chartWidth, chartHeight)
	if threshold > 0 && !math.IsInf(threshold, 0) {
		y := chartY(threshold, hi)
		fmt.Fprintf(&b, `<line x1="0" y1="%s" x2="%d" y2="%s" stroke="#e5534b" stroke-width="1" stroke-dasharray="3 2"/>`, y, chartWidth, y)
	}
	var path strings.Builder
	drawing := false
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			drawing = false
			continue
		}
		cmd := "L"
		if !drawing {
			cmd = "M"
		}
		if path.Len() > 0 {
			path.WriteByte(' ')
		}
		fmt.Fprintf(&path, "%s%s %s", cmd, chartX(i, len(values)), chartY(v, hi))
		drawing = true
	}
	if path.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#4493f8" stroke-width="1.5" stroke-linejoin="round"/>`, path.String())
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// chartX is the x of point i of n: the first at 0, the last at chartWidth.
func chartX(i, n int) string {
	if n <= 1 {
		return "0"
	}
	return chartNumber(float64(i) * chartWidth / float64(n-1))
}

// chartY is the y of value v on a chart scaled from 0 (bottom) to hi (top), inside the padding.
func chartY(v, hi float64) string {
	v = max(0, v)
	return chartNumber(chartHeight - chartPad - v/hi*(chartHeight-2*chartPad))
}

// chartNumber formats a coordinate with at most one decimal.
func chartNumber(f float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0")
}

// reducePoints returns values with at most limit points: runs of consecutive values replaced by
// their largest (NaN only when the whole run is NaN).
func reducePoints(values []float64, limit int) []float64 {
	if len(values) <= limit || limit <= 0 {
		return values
	}
	out := make([]float64, limit)
	for i := range out {
		lo, hi := i*len(values)/limit, (i+1)*len(values)/limit
		m := math.NaN()
		for _, v := range values[lo:hi] {
			if !math.IsNaN(v) && (math.IsNaN(m) || v > m) {
				m = v
			}
		}
		out[i] = m
	}
	return out
}

// chartImage is the Markdown image of an SVG, as a base64 data URI; alt is am-lsp's own text.
func chartImage(alt, svg string) string {
	return fmt.Sprintf("![%s](data:image/svg+xml;base64,%s)", alt, base64.StdEncoding.EncodeToString([]byte(svg)))
}

// errorThreshold is the error ratio the tightest success objective of slos allows (1 - its
// percentile), or 0 when there is none. Latency objectives draw no line: the trend holds no
// latency.
func errorThreshold(slos []promclient.SLOStatus) float64 {
	t := 0.0
	for _, s := range slos {
		o := s.Objective
		if o.IsLatency() || !(o.Percentile > 0 && o.Percentile < 100) {
			continue
		}
		if allowed := 1 - o.Percentile/100; t == 0 || allowed < t {
			t = allowed
		}
	}
	return t
}
