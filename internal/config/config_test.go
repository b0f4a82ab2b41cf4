package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultsPreferEnvironment(t *testing.T) {
	if got := Defaults(func(string) string { return "" }).PrometheusURL; got != DefaultPrometheusURL {
		t.Errorf("without env: %q", got)
	}
	env := map[string]string{"AM_PROMETHEUS_URL": "http://prom:9090/p"}
	if got := Defaults(func(k string) string { return env[k] }).PrometheusURL; got != "http://prom:9090/p" {
		t.Errorf("with env: %q", got)
	}
}

func TestMergeAppliesValidFieldsAndNamesInvalidOnes(t *testing.T) {
	base := Defaults(nil)
	got, err := Merge(base, []byte(`{"prometheusUrl":"ftp://x","window":"10m","hoverDeadline":"soon"}`))
	if err == nil {
		t.Fatal("invalid settings accepted")
	}
	for _, name := range []string{"prometheusUrl", "hoverDeadline"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if got.PrometheusURL != base.PrometheusURL || got.HoverDeadline != base.HoverDeadline {
		t.Errorf("invalid values replaced the last good ones: %+v", got)
	}
	if got.Window != 10*time.Minute {
		t.Errorf("valid window not applied: %v", got.Window)
	}
}

func TestMergeAcceptsNestedSectionAndNull(t *testing.T) {
	got, err := Merge(Defaults(nil), []byte(`{"am-lsp":{"prometheusUrl":"https://u:secret@h/prom"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.PrometheusURL != "https://u:secret@h/prom" {
		t.Errorf("nested: %q", got.PrometheusURL)
	}
	if same, err := Merge(got, []byte("null")); err != nil || !reflect.DeepEqual(same, got) {
		t.Errorf("null changed settings: %+v %v", same, err)
	}
}

func TestRedactRemovesCredentials(t *testing.T) {
	if got := Redact("https://u:secret@h/prom"); strings.Contains(got, "secret") || !strings.Contains(got, "h/prom") {
		t.Errorf("Redact = %q", got)
	}
	if _, err := Merge(Defaults(nil), []byte(`{"prometheusUrl":"gopher://u:secret@h"}`)); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks or is missing: %v", err)
	}
}

func TestMergeEditorSurfaceAndAuthSettings(t *testing.T) {
	env := map[string]string{"AM_GRAFANA_URL": "http://grafana:3000"}
	base := Defaults(func(k string) string { return env[k] })
	if base.GrafanaURL != "http://grafana:3000" || !base.CodeLens || base.HoverImages || base.CodeLensFormat != DefaultCodeLensFormat {
		t.Fatalf("defaults: %+v", base)
	}
	got, err := Merge(base, []byte(`{
		"grafanaUrl": "https://g.example/grafana/", "grafanaDatasource": "prom-uid",
		"labelMatchers": ["env=\"prod\""], "codeLens": false, "codeLensFormat": "{rate}", "inlayHints": true, "hoverImages": true,
		"burnRateThreshold": 14.4, "bearerTokenFile": "/run/token", "username": "u", "password": "p",
		"headers": {"X-Scope-OrgID": "team-a"}, "tlsCaFile": "/etc/ca.pem", "tlsInsecureSkipVerify": true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.GrafanaURL, want.GrafanaDatasource = "https://g.example/grafana", "prom-uid"
	want.LabelMatchers, want.CodeLens, want.CodeLensFormat, want.InlayHints = []string{`env="prod"`}, false, "{rate}", true
	want.BurnRateThreshold, want.BearerTokenFile, want.Username, want.Password = 14.4, "/run/token", "u", "p"
	want.Headers, want.TLSCAFile, want.TLSInsecureSkipVerify = map[string]string{"X-Scope-OrgID": "team-a"}, "/etc/ca.pem", true
	want.HoverImages = true
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if _, err := Merge(got, []byte(`{"password": 12345}`)); err == nil || strings.Contains(err.Error(), "12345") {
		t.Errorf("a mistyped secret must be rejected without echoing it: %v", err)
	}
	if _, err := Merge(got, []byte(`{"burnRateThreshold": -1, "codeLensFormat": ""}`)); err == nil ||
		!strings.Contains(err.Error(), "burnRateThreshold") || !strings.Contains(err.Error(), "codeLensFormat") {
		t.Errorf("invalid values not reported by name: %v", err)
	}
}

func TestMergeOpenTelemetrySettings(t *testing.T) {
	base := Defaults(nil)
	got, err := Merge(base, []byte(`{"serviceName": "shop", "spanMetrics": "tempo"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceName != "shop" || got.SpanMetrics != "tempo" {
		t.Errorf("got %+v", got)
	}
	again, err := Merge(got, []byte(`{"serviceName": ""}`))
	if err != nil || again.ServiceName != "" || again.SpanMetrics != "tempo" {
		t.Errorf("clearing serviceName: %+v %v", again, err)
	}
}

// A password with "/", "#" or "?" written into the URL is accepted and never shown.
func TestURLPasswordWithDelimiters(t *testing.T) {
	got, err := Merge(Defaults(nil), []byte(`{"prometheusUrl":"http://alice:p/w#s?x@prom:9090","grafanaUrl":"http://bob:g/r#f@grafana:3000"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.PrometheusURL != "http://alice:p/w#s?x@prom:9090" {
		t.Errorf("prometheusUrl = %q", got.PrometheusURL)
	}
	if r := Redact(got.PrometheusURL); r != "http://prom:9090" {
		t.Errorf("Redact = %q", r)
	}
	// "prom:9090" reads as a host: the "@" may be in the path, so the URL is refused, not guessed.
	prev := got.PrometheusURL
	got, err = Merge(got, []byte(`{"prometheusUrl":"http://prom:9090/x@h2"}`))
	if err == nil || !strings.Contains(err.Error(), "percent-encode") || got.PrometheusURL != prev {
		t.Errorf("ambiguous prometheusUrl: %q, %v", got.PrometheusURL, err)
	}
	_, err = Merge(Defaults(nil), []byte(`{"prometheusUrl":"gopher://alice:p/w#s@prom:9090"}`))
	if err == nil || strings.Contains(err.Error(), "p/w") || strings.Contains(err.Error(), "w#s") {
		t.Errorf("Merge with a bad scheme: %v, want an error without the password", err)
	}
}
