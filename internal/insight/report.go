package insight

import (
	"context"
	"errors"
	"fmt"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Report analyses the packages matching patterns (go list patterns, relative to loader.Dir) and
// fetches the numbers of their instrumented functions, one batch per package, exactly as the
// editor does. It returns a View per instrumented function and one per traced function (both,
// for a function that is both). The error is non-nil when the
// backend failed for any package (the views then carry the reason) or nothing could be loaded.
func Report(ctx context.Context, loader *analysis.Loader, links Links, patterns []string) ([]View, error) {
	pkgs, err := loader.LoadPatterns(ctx, patterns, nil)
	if err != nil && len(pkgs) == 0 {
		return nil, fmt.Errorf("loading %v: %w", patterns, err)
	}
	client := links.Prom
	var views []View
	var backendErr error
	for _, p := range pkgs {
		batch := SeriesOfPackage(p)
		if len(batch) == 0 {
			continue
		}
		snap, ferr := client.Fetch(ctx, batch)
		if ferr == nil && snap != nil && snap.Err != nil {
			ferr = snap.Err
		}
		if ferr != nil && backendErr == nil {
			backendErr = ferr
		}
		for _, fn := range p.Measured() {
			views = append(views, Views(fn, links, snap, ferr)...)
		}
	}
	if backendErr != nil {
		var fe *promclient.FetchError
		if errors.As(backendErr, &fe) {
			return views, fmt.Errorf("%s", describeError(fe, client.DisplayURL()))
		}
		return views, backendErr
	}
	return views, nil
}
