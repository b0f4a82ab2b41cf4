// Package config holds am-lsp's user settings: their defaults, how they are read from the
// editor (initializationOptions and workspace/configuration, both the same JSON object) and the
// environment, and how they are validated. Invalid values are reported by name and never
// replace the last good value.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/am-lsp/am-lsp/internal/credurl"
)

// Section is the workspace/configuration section am-lsp asks the editor for.
const Section = "am-lsp"

// DefaultPrometheusURL is used when neither the editor nor AM_PROMETHEUS_URL names one.
const DefaultPrometheusURL = "http://localhost:9090"

// Settings are the effective settings. The zero value is not useful; start from Defaults. Each
// field's JSON name (the key editors send) is given in its comment.
type Settings struct {
	// PrometheusURL (prometheusUrl) is the base URL of a Prometheus-compatible query API, path
	// prefix allowed; userinfo in it is sent as basic auth.
	PrometheusURL string
	// LabelMatchers (labelMatchers) are extra PromQL label matchers, such as `env="prod"`,
	// applied to every query.
	LabelMatchers []string
	// Window (window) is the range of rate() and histogram_quantile() queries.
	Window time.Duration
	// HoverDeadline (hoverDeadline) bounds how long a hover waits for numbers.
	HoverDeadline time.Duration
	// QueryTimeout (queryTimeout) bounds one backend query (sent as its `timeout` parameter too).
	QueryTimeout time.Duration
	// CacheTTL (cacheTtl) is how long fetched numbers count as fresh; open files are refreshed
	// at this period.
	CacheTTL time.Duration

	// GrafanaURL (grafanaUrl) is the base URL of a Grafana with the Autometrics dashboards;
	// empty means links and CodeLens open Prometheus instead.
	GrafanaURL string
	// GrafanaDatasource (grafanaDatasource) is the uid of the Prometheus datasource in Grafana,
	// used by Explore links.
	GrafanaDatasource string
	// TraceURLTemplate (traceUrlTemplate) links exemplar trace ids to a tracing UI: an http(s)
	// URL in which {traceId} is replaced by the (URL-escaped) trace id, e.g.
	// "https://tempo.example/trace/{traceId}". Empty shows trace ids as text.
	TraceURLTemplate string

	// CodeLens (codeLens) shows a one-line summary above every instrumented function.
	CodeLens bool
	// CodeLensFormat (codeLensFormat) is the summary's template: {rate}, {errors}, {p95},
	// {p99} and {concurrent} are replaced by the numbers.
	CodeLensFormat string
	// InlayHints (inlayHints) shows the summary as an inlay hint after the signature instead.
	InlayHints bool
	// HoverImages (hoverImages) says the client renders Markdown images with data: URIs (VS
	// Code does): the hover's trend is then drawn as small SVG charts instead of text
	// sparklines. Off by default, since clients such as Neovim show images as their raw URI.
	HoverImages bool
	// BurnRateThreshold (burnRateThreshold): an SLO whose error-budget burn rate over the window
	// exceeds it gets a warning diagnostic (a breached objective always does). 0 disables.
	BurnRateThreshold float64

	// BearerToken (bearerToken) or BearerTokenFile (bearerTokenFile) authenticate with a bearer
	// token; Username (username) and Password (password) with basic auth; Headers (headers) are
	// sent with every request (e.g. X-Scope-OrgID). Never logged or shown.
	BearerToken, BearerTokenFile string
	Username, Password           string
	Headers                      map[string]string
	// TLSCAFile (tlsCaFile) is a PEM file of CAs to trust for https backends.
	TLSCAFile string
	// TLSInsecureSkipVerify (tlsInsecureSkipVerify) turns off certificate verification: an
	// explicit opt-in, never a default.
	TLSInsecureSkipVerify bool

	// ServiceName (serviceName) keeps OpenTelemetry span metrics to one service; empty means
	// OTEL_SERVICE_NAME, else the service.name the code sets, else all services.
	ServiceName string
	// SpanMetrics (spanMetrics) forces the naming of span metrics: collector,
	// collector-seconds, collector-otel-status, legacy or tempo; empty means discovered.
	SpanMetrics string
}

// DefaultCodeLensFormat is the CodeLens template when none is set.
const DefaultCodeLensFormat = "{rate} · {errors} errors · p99 {p99}"

