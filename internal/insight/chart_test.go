package insight

import (
	"encoding/base64"
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// svgChart is the parsed shape of a trendChart.
type svgChart struct {
	XMLName xml.Name `xml:"svg"`
	Width   int      `xml:"width,attr"`
	Height  int      `xml:"height,attr"`
	Lines   []struct {
		Y1 float64 `xml:"y1,attr"`
		Y2 float64 `xml:"y2,attr"`
	} `xml:"line"`
	Paths []struct {
		D string `xml:"d,attr"`
	} `xml:"path"`
	Texts []string `xml:"text"`
}

func parseChart(t *testing.T, svg string) svgChart {
	t.Helper()
	var c svgChart
	if err := xml.Unmarshal([]byte(svg), &c); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, svg)
	}
	// Every token must parse too (Unmarshal skips what the struct does not name).
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("token: %v", err)
			}
			break
		}
	}
	return c
}

type chartPoint struct {
	cmd  string
	x, y float64
}

var pathCommand = regexp.MustCompile(`([ML])(-?[0-9.]+) (-?[0-9.]+)`)

func chartPoints(t *testing.T, d string) []chartPoint {
	t.Helper()
	var out []chartPoint
	for _, m := range pathCommand.FindAllStringSubmatch(d, -1) {
		x, _ := strconv.ParseFloat(m[2], 64)
		y, _ := strconv.ParseFloat(m[3], 64)
		out = append(out, chartPoint{m[1], x, y})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 0.051 }

func TestTrendChartPointsFollowTheSeries(t *testing.T) {
	nan := math.NaN()
	values := []float64{0, 2, 4, nan, 1, 3}
	c := parseChart(t, trendChart(values, 0))
	if c.Width != chartWidth || c.Height != chartHeight || len(c.Texts) != 0 || len(c.Lines) != 0 {
		t.Fatalf("size %dx%d, %d texts, %d threshold lines", c.Width, c.Height, len(c.Texts), len(c.Lines))
	}
	if len(c.Paths) != 1 {
		t.Fatalf("%d paths", len(c.Paths))
	}
	pts := chartPoints(t, c.Paths[0].D)
	if len(pts) != 5 {
		t.Fatalf("want 5 points (the NaN is a gap), got %v", pts)
	}
	wantCmd := []string{"M", "L", "L", "M", "L"}
	wantIndex := []int{0, 1, 2, 4, 5}
	for i, p := range pts {
		v := values[wantIndex[i]]
		wantX := float64(wantIndex[i]) * chartWidth / float64(len(values)-1)
		wantY := chartHeight - chartPad - v/4*(chartHeight-2*chartPad) // scaled to the largest value, 4
		if p.cmd != wantCmd[i] || !near(p.x, wantX) || !near(p.y, wantY) {
			t.Errorf("point %d = %+v, want %s %.2f %.2f", i, p, wantCmd[i], wantX, wantY)
		}
	}
	if pts[2].y != chartPad || pts[0].y != chartHeight-chartPad {
		t.Errorf("the largest value must touch the top padding and 0 the bottom: %v", pts)
	}
}

func TestTrendChartThresholdLine(t *testing.T) {
	// The threshold above every value sets the scale: its line is at the top.
	c := parseChart(t, trendChart([]float64{0.001, 0.004, 0.002}, 0.01))
	if len(c.Lines) != 1 || c.Lines[0].Y1 != c.Lines[0].Y2 || !near(c.Lines[0].Y1, chartPad) {
		t.Fatalf("threshold line: %+v", c.Lines)
	}
	pts := chartPoints(t, c.Paths[0].D)
	if !near(pts[1].y, chartHeight-chartPad-0.4*(chartHeight-2*chartPad)) {
		t.Errorf("0.004 of a 0.01 scale at y %v", pts[1].y)
	}
	// Values above the threshold: the line sits at threshold/max of the height, under the peak.
	c = parseChart(t, trendChart([]float64{0.02, 0.04}, 0.01))
	want := chartHeight - chartPad - 0.25*(chartHeight-2*chartPad)
	if len(c.Lines) != 1 || !near(c.Lines[0].Y1, want) {
		t.Fatalf("threshold line %+v, want y %.2f", c.Lines, want)
	}
	if peak := chartPoints(t, c.Paths[0].D)[1].y; !(peak < c.Lines[0].Y1) {
		t.Errorf("the peak above the threshold must be drawn above its line: peak y %v, line y %v", peak, c.Lines[0].Y1)
	}
}

func TestTrendChartEdgeCases(t *testing.T) {
	nan := math.NaN()
	for name, values := range map[string][]float64{
		"empty": nil, "all NaN": {nan, nan}, "all zero": {0, 0, 0}, "one point": {5},
		"infinite": {1, math.Inf(1), 2}, "negative": {-1, 1},
	} {
		c := parseChart(t, trendChart(values, 0))
		for _, p := range c.Paths {
			for _, pt := range chartPoints(t, p.D) {
				if pt.x < 0 || pt.x > chartWidth || pt.y < 0 || pt.y > chartHeight {
					t.Errorf("%s: point %+v outside the picture", name, pt)
				}
			}
		}
	}
}

func TestTrendChartCapsPointsAndKeepsSpikes(t *testing.T) {
	values := make([]float64, 1000)
	values[503] = 9
	c := parseChart(t, trendChart(values, 0))
	pts := chartPoints(t, c.Paths[0].D)
	if len(pts) != maxChartPoints {
		t.Fatalf("%d points, want %d", len(pts), maxChartPoints)
	}
	top := 0
	for _, p := range pts {
		if near(p.y, chartPad) {
			top++
		}
	}
	if top != 1 {
		t.Errorf("the one spike must survive the reduction once, got %d points at the top", top)
	}
}

var chartURI = regexp.MustCompile(`!\[(requests|errors)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)`)

func TestCardTrendAsImagesOnlyWhenEnabled(t *testing.T) {
	v := View{
		Function: &analysis.Function{Name: "Checkout", PkgPath: "example.com/shop", PkgName: "shop"}, Status: StatusOK, Window: 5 * time.Minute,
		Trend:      &promclient.TrendSeries{RequestRate: []float64{1, 2, 3}, ErrorRatio: []float64{0, 0.02, 0.005}},
		TrendRange: time.Hour,
		SLOs:       []promclient.SLOStatus{{Objective: promclient.Objective{Name: "api", Percentile: 99}}, {Objective: promclient.Objective{Name: "api", Percentile: 99, LatencyThreshold: 0.25}}},
	}
	text := Card(v)
	if strings.Contains(text, "data:image") || !strings.Contains(text, "requests `▃▆█`") {
		t.Fatalf("without Images the trend must be text sparklines:\n%s", text)
	}
	v.Images = true
	md := Card(v)
	m := chartURI.FindAllStringSubmatch(md, -1)
	if len(m) != 2 || strings.Contains(md, "▁") {
		t.Fatalf("want two chart images and no sparkline:\n%s", md)
	}
	for _, img := range m {
		raw, err := base64.StdEncoding.DecodeString(img[2])
		if err != nil {
			t.Fatal(err)
		}
		c := parseChart(t, string(raw))
		wantLines := 0
		if img[1] == "errors" {
			wantLines = 1 // the 99 % success objective allows 1 %; the latency one draws nothing
			want := chartHeight - chartPad - 0.01/0.02*(chartHeight-2*chartPad)
			if len(c.Lines) != 1 || !near(c.Lines[0].Y1, want) {
				t.Errorf("error threshold line %+v, want y %.2f", c.Lines, want)
			}
		}
		if len(c.Lines) != wantLines {
			t.Errorf("%s chart has %d threshold lines, want %d", img[1], len(c.Lines), wantLines)
		}
	}
	if len(md) > len(text)+4096 {
		t.Errorf("the charts add %d bytes to the card", len(md)-len(text))
	}
}

func TestCardChartSizeBounded(t *testing.T) {
	long := make([]float64, 5000)
	for i := range long {
		long[i] = float64(i%17) * 1.234567
	}
	v := View{Function: &analysis.Function{Name: "Checkout", PkgPath: "example.com/shop", PkgName: "shop"}, Status: StatusOK, Trend: &promclient.TrendSeries{RequestRate: long, ErrorRatio: long}, TrendRange: time.Hour, Images: true}
	if n := len(Card(v)); n > 8192 {
		t.Errorf("card with 5000-point trend charts is %d bytes", n)
	}
}
