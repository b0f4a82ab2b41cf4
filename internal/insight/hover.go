package insight

import (
	"context"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Hover returns the card for the instrumented function at offset of the open document path at
// version: declared there, or called there. It waits for numbers at most the hover deadline and
// answers without them (saying why) when they are late. ok is false when no instrumented
// function is there.
func (w *Workspace) Hover(ctx context.Context, path string, version int32, offset int) (HoverCard, bool) {
	fn, pkg := w.analyses.functionAt(ctx, path, version, offset)
	if fn == nil || fn.Instrumentation == analysis.NotInstrumented {
		return HoverCard{}, false
	}
	b := w.numbers.backend()
	if b.client == nil {
		return HoverCard{Markdown: NotConfiguredCard(fn.QualifiedName(), b.configErr)}, true
	}
	h := w.numbers.forHover(ctx, b.client, w.batchFor(fn, pkg), b.settings.HoverDeadline)

	var degraded string
	if pkg != nil && pkg == w.analyses.newest(path) {
		degraded = pkg.Degraded // the go command's load answered, but read the package from syntax alone
	}
	key := newCardKey(fn, b.links, h, degraded)
	markdown, cached := w.cards.get(key)
	if !cached {
		view := Explain(fn, b.links, h.snap, h.fetchErr).WithTrend(h.trend)
		if degraded != "" {
			view.Notes = append(view.Notes, "Type information is unavailable ("+degraded+"): am-lsp reads this package from syntax alone, so calls into other packages are not resolved.")
		}
		markdown = Card(view)
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
	return []promclient.Series{SeriesOf(fn)}
}
