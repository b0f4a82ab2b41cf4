package insight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Report analyses the packages matching patterns (go list patterns, relative to loader.Dir) and
// fetches the numbers of their instrumented and traced functions, the packages together (up to
// groupSeries series per fetch; the same queries the editor sends for one package). It returns a View per instrumented function and one per traced function (both,
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
	for _, group := range packageGroups(pkgs, SeriesOfPackage) {
		snap, ferr := client.Fetch(ctx, group.batch)
		if ferr == nil && snap != nil && snap.Err != nil {
			ferr = snap.Err
		}
		if ferr != nil && backendErr == nil {
			backendErr = ferr
		}
		for _, p := range group.pkgs {
			for _, fn := range p.Measured() {
				views = append(views, Views(fn, links, snap, ferr)...)
			}
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
			backendErr = errors.New(reportBackendError(fe, client.DisplayURL()))
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

// reportBackendError is the report's one line about a backend that failed: what failed, with the
// backend's and the system's words whole, then what to do about it with the report's own means
// (--prometheus-url, AM_PROMETHEUS_URL, --timeout), fitting the failure: the URL is named as
// the thing to fix only when nothing, or nothing that serves the query API, answered there.
func reportBackendError(fe *promclient.FetchError, backend string) string {
	status := ""
	if fe.Status != 0 {
		status = fmt.Sprintf(" (HTTP %d %s)", fe.Status, http.StatusText(fe.Status))
	}
	const nameIt = "Name the backend with --prometheus-url URL (or AM_PROMETHEUS_URL)."
	switch fe.Kind {
	case promclient.Unreachable:
		if fe.Certificate != nil {
			return fmt.Sprintf("Prometheus at %s is unreachable: its TLS certificate is not trusted (%v). am-lsp report trusts the system's "+
				"certificate authorities: add the one that signed the server's certificate to them, or check that the URL names the server "+
				"you mean.", backend, fe.Certificate)
		}
		return fmt.Sprintf("Prometheus at %s is unreachable: %v. Is it running, and is the URL right? %s", backend, fe.Err, nameIt)
	case promclient.Timeout:
		return fmt.Sprintf("Prometheus at %s did not answer in time%s: %v. Give it longer with --timeout DURATION, "+
			"or report fewer packages at once.", backend, status, fe.Err)
	case promclient.Unauthorized:
		if fe.Status == 0 { // a credentials file, not the server, failed
			return fmt.Sprintf("Prometheus at %s: the credentials cannot be sent: %v. Check the credentials am-lsp sends.", backend, fe.Err)
		}
		return fmt.Sprintf("Prometheus at %s refused the credentials%s. am-lsp report sends the user and password of the URL as "+
			"basic auth: give ones it accepts as --prometheus-url %s (or in AM_PROMETHEUS_URL).", backend, status, withUserinfo(backend))
	case promclient.QueryError:
		return fmt.Sprintf("Prometheus at %s rejected am-lsp's query%s: %v. It answered, so the URL is right: "+
			"its words say what it refused (a limit of the server, or a matcher it does not accept).", backend, status, fe.Err)
	}
	switch {
	case fe.Status >= 500:
		return fmt.Sprintf("Prometheus at %s failed the request%s: %v. It answered, so the URL is right: the server (or a proxy "+
			"in front of it) is in trouble; its logs say why. Try again when it is back.", backend, status, fe.Err)
	case fe.Status == http.StatusNotFound:
		return fmt.Sprintf("Prometheus at %s has no query API at this URL%s: %v. Check the URL's path prefix. %s", backend, status, fe.Err, nameIt)
	}
	return fmt.Sprintf("Prometheus at %s answered with an error%s: %v. Is that the query API of a Prometheus-compatible backend? %s",
		backend, status, fe.Err, nameIt)
}

// withUserinfo returns the URL backend with USER:PASSWORD placeholders for its credentials.
func withUserinfo(backend string) string {
	if scheme, rest, ok := strings.Cut(backend, "://"); ok {
		return scheme + "://USER:PASSWORD@" + rest
	}
	return backend
}
