package insight

import (
	"sync"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// cardKey is everything a hover card depends on. Snapshots and trends are immutable, so their
// pointers stand for their contents.
type cardKey struct {
	labels    analysis.Labels
	name      string // the qualified name the card shows
	inst      analysis.Instrumentation
	directive directiveKey
	snap      *promclient.Snapshot
	trend     *promclient.Trend
	incident  *promclient.Incident
	links     Links
	degraded  string // why the package was read from syntax alone, "" when typed
	fetchErr  bool
	trace     analysis.Trace // the span the function starts; zero when not traced
	images    bool           // the trend drawn as charts (View.Images)
}

// directiveKey is what a card shows of the function's //autometrics directive: its SLO. The zero
// value stands for no directive.
type directiveKey struct {
	present                                 bool
	slo                                     string
	successTarget, latencyMs, latencyTarget float64
}

func newCardKey(fn *analysis.Function, links Links, h hoverNumbers, degraded string) cardKey {
	k := cardKey{
		labels: fn.Labels, name: fn.QualifiedName(), inst: fn.Instrumentation,
		snap: h.snap, trend: h.trend, incident: h.incident, links: links, degraded: degraded, fetchErr: h.fetchErr != nil,
	}
	if fn.Trace != nil {
		k.trace = *fn.Trace
	}
	if d := fn.Directive; d != nil {
		k.directive = directiveKey{present: true, slo: d.SLO, successTarget: d.SuccessTarget, latencyMs: d.LatencyMs, latencyTarget: d.LatencyTarget}
	}
	return k
}

// cardCache keeps rendered hover cards. Contract: get answers what put stored for an equal key
// or nothing; the cache is emptied when it grows past maxCachedCards (new snapshots replace old
// ones every cache TTL, so old keys are dead weight). Its lock guards only the map. The zero
// value is ready to use.
type cardCache struct {
	mu    sync.Mutex
	cards map[cardKey]string
}

const maxCachedCards = 512

func (c *cardCache) get(k cardKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	md, ok := c.cards[k]
	return md, ok
}

func (c *cardCache) put(k cardKey, md string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards == nil || len(c.cards) >= maxCachedCards {
		c.cards = map[cardKey]string{}
	}
	c.cards[k] = md
}
