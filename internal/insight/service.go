package insight

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
)

// settingsScope is the service span metrics are kept to by the settings: serviceName, else
// OTEL_SERVICE_NAME in am-lsp's environment (getenv). ok is false when neither names one, and the
// code may (codeScope).
func settingsScope(s config.Settings, getenv func(string) string) (ServiceScope, bool) {
	if v := strings.TrimSpace(s.ServiceName); v != "" {
		return ServiceScope{Service: v, From: "setting serviceName"}, true
	}
	if getenv != nil {
		if v := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); v != "" {
			return ServiceScope{Service: v, From: "OTEL_SERVICE_NAME"}, true
		}
	}
	return ServiceScope{}, false
}

// codeScope is the service the module containing dir names on its OpenTelemetry resource in
// package main: one name is the scope; several leave all services, with a note.
func codeScope(dir string) ServiceScope {
	names := analysis.ServiceNames(dir)
	if len(names) == 0 {
		return ServiceScope{}
	}
	distinct := map[string]bool{}
	for _, n := range names {
		distinct[n.Name] = true
	}
	if len(distinct) > 1 {
		var list []string
		for n := range distinct {
			list = append(list, fmt.Sprintf("%q", n))
		}
		sort.Strings(list)
		return ServiceScope{Note: "the code names the services " + strings.Join(list, ", ") + "; set serviceName to keep to one"}
	}
	n := names[0]
	where := n.Rel
	if where == "" {
		where = filepath.Base(n.File)
	}
	return ServiceScope{Service: n.Name, From: fmt.Sprintf("service.name in %s:%d", where, n.Line)}
}
