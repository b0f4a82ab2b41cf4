package promclient

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Version is one version of a service as build_info tells it.
type Version struct {
	Service, Version, Commit          string
	RepositoryURL, RepositoryProvider string
	// FirstSeen and LastSeen are the times of its first and last build_info sample in the
	// last VersionLookback (to HistoryResolution).
	FirstSeen, LastSeen time.Time
}

// VersionNumbers are a function's numbers under one version over the window ending At.
type VersionNumbers struct {
	At                      time.Time
	RequestRate, ErrorRatio float64 // NaN when unknown
	P99                     float64 // seconds, NaN when unknown
}

// Deploy compares the version a function runs now with the one it ran before.
type Deploy struct {
	Current Version
	// Previous is the version before Current ("" Version when only Current ran in the
	// lookback, or Note explains why there is no comparison).
	Previous Version
	// At is when Current appeared (Current.FirstSeen).
	At time.Time
	// CurrentNumbers are over the window ending at the snapshot's EvaluatedAt (the instant of
	// the card's numbers), PreviousNumbers over the window ending when Previous was last
	// seen; each At says which: comparable windows, each of one version only (the function's
	// own version label).
	CurrentNumbers, PreviousNumbers VersionNumbers
	// Regression says how Current is clearly worse than Previous ("" when it is not): an
	// error ratio at least 1 point higher and twice as high, or a p99 at least 10 ms higher
	// and 1.5 times as high.
	Regression string
	// Note says why there is no comparison (versions that alternate, a rollout in progress,
	// no per-version series); "" when there is one or no previous version.
	Note string
}

// Version history parameters.
const (
	VersionLookback   = 24 * time.Hour
	HistoryResolution = time.Minute
)

// versionHistory is every version of every service seen in build_info over VersionLookback.
type versionHistory struct {
	versions []Version
	note     string // why there is none
}

// historyQuery returns, per distinct build_info label set, its first (am_edge="first") and last
// (am_edge="last") sample time over the lookback. timestamp() of the raw selector is the
// sample's own time, so the edges are exact to the scrape.
func historyQuery(info string) string {
	by := "service_name, version, commit, repository_url, repository_provider"
	sub := `timestamp(` + info + `)[` + formatWindow(VersionLookback) + `:` + formatWindow(HistoryResolution) + `]`
	return `label_replace(min by (` + by + `) (min_over_time(` + sub + `)), "am_edge", "first", "", "")` +
		` or label_replace(max by (` + by + `) (max_over_time(` + sub + `)), "am_edge", "last", "", "")`
}

