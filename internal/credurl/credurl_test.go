package credurl

import "testing"

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		raw, stripped, user, pass string
		ok                        bool
	}{
		{"http://prom:9090/x", "http://prom:9090/x", "", "", false},
		{" https://u:p@h/prom ", "https://h/prom", "u", "p", true},
		{"http://user:9090%2FPW@prom:9090", "http://prom:9090", "user", "9090/PW", true},
		{"http://a:p#s?s/w@rd@h", "http://h", "a", "p#s?s/w@rd", true},
		{"http://a:b:c@h", "http://h", "a", "b:c", true},
		{"http://a:x%2Fy%40z@h", "http://h", "a", "x/y@z", true},
		{"http://a:100%@h", "http://h", "a", "100%", true},
		{"http://token@h", "http://h", "token", "", true},
		{"u:s3/cr#t@h:9090", "h:9090", "u", "s3/cr#t", true},
	} {
		stripped, user, pass, ok, err := Split(tc.raw)
		if err != nil {
			t.Errorf("Split(%q): %v", tc.raw, err)
		}
		if stripped != tc.stripped || user != tc.user || pass != tc.pass || ok != tc.ok {
			t.Errorf("Split(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.raw, stripped, user, pass, ok, tc.stripped, tc.user, tc.pass, tc.ok)
		}
		if got := Redact(tc.raw); got != tc.stripped {
			t.Errorf("Redact(%q) = %q", tc.raw, got)
		}
	}
}

// When what precedes a "/", "?" or "#" before the last "@" reads as a host, the URL may as
// well be a path with an "@" in it: Split refuses to guess where the credentials go, and
// Redact still drops everything up to the last "@".
func TestSplitRefusesAmbiguousUserinfo(t *testing.T) {
	for _, tc := range []struct{ raw, redacted string }{
		{"http://prom:9090/x@h2", "http://h2"},
		{"http://user:9090/PW@prom:9090", "http://prom:9090"},
		{"http://alice:2024/Spring@host:9090", "http://host:9090"},
		{"https://prom.example/api?a=b@evil.example", "https://evil.example"},
		{"http://10.0.0.1#x@h", "http://h"},
		{"http://[::1]:9090/p@h", "http://h"},
		{"prom/x@h", "h"},
	} {
		stripped, user, pass, ok, err := Split(tc.raw)
		if err != ErrAmbiguous || ok || user != "" || pass != "" || stripped != tc.redacted {
			t.Errorf("Split(%q) = %q, %q, %q, %v, %v; want %q and ErrAmbiguous", tc.raw, stripped, user, pass, ok, err, tc.redacted)
		}
		if got := Redact(tc.raw); got != tc.redacted {
			t.Errorf("Redact(%q) = %q", tc.raw, got)
		}
	}
}
