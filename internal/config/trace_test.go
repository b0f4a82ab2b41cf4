package config

import (
	"strings"
	"testing"
)

func TestTraceURLTemplate(t *testing.T) {
	base := Defaults(func(string) string { return "" })
	got, err := Merge(base, []byte(`{"traceUrlTemplate": " https://grafana.example/explore?trace={traceId} "}`))
	if err != nil || got.TraceURLTemplate != "https://grafana.example/explore?trace={traceId}" {
		t.Fatalf("valid template: %q, %v", got.TraceURLTemplate, err)
	}
	for _, bad := range []string{"https://tempo.example/trace/", "javascript:alert({traceId})", "tempo/{traceId}"} {
		next, err := Merge(got, []byte(`{"traceUrlTemplate": "`+bad+`"}`))
		if err == nil || !strings.Contains(err.Error(), "traceUrlTemplate") || next.TraceURLTemplate != got.TraceURLTemplate {
			t.Errorf("%q: accepted or lost the previous value (%q, %v)", bad, next.TraceURLTemplate, err)
		}
	}
	cleared, err := Merge(got, []byte(`{"traceUrlTemplate": ""}`))
	if err != nil || cleared.TraceURLTemplate != "" {
		t.Errorf("clearing: %q, %v", cleared.TraceURLTemplate, err)
	}
}

// Trace links show in every card: a template with a user or password (or an "@" that could be
// read as one) is refused, naming the setting and not the secret.
func TestTraceURLTemplateRefusesUserinfo(t *testing.T) {
	base := Defaults(func(string) string { return "" })
	for _, bad := range []string{"https://alice:S3cr3t@tempo.example/trace/{traceId}", "https://S3cr3t@tempo.example/{traceId}",
		"https://tempo.example/S3cr3t/{traceId}@evil.example"} {
		next, err := Merge(base, []byte(`{"traceUrlTemplate": "`+bad+`"}`))
		if err == nil || next.TraceURLTemplate != "" || !strings.Contains(err.Error(), "traceUrlTemplate") || strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("%q: got %q, %v; want a refusal without the secret", bad, next.TraceURLTemplate, err)
		}
	}
}
