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
	d, _, ok := parseDirective(line, DirectiveOptions{})
	return d, ok
}

// DirectiveOptions are the generator options a directive is checked against.
type DirectiveOptions struct {
	// CustomLatency: the generator runs with --custom-latency, so any positive --latency-ms is
	// valid, not only the default buckets.
	CustomLatency bool
}

// ParseDirectiveWith is ParseDirective under the generator options opts.
func ParseDirectiveWith(line string, opts DirectiveOptions) (*Directive, bool) {
	d, _, ok := parseDirective(line, opts)
	return d, ok
}

// DirectiveIssue locates in a directive line one of its Problems, or one word the generator
// silently skips (Directive.Unknown), so that an editor can underline the offending words.
type DirectiveIssue struct {
	// Start and End are the byte range [Start, End) in the line given to DirectiveIssues: the
	// offending word (quotes included), or for malformed quoting the rest of the line from the
	// unclosed quote.
	Start int `json:"start"`
	End   int `json:"end"`
	// Message is the Problem, word for word, or for a skipped word a sentence that says the
	// generator skips it.
	Message string `json:"message"`
	// Skipped marks a word the generator skips without complaint. Such a word is not a Problem.
	Skipped bool `json:"skipped,omitempty"`
	// Suggestion is, for a skipped word, the known flag it most likely misspells
	// ("--success-target" for "--success-rate"), or "".
	Suggestion string `json:"suggestion,omitempty"`
}

// DirectiveIssues parses line like ParseDirective and locates its Problems (in the same order)
// and its skipped words (after them, in line order). A skipped flag-like word ("--x") takes the
// word after it, if that is not a flag, as its value: the issue covers the flag and its message
// mentions the value. It returns nil when line is not a directive or has nothing to report.
func DirectiveIssues(line string) []DirectiveIssue {
	return DirectiveIssuesWith(line, DirectiveOptions{})
}

// DirectiveIssuesWith is DirectiveIssues under the generator options opts.
func DirectiveIssuesWith(line string, opts DirectiveOptions) []DirectiveIssue {
	_, issues, _ := parseDirective(line, opts)
	return issues
}

// parseDirective is ParseDirective with the located issues.
func parseDirective(line string, opts DirectiveOptions) (*Directive, []DirectiveIssue, bool) {
	trimmed := strings.TrimRight(line, " \t\r\n")
	rest, ok := strings.CutPrefix(trimmed, directivePrefix)
	if !ok {
		return nil, nil, false
	}
	var verb string
	for _, v := range []string{VerbInst, VerbDoc} {
		if after, ok := strings.CutPrefix(rest, v); ok && (after == "" || after[0] == ' ' || after[0] == '\t') {
			verb, rest = v, after
			break
		}
	}
	if verb == "" {
		return nil, nil, false
	}
	p := &directiveParser{d: &Directive{Verb: verb}, base: len(trimmed) - len(rest), opts: opts}
	words, err := splitWordSpans(rest)
	if err != nil {
		at := p.base
		if le, ok := err.(*lexError); ok {
			at += le.offset
		}
		// From the unclosed quote (or lone backslash) to the end of the line.
		p.problemAt(at, len(trimmed), "%v; the autometrics generator rejects this directive", err)
	}
	p.validate(p.readFlags(words))
	p.skipped(words)
	return p.d, p.issues, true
}

// directiveParser accumulates a Directive and the located issues of its line.
type directiveParser struct {
	d         *Directive
	issues    []DirectiveIssue
	base      int // offset of the arguments' first byte (after the verb) in the line
	opts      DirectiveOptions
	flagWords map[string]word // the last word that gave each known flag
	unknown   []int           // indexes of the words the generator skips
}

// problemAt records a Problem located at [start, end) of the line.
func (p *directiveParser) problemAt(start, end int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.d.Problems = append(p.d.Problems, msg)
	p.issues = append(p.issues, DirectiveIssue{Start: start, End: end, Message: msg})
}

// problemOn records a Problem located at one word.
func (p *directiveParser) problemOn(w word, format string, args ...any) {
	p.problemAt(p.base+w.start, p.base+w.end, format, args...)
}

// readFlags fills the options from the split words, recording unknown words and problems with
// individual flags. It returns the set of flags given with a value.
func (p *directiveParser) readFlags(words []word) (seen map[string]bool) {
	d := p.d
	seen = map[string]bool{}
	given := map[string]bool{}
	p.flagWords = map[string]word{}
	for i := 0; i < len(words); i++ {
		w := words[i]
		name, value, hasEquals := strings.Cut(w.text, "=")
		if !hasEquals {
			name = w.text
		}
		if !slices.Contains(KnownFlags, name) {
			d.Unknown = append(d.Unknown, w.text)
			p.unknown = append(p.unknown, i)
			continue
		}
		if given[name] {
			p.problemOn(w, "%s is given more than once; the last one wins", name)
		}
		given[name] = true
		p.flagWords[name] = w
		if hasEquals {
			p.problemOn(w, "the autometrics generator ignores %q: write %s %s (a space, not '=')", w.text, name, shellQuote(value))
		}
		if name == FlagNoDoc {
			seen[name] = true
			d.NoDoc = true
			if hasEquals {
				if b, err := strconv.ParseBool(value); err != nil {
					p.problemOn(w, "%s takes no value", FlagNoDoc)
				} else {
					d.NoDoc = b
				}
			}
			continue
		}
		valueWord := w
		if !hasEquals {
			if i+1 >= len(words) || strings.HasPrefix(words[i+1].text, "--") {
				p.problemOn(w, "%s needs a value, e.g. %s", name, flagExample(name))
				continue
			}
			i++
			valueWord = words[i]
			value = valueWord.text
		}
		seen[name] = true
		p.setFlag(name, value, valueWord)
	}
	return seen
}

