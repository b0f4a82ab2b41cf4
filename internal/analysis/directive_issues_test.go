package analysis

import (
	"reflect"
	"strings"
	"testing"
)

func TestDirectiveIssuesLocateWords(t *testing.T) {
	tests := []struct {
		line string
		want []string // the located text of each issue, in order
		skip []bool   // whether each issue is a skipped word
	}{
		{`//autometrics:inst --slo API --success-target 99`, nil, nil},
		{`//autometrics:inst --slo API --success-target 98`, []string{"98"}, []bool{false}},
		{`//autometrics:inst --slo API --latency-ms 300 --latency-target 99`, []string{"300"}, []bool{false}},
		{`//autometrics:inst --success-target 99`, []string{"--success-target"}, []bool{false}},
		{`//autometrics:inst --slo API --latency-target 99`, []string{"--latency-target"}, []bool{false}},
		{`//autometrics:inst --slo "API --success-target 99`, []string{`"API --success-target 99`}, []bool{false}},
		{`//autometrics:inst --slo=API`, []string{"--slo=API"}, []bool{false}},
		{`//autometrics:inst --slo ''`, []string{"''"}, []bool{false}},
		{`//autometrics:inst --success-rate 99 --slo API extra`, []string{"--success-rate", "extra"}, []bool{true, true}},
		{`//autometrics:inst --slo API --success-target 90 --latency 250`, []string{"--latency"}, []bool{true}},
		{"//autometrics:inst\t--bogus   ", []string{"--bogus"}, []bool{true}},
	}
	for _, tt := range tests {
		issues := DirectiveIssues(tt.line)
		var got []string
		var skip []bool
		for _, is := range issues {
			got = append(got, tt.line[is.Start:is.End])
			skip = append(skip, is.Skipped)
		}
		if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(skip, tt.skip) {
			t.Errorf("DirectiveIssues(%q) located %q (skipped %v), want %q (%v)", tt.line, got, skip, tt.want, tt.skip)
		}
	}
}

func TestDirectiveIssuesMatchProblems(t *testing.T) {
	line := `//autometrics:inst --latency-ms 300 --success-rate 99 --latency-target 97`
	d, _ := ParseDirective(line)
	issues := DirectiveIssues(line)
	var problems []string
	for _, is := range issues {
		if !is.Skipped {
			problems = append(problems, is.Message)
		}
	}
	if !reflect.DeepEqual(problems, d.Problems) {
		t.Errorf("issue messages %q, want the Problems %q", problems, d.Problems)
	}
	last := issues[len(issues)-1]
	if !last.Skipped || last.Suggestion != FlagSuccessTarget || !strings.Contains(last.Message, `"99"`) && !strings.Contains(last.Message, "99") {
		t.Errorf("last issue = %+v, want the skipped --success-rate 99 with suggestion %s", last, FlagSuccessTarget)
	}
	if DirectiveIssues("// not a directive") != nil {
		t.Error("DirectiveIssues of a plain comment is not nil")
	}
}

func TestSuggestFlag(t *testing.T) {
	for word, want := range map[string]string{
		"--success-rate":   FlagSuccessTarget,
		"--sucess-target":  FlagSuccessTarget,
		"--success":        FlagSuccessTarget,
		"-slo":             FlagSLO,
		"--SLO":            FlagSLO,
		"--slo-name":       FlagSLO,
		"latency-ms":       FlagLatencyMs,
		"--latency":        FlagLatencyMs,
		"--latency-tagret": FlagLatencyTarget,
		"--latency-target": FlagLatencyTarget,
		"--nodoc":          FlagNoDoc,
		"--latency-ms=250": FlagLatencyMs,
		"--verbose":        "",
		"extra":            "",
		"99":               "",
		"--":               "",
		"--x":              "",
	} {
		if got := SuggestFlag(word); got != want {
			t.Errorf("SuggestFlag(%q) = %q, want %q", word, got, want)
		}
	}
}

// FuzzParseDirective checks that parsing never panics, that every issue lies inside the line,
// that issue messages repeat the Problems in order, and that ParseDirective and DirectiveIssues
// agree.
func FuzzParseDirective(f *testing.F) {
	for _, seed := range []string{
		`//autometrics:inst`,
		`//autometrics:inst --slo "My API" --success-target 99.9 --latency-ms 250 --latency-target 95 --no-doc`,
		`//autometrics:doc --slo 'it''s' --latency-ms 7.5 --latency-target 90`,
		`//autometrics:inst --slo=API --success-target=95 --no-doc=maybe`,
		`//autometrics:inst --success-rate 99 --slo API extra # comment`,
		`//autometrics:inst --slo "unterminated`,
		`//autometrics:inst --slo API\`,
		"//autometrics:inst\t--slo\t\"a\\\"b\" --latency-ms 1e400",
		`//autometrics:doc-start`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		d, ok := ParseDirective(line)
		issues := DirectiveIssues(line)
		if !ok {
			if d != nil || issues != nil {
				t.Fatalf("not a directive, yet d=%+v issues=%+v", d, issues)
			}
			return
		}
		var problems []string
		for _, is := range issues {
			if is.Start < 0 || is.Start > is.End || is.End > len(line) {
				t.Fatalf("issue %+v outside the line of length %d", is, len(line))
			}
			if is.Message == "" {
				t.Fatalf("issue %+v has no message", is)
			}
			if !is.Skipped {
				problems = append(problems, is.Message)
			}
			if is.Suggestion != "" && !is.Skipped {
				t.Fatalf("a problem carries a suggestion: %+v", is)
			}
		}
		if !reflect.DeepEqual(problems, d.Problems) {
			t.Fatalf("issue messages %q differ from Problems %q", problems, d.Problems)
		}
		if len(d.Unknown) > 0 && !hasSkipped(issues) {
			t.Fatalf("unknown words %q but no skipped issue", d.Unknown)
		}
	})
}

func hasSkipped(issues []DirectiveIssue) bool {
	for _, is := range issues {
		if is.Skipped {
			return true
		}
	}
	return false
}