// Defaults returns the built-in settings, with PrometheusURL and GrafanaURL taken from
// AM_PROMETHEUS_URL and AM_GRAFANA_URL when getenv returns non-empty values for them.
func Defaults(getenv func(string) string) Settings {
	s := Settings{
		PrometheusURL:     DefaultPrometheusURL,
		Window:            5 * time.Minute,
		HoverDeadline:     500 * time.Millisecond,
		QueryTimeout:      10 * time.Second,
		CacheTTL:          30 * time.Second,
		CodeLens:          true,
		CodeLensFormat:    DefaultCodeLensFormat,
		BurnRateThreshold: 2,
	}
	if getenv != nil {
		if v := strings.TrimSpace(getenv("AM_PROMETHEUS_URL")); v != "" {
			s.PrometheusURL = v
		}
		if v := strings.TrimSpace(getenv("AM_GRAFANA_URL")); v != "" {
			s.GrafanaURL = v
		}
	}
	return s
}

// wire is the JSON shape of the settings object an editor sends. Durations are Go duration
// strings ("5m", "500ms"). Absent fields keep their current value.
type wire struct {
	PrometheusURL         *string            `json:"prometheusUrl"`
	LabelMatchers         *[]string          `json:"labelMatchers"`
	Window                *string            `json:"window"`
	HoverDeadline         *string            `json:"hoverDeadline"`
	QueryTimeout          *string            `json:"queryTimeout"`
	CacheTTL              *string            `json:"cacheTtl"`
	GrafanaURL            *string            `json:"grafanaUrl"`
	GrafanaDatasource     *string            `json:"grafanaDatasource"`
	TraceURLTemplate      *string            `json:"traceUrlTemplate"`
	CodeLens              *bool              `json:"codeLens"`
	CodeLensFormat        *string            `json:"codeLensFormat"`
	InlayHints            *bool              `json:"inlayHints"`
	HoverImages           *bool              `json:"hoverImages"`
	BurnRateThreshold     *float64           `json:"burnRateThreshold"`
	BearerToken           *string            `json:"bearerToken"`
	BearerTokenFile       *string            `json:"bearerTokenFile"`
	Username              *string            `json:"username"`
	Password              *string            `json:"password"`
	Headers               *map[string]string `json:"headers"`
	TLSCAFile             *string            `json:"tlsCaFile"`
	TLSInsecureSkipVerify *bool              `json:"tlsInsecureSkipVerify"`
	ServiceName           *string            `json:"serviceName"`
	SpanMetrics           *string            `json:"spanMetrics"`
}

