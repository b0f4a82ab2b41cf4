package analysis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Directive is a parsed `//autometrics:inst` (or legacy `//autometrics:doc`) doc-comment line.
// Numeric options are 0 when absent. Parse problems are reported in Problems, never by dropping
// the directive: a function with a malformed directive is still a directive function.
type Directive struct {
	Verb          string   `json:"verb"`                    // "inst" or "doc"
	Span          Span     `json:"span"`                    // the comment line
	SLO           string   `json:"slo,omitempty"`           // --slo NAME
	SuccessTarget float64  `json:"successTarget,omitempty"` // --success-target F (percent)
	LatencyMs     float64  `json:"latencyMs,omitempty"`     // --latency-ms F
	LatencyTarget float64  `json:"latencyTarget,omitempty"` // --latency-target F (percent)
	NoDoc         bool     `json:"noDoc,omitempty"`
	Unknown       []string `json:"unknown,omitempty"`  // tokens upstream silently skips
	Problems      []string `json:"problems,omitempty"` // human-readable parse/validation problems
}

// Directive verbs: a directive line begins exactly with directivePrefix followed by one of these.
const (
	directivePrefix = "//autometrics:"
	VerbInst        = "inst" // current spelling
	VerbDoc         = "doc"  // legacy spelling, still accepted by the generator
)

// Flags the autometrics generator understands in a directive.
const (
	FlagSLO           = "--slo"
	FlagSuccessTarget = "--success-target"
	FlagLatencyMs     = "--latency-ms"
	FlagLatencyTarget = "--latency-target"
	FlagNoDoc         = "--no-doc"
)

// KnownFlags lists the directive flags, in the order the generator documents them.
var KnownFlags = []string{FlagSLO, FlagSuccessTarget, FlagLatencyMs, FlagLatencyTarget, FlagNoDoc}

// Objectives are the success and latency objectives (percent) the Autometrics alerting rules
// define; the generator rejects any other value.
var Objectives = []float64{90, 95, 99, 99.9}

// LatencyBucketsSeconds are the default histogram buckets of autometrics-go. Without the
// generator's --custom-latency flag, --latency-ms divided by 1000 must be one of them.
var LatencyBucketsSeconds = []float64{.005, .0075, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10}

// ParseDirective parses one doc-comment line. It reports false when the line is not a directive:
// a directive begins exactly with "//autometrics:inst" or "//autometrics:doc", followed by white
// space or the end of the line (so the generator's "//autometrics:doc-start" fence is not one).
//
// The rest of the line is split like a shell would (single quotes, double quotes, backslash
// escapes; a word starting with '#' comments out the rest, as in the generator) and read as flags.
// Flags take their value from the next word or after '=' ("--slo=API"). Words that are not flags
// the generator knows land in Unknown, because the generator silently skips them. What the
// generator would reject, or would read differently from what the line seems to say ("--slo=API"
// is skipped), is described in Problems; the directive is returned in every case, with the values
// read. The Span is left zero: only the caller knows where the line is.
func ParseDirective(line string) (*Directive, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, " \t\r\n"), directivePrefix)
	if !ok {
		return nil, false
	}
	var verb string
	for _, v := range []string{VerbInst, VerbDoc} {
		if after, ok := strings.CutPrefix(rest, v); ok && (after == "" || after[0] == ' ' || after[0] == '\t') {
			verb, rest = v, after
			break
		}
	}
	if verb == "" {
		return nil, false
	}
	d := &Directive{Verb: verb}
	words, err := splitWords(rest)
	if err != nil {
		d.problemf("%v; the autometrics generator rejects this directive", err)
	}
	d.validate(d.readFlags(words))
	return d, true
}

func (d *Directive) problemf(format string, args ...any) {
	d.Problems = append(d.Problems, fmt.Sprintf(format, args...))
}

