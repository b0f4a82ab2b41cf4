package insight

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"

	"github.com/am-lsp/am-lsp/internal/promclient"
)

// SLOProblem is one objective of one function that needs attention during an incident: it is
// breached (the measured indicator is below the objective) or its error budget burns faster
// than the burn rate threshold.
type SLOProblem struct {
	View   View
	Status promclient.SLOStatus
	// Breached is true when the objective is not met over the window; otherwise the budget
	// only burns too fast.
	Breached bool
	// Message leads with the objective, the measurement and the burn rate, e.g.
	// `SLO "Shop" 99 %: 75.0 % success over 5m, burn rate 25×`.
	Message string
}

// SLOProblems returns the breached or burning objectives of views, worst burn rate first (then
// breached before burning, then by function). burnThreshold 0 keeps breaches only.
func SLOProblems(views []View, burnThreshold float64) []SLOProblem {
	var out []SLOProblem
	for _, v := range views {
		for _, s := range v.SLOs {
			if p, ok := problemOf(v, s, burnThreshold); ok {
				out = append(out, p)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ab, bb := burnKey(a.Status.BurnRate), burnKey(b.Status.BurnRate)
		if ab != bb {
			return ab > bb
		}
		if a.Breached != b.Breached {
			return a.Breached
		}
		return a.View.Function.QualifiedName() < b.View.Function.QualifiedName()
	})
	return out
}

// burnKey orders unknown burn rates last.
func burnKey(b float64) float64 {
	if math.IsNaN(b) {
		return math.Inf(-1)
	}
	return b
}

func problemOf(v View, s promclient.SLOStatus, burnThreshold float64) (SLOProblem, bool) {
	p := SLOProblem{View: v, Status: s, Breached: s.Breached()}
	burning := burnThreshold > 0 && !math.IsNaN(s.BurnRate) && s.BurnRate > burnThreshold
	if !p.Breached && !burning {
		return SLOProblem{}, false
	}
	p.Message = ProblemMessage(s, p.Breached, burnThreshold)
	return p, true
}

// ProblemMessage renders an SLO status as the one-line message of an SLO problem: objective,
// measurement, burn rate, and whether it is breached or only burning (over which threshold).
func ProblemMessage(s promclient.SLOStatus, breached bool, burnThreshold float64) string {
	o := s.Objective
	msg := fmt.Sprintf("SLO %q %s %%", o.Name, formatPercentile(o.Percentile))
	what := "success"
	if o.IsLatency() {
		what = withinLatency(o)
	}
	msg += fmt.Sprintf(": %s %s over %s", formatPercent1(s.Measured()), what, formatWindow(s.Window))
	if !math.IsNaN(s.BurnRate) {
		msg += fmt.Sprintf(", burn rate %s×", formatBurn(s.BurnRate))
	}
	if breached {
		return msg + " (breached)"
	}
	return msg + fmt.Sprintf(" (burning faster than %g×)", burnThreshold)
}

func formatPercent1(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", v*100)
}

func formatBurn(b float64) string {
	if b >= 10 {
		return fmt.Sprintf("%.0f", b)
	}
	return fmt.Sprintf("%.1f", b)
}

// SLOFunctionsWithoutSeries counts the functions of views that declare an SLO (in their
// //autometrics directive) but have no series in the backend (StatusNoSeries): their objectives
// cannot be judged, so SLOProblems says nothing about them. Span views are not counted (their
// function's Autometrics view is).
func SLOFunctionsWithoutSeries(views []View) int {
	n := 0
	for _, v := range views {
		if !v.Span && v.Status == StatusNoSeries && len(objectivesOf(v.Function, promclient.Stats{})) > 0 {
			n++
		}
	}
	return n
}

// AnyBreached reports whether one of problems is a breach.
func AnyBreached(problems []SLOProblem) bool {
	for _, p := range problems {
		if p.Breached {
			return true
		}
	}
	return false
}

// WriteProblemsTable prints problems as an aligned table, worst first.
func WriteProblemsTable(w io.Writer, problems []SLOProblem) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tMODULE\tSLO\tMEASURED\tBURN\tSTATE\tFILE")
	for _, p := range problems {
		o := p.Status.Objective
		goal := fmt.Sprintf("%s %s %%", o.Name, formatPercentile(o.Percentile))
		switch {
		case o.LatencyThreshold > 0:
			goal += " ≤ " + FormatLatency(o.LatencyThreshold)
		case o.IsLatency():
			goal += " latency"
		}
		measured := p.Status.Measured()
		state := "burning"
		if p.Breached {
			state = "breached"
		}
		burn := "–"
		if !math.IsNaN(p.Status.BurnRate) {
			burn = formatBurn(p.Status.BurnRate) + "×"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(p.View.Function.QualifiedName()), cell(p.View.Series.Module), cell(goal),
			formatPercent1(measured), burn, state, cell(p.View.Function.NameSpan.File))
	}
	return tw.Flush()
}

// problemRow is the JSON shape of one SLO problem in `am-lsp report --burning --json`.
type problemRow struct {
	Function                string   `json:"function"`
	Module                  string   `json:"module"`
	Name                    string   `json:"name"`
	File                    string   `json:"file"`
	Objective               string   `json:"objective"`
	Percentile              float64  `json:"percentile"`
	LatencyThresholdSeconds *float64 `json:"latencyThresholdSeconds,omitempty"`
	// Latency marks a latency objective, its threshold known (LatencyThresholdSeconds) or not.
	Latency              bool     `json:"latency,omitempty"`
	Measured             *float64 `json:"measured"`
	BurnRate             *float64 `json:"burnRate"`
	ErrorBudgetRemaining *float64 `json:"errorBudgetRemaining"`
	WindowSeconds        float64  `json:"windowSeconds"`
	Source               string   `json:"source"`
	Breached             bool     `json:"breached"`
	Message              string   `json:"message"`
}

// WriteProblemsJSON prints problems as a JSON array, worst first.
func WriteProblemsJSON(w io.Writer, problems []SLOProblem) error {
	rows := make([]problemRow, 0, len(problems))
	for _, p := range problems {
		s := p.Status
		r := problemRow{
			Function: p.View.Series.Function, Module: p.View.Series.Module, Name: p.View.Function.QualifiedName(),
			File: p.View.Function.NameSpan.File, Objective: s.Objective.Name, Percentile: s.Objective.Percentile,
			BurnRate: number(s.BurnRate), ErrorBudgetRemaining: number(s.ErrorBudgetRemaining),
			WindowSeconds: s.Window.Seconds(), Source: s.Source, Breached: p.Breached, Message: p.Message,
		}
		if s.Objective.IsLatency() {
			r.Latency = true
		}
		if s.Objective.LatencyThreshold > 0 {
			r.LatencyThresholdSeconds = number(s.Objective.LatencyThreshold)
		}
		r.Measured = number(s.Measured())
		rows = append(rows, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
