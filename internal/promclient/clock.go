package promclient

import (
	"net/http"
	"sync"
	"time"
)

// maxClockAhead is how far the client's clock (Config.Now) may run ahead of the backend's before
// the client evaluates its queries at the backend's time instead. Below it, a window reaches at
// most a second or two past the backend's newest samples (the Date header it is measured by has
// whole seconds), which a rate over minutes does not notice.
const maxClockAhead = 2 * time.Second

// serverClock estimates the backend's current time from the Date header of its latest answer
// and the time elapsed since it arrived (on this machine's monotonic clock, so neither the
// client's wall clock nor an injected Config.Now enters it). The estimate is at most the
// backend's true time: the header is rounded down to the second and was written before the
// answer travelled. The zero value knows nothing; it is safe for concurrent use.
type serverClock struct {
	mu   sync.Mutex
	date time.Time // the Date header of the latest answer
	seen time.Time // when it arrived, with a monotonic reading
}

// observe records the Date header of resp, if it has a valid one.
func (s *serverClock) observe(resp *http.Response) {
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	seen := time.Now()
	s.mu.Lock()
	s.date, s.seen = d, seen
	s.mu.Unlock()
}

// now returns the estimate of the backend's current time; false before any answer with a Date.
func (s *serverClock) now() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.date.IsZero() {
		return time.Time{}, false
	}
	return s.date.Add(time.Since(s.seen)), true
}

// instant returns the instant a batch of queries sent now is evaluated at: the client's clock
// (Config.Now), truncated to whole seconds, unless that clock is more than maxClockAhead ahead
// of the backend's (as far as an earlier answer tells, see serverClock): then the backend's
// estimated time, truncated likewise. A client ahead of its backend would otherwise ask about
// the backend's future, whose windows hold no samples yet, and get partial or empty numbers;
// a client behind it asks about the recent past, which the backend has, so that is left alone.
func (c *Client) instant() time.Time {
	return c.clamp(c.now()).Truncate(time.Second)
}

// clamp returns t, or the backend's estimated current time when t is more than maxClockAhead
// ahead of it.
func (c *Client) clamp(t time.Time) time.Time {
	if s, ok := c.server.now(); ok && t.Sub(s) > maxClockAhead {
		return s
	}
	return t
}

// aheadOfServer reports whether the instant at is more than maxClockAhead ahead of the
// backend's estimated current time.
func (c *Client) aheadOfServer(at time.Time) bool {
	s, ok := c.server.now()
	return ok && at.Sub(s) > maxClockAhead
}
