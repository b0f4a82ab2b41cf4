package analysis

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDirectiveRecognisesOnlyDirectiveLines(t *testing.T) {
	for _, line := range []string{
		"// autometrics:inst",
		"//autometrics:instrument",
		"//autometrics:doc-start",
		"//autometrics:doc-end",
		"//autometrics:defer",
		"//autometrics:shadow-ctx",
		"//go:generate autometrics",
		"/*autometrics:inst*/",
		"",
	} {
		if d, ok := ParseDirective(line); ok {
			t.Errorf("ParseDirective(%q) = %+v, want not a directive", line, d)
		}
	}
	for line, verb := range map[string]string{
		"//autometrics:inst":           VerbInst,
		"//autometrics:inst   ":        VerbInst,
		"//autometrics:inst\t--no-doc": VerbInst,
		"//autometrics:doc":            VerbDoc,
		"//autometrics:doc --slo API":  VerbDoc,
	} {
		d, ok := ParseDirective(line)
		if !ok || d.Verb != verb {
			t.Errorf("ParseDirective(%q) = %+v, %v; want verb %q", line, d, ok, verb)
		}
	}
}

func TestParseDirectiveOptions(t *testing.T) {
	tests := []struct {
		line string
		want Directive // Verb, Span and Problems are not compared
	}{
		{`//autometrics:inst`, Directive{}},
		{`//autometrics:inst --slo API --success-target 99`, Directive{SLO: "API", SuccessTarget: 99}},
		{`//autometrics:inst --slo "My API" --success-target 99.9 --latency-ms 250 --latency-target 95 --no-doc`,
			Directive{SLO: "My API", SuccessTarget: 99.9, LatencyMs: 250, LatencyTarget: 95, NoDoc: true}},
		{`//autometrics:inst --slo 'it''s' --latency-ms 7.5 --latency-target 90`, Directive{SLO: "its", LatencyMs: 7.5, LatencyTarget: 90}},
		{`//autometrics:inst --slo My\ API --success-target "90"`, Directive{SLO: "My API", SuccessTarget: 90}},
		{`//autometrics:inst --slo "say \"hi\""`, Directive{SLO: `say "hi"`}},
		{`//autometrics:inst --slo=API --success-target=95`, Directive{SLO: "API", SuccessTarget: 95}},
		{`//autometrics:inst --success-rate 99 --slo API extra`, Directive{SLO: "API", Unknown: []string{"--success-rate", "99", "extra"}}},
		{`//autometrics:inst --slo API # --success-target 12`, Directive{SLO: "API"}},
		{`//autometrics:inst --slo a#b`, Directive{SLO: "a#b"}},
	}
	for _, tt := range tests {
		d, ok := ParseDirective(tt.line)
		if !ok {
			t.Errorf("ParseDirective(%q): not a directive", tt.line)
			continue
		}
		got := *d
		got.Verb, got.Span, got.Problems = "", Span{}, nil
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseDirective(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseDirectiveProblems(t *testing.T) {
	tests := []struct {
		line string
		want []string // one substring per expected problem, in order
	}{
		{`//autometrics:inst --slo API --success-target 99 --latency-ms 250 --latency-target 99.9 --no-doc`, nil},
		{`//autometrics:inst --slo API --latency-ms 7.5 --latency-target 99`, nil},
		{`//autometrics:inst --slo API --latency-ms 10000 --latency-target 99`, nil},
		{`//autometrics:inst --success-rate 99`, nil}, // unknown tokens are not problems
		{`//autometrics:inst --slo "API`, []string{"double quote"}},
		{`//autometrics:inst --slo 'API`, []string{"single quote"}},
		{`//autometrics:inst --slo API\`, []string{"backslash"}},
		{`//autometrics:inst --slo`, []string{"--slo needs a value"}},
		{`//autometrics:inst --slo --success-target 99`, []string{"--slo needs a value", "--success-target needs --slo"}},
		{`//autometrics:inst --slo ""`, []string{"non-empty"}},
		{`//autometrics:inst --slo API --success-target`, []string{"--success-target needs a value"}},
		{`//autometrics:inst --slo API --success-target high`, []string{`--success-target high is not a number`}},
		{`//autometrics:inst --slo API --success-target NaN`, []string{"not a number"}},
		{`//autometrics:inst --slo API --success-target 98`, []string{"98 is not a supported objective; use one of 90, 95, 99 or 99.9"}},
		{`//autometrics:inst --slo API --success-target 0.99`, []string{"not a supported objective"}},
		{`//autometrics:inst --slo API --latency-ms 300 --latency-target 99`, []string{"300 is not a default latency bucket; use one of 5, 7.5, 10, 25, 50"}},
		{`//autometrics:inst --slo API --latency-ms 250 --latency-target 97`, []string{"--latency-target 97 is not a supported objective"}},
		{`//autometrics:inst --success-target 99`, []string{"--success-target needs --slo"}},
		{`//autometrics:inst --latency-ms 250 --latency-target 99`, []string{"--latency-ms needs --slo", "--latency-target needs --slo"}},
		{`//autometrics:inst --slo API --latency-ms 250`, []string{"--latency-ms needs --latency-target"}},
		{`//autometrics:inst --slo API --latency-target 99`, []string{"--latency-target needs --latency-ms"}},
		{`//autometrics:inst --slo=API`, []string{`ignores "--slo=API": write --slo API`}},
		{`//autometrics:inst --slo A --slo B`, []string{"more than once"}},
		{`//autometrics:inst --no-doc=maybe`, []string{"ignores", "--no-doc takes no value"}},
	}
	for _, tt := range tests {
		d, ok := ParseDirective(tt.line)
		if !ok {
			t.Errorf("ParseDirective(%q): not a directive", tt.line)
			continue
		}
		if len(d.Problems) != len(tt.want) {
			t.Errorf("ParseDirective(%q).Problems = %q, want %d problems matching %q", tt.line, d.Problems, len(tt.want), tt.want)
			continue
		}
		for i, want := range tt.want {
			if !strings.Contains(d.Problems[i], want) {
				t.Errorf("ParseDirective(%q).Problems[%d] = %q, want it to contain %q", tt.line, i, d.Problems[i], want)
			}
		}
	}
}

func TestParseDirectiveKeepsValuesDespiteProblems(t *testing.T) {
	d, ok := ParseDirective(`//autometrics:inst --slo "API --success-target 98`)
	if !ok {
		t.Fatal("not a directive")
	}
	if d.SLO != "API --success-target 98" || len(d.Problems) != 1 {
		t.Errorf("got SLO %q, problems %q; want the unterminated word as the SLO and one problem", d.SLO, d.Problems)
	}
	d, _ = ParseDirective(`//autometrics:inst --slo API --success-target 98`)
	if d.SuccessTarget != 98 {
		t.Errorf("SuccessTarget = %v, want 98 kept although invalid", d.SuccessTarget)
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"  a  b\tc ", []string{"a", "b", "c"}, false},
		{`"a b" 'c d' e\ f`, []string{"a b", "c d", "e f"}, false},
		{`a"b"'c'd`, []string{"abcd"}, false},
		{`"" ''`, []string{"", ""}, false},
		{`'a\b' "a\b"`, []string{`a\b`, "ab"}, false},
		{`"é ü"`, []string{"é ü"}, false},
		{`a #comment "unclosed`, []string{"a"}, false},
		{`"open`, []string{"open"}, true},
		{`x \`, []string{"x"}, true},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if !reflect.DeepEqual(got, tt.want) || (err != nil) != tt.wantErr {
			t.Errorf("splitWords(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
