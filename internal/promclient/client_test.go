package promclient

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // part of the error
	}{
		{Config{URL: ""}, `prometheus URL "": empty`},
		{Config{URL: "localhost:9090"}, `prometheus URL "localhost:9090": no scheme`},
		{Config{URL: "ftp://bob:" + secret + "@h/x"}, `prometheus URL "ftp://h/x": scheme "ftp"`},
		{Config{URL: "http://bob:" + secret + "@[::1/x"}, `prometheus URL "http://[::1/x": missing ']'`},
		{Config{URL: "http:///prom"}, "no host"},
		{Config{URL: "http://h:9090/?x=1"}, "must not have a query"},
		{Config{URL: "http://bob:" + secret + "@h", Username: "bob"}, "use one or the other"},
		{Config{URL: "http://h", Username: "bob", BearerToken: "t"}, "cannot be used together"},
		{Config{URL: "http://h", Headers: map[string]string{"Bad Header": "x"}}, "not a valid header name"},
		{Config{URL: "http://h", Window: 90 * time.Millisecond}, "whole number of seconds"},
		{Config{URL: "http://h", TTL: -time.Second}, "must not be negative"},
		{Config{URL: "http://h", TrendPoints: 1}, "1 trend points: want 2 to"},
		{Config{URL: "http://h", TrendRange: time.Minute, TrendPoints: 100}, "too short"},
		{Config{URL: "http://h", BearerToken: "t", BearerTokenFile: "/f"}, "cannot be used together"},
		{Config{URL: "http://h", Username: "bob", BearerTokenFile: "/f"}, "cannot be used together"},
		{Config{URL: "http://h", BearerTokenFile: "/nonexistent/token"}, "bearer token file /nonexistent/token: no such file"},
		{Config{URL: "http://h", Headers: map[string]string{"X-Token": secret + "\r\nX-Other: 1"}}, `header "X-Token": the value has a line break`},
		{Config{URL: "http://h", ExtraMatchers: []string{`service_name`}}, `extra matcher "service_name": want one of = != =~ !~`},
		{Config{URL: "http://h", ExtraMatchers: []string{`env="prod`}}, `extra matcher "env=\"prod": the value must be a quoted string`},
		{Config{URL: "http://h", ExtraMatchers: []string{`env=prod`}}, "must be a quoted string"},
		{Config{URL: "http://h", ExtraMatchers: []string{`1env="x"`}}, "want a label matcher"},
		{Config{URL: "http://h", ExtraMatchers: []string{`env=~"("`}}, "bad regular expression"},
		{Config{URL: "http://h", ExtraMatchers: []string{`__name__="up"`}}, "the metric name cannot be matched"},
		{Config{URL: "http://h", ExtraMatchers: []string{`a="b",c="d"`}}, `unexpected ",c=\"d\"" after the value`},
		{Config{URL: "http://h", ExtraMatchers: []string{`env=="x"`}}, "must be a quoted string"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %v, want an error containing %q", redactRaw(tc.cfg.URL), err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	c, err := New(Config{URL: " https://prom.example.com:9443/ "})
	if err != nil {
		t.Fatal(err)
	}
	if c.DisplayURL() != "https://prom.example.com:9443" || c.cfg.Window != DefaultWindow || c.cfg.Timeout != DefaultTimeout || c.cfg.TTL != DefaultTTL ||
		c.cfg.TrendRange != time.Hour || c.cfg.TrendPoints != 30 || trendStep(c.cfg) != 2*time.Minute {
		t.Errorf("defaults: %q %+v", c.DisplayURL(), c.cfg)
	}
	if got := trendStep(Config{TrendRange: 10 * time.Minute, TrendPoints: 7}); got != 85*time.Second {
		t.Errorf("step of 7 points over 10m = %v, want 85s (whole seconds)", got)
	}
}

func TestExtraMatchersRendered(t *testing.T) {
	c := newClient(t, Config{URL: "http://h", ExtraMatchers: []string{
		`service_name="api"`, ` env =~ 'prod.*' `, "team!=`a\\b`", `zone!~"eu-\"x\""`, `region='it\'s'`,
	}})
	want := []string{`service_name="api"`, `env=~"prod.*"`, `team!="a\\b"`, `zone!~"eu-\"x\""`, `region="it's"`}
	if got := c.extraSuffix(); got != ","+strings.Join(want, ",") {
		t.Errorf("matchers rendered as %q, want %q", got, want)
	}
	q := c.QueryFor(RequestRate, Series{Function: "F", Module: "m"})
	if !strings.Contains(q, `{__name__=~"function_calls_total|function_calls_count_total",function="F",module="m",`+strings.Join(want, ",")+`}`) {
		t.Errorf("QueryFor = %s", q)
	}
}

func TestGraphURL(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"http://h/prom", "http://h/prom/graph?"},
		{"http://alice:" + secret + "@h:9090/prom/", "http://h:9090/prom/graph?"},
		{"https://h", "https://h/graph?"},
	} {
		c := newClient(t, Config{URL: tc.base})
		q := c.QueryFor(ErrorRatio, Series{Function: "Handle", Module: "example.com/a&b c+d"})
		got := c.GraphURL(q)
		if !strings.HasPrefix(got, tc.want) || strings.Contains(got, secret) || strings.Contains(got, "alice") {
			t.Errorf("GraphURL with base %q = %s, want prefix %s and no credentials", redactRaw(tc.base), got, tc.want)
			continue
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("g0.expr") != q || u.Query().Get("g0.tab") != "0" || len(u.Query()) != 2 {
			t.Errorf("GraphURL query = %v, want g0.expr=%s and g0.tab=0", u.Query(), q)
		}
	}
}

