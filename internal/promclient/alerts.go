package promclient

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// Alert is one active alert of the backend.
type Alert struct {
	Name     string    // alertname
	State    string    // "firing" or "pending"
	ActiveAt time.Time // when it became active (pending); zero when unknown
	Severity string    // the severity label, "" without
	// Summary is the summary annotation, else the description, else "". It is the backend's
	// text: escape it before rendering.
	Summary string
	Labels  map[string]string
}

// Firing reports whether the alert fires (rather than pends).
func (a Alert) Firing() bool { return a.State == "firing" }

// Alerts is the answer to one alerts request.
type Alerts struct {
	// List holds the active alerts, firing first, then by ActiveAt (newest first) and name;
	// at most MaxAlerts of them.
	List []Alert
	// Total is how many active alerts the backend reported (more than len(List) when capped).
	Total int
	// Note says why there is no list: the backend has no alerts API or failed. "" when it
	// answered.
	Note      string
	FetchedAt time.Time
}

// MaxAlerts bounds Alerts.List.
const MaxAlerts = 1000

// fetchAlerts asks the backend for its active alerts (/api/v1/alerts; Prometheus, and Thanos
// and Mimir rulers, answer it). It never fails: a failure is a Note.
func (c *Client) fetchAlerts(ctx context.Context, _ []Series) answer[*Alerts] {
	out := &Alerts{}
	var err error
	var release func()
	if release, err = c.acquire(ctx); err == nil {
		raw, qerr := c.q.Alerts(ctx)
		release()
		err = qerr
		for _, a := range raw {
			al := Alert{
				Name: string(a.Labels["alertname"]), State: string(a.State), ActiveAt: a.ActiveAt,
				Severity: string(a.Labels["severity"]), Labels: make(map[string]string, len(a.Labels)),
			}
			for k, v := range a.Labels {
				al.Labels[string(k)] = string(v)
			}
			al.Summary = string(a.Annotations["summary"])
			if al.Summary == "" {
				al.Summary = string(a.Annotations["description"])
			}
			out.List = append(out.List, al)
		}
	}
	if err != nil {
		out.Note = c.explainMissing(err, "alert requests (/api/v1/alerts)")
	}
	out.Total = len(out.List)
	sort.SliceStable(out.List, func(i, j int) bool {
		a, b := out.List[i], out.List[j]
		if a.Firing() != b.Firing() {
			return a.Firing()
		}
		if !a.ActiveAt.Equal(b.ActiveAt) {
			return a.ActiveAt.After(b.ActiveAt)
		}
		return a.Name < b.Name
	})
	if len(out.List) > MaxAlerts {
		out.List = out.List[:MaxAlerts]
	}
	out.FetchedAt = c.now()
	return answer[*Alerts]{val: out, at: out.FetchedAt, failed: err != nil}
}

// For returns the alerts about series s of source src whose objectives are objectives: those
// whose labels name the function (function and module labels of the source), or one of its
// objectives (objective_name, with objective_percentile when the alert has it, and the kind
// of its sloth_slo when it has one; or Sloth's sloth_slo, see namesObjective). Order as in
// List.
func (a *Alerts) For(s Series, objectives []Objective) []Alert {
	if a == nil {
		return nil
	}
	src := sources[Autometrics]
	if int(s.Source) < len(sources) && sources[s.Source] != nil {
		src = sources[s.Source]
	}
	var out []Alert
	for _, al := range a.List {
		if al.Labels[src.FunctionLabel] == s.Function && (src.ModuleLabel == "" || al.Labels[src.ModuleLabel] == s.Module) {
			out = append(out, al)
			continue
		}
		for _, o := range objectives {
			if namesObjective(al.Labels, o) {
				out = append(out, al)
				break
			}
		}
	}
	return out
}

// namesObjective reports whether an alert's labels name objective o: its Sloth SLO (sloth_slo
// is o.Name, as for a span's Sloth SLOs), or its Autometrics objective (objective_name, with
// objective_percentile when the alert has it). Autometrics' own alerts (spec §5) carry both
// objective_name and the sloth_slo of the SLO they watch (success-rate-P or latency-P), and
// one objective name may have a success and a latency SLO: such an alert names o only when its
// kind is o's (isLatencySLO, the rule of the SLO numbers), so that a latency alert is not shown
// on a function whose only objective of that name is a success rate, nor the reverse.
func namesObjective(labels map[string]string, o Objective) bool {
	if o.Name == "" {
		return false
	}
	slo, hasSLO := labels["sloth_slo"]
	if slo == o.Name {
		return true
	}
	if labels["objective_name"] != o.Name {
		return false
	}
	if hasSLO && slo != "" && isLatencySLO(slo) != o.IsLatency() {
		return false
	}
	p, ok := labels["objective_percentile"]
	if !ok {
		return true
	}
	v, err := strconv.ParseFloat(p, 64)
	return err == nil && closeTo(v, o.Percentile)
}
