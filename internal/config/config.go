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
)

// Section is the workspace/configuration section am-lsp asks the editor for.
const Section = "am-lsp"

// DefaultPrometheusURL is used when neither the editor nor AM_PROMETHEUS_URL names one.
const DefaultPrometheusURL = "http://localhost:9090"

// Settings are the effective settings. The zero value is not useful; start from Defaults.
type Settings struct {
	// PrometheusURL is the base URL of a Prometheus-compatible query API, path prefix allowed.
	PrometheusURL string
	// Window is the range of rate() and histogram_quantile() queries.
	Window time.Duration
	// HoverDeadline bounds how long a hover waits for numbers before it answers without them.
	HoverDeadline time.Duration
	// QueryTimeout bounds one query to the backend (sent as its `timeout` parameter too).
	QueryTimeout time.Duration
	// CacheTTL is how long fetched numbers count as fresh.
	CacheTTL time.Duration
}

// Defaults returns the built-in settings, with PrometheusURL taken from AM_PROMETHEUS_URL when
// getenv returns a non-empty value for it.
func Defaults(getenv func(string) string) Settings {
	s := Settings{
		PrometheusURL: DefaultPrometheusURL,
		Window:        5 * time.Minute,
		HoverDeadline: 500 * time.Millisecond,
		QueryTimeout:  10 * time.Second,
		CacheTTL:      30 * time.Second,
	}
	if getenv != nil {
		if v := strings.TrimSpace(getenv("AM_PROMETHEUS_URL")); v != "" {
			s.PrometheusURL = v
		}
	}
	return s
}

// wire is the JSON shape of the settings object an editor sends. Durations are Go duration
// strings ("5m", "500ms"). Absent fields keep their current value.
type wire struct {
	PrometheusURL *string `json:"prometheusUrl"`
	Window        *string `json:"window"`
	HoverDeadline *string `json:"hoverDeadline"`
	QueryTimeout  *string `json:"queryTimeout"`
	CacheTTL      *string `json:"cacheTtl"`
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
		return base, fmt.Errorf("am-lsp settings: %v", err)
	}
	out := base
	var errs []error
	if w.PrometheusURL != nil {
		if err := checkURL(*w.PrometheusURL); err != nil {
			errs = append(errs, fmt.Errorf("setting prometheusUrl: %w", err))
		} else {
			out.PrometheusURL = strings.TrimSpace(*w.PrometheusURL)
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
	u, err := url.Parse(raw)
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

// Redact returns raw with any password in its userinfo replaced, for messages and logs. Strings
// that do not parse as URLs are returned with everything before an "@" removed.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…@" + raw[i+1:]
		}
		return raw
	}
	u.User = nil
	return u.String()
}