func TestQueryForFiltersFunctionAndModule(t *testing.T) {
	c := newClient(t, Config{URL: "http://h", Window: 10 * time.Minute})
	s := Series{Function: "Handle", Module: `example.com/app.Server`}
	for _, k := range allKinds {
		q := c.QueryFor(k, s)
		if !strings.Contains(q, `function="Handle",module="example.com/app.Server"`) {
			t.Errorf("%v: %s does not filter on both labels", k, q)
		}
		if k != Concurrent && !strings.Contains(q, "[10m]") {
			t.Errorf("%v: %s does not use the window", k, q)
		}
		if strings.Contains(q, "build_info") {
			t.Errorf("%v: %s joins build_info", k, q)
		}
	}
}

// Passwords with characters that delimit URL parts ("/", "#", "?", "@") written into the URL
// unencoded are credentials, not path, fragment or host: they parse, and show in no error,
// display URL or link. Percent-encoded ones are decoded.
func TestPasswordsWithURLDelimiters(t *testing.T) {
	for _, tc := range []struct{ raw, user, pass, display string }{
		{"http://user:9090%2FPW@prom:9090", "user", "9090/PW", "http://prom:9090"},
		{"http://alice:p#ss@prom:9090/prefix/", "alice", "p#ss", "http://prom:9090/prefix"},
		{"https://alice:a/b?c#d@e@prom.example", "alice", "a/b?c#d@e", "https://prom.example"},
		{"http://alice:a%2Fb%23c@prom", "alice", "a/b#c", "http://prom"},
		{"http://alice:100%@prom", "alice", "100%", "http://prom"},
	} {
		c, err := New(Config{URL: tc.raw})
		if err != nil {
			t.Errorf("New(%s): %v", redactRaw(tc.raw), err)
			continue
		}
		if c.cfg.Username != tc.user || c.cfg.Password != tc.pass || c.DisplayURL() != tc.display {
			t.Errorf("%s: user %q, display %q; want user %q, password %q, display %q",
				redactRaw(tc.raw), c.cfg.Username, c.DisplayURL(), tc.user, tc.pass, tc.display)
		}
		if shown := c.DisplayURL() + c.GraphURL("up") + c.classify(errors.New("x")).Error(); strings.Contains(shown, tc.pass) {
			t.Errorf("%s: the password shows in %s", redactRaw(tc.raw), shown)
		}
	}
	// An "@" after a "/" that follows what reads as a host could be in the path: rather than
	// send "prom:9090/x" as credentials to h2 (or guess the other way), New asks for
	// percent-encoding, quoting neither reading's secret.
	for _, raw := range []string{"http://prom:9090/x@h2", "http://user:9090/PW@prom:9090", "http://alice:2024/Spring@host:9090"} {
		_, err := New(Config{URL: raw})
		if err == nil || !strings.Contains(err.Error(), "percent-encode") || strings.Contains(err.Error(), "Spring") ||
			strings.Contains(err.Error(), "PW") || strings.Contains(err.Error(), "/x") {
			t.Errorf("New(%s): %v; want a refusal asking for percent-encoding, without the password", redactRaw(raw), err)
		}
	}
	// URLs that do not parse say why without any part of the password.
	for _, raw := range []string{
		"http://user:9090/PW@", "ftp://u:s3/cr#t@h", "u:s3/cr#t@h:9090", "http://u:s3/cr#t@h:9090/?q=1", "http://u:s3/cr#t@h:port",
	} {
		_, err := New(Config{URL: raw})
		if err == nil {
			t.Errorf("New(%s) accepted", redactRaw(raw))
			continue
		}
		for _, part := range []string{"PW", "s3", "cr#t"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("New(%s): %v shows part of the password", redactRaw(raw), err)
			}
		}
	}
}
