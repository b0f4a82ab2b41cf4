package insight

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/config"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// numbers owns the backend: the client built from the settings, the background fetches that
// keep the numbers of every analysed package fresh, and the backend's health as those fetches
// saw it.
//
// Contract: prefetch and the refresh loop are the only paths that start fetches in the
// background; hovers (forHover) wait at most the hover deadline and fall back to what is cached;
// lenses read the cache only (backend().client.Cached). mu guards the fields below it and is
// never held while fetching or calling out.
//
// This is where a further telemetry source or incident data plugs in: promclient fetches every
// source of a batch (SeriesOfPackage) in one Fetch, and data the hover shows but does not wait
// for (alerts, versions, exemplars) is fetched next to the numbers in prefetch, stored here and
// read without the network.
type numbers struct {
	ctx    context.Context
	notify *notifier

	mu        sync.Mutex
	settings  config.Settings
	client    *promclient.Client   // nil until a configure succeeded
	links     Links                // jump targets, rebuilt by configure
	configErr error                // why the last configure failed
	seen      map[string]time.Time // batch key → FetchedAt of the newest numbers announced
	health    BackendStatus        // outcome of the newest background fetch
	// scope is the service span metrics are kept to; codeScanned reports that the code was
	// read, or is being read, for a service.name (once per configuration, from the first traced
	// package) by the scan of configuration scanGen.
	scope       ServiceScope
	codeScanned bool
	scanGen     int
	getenv      func(string) string
	// scanning reports that the scan of configuration scanGen has not ended: prefetch leaves
	// the fetch to scopeKnown, so that numbers are fetched once, for the right scope.
	scanning bool
	scanDone chan struct{} // closed when the scan of configuration scanGen ends
	// scopeKnown, when set, is called (without the lock) when a scan of the code ends: the
	// numbers of the analysed packages are fetched (prefetch).
	scopeKnown func()
	// scanCode reads the code of the module containing a directory for its service (codeScope).
	scanCode func(dir string) ServiceScope
}

func newNumbers(ctx context.Context, notify *notifier) *numbers {
	return &numbers{ctx: ctx, notify: notify, seen: map[string]time.Time{}, getenv: os.Getenv, scanCode: codeScope}
}

// backend is what numbers holds at one moment; client is nil until a configure succeeded.
type backend struct {
	client    *promclient.Client
	links     Links
	settings  config.Settings
	configErr error
}

// backend returns the current client, links and settings.
func (n *numbers) backend() backend {
	n.mu.Lock()
	defer n.mu.Unlock()
	return backend{client: n.client, links: n.links, settings: n.settings, configErr: n.configErr}
}

// configure builds a client from s and makes it current; when that fails the previous client
// and settings stay and the error is kept for the "not configured" explanations. Settings whose
// backend part (sameBackend) equals the current client's only replace the display settings and
// links: the client, its cache of numbers and the service found in the code stay, so an editor
// pushing unchanged settings (Neovim and VS Code do, on any configuration change) costs no
// query.
//
// The service span metrics are kept to comes from the settings (serviceName, OTEL_SERVICE_NAME);
// without one, prefetch may find it in the code later (scopeFromCode).
func (n *numbers) configure(s config.Settings) error {
	n.mu.Lock()
	if n.client != nil && sameBackend(n.settings, s) {
		n.settings, n.configErr = s, nil
		n.links.Grafana, n.links.GrafanaDatasource, n.links.TraceURLTemplate = s.GrafanaURL, s.GrafanaDatasource, s.TraceURLTemplate
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	scope, fromSettings := settingsScope(s, n.getenv)
	client, err := newClient(s, scope)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		n.configErr = err
		return err
	}
	n.configErr = nil
	n.settings = s
	n.scope, n.codeScanned, n.scanning = scope, fromSettings, false
	n.scanGen++
	n.client = client
	n.links = Links{Grafana: s.GrafanaURL, GrafanaDatasource: s.GrafanaDatasource, Prom: client, Spans: scope, TraceURLTemplate: s.TraceURLTemplate}
	return nil
}

// sameBackend reports whether a and b build the same backend client: they differ at most in
// settings that only change what is shown (hover deadline, Grafana links, trace links, CodeLens
// and inlay hints, hover images, burn-rate threshold). A setting not listed here counts as part
// of the backend, so a new one rebuilds the client until it is listed. Empty and absent lists
// (labelMatchers, headers) are the same.
func sameBackend(a, b config.Settings) bool {
	return reflect.DeepEqual(backendPart(a), backendPart(b))
}