// readFlags fills the options from the split words, recording unknown words and problems with
// individual flags. It returns the set of flags given with a value.
func (d *Directive) readFlags(words []string) (seen map[string]bool) {
	seen = map[string]bool{}
	given := map[string]bool{}
	for i := 0; i < len(words); i++ {
		word := words[i]
		name, value, hasEquals := strings.Cut(word, "=")
		if !hasEquals {
			name = word
		}
		if !slices.Contains(KnownFlags, name) {
			d.Unknown = append(d.Unknown, word)
			continue
		}
		if given[name] {
			d.problemf("%s is given more than once; the last one wins", name)
		}
		given[name] = true
		if hasEquals {
			d.problemf("the autometrics generator ignores %q: write %s %s (a space, not '=')", word, name, shellQuote(value))
		}
		if name == FlagNoDoc {
			seen[name] = true
			d.NoDoc = true
			if hasEquals {
				if b, err := strconv.ParseBool(value); err != nil {
					d.problemf("%s takes no value", FlagNoDoc)
				} else {
					d.NoDoc = b
				}
			}
			continue
		}
		if !hasEquals {
			if i+1 >= len(words) || strings.HasPrefix(words[i+1], "--") {
				d.problemf("%s needs a value, e.g. %s", name, flagExample(name))
				continue
			}
			i++
			value = words[i]
		}
		seen[name] = true
		d.setFlag(name, value)
	}
	return seen
}

// setFlag stores the value of one flag that takes a value.
func (d *Directive) setFlag(name, value string) {
	if name == FlagSLO {
		if strings.TrimSpace(value) == "" {
			d.problemf("%s needs a non-empty name, e.g. %s", FlagSLO, flagExample(FlagSLO))
		}
		d.SLO = value
		return
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.problemf("%s %s is not a number; use e.g. %s", name, shellQuote(value), flagExample(name))
		return
	}
	switch name {
	case FlagSuccessTarget:
		d.SuccessTarget = f
		if !isObjective(f) {
			d.problemf("%s %s is not a supported objective; use one of %s (the percentiles the Autometrics alerting rules define)", name, value, formatList(Objectives, 1))
		}
	case FlagLatencyTarget:
		d.LatencyTarget = f
		if !isObjective(f) {
			d.problemf("%s %s is not a supported objective; use one of %s (the percentiles the Autometrics alerting rules define)", name, value, formatList(Objectives, 1))
		}
	case FlagLatencyMs:
		d.LatencyMs = f
		if !isLatencyBucket(f / 1000) {
			d.problemf("%s %s is not a default latency bucket; use one of %s milliseconds (or run the generator with --custom-latency if you configured custom buckets)", name, value, formatList(LatencyBucketsSeconds, 1000))
		}
	}
}

// validate checks how the flags combine, as the generator does after reading them all.
func (d *Directive) validate(seen map[string]bool) {
	if !seen[FlagSLO] {
		for _, f := range []string{FlagSuccessTarget, FlagLatencyMs, FlagLatencyTarget} {
			if seen[f] {
				d.problemf("%s needs %s NAME: objectives belong to a named SLO", f, FlagSLO)
			}
		}
	}
	if seen[FlagLatencyMs] && !seen[FlagLatencyTarget] {
		d.problemf("%s needs %s (the percentage of calls that must be faster than the threshold)", FlagLatencyMs, FlagLatencyTarget)
	}
	if seen[FlagLatencyTarget] && !seen[FlagLatencyMs] {
		d.problemf("%s needs %s (the latency threshold in milliseconds)", FlagLatencyTarget, FlagLatencyMs)
	}
}

func isObjective(f float64) bool {
	return slices.Contains(Objectives, f)
}

func isLatencyBucket(seconds float64) bool {
	for _, b := range LatencyBucketsSeconds {
		if math.Abs(seconds-b) <= 1e-9*b {
			return true
		}
	}
	return false
}

// flagExample shows a valid use of a flag, for problem messages.
func flagExample(name string) string {
	switch name {
	case FlagSLO:
		return `--slo "API"`
	case FlagSuccessTarget:
		return "--success-target 99"
	case FlagLatencyMs:
		return "--latency-ms 250"
	case FlagLatencyTarget:
		return "--latency-target 99"
	}
	return name
}

// formatList prints values multiplied by scale, e.g. "90, 95, 99 or 99.9".
func formatList(values []float64, scale float64) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = strconv.FormatFloat(math.Round(v*scale*1e6)/1e6, 'f', -1, 64)
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// shellQuote quotes s for display when it would not survive word splitting as is.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n'\"\\#") {
		return s
	}
	return strconv.Quote(s)
}
