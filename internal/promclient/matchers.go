package promclient

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
)

// labelMatcher is one checked label matcher: label name op value.
type labelMatcher struct {
	name, op, value string
	re              *regexp.Regexp // the anchored regexp of =~ and !~
}

// String renders m as PromQL: name op "value".
func (m labelMatcher) String() string { return m.name + m.op + quote(m.value) }

// matches reports whether a series whose label m.name has value v ("" when absent, as in
// Prometheus) passes m.
func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default: // "!~"
		return !m.re.MatchString(v)
	}
}

// excludedBy returns the first matcher of extra that the series m carries the label of (a
// non-empty value) with a value the matcher does not accept, as PromQL; "" when m is kept.
// A matcher whose label m does not carry is ignored. This is how the ExtraMatchers apply to
// SLO recording rules, Autometrics' (ruleOf) and a span's Sloth rules (slothRuleOf) alike:
// Sloth's rules are sums by a few labels (objective_name, objective_percentile and
// service_name for Autometrics, spec §5) plus the sloth_* labels, so they lack the cluster,
// environment, job or instance labels of the metrics they are computed from, and a matcher on
// one of those in the selector would drop every rule.
func excludedBy(m model.Metric, extra []labelMatcher) string {
	for _, x := range extra {
		if v := string(m[model.LabelName(x.name)]); v != "" && !x.matches(v) {
			return x.String()
		}
	}
	return ""
}

// parseMatchers checks label matchers (`name op "value"`, op one of = != =~ !~, the value a
// PromQL string in double, single or back quotes).
func parseMatchers(ms []string) ([]labelMatcher, error) {
	out := make([]labelMatcher, 0, len(ms))
	for _, m := range ms {
		r, err := parseMatcher(m)
		if err != nil {
			return nil, fmt.Errorf("prometheus extra matcher %q: %v", m, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseMatcher(m string) (labelMatcher, error) {
	s := strings.TrimSpace(m)
	n := 0
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || n > 0 && '0' <= s[n] && s[n] <= '9') {
		n++
	}
	name := s[:n]
	if name == "" {
		return labelMatcher{}, errors.New(`want a label matcher such as service_name="api" or env=~"prod.*"`)
	}
	if name == "__name__" {
		return labelMatcher{}, errors.New("the metric name cannot be matched")
	}
	s = strings.TrimLeft(s[n:], " \t")
	var op string
	for _, o := range []string{"=~", "!~", "!=", "="} {
		if strings.HasPrefix(s, o) {
			op = o
			break
		}
	}
	if op == "" {
		return labelMatcher{}, errors.New(`want one of = != =~ !~ after the label name`)
	}
	s = strings.TrimLeft(s[len(op):], " \t")
	lit, err := strconv.QuotedPrefix(s)
	if err != nil && strings.HasPrefix(s, "'") {
		lit, err = singleQuotedPrefix(s)
	}
	if err != nil {
		return labelMatcher{}, errors.New(`the value must be a quoted string, as in service_name="api"`)
	}
	if rest := strings.TrimSpace(s[len(lit):]); rest != "" {
		return labelMatcher{}, fmt.Errorf("unexpected %q after the value (one matcher per entry)", rest)
	}
	value, err := unquote(lit)
	if err != nil {
		return labelMatcher{}, errors.New("bad escape in the value")
	}
	out := labelMatcher{name: name, op: op, value: value}
	if op == "=~" || op == "!~" {
		if out.re, err = regexp.Compile("^(?:" + value + ")$"); err != nil {
			return labelMatcher{}, fmt.Errorf("bad regular expression: %v", err)
		}
	}
	return out, nil
}

// singleQuotedPrefix returns the PromQL single-quoted string at the start of s.
func singleQuotedPrefix(s string) (string, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			return s[:i+1], nil
		}
	}
	return "", errors.New("unterminated")
}

// unquote decodes a PromQL string literal: Go's escapes, in double, single or back quotes.
func unquote(lit string) (string, error) {
	if strings.HasPrefix(lit, "'") {
		inner := lit[1 : len(lit)-1]
		var b strings.Builder
		for i := 0; i < len(inner); i++ {
			switch {
			case inner[i] == '\\' && i+1 < len(inner) && inner[i+1] == '\'':
				b.WriteByte('\'')
				i++
			case inner[i] == '\\' && i+1 < len(inner):
				b.WriteString(inner[i : i+2])
				i++
			case inner[i] == '"':
				b.WriteString(`\"`)
			default:
				b.WriteByte(inner[i])
			}
		}
		lit = `"` + b.String() + `"`
	}
	return strconv.Unquote(lit)
}