// setFlag stores the value of one flag that takes a value; w is the word that holds the value.
func (p *directiveParser) setFlag(name, value string, w word) {
	d := p.d
	if name == FlagSLO {
		if strings.TrimSpace(value) == "" {
			p.problemOn(w, "%s needs a non-empty name, e.g. %s", FlagSLO, flagExample(FlagSLO))
		}
		d.SLO = value
		return
	}
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.problemOn(w, "%s %s is not a number; use e.g. %s", name, shellQuote(value), flagExample(name))
		return
	}
	switch name {
	case FlagSuccessTarget:
		d.SuccessTarget = f
		if !isObjective(f) {
			p.problemOn(w, "%s %s is not a supported objective; use one of %s (the percentiles the Autometrics alerting rules define)", name, value, formatList(Objectives, 1))
		}
	case FlagLatencyTarget:
		d.LatencyTarget = f
		if !isObjective(f) {
			p.problemOn(w, "%s %s is not a supported objective; use one of %s (the percentiles the Autometrics alerting rules define)", name, value, formatList(Objectives, 1))
		}
	case FlagLatencyMs:
		d.LatencyMs = f
		if p.opts.CustomLatency {
			if f <= 0 {
				p.problemOn(w, "%s %s is not a positive latency threshold", name, value)
			}
		} else if !isLatencyBucket(f / 1000) {
			p.problemOn(w, "%s %s is not a default latency bucket; use one of %s milliseconds (or run the generator with --custom-latency if you configured custom buckets)", name, value, formatList(LatencyBucketsSeconds, 1000))
		}
	}
}

// validate checks how the flags combine, as the generator does after reading them all.
func (p *directiveParser) validate(seen map[string]bool) {
	if !seen[FlagSLO] {
		for _, f := range []string{FlagSuccessTarget, FlagLatencyMs, FlagLatencyTarget} {
			if seen[f] {
				p.problemOn(p.flagWords[f], "%s needs %s NAME: objectives belong to a named SLO", f, FlagSLO)
			}
		}
	}
	if seen[FlagLatencyMs] && !seen[FlagLatencyTarget] {
		p.problemOn(p.flagWords[FlagLatencyMs], "%s needs %s (the percentage of calls that must be faster than the threshold)", FlagLatencyMs, FlagLatencyTarget)
	}
	if seen[FlagLatencyTarget] && !seen[FlagLatencyMs] {
		p.problemOn(p.flagWords[FlagLatencyTarget], "%s needs %s (the latency threshold in milliseconds)", FlagLatencyTarget, FlagLatencyMs)
	}
}

// skipped records an issue for every word the generator skips. A skipped flag-like word takes
// the skipped word right after it, if that one is not flag-like, as its value.
func (p *directiveParser) skipped(words []word) {
	for k := 0; k < len(p.unknown); k++ {
		w := words[p.unknown[k]]
		issue := DirectiveIssue{Start: p.base + w.start, End: p.base + w.end, Skipped: true, Suggestion: SuggestFlag(w.text)}
		what := shellQuote(w.text)
		if strings.HasPrefix(w.text, "-") {
			issue.Message = fmt.Sprintf("%s is not a flag the autometrics generator knows; it silently skips it", what)
			if k+1 < len(p.unknown) && p.unknown[k+1] == p.unknown[k]+1 && !strings.HasPrefix(words[p.unknown[k+1]].text, "-") {
				k++
				issue.Message += fmt.Sprintf(" and the word %s after it", shellQuote(words[p.unknown[k]].text))
			}
		} else {
			issue.Message = fmt.Sprintf("the autometrics generator silently skips %s (not a flag, nor the value of one)", what)
		}
		if issue.Suggestion != "" {
			issue.Message += fmt.Sprintf("; did you mean %s?", issue.Suggestion)
		} else {
			issue.Message += fmt.Sprintf("; the flags are %s", strings.Join(KnownFlags, ", "))
		}
		p.issues = append(p.issues, issue)
	}
}

// SuggestFlag returns the known directive flag that word most likely misspells ("--success-rate"
// → "--success-target", "-slo" → "--slo", "latency-ms" → "--latency-ms"), or "" when no flag is
// close. A word of the form "--flag=value" is compared by its flag part.
func SuggestFlag(word string) string {
	name, _, _ := strings.Cut(word, "=")
	bare := strings.ToLower(strings.TrimLeft(name, "-"))
	if bare == "" {
		return ""
	}
	best, bestDist := "", -1
	for _, flag := range KnownFlags {
		fb := strings.TrimPrefix(flag, "--")
		d := editDistance(bare, fb)
		// A word that is a prefix of a flag or has it as a prefix ("--latency", "--slo-name")
		// is close whatever the length difference.
		if strings.HasPrefix(fb, bare) && len(bare) >= 3 || strings.HasPrefix(bare, fb) {
			d = min(d, 1)
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = flag, d
		}
	}
	if bestDist <= max(1, len(strings.TrimPrefix(best, "--"))/3) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
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