// backendPart is s without its display-only settings, empty lists as nil.
func backendPart(s config.Settings) config.Settings {
	s.HoverDeadline = 0
	s.GrafanaURL, s.GrafanaDatasource, s.TraceURLTemplate = "", "", ""
	s.CodeLens, s.CodeLensFormat, s.InlayHints, s.HoverImages = false, "", false, false
	s.BurnRateThreshold = 0
	if len(s.LabelMatchers) == 0 {
		s.LabelMatchers = nil
	}
	if len(s.Headers) == 0 {
		s.Headers = nil
	}
	return s
}

// newClient builds the backend client of settings s, span metrics kept to scope's service.
func newClient(s config.Settings, scope ServiceScope) (*promclient.Client, error) {
	return promclient.New(promclient.Config{
		URL: s.PrometheusURL, Window: s.Window, Timeout: s.QueryTimeout, TTL: s.CacheTTL,
		BearerToken: s.BearerToken, Username: s.Username, Password: s.Password, Headers: s.Headers,
		ExtraMatchers: s.LabelMatchers, BearerTokenFile: s.BearerTokenFile,
		TLSCAFile: s.TLSCAFile, InsecureSkipVerify: s.TLSInsecureSkipVerify,
		SpanMetrics: s.SpanMetrics, SpanService: scope.Service,
	})
}

// scopeFromCode starts, once per configuration, the background scan of the module of the first
// package with traced functions among pkgs for its service.name (see scanScope).
func (n *numbers) scopeFromCode(pkgs []*analysis.Package) {
	n.mu.Lock()
	scanned := n.codeScanned
	n.mu.Unlock()
	if scanned {
		return
	}
	for _, p := range pkgs {
		for _, fn := range p.Functions {
			if fn.Traced() {
				n.scanScope(p.Dir)
				return
			}
		}
	}
}

// ScopeScanningNote is the note of the span metrics' scope while the code is still read for a
// service.name (the numbers are those of all services until then).
const ScopeScanningNote = "still reading the code for a service.name"

// scanScope starts, once per configuration, reading the module containing dir for the
// service.name it gives its OpenTelemetry resource, and returns at once ("" does nothing). Until
// the scan ends span metrics are those of all services, and the scope's note says the code is
// still being read; when it names one service, span metrics are kept to it from then on (a new
// client; the settings named none). When it ends, scopeKnown is called. The channel returned is
// closed when the scan (started now or earlier) ends; nil when none is running.
func (n *numbers) scanScope(dir string) <-chan struct{} {
	n.mu.Lock()
	if n.scanning {
		defer n.mu.Unlock()
		return n.scanDone
	}
	if n.codeScanned || dir == "" || n.client == nil {
		n.mu.Unlock()
		return nil
	}
	n.codeScanned, n.scanning = true, true
	done := make(chan struct{})
	n.scanDone = done
	gen, settings := n.scanGen, n.settings
	n.scope.Note = ScopeScanningNote
	n.links.Spans = n.scope
	n.mu.Unlock()
	go func() {
		defer close(done)
		scope := n.scanCode(dir)
		var client *promclient.Client
		if scope.Service != "" {
			if c, err := newClient(settings, scope); err == nil {
				client = c
			}
		}
		n.mu.Lock()
		if n.scanGen != gen || n.ctx.Err() != nil {
			n.mu.Unlock()
			return // configured again meanwhile: that configuration scans for itself
		}
		if client == nil {
			scope.Service, scope.From = "", "" // a client for it could not be built
		} else {
			n.client = client
			n.links.Prom = client
		}
		n.scope = scope
		n.links.Spans = scope
		n.scanning = false
		scopeKnown := n.scopeKnown
		n.mu.Unlock()
		if scopeKnown != nil {
			scopeKnown()
		}
	}()
	return done
}

// refreshLoop fetches the numbers of the packages analysed (as packages tells) again each time
// they go stale, so CodeLens and inlay hints stay live without the user doing anything. It
// returns when the workspace closes.
func (n *numbers) refreshLoop(packages func() []*analysis.Package) {
	for {
		period := max(n.backend().settings.CacheTTL, 5*time.Second)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(period):
		}
		n.prefetch(packages())
	}
}