// Merge returns base updated with the fields present in raw, a JSON object (null or empty means
// no change; an object nested under the "am-lsp" key is accepted too, as some editors send the
// whole configuration). Each invalid field is reported in the returned error by its JSON name
// and left at base's value; valid fields still apply.
func Merge(base Settings, raw []byte) (Settings, error) {
	raw = []byte(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return base, nil
	}
	var nested map[string]json.RawMessage
	if err := json.Unmarshal(raw, &nested); err != nil {
		return base, fmt.Errorf("am-lsp settings: expected a JSON object: %v", err)
	}
	if inner, ok := nested[Section]; ok {
		raw = inner
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return base, fmt.Errorf("am-lsp settings: %v", redactJSONError(err))
	}
	out := base
	var errs []error
	urls := []struct {
		name     string
		val      *string
		dst      *string
		optional bool
	}{
		{"prometheusUrl", w.PrometheusURL, &out.PrometheusURL, false},
		{"grafanaUrl", w.GrafanaURL, &out.GrafanaURL, true},
	}
	for _, u := range urls {
		if u.val == nil {
			continue
		}
		v := strings.TrimSpace(*u.val)
		if v == "" && u.optional {
			*u.dst = ""
			continue
		}
		if err := checkURL(v); err != nil {
			errs = append(errs, fmt.Errorf("setting %s: %w", u.name, err))
		} else {
			*u.dst = strings.TrimRight(v, "/")
		}
	}
	strs := []struct {
		val *string
		dst *string
	}{
		{w.GrafanaDatasource, &out.GrafanaDatasource}, {w.BearerToken, &out.BearerToken},
		{w.BearerTokenFile, &out.BearerTokenFile}, {w.Username, &out.Username}, {w.Password, &out.Password},
		{w.TLSCAFile, &out.TLSCAFile}, {w.ServiceName, &out.ServiceName}, {w.SpanMetrics, &out.SpanMetrics},
	}
	for _, f := range strs {
		if f.val != nil {
			*f.dst = *f.val
		}
	}
	bools := []struct {
		val *bool
		dst *bool
	}{{w.CodeLens, &out.CodeLens}, {w.InlayHints, &out.InlayHints}, {w.HoverImages, &out.HoverImages}, {w.TLSInsecureSkipVerify, &out.TLSInsecureSkipVerify}}
	for _, f := range bools {
		if f.val != nil {
			*f.dst = *f.val
		}
	}
	if w.TraceURLTemplate != nil {
		v := strings.TrimSpace(*w.TraceURLTemplate)
		if err := checkTraceTemplate(v); err != nil {
			errs = append(errs, fmt.Errorf("setting traceUrlTemplate: %w", err))
		} else {
			out.TraceURLTemplate = v
		}
	}
	if w.CodeLensFormat != nil {
		if strings.TrimSpace(*w.CodeLensFormat) == "" {
			errs = append(errs, fmt.Errorf("setting codeLensFormat: must not be empty (default %q)", DefaultCodeLensFormat))
		} else {
			out.CodeLensFormat = *w.CodeLensFormat
		}
	}
	if w.BurnRateThreshold != nil {
		if *w.BurnRateThreshold < 0 {
			errs = append(errs, fmt.Errorf("setting burnRateThreshold: %g is negative (0 disables the check)", *w.BurnRateThreshold))
		} else {
			out.BurnRateThreshold = *w.BurnRateThreshold
		}
	}
	if w.LabelMatchers != nil {
		out.LabelMatchers = append([]string(nil), (*w.LabelMatchers)...)
	}
	if w.Headers != nil {
		out.Headers = make(map[string]string, len(*w.Headers))
		for k, v := range *w.Headers {
			out.Headers[k] = v
		}
	}
	durations := []struct {
		name string
		val  *string
		dst  *time.Duration
		min  time.Duration
	}{
		{"window", w.Window, &out.Window, time.Minute},
		{"hoverDeadline", w.HoverDeadline, &out.HoverDeadline, 10 * time.Millisecond},
		{"queryTimeout", w.QueryTimeout, &out.QueryTimeout, 100 * time.Millisecond},
		{"cacheTtl", w.CacheTTL, &out.CacheTTL, 0},
	}
	for _, d := range durations {
		if d.val == nil {
			continue
		}
		v, err := time.ParseDuration(strings.TrimSpace(*d.val))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("setting %s: %q is not a duration like \"5m\" or \"500ms\"", d.name, *d.val))
		case v < d.min:
			errs = append(errs, fmt.Errorf("setting %s: %s is below the minimum of %s", d.name, v, d.min))
		default:
			*d.dst = v
		}
	}
	return out, errors.Join(errs...)
}

func checkURL(raw string) error {
	raw = strings.TrimSpace(raw)
	stripped, _, _, _, err := credurl.Split(raw)
	if err != nil {
		return fmt.Errorf("%q: %v", Redact(raw), err)
	}
	u, err := url.Parse(stripped)
	if err != nil {
		return fmt.Errorf("%q is not a URL", Redact(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", Redact(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", Redact(raw))
	}
	return nil
}

// Redact returns raw without its userinfo (as credurl reads it: a password may hold "/", "#",
// "?" or "@"), for messages and logs.
func Redact(raw string) string { return credurl.Redact(raw) }

// redactJSONError drops the offending value from JSON type errors, which could be a secret.
func redactJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("setting %s: expected %s, got a JSON %s", te.Field, te.Type, te.Value)
	}
	return errors.New("the settings are not a valid JSON object")
}

// TraceIDPlaceholder is replaced by a trace id in TraceURLTemplate.
const TraceIDPlaceholder = "{traceId}"

// checkTraceTemplate accepts "" or an http(s) URL that holds {traceId} and no user
// information: trace links are shown in every card, so credentials in them would be too.
func checkTraceTemplate(v string) error {
	if v == "" {
		return nil
	}
	if _, _, _, hasUser, err := credurl.Split(v); hasUser || err != nil {
		return fmt.Errorf("%q must not hold a user or password (before an \"@\"): trace links are shown in hover cards; percent-encode an \"@\" in the path as %%40", Redact(v))
	}
	if !strings.Contains(v, TraceIDPlaceholder) {
		return fmt.Errorf("%q has no %s placeholder", v, TraceIDPlaceholder)
	}
	return checkURL(strings.ReplaceAll(v, TraceIDPlaceholder, "0"))
}