func (c *Client) fetchHistory(ctx context.Context, _ []Series) answer[*versionHistory] {
	h := &versionHistory{}
	src := c.sources[Autometrics]
	if src.BuildInfo == "" {
		h.note = "the telemetry source has no build info metric"
		return answer[*versionHistory]{val: h, at: c.now()}
	}
	var ans queryAnswer
	c.queryAll(ctx, c.instant(), []queryJob{{historyQuery(src.BuildInfo), &ans}})
	if ans.err != nil {
		h.note = "build_info history: " + c.explainMissing(ans.err, "queries")
		return answer[*versionHistory]{val: h, at: c.now(), failed: true}
	}
	type key struct{ s, v, c, u, p string }
	byKey := map[key]*Version{}
	for _, smp := range ans.vec {
		m := smp.Metric
		k := key{string(m["service_name"]), string(m["version"]), string(m["commit"]), string(m["repository_url"]), string(m["repository_provider"])}
		v := byKey[k]
		if v == nil {
			v = &Version{Service: k.s, Version: k.v, Commit: k.c, RepositoryURL: k.u, RepositoryProvider: k.p}
			byKey[k] = v
		}
		t := time.UnixMilli(int64(math.Round(float64(smp.Value) * 1000))).UTC()
		switch m["am_edge"] {
		case "first":
			v.FirstSeen = t
		case "last":
			v.LastSeen = t
		}
	}
	// Several commits (or repositories) of one version are one version from its first to
	// its last sample.
	type sv struct{ s, v string }
	merged := map[sv]*Version{}
	for _, v := range byKey {
		if v.Version == "" || v.FirstSeen.IsZero() || v.LastSeen.IsZero() {
			continue
		}
		m := merged[sv{v.Service, v.Version}]
		if m == nil {
			cp := *v
			merged[sv{v.Service, v.Version}] = &cp
			continue
		}
		if v.FirstSeen.Before(m.FirstSeen) {
			m.FirstSeen = v.FirstSeen
		}
		if v.LastSeen.After(m.LastSeen) {
			m.LastSeen, m.Commit, m.RepositoryURL, m.RepositoryProvider = v.LastSeen, v.Commit, v.RepositoryURL, v.RepositoryProvider
		}
	}
	for _, v := range merged {
		h.versions = append(h.versions, *v)
	}
	sort.Slice(h.versions, func(i, j int) bool {
		a, b := h.versions[i], h.versions[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.FirstSeen.Before(b.FirstSeen)
	})
	if len(h.versions) == 0 {
		h.note = fmt.Sprintf("no %s series with a version label in the last %s: deploy times are unknown", src.BuildInfo, formatWindow(VersionLookback))
	}
	return answer[*versionHistory]{val: h, at: c.now()}
}

// flapTolerance is how long two versions may both run (a rolling deploy) before they count as
// alternating.
func flapTolerance(window time.Duration) time.Duration { return max(2*window, 10*time.Minute) }

// deployOf finds the deploy of a function whose series name service and version.
func deployOf(h *versionHistory, service, version string, window time.Duration) (Deploy, bool) {
	if version == "" {
		return Deploy{}, false
	}
	if strings.Contains(version, ", ") {
		return Deploy{Note: "several versions serve it right now (" + version + "): a rollout or a canary, no before/after comparison"}, true
	}
	var cur *Version
	services := map[string]bool{}
	for i, v := range h.versions {
		if v.Version == version && (service == "" || v.Service == service) {
			cur = &h.versions[i]
			services[v.Service] = true
		}
	}
	if cur == nil || len(services) > 1 {
		return Deploy{}, false
	}
	d := Deploy{Current: *cur, At: cur.FirstSeen}
	var prev *Version
	for i, v := range h.versions {
		if v.Service != cur.Service || v.Version == cur.Version || !v.FirstSeen.Before(cur.FirstSeen) {
			continue
		}
		if prev == nil || v.LastSeen.After(prev.LastSeen) {
			prev = &h.versions[i]
		}
	}
	if prev == nil {
		return d, true
	}
	d.Previous = *prev
	if prev.LastSeen.Sub(cur.FirstSeen) > flapTolerance(window) {
		d.Note = fmt.Sprintf("versions %s and %s alternate (both seen between %s and %s UTC): no single deploy to compare with",
			prev.Version, cur.Version, cur.FirstSeen.Format(time.DateTime), prev.LastSeen.Format(time.DateTime))
	}
	return d, true
}

// deploys finds the deploy of every series of snap and, for those with a previous version,
// fetches both versions' numbers in one query.
func (c *Client) deploys(ctx context.Context, snap *Snapshot, series []Series, h *versionHistory) (map[Series]Deploy, []string) {
	out := map[Series]Deploy{}
	type group struct {
		service, cur, prev string
		at                 time.Time
		series             []Series
	}
	groups := map[[3]string]*group{}
	var order [][3]string
	for _, s := range series {
		st, ok := snap.Stats[s]
		if !ok || s.Source != Autometrics {
			continue
		}
		d, ok := deployOf(h, st.ServiceName, st.Version, c.cfg.Window)
		if !ok {
			continue
		}
		out[s] = d
		if d.Previous.Version == "" || d.Note != "" {
			continue
		}
		k := [3]string{d.Current.Service, d.Current.Version, d.Previous.Version}
		g := groups[k]
		if g == nil {
			g = &group{service: k[0], cur: k[1], prev: k[2], at: d.Previous.LastSeen}
			groups[k] = g
			order = append(order, k)
		}
		g.series = append(g.series, s)
	}
	if len(order) == 0 {
		return out, nil
	}
	// The current version's numbers are those of the snapshot's instant, so that they and the
	// card's numbers cover the same window; the previous version's are pinned with @.
	now := snap.EvaluatedAt
	if now.IsZero() {
		now = c.instant()
	}
	var parts []string
	for _, k := range order {
		g := groups[k]
		parts = append(parts,
			c.versionQuery(g.series, g.service, g.prev, "previous", g.at),
			c.versionQuery(g.series, g.service, g.cur, "current", time.Time{}))
	}
	var ans queryAnswer
	c.queryAll(ctx, now, []queryJob{{strings.Join(parts, " or "), &ans}})
	if ans.err != nil {
		return out, append(ans.notes, "version comparison failed: "+c.classify(ans.err).Error())
	}
	type acc struct{ total, errs, p99 float64 }
	accs := map[[2]string]map[Series]*acc{} // side, version → series
	src := c.sources[Autometrics]
	for _, smp := range ans.vec {
		s := src.seriesOf(smp.Metric)
		side := [2]string{string(smp.Metric["am_side"]), string(smp.Metric[model.LabelName(src.VersionLabel)])}
		if accs[side] == nil {
			accs[side] = map[Series]*acc{}
		}
		a := accs[side][s]
		if a == nil {
			a = &acc{p99: math.NaN()}
			accs[side][s] = a
		}
		v := float64(smp.Value)
		if smp.Metric["am_kind"] == "p99" {
			a.p99 = v
			continue
		}
		a.total += v
		if string(smp.Metric[model.LabelName(src.ErrorLabel)]) == src.ErrorValue {
			a.errs += v
		}
	}
	numbers := func(side, version string, s Series, at time.Time) (VersionNumbers, bool) {
		a := accs[[2]string{side, version}][s]
		n := VersionNumbers{At: at, RequestRate: math.NaN(), ErrorRatio: math.NaN(), P99: math.NaN()}
		if a == nil {
			return n, false
		}
		n.RequestRate, n.P99 = a.total, a.p99
		if a.total > 0 {
			n.ErrorRatio = a.errs / a.total
		}
		return n, true
	}
	for s, d := range out {
		if d.Previous.Version == "" || d.Note != "" {
			continue
		}
		prev, okP := numbers("previous", d.Previous.Version, s, d.Previous.LastSeen)
		cur, okC := numbers("current", d.Current.Version, s, now)
		d.PreviousNumbers, d.CurrentNumbers = prev, cur
		if !okP || !okC {
			d.Note = fmt.Sprintf("no series of this function labelled version %q and %q: no per-version numbers", d.Previous.Version, d.Current.Version)
		} else {
			d.Regression = regression(prev, cur)
		}
		out[s] = d
	}
	return out, ans.notes
}

// versionQuery returns the call rates by failure (am_side=side) and the p99 (am_kind="p99") of
// series under one version of service, over the window ending at (when zero: ending at the
// instant the query is evaluated at).
func (c *Client) versionQuery(series []Series, service, version, side string, at time.Time) string {
	q := c.queries(Autometrics)
	if !at.IsZero() {
		q.at = " @ " + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	}
	src := q.src
	m := q.selector(series) + "," + src.VersionLabel + "=" + quote(version)
	if service != "" {
		m += "," + src.ServiceLabel + "=" + quote(service)
	}
	tag := func(expr, label, value string) string {
		return `label_replace(` + expr + `, "` + label + `", "` + value + `", "", "")`
	}
	out := tag(q.sumRate(join(q.subject(), src.VersionLabel, src.ErrorLabel), src.Calls, m), "am_side", side)
	if len(src.Buckets) > 0 {
		p99 := q.seconds(`histogram_quantile(0.99, ` + q.sumRate(join("le", q.subject(), src.VersionLabel), src.Buckets, m) + `)`)
		out += ` or ` + tag(tag(p99, "am_kind", "p99"), "am_side", side)
	}
	return out
}

// regression says how cur is clearly worse than prev ("" when it is not).
func regression(prev, cur VersionNumbers) string {
	var why []string
	if !math.IsNaN(prev.ErrorRatio) && !math.IsNaN(cur.ErrorRatio) &&
		cur.ErrorRatio >= prev.ErrorRatio+0.01 && cur.ErrorRatio >= 2*prev.ErrorRatio {
		why = append(why, fmt.Sprintf("error ratio %.1f %% → %.1f %%", prev.ErrorRatio*100, cur.ErrorRatio*100))
	}
	if !math.IsNaN(prev.P99) && !math.IsNaN(cur.P99) && cur.P99 >= prev.P99+0.01 && cur.P99 >= 1.5*prev.P99 {
		why = append(why, fmt.Sprintf("p99 %s → %s", formatSeconds(prev.P99), formatSeconds(cur.P99)))
	}
	return strings.Join(why, ", ")
}

func formatSeconds(s float64) string {
	if s < 1 {
		return strconv.FormatFloat(s*1000, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(s, 'g', 3, 64) + " s"
}
