package credurl

import "testing"

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		raw, stripped, user, pass string
		ok                        bool
	}{
		{"http://prom:9090/x", "http://prom:9090/x", "", "", false},
		{" https://u:p@h/prom ", "https://h/prom", "u", "p", true},
		{"http://user:9090/PW@prom:9090", "http://prom:9090", "user", "9090/PW", true},
		{"http://a:p#s?s/w@rd@h", "http://h", "a", "p#s?s/w@rd", true},
		{"http://a:b:c@h", "http://h", "a", "b:c", true},
		{"http://a:x%2Fy%40z@h", "http://h", "a", "x/y@z", true},
		{"http://a:100%@h", "http://h", "a", "100%", true},
		{"http://token@h", "http://h", "token", "", true},
		{"u:s3/cr#t@h:9090", "h:9090", "u", "s3/cr#t", true},
	} {
		stripped, user, pass, ok := Split(tc.raw)
		if stripped != tc.stripped || user != tc.user || pass != tc.pass || ok != tc.ok {
			t.Errorf("Split(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.raw, stripped, user, pass, ok, tc.stripped, tc.user, tc.pass, tc.ok)
		}
		if got := Redact(tc.raw); got != tc.stripped {
			t.Errorf("Redact(%q) = %q", tc.raw, got)
		}
	}
}
