package analysis

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
