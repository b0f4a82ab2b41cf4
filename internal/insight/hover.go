package insight

import (
	"context"
	"path/filepath"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// hoverAnswerMargin is kept from the hover deadline (at most a tenth of it) for rendering and
// sending the card, and for a busy machine's scheduling delays.
const hoverAnswerMargin = 50 * time.Millisecond

// Hover returns the card for the instrumented function at offset of the open document path at
// version: declared there, or called there. Everything it waits for (the typed analysis of a
// call into another package, the numbers) shares the hover deadline, and it answers without
// what is late (saying why for numbers). ok is false when no instrumented function is there.
func (w *Workspace) Hover(ctx context.Context, path string, version int32, offset int) (HoverCard, bool) {
	b := w.numbers.backend()
	deadline := b.settings.HoverDeadline
	if deadline <= 0 {
		deadline = config.Defaults(nil).HoverDeadline // not configured yet
	}
	// The card is rendered and sent within the deadline: a margin comes off the waiting.
	answerBy := time.Now().Add(deadline - min(hoverAnswerMargin, deadline/10))
	ctx, cancel := context.WithDeadline(ctx, answerBy)
	defer cancel()
	fn, pkg := w.analyses.functionAt(ctx, path, version, offset)
	if fn == nil || !fn.Measured() {
		return HoverCard{}, false
	}
	if fn.Traced() {
		// The span metrics' service may come from the code: the scan runs in the background
		// (started when the file opened) and usually ends within milliseconds. The hover gives
		// it at most half of what is left of the deadline; after that the card says it reads
		// all services for now.
		if done := w.numbers.scanScope(filepath.Dir(fn.NameSpan.File)); done != nil {
			wait := time.NewTimer(time.Until(answerBy) / 2)
			select {
			case <-done:
			case <-wait.C:
			case <-ctx.Done():
			}
			wait.Stop()
		}
	}
	b = w.numbers.backend()
	if b.client == nil {
		title := "Autometrics"
		if fn.Instrumentation == analysis.NotInstrumented {
			title = "OpenTelemetry span"
		}
		return HoverCard{Markdown: NotConfiguredCard(title, fn.QualifiedName(), b.configErr)}, true
	}
	h := w.numbers.forHover(ctx, b.client, w.batchFor(fn, pkg), time.Until(answerBy))

	var degraded string
	if pkg != nil && pkg == w.analyses.newest(path) {
		degraded = pkg.Degraded // the go command's load answered, but read the package from syntax alone
	}
	key := newCardKey(fn, b.links, h, degraded)
	key.images = b.settings.HoverImages
	markdown, cached := w.cards.get(key)
	if !cached {
		views := Views(fn, b.links, h.snap, h.fetchErr)
		for i := range views {
			views[i] = views[i].WithTrend(h.trend).WithIncident(h.incident, b.links)
			views[i].Images = b.settings.HoverImages
		}
		if degraded != "" {
			last := &views[len(views)-1]
			last.Notes = append(last.Notes, "Type information is unavailable ("+degraded+"): am-lsp reads this package from syntax alone, so calls into other packages are not resolved.")
		}
		markdown = Cards(views)
		w.cards.put(key, markdown)
	}
	card := HoverCard{Markdown: markdown}
	if fn.NameSpan.File == path && fn.NameSpan.Contains(offset) {
		card.Span = fn.NameSpan
	}
	return card, true
}

// batchFor returns the series batch fn's numbers are fetched in: its whole package when the
// package is known (the batch the prefetch asks for), else fn alone. from is the package the
// hover resolved fn in, which is fn's own unless fn was called from another package.
func (w *Workspace) batchFor(fn *analysis.Function, from *analysis.Package) []promclient.Series {
	if from != nil && from.Path == fn.PkgPath {
		if batch := SeriesOfPackage(from); len(batch) > 0 {
			return batch
		}
	}
	if p := w.analyses.pkgByPath(fn.PkgPath); p != nil {
		if batch := SeriesOfPackage(p); len(batch) > 0 {
			return batch
		}
	}
	return seriesOfFunction(fn)
}
