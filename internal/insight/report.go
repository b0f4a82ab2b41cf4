package insight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Report analyses the packages matching patterns (go list patterns, relative to loader.Dir) and
// fetches the numbers of their instrumented functions, one batch per package, exactly as the
// editor does. It returns a View per instrumented function and one per traced function (both,
// for a function that is both). The error is non-nil, with one line per problem, when the
// backend failed for any package (the views then carry the reason, the error says it once),
// when the patterns match no package (mistyped, outside a module), when the go command could
// not load a package (a broken go.mod: the views then come from syntax alone), or when nothing
// measured was found and "./..." skipped nested modules.
func Report(ctx context.Context, loader *analysis.Loader, links Links, patterns []string) ([]View, error) {
	pkgs, err := loader.LoadPatterns(ctx, patterns, nil)
	if err != nil && len(pkgs) == 0 {
		return nil, fmt.Errorf("loading %v: %w", patterns, err)
	}
	if len(pkgs) == 0 {
		return nil, errors.New(analysis.WhyNoPackages(ctx, loader.Dir, patterns) + nestedHint(loader.Dir, patterns))
	}
	var problems []error
	for _, p := range pkgs {
		if p.Degraded != "" {
			problems = append(problems, fmt.Errorf("%s: %s", p.Path, p.Degraded))
		}
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
	if len(views) == 0 {
		if hint := nestedHint(loader.Dir, patterns); hint != "" {
			problems = append(problems, fmt.Errorf("no instrumented or traced functions in %s%s", strings.Join(patterns, " "), hint))
		}
	}
	if backendErr != nil {
		var fe *promclient.FetchError
		if errors.As(backendErr, &fe) {
			backendErr = fmt.Errorf("%s. Name the backend with --prometheus-url URL (or AM_PROMETHEUS_URL)", firstSentence(describeError(fe, client.DisplayURL())))
		}
		problems = append(problems, backendErr)
	}
	return views, errors.Join(problems...)
}

// nestedHint names the modules nested in dir that "./..." patterns do not enter, or is "".
func nestedHint(dir string, patterns []string) string {
	if !slices.ContainsFunc(patterns, func(p string) bool { return strings.HasSuffix(p, "/...") }) {
		return ""
	}
	nested := analysis.NestedModules(dir)
	if len(nested) == 0 {
		return ""
	}
	return fmt.Sprintf(" (\"./...\" does not enter the nested module(s) %s: run am-lsp report inside them)", strings.Join(nested, ", "))
}