// prefetch starts fetching the numbers and trends of pkgs' instrumented functions, one batch
// per package, in the background, and tells the observer when numbers newer than those it last
// heard of arrive. While the code is read for a service.name (scanScope) it fetches nothing: the
// scan's end fetches the analysed packages for the scope it found. It returns at once.
func (n *numbers) prefetch(pkgs []*analysis.Package) {
	n.scopeFromCode(pkgs)
	n.mu.Lock()
	scanning := n.scanning
	n.mu.Unlock()
	if scanning {
		return // the scan's end fetches, with the client of the scope it found
	}
	b := n.backend()
	if b.client == nil {
		return
	}
	for _, p := range pkgs {
		batch := SeriesOfPackage(p)
		if len(batch) == 0 {
			continue
		}
		b.client.PrefetchTrend(batch)
		go func() {
			ctx, cancel := context.WithTimeout(n.ctx, 2*b.settings.QueryTimeout+time.Second)
			defer cancel()
			snap, _ := b.client.Fetch(ctx, batch)
			if snap == nil {
				return
			}
			n.noteHealth(b.client, snap)
			if n.announce(fmt.Sprint(batch), snap.FetchedAt) {
				n.notify.observe(func(o Observer) { o.NumbersUpdated() })
			}
			// Incident data (alerts, deploys, traces) follows the numbers; hovers and lenses
			// read it from the cache (CachedIncident) and never wait for it.
			if snap.Err == nil {
				if inc, _ := b.client.FetchIncident(ctx, snap); inc != nil && n.announce("incident "+fmt.Sprint(batch), inc.FetchedAt) {
					n.notify.observe(func(o Observer) { o.NumbersUpdated() })
				}
			}
		}()
	}
}

// announce records that the numbers of batch key fetched at at were seen, and reports whether
// they are newer than the ones seen before.
func (n *numbers) announce(key string, at time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	isNew := !at.Equal(n.seen[key])
	n.seen[key] = at
	return isNew
}

// hoverNumbers is what a hover shows of a batch: the snapshot and trend (each possibly nil or
// cached from before) and the error of the fetch that did not finish.
type hoverNumbers struct {
	snap     *promclient.Snapshot
	trend    *promclient.Trend
	incident *promclient.Incident // cached only: the refresh fetches it
	fetchErr error
}

// forHover fetches the numbers and trend of batch with client, waiting at most deadline, and
// falls back to the cached ones when the fetch does not finish in time.
func (n *numbers) forHover(ctx context.Context, client *promclient.Client, batch []promclient.Series, deadline time.Duration) hoverNumbers {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var h hoverNumbers
	h.snap, h.fetchErr = client.Fetch(ctx, batch)
	if h.snap != nil {
		n.noteHealth(client, h.snap)
	} else if cached, ok := client.Cached(batch); ok {
		h.snap = cached
	}
	h.trend, _ = client.FetchTrend(ctx, batch)
	if h.trend == nil {
		h.trend, _ = client.CachedTrend(batch)
	}
	h.incident, _ = client.CachedIncident(batch)
	return h
}

// BackendStatus says whether the backend answered the newest background fetch.
type BackendStatus struct {
	Backend string    `json:"backend"` // URL without credentials
	OK      bool      `json:"ok"`
	Reason  string    `json:"reason,omitempty"` // why not, in words a user can act on
	Checked time.Time `json:"checked,omitzero"` // zero when nothing was fetched yet
}

// status reports the backend's health as seen by the fetches (no network).
func (n *numbers) status() BackendStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.client == nil:
		return BackendStatus{Reason: fmt.Sprintf("no usable Prometheus URL is configured: %v", n.configErr)}
	case n.health.Backend != n.client.DisplayURL() || n.health.Checked.IsZero():
		return BackendStatus{Backend: n.client.DisplayURL(), OK: true, Reason: "no numbers fetched yet: open a Go file with instrumented functions"}
	}
	return n.health
}

// noteHealth records the outcome of a fetch by client for status, unless client is no longer
// current or a newer outcome is recorded.
func (n *numbers) noteHealth(client *promclient.Client, snap *promclient.Snapshot) {
	health := BackendStatus{Backend: client.DisplayURL(), OK: snap.Err == nil, Checked: snap.FetchedAt}
	if health.Checked.IsZero() {
		health.Checked = time.Now()
	}
	if snap.Err != nil {
		health.Reason = describeError(snap.Err, health.Backend)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.client == client && !health.Checked.Before(n.health.Checked) {
		n.health = health
	}
}
