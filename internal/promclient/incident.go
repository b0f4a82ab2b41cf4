package promclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Incident is what the client knows about a batch of functions beyond their numbers, for
// incident handling: the backend's active alerts, the deploy each function saw (current and
// previous version with comparable numbers) and trace exemplars of its latency. Each part may
// be missing with a reason meant for the user; none of them makes the numbers fail.
// Incidents are shared between callers: do not modify.
type Incident struct {
	// Alerts are the backend's active alerts, one answer for every batch of a refresh.
	Alerts *Alerts
	// Deploys has an entry for every series of the batch whose current version is known.
	Deploys map[Series]Deploy
	// VersionsNote says why no series has a Deploy ("" when some may).
	VersionsNote string
	// Exemplars are the slowest exemplars of each series in the window of the snapshot's
	// numbers, [EvaluatedAt-Window, EvaluatedAt] (at most MaxExemplars, slowest first);
	// ExemplarsNote says why there are none for any series ("" when the
	// backend answered).
	Exemplars     map[Series][]Exemplar
	ExemplarsNote string
	// Warnings of the backend's answers.
	Warnings []string
	// FetchedAt is when the answer arrived; Window the window of its numbers and exemplars.
	FetchedAt time.Time
	Window    time.Duration
}

// QueriesPerIncident is the most requests one FetchIncident sends for a batch: the version
// comparison (only when a function has a previous version) and the exemplars, plus, once per
// TTL for the whole backend, the alerts and the version history.
const QueriesPerIncident = 4

// FetchIncident returns the incident data of the series of snap (a Fetch answer), cached for
// Config.TTL like Fetch and shared with a fetch in flight for the same series. The alerts and
// the version history are fetched once per TTL for all batches. Like Fetch, ctx bounds only
// the caller's wait; the fetch runs detached, bounded by Config.Timeout. A backend that fails
// part of it (no alerts API, no exemplar storage, no build_info) gives an Incident whose notes
// say so, never an error; the error is ctx's when it ends first.
func (c *Client) FetchIncident(ctx context.Context, snap *Snapshot) (*Incident, error) {
	if snap == nil || snap.Err != nil || len(snap.Queried) == 0 {
		return &Incident{Deploys: map[Series]Deploy{}, Exemplars: map[Series][]Exemplar{}, FetchedAt: c.now(), Window: c.cfg.Window}, nil
	}
	return get(ctx, c, c.incidents, snap.Queried, func(ctx context.Context, series []Series) answer[*Incident] {
		return c.fetchIncident(ctx, snap, series)
	})
}

// CachedIncident returns the freshest incident data covering series, fresh or not, without the
// network.
func (c *Client) CachedIncident(series []Series) (*Incident, bool) {
	series = Normalize(series)
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.incidents.latest(series)
	if !ok {
		return nil, false
	}
	return a.val, true
}

func (c *Client) fetchIncident(ctx context.Context, snap *Snapshot, series []Series) answer[*Incident] {
	inc := &Incident{Deploys: map[Series]Deploy{}, Exemplars: map[Series][]Exemplar{}, Window: c.cfg.Window}
	done := make(chan struct{})
	go func() {
		defer close(done)
		inc.Exemplars, inc.ExemplarsNote = c.exemplars(ctx, series, snap.EvaluatedAt)
	}()
	alerts, err := get(ctx, c, c.alerts, nil, c.fetchAlerts)
	if err != nil {
		alerts = &Alerts{Note: c.classify(err).Error()}
	}
	inc.Alerts = alerts
	hist, err := get(ctx, c, c.history, nil, c.fetchHistory)
	if err != nil {
		hist = &versionHistory{note: c.classify(err).Error()}
	}
	inc.VersionsNote = hist.note
	if hist.note == "" {
		var notes []string
		inc.Deploys, notes = c.deploys(ctx, snap, series, hist)
		var warnings warningList
		warnings.add(notes)
		inc.Warnings = warnings.list()
	}
	<-done
	inc.FetchedAt = c.now()
	return answer[*Incident]{val: inc, at: inc.FetchedAt}
}

// notFound reports whether err is the backend answering 404: it does not have the endpoint.
func notFound(err error) bool {
	var ae *v1.Error
	return errors.As(err, &ae) && ae.Type == v1.ErrClient && strings.HasSuffix(ae.Msg, ": 404")
}

// explainMissing returns why a part of the incident data is missing after err: the endpoint
// does not exist (what names it), or the fetch error.
func (c *Client) explainMissing(err error, what string) string {
	if notFound(err) {
		return fmt.Sprintf("%s answers 404 to %s: it does not offer them", c.display, what)
	}
	return c.classify(err).Error()
}
