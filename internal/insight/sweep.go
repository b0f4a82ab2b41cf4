package insight

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"github.com/am-lsp/am-lsp/internal/promclient"
)

// Sweep keeps the SLO problems (breached or burning objectives, see SLOProblems) of every
// instrumented function of the workspace's modules, opened in the editor or not, so that the
// editor's problem list is the incident list. It analyses the workspace roots (./... of each)
// once and again after files change, fetches the numbers of each package as one batch (shared
// with the workspace's own fetches through the client's cache) every cacheTtl, and reports the
// files whose problems changed, a file whose problems are gone with an empty list. A package
// whose fetch fails (backend down, timeout) keeps the problems its last answer showed: an outage
// is no recovery. An analysis of a root that gave syntax-only or otherwise degraded packages
// (the go command timed out on a first type check of the dependencies, or failed) is
// provisional: the root is analysed again, without a file changing, once the load it stopped
// waiting for has ended (Package.Settled) and at least retryDelay after it, a delay that
// doubles with each provisional analysis of the root in a row, so that a workspace that never
// type-checks is not reloaded in a loop. A reload that fails outright (the go command fails on
// a go.mod broken mid-edit, times out, or gives nothing: every package comes from syntax alone)
// does not replace the root's last good analysis: its problems stay, since a failed analysis is
// no recovery either, and the root is retried as a provisional one. Roots that are the same
// directory (a folder and a symlink to it) are analysed once, under the first of their paths
// given, so that their problems are reported once, under a path the client named. It is safe
// for concurrent use.
type Sweep struct {
	w *Workspace
	// changed hears which files' problems changed (path → its problems now, empty when
	// cleared). It is called from the sweep's goroutine and must not block.
	changed func(map[string][]SLOProblem)
	// minPeriod bounds how often the sweep runs whatever cacheTtl says.
	minPeriod time.Duration

	mu     sync.Mutex
	roots  []string                       // cleaned, without repeats, in the order given
	loaded map[string][]*analysis.Package // the last analysis of each root
	// gen counts the changes of files (and SetRoots); loadedGen is the gen the last analysis
	// of every root started at: the roots are stale while they differ, so that a change
	// arriving while a reload runs causes another one.
	gen, loadedGen uint64
	byFile         map[string][]SLOProblem
	// started says the loop runs; wake starts a sweep at once.
	started  bool
	wake     chan struct{}
	lastLoad time.Time // of the last analysis of every root
	// provisional holds the roots whose last analysis was provisional (degraded packages).
	provisional map[string]provisionalLoad
	// loadTimeout, when not 0, is the loads' Timeout instead of the editor loader's (tests).
	loadTimeout time.Duration
	// loads counts the analyses of roots (tests).
	loads int
	// afterLoad, when not nil, is called after each analysis of a root, before the sweep
	// records it (tests).
	afterLoad func(root string)
}

// provisionalLoad is a root's provisional analyses in a row.
type provisionalLoad struct {
	n       int               // how many in a row (1 for the first)
	at      time.Time         // when the last one was made
	settled []<-chan struct{} // its packages' Settled channels
	// kept says the last analysis failed outright and the one before it was kept.
	kept bool
}

// due reports whether the root is to be analysed again: the loads the last analysis stopped
// waiting for have ended and retryDelay has passed.
func (r provisionalLoad) due(period time.Duration) bool {
	for _, ch := range r.settled {
		select {
		case <-ch:
		default:
			return false
		}
	}
	return time.Since(r.at) >= retryDelay(period, r.n)
}

// sweepRetryMax bounds the delay between provisional analyses of a root (retryDelay).
const sweepRetryMax = 10 * time.Minute

// retryDelay is how long after the n-th provisional analysis in a row (n ≥ 1) a root is
// analysed again: period, doubled with each further one, at most sweepRetryMax (or period, if
// it is longer).
func retryDelay(period time.Duration, n int) time.Duration {
	d := period
	for i := 1; i < n && d < sweepRetryMax; i++ {
		d *= 2
	}
	return max(min(d, sweepRetryMax), period)
}

// NewSweep returns a sweep over w's client and settings that reports to changed. It does
// nothing until SetRoots or ChangeRoots names the workspace's directories.
func NewSweep(w *Workspace, changed func(map[string][]SLOProblem)) *Sweep {
	return &Sweep{w: w, changed: changed, minPeriod: time.Second, byFile: map[string][]SLOProblem{}, loaded: map[string][]*analysis.Package{}, wake: make(chan struct{}, 1)}
}

// SetRoots sets the workspace directories (absolute) and starts sweeping them: every root is
// analysed again at the next sweep, which starts at once.
func (p *Sweep) SetRoots(roots []string) {
	p.mu.Lock()
	p.roots = addRoots(nil, roots)
	p.gen++
	p.mu.Unlock()
	p.start()
}

// ChangeRoots adds and removes workspace directories (absolute; a workspace folder added or
// removed in the editor) and returns at once. A sweep starts at once: it analyses only the
// added directories (the others keep their analysis), fetches, and reports the files of
// removed directories cleared (an empty list), unless another root still holds them. Removing
// a directory that is not a root, or adding one that is, changes nothing.
func (p *Sweep) ChangeRoots(added, removed []string) {
	p.mu.Lock()
	gone := map[string]bool{}
	for _, r := range removed {
		gone[filepath.Clean(r)] = true
	}
	var kept []string
	for _, r := range p.roots {
		if !gone[r] {
			kept = append(kept, r)
		}
	}
	p.roots = addRoots(kept, added)
	p.mu.Unlock()
	p.start()
}

// Roots returns the directories swept.
func (p *Sweep) Roots() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.roots...)
}

// addRoots returns roots with the cleaned dirs not yet among them appended ("" is left out);
// symlinks are not resolved here (once does, off the lock). It takes time linear in the
// directories: a notification listing a million folders must not hold the sweep's lock (and
// the editor's ordered messages) for minutes.
func addRoots(roots, dirs []string) []string {
	have := make(map[string]bool, len(roots)+len(dirs))
	for _, r := range roots {
		have[r] = true
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if d = filepath.Clean(d); !have[d] {
			have[d] = true
			roots = append(roots, d)
		}
	}
	return roots
}

// start starts the loop once there are roots, and a sweep at once.
func (p *Sweep) start() {
	p.mu.Lock()
	start := !p.started && len(p.roots) > 0
	p.started = p.started || start
	p.mu.Unlock()
	if start {
		go p.loop()
	}
	p.poke()
}

// FilesChanged says Go files of the workspace changed (saved, created, deleted): the next sweep
// analyses the roots again, also when one is under way (its analysis may predate the change).
func (p *Sweep) FilesChanged() {
	p.mu.Lock()
	p.gen++
	p.mu.Unlock()
}

// Problems returns the current SLO problems of the functions declared in path.
func (p *Sweep) Problems(path string) []SLOProblem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byFile[path]
}

func (p *Sweep) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Sweep) loop() {
	for {
		select {
		case <-p.w.ctx.Done():
			return
		case <-p.wake:
		}
		p.once(p.w.ctx)
		period := p.w.numbers.backend().settings.CacheTTL
		select {
		case <-p.w.ctx.Done():
			return
		case <-time.After(max(period, p.minPeriod)):
			p.poke()
		case <-p.wake:
			p.poke()
		}
	}
}

// once runs one sweep: analysis of the roots when stale, the numbers of every package, and the
// report of what changed.
func (p *Sweep) once(ctx context.Context) {
	b := p.w.numbers.backend()
	client, links, settings := b.client, b.links, b.settings
	if client == nil {
		return
	}
	period := max(settings.CacheTTL, p.minPeriod)
	p.mu.Lock()
	given := p.roots
	p.mu.Unlock()
	roots, shown := distinctDirs(given)
	p.mu.Lock()
	gen, afterLoad := p.gen, p.afterLoad
	// An edited file may change the packages' functions: every root is analysed again, at
	// most once per period. A root not analysed yet (just added) is analysed now, and one
	// whose analysis was provisional once it is due.
	reloadAll := gen != p.loadedGen && time.Since(p.lastLoad) >= period
	loaded := make(map[string][]*analysis.Package, len(roots))
	last := make(map[string][]*analysis.Package, len(roots)) // the analyses a failed one keeps
	for _, root := range roots {
		pkgs, ok := p.loaded[root]
		if !ok {
			continue
		}
		last[root] = pkgs
		if !reloadAll {
			if r, ok := p.provisional[root]; !ok || !r.due(period) {
				loaded[root] = pkgs
			}
		}
	}
	timeout := p.w.analyses.loader.Timeout
	if p.loadTimeout != 0 {
		timeout = p.loadTimeout
	}
	p.mu.Unlock()
	for _, root := range roots {
		if _, ok := loaded[root]; ok {
			continue
		}
		// A Loader of its own, used once (see loaderSet), which Close waits for.
		l := &analysis.Loader{Dir: root, Timeout: timeout}
		if !p.w.sweepLoaders.add(l) {
			return // the workspace is closing
		}
		got, err := l.LoadPatterns(ctx, []string{"./..."}, nil)
		p.w.sweepLoaders.retire(l)
		if afterLoad != nil {
			afterLoad(root)
		}
		if ctx.Err() != nil {
			return // shutting down: nothing to warn about, nothing to publish
		}
		if failed(got, err) && good(last[root]) {
			// A go.mod broken mid-edit is no recovery: keep the last good analysis (and its
			// problems) and try again as after a provisional one.
			if p.keepLast(ctx, root, got) {
				p.w.analyses.log.Warn("workspace SLO sweep: analysis failed, keeping the last good one until it succeeds", "dir", root, "err", err, "reason", degradedReason(got))
			}
			loaded[root] = last[root]
			continue
		}
		if err != nil {
			p.w.analyses.log.Warn("workspace SLO sweep: analysis failed", "dir", root, "err", err)
			if len(got) == 0 {
				continue // nothing to keep: tried again at the next sweep
			}
		}
		loaded[root] = got
		p.loadedRoot(ctx, root, got)
	}
	p.mu.Lock()
	p.loaded = loaded
	for root := range p.provisional {
		if _, ok := loaded[root]; !ok {
			delete(p.provisional, root) // removed, or to be analysed afresh
		}
	}
	if reloadAll {
		p.loadedGen, p.lastLoad = gen, time.Now()
	}
	p.mu.Unlock()
	// Nested roots (a folder and its subfolder) load some packages twice: each counts once.
	var pkgs []*analysis.Package
	seen := map[string]bool{}
	for _, root := range roots {
		for _, pkg := range loaded[root] {
			if !seen[pkg.Dir] {
				seen[pkg.Dir] = true
				pkgs = append(pkgs, pkg)
			}
		}
	}

	next := map[string][]SLOProblem{}
	unknown := map[string]bool{} // files of packages whose fetch failed this time
	var wg sync.WaitGroup
	var mu sync.Mutex
	// The sweep is bulk work: its queries leave half of the client's slots to the editor's
	// requests (promclient.Bulk), and a few groups at a time are fetched, so that a group's
	// fetch, bounded by the query timeout, does not spend it waiting for the others' queries.
	slots := make(chan struct{}, sweepGroupsAtOnce)
	for _, group := range packageGroups(pkgs, sloSeriesOfPackage) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				return
			}
			fctx, cancel := context.WithTimeout(ctx, 2*settings.QueryTimeout+time.Second)
			defer cancel()
			snap, err := client.Fetch(promclient.Bulk(fctx), group.batch)
			if snap == nil || snap.Err != nil {
				// No numbers, no verdict: keep what the last answer said.
				p.w.analyses.log.Warn("workspace SLO sweep: fetch failed, keeping the last problems", "packages", group.paths(), "err", fetchErr(snap, err))
				mu.Lock()
				for _, pkg := range group.pkgs {
					for _, fn := range pkg.Instrumented() {
						unknown[shown(fn.NameSpan.File)] = true
					}
				}
				mu.Unlock()
				return
			}
			var views []View
			for _, pkg := range group.pkgs {
				for _, fn := range pkg.Instrumented() {
					views = append(views, Explain(fn, links, snap, err))
				}
			}
			problems := SLOProblems(views, settings.BurnRateThreshold)
			mu.Lock()
			for _, pr := range problems {
				f := shown(pr.View.Function.NameSpan.File)
				next[f] = append(next[f], pr)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: groups were left out, nothing to publish
	}
	for _, list := range next {
		sort.SliceStable(list, func(i, j int) bool {
			return list[i].View.Function.NameSpan.Start < list[j].View.Function.NameSpan.Start
		})
	}

	p.mu.Lock()
	for f := range unknown {
		if _, fresh := next[f]; !fresh && len(p.byFile[f]) > 0 {
			next[f] = p.byFile[f]
		}
	}
	changed := map[string][]SLOProblem{}
	for f, old := range p.byFile {
		if _, still := next[f]; !still && len(old) > 0 {
			changed[f] = nil
		}
	}
	for f, list := range next {
		if !sameProblems(p.byFile[f], list) {
			changed[f] = list
		}
	}
	p.byFile = next
	p.mu.Unlock()
	if len(changed) > 0 && p.changed != nil {
		p.changed(changed)
	}
}

// failed reports whether an analysis failed outright: it gave nothing but an error, or the go
// command gave nothing (every package comes from syntax alone).
func failed(pkgs []*analysis.Package, err error) bool {
	if len(pkgs) == 0 {
		return err != nil
	}
	for _, pkg := range pkgs {
		if !pkg.SyntaxOnly {
			return false
		}
	}
	return true
}

// good reports whether an analysis is one to keep when a later one fails: it has packages and
// did not fail.
func good(pkgs []*analysis.Package) bool { return len(pkgs) > 0 && !failed(pkgs, nil) }

// degradedReason is why the first degraded package of pkgs is ("" without one).
func degradedReason(pkgs []*analysis.Package) string {
	for _, pkg := range pkgs {
		if pkg.Degraded != "" {
			return pkg.Degraded
		}
	}
	return ""
}

// keepLast records that the new analysis pkgs of root failed outright and the last good one is
// kept: the root is provisional (analysed again with the usual backoff, and once the loads it
// stopped waiting for have settled). It reports whether this is the first such failure in a row
// (the one to warn about).
func (p *Sweep) keepLast(ctx context.Context, root string, pkgs []*analysis.Package) bool {
	settled := settledOf(pkgs)
	p.mu.Lock()
	p.loads++
	if p.provisional == nil {
		p.provisional = map[string]provisionalLoad{}
	}
	prev := p.provisional[root]
	p.provisional[root] = provisionalLoad{n: prev.n + 1, at: time.Now(), settled: settled, kept: true}
	p.mu.Unlock()
	p.pokeWhenSettled(ctx, settled)
	return !prev.kept
}

// settledOf returns the distinct Settled channels of pkgs.
func settledOf(pkgs []*analysis.Package) []<-chan struct{} {
	var settled []<-chan struct{}
	for _, pkg := range pkgs {
		if pkg.Settled != nil && !slices.Contains(settled, pkg.Settled) {
			settled = append(settled, pkg.Settled)
		}
	}
	return settled
}

// distinctDirs returns roots without those that are the same directory as an earlier one once
// symlinks are resolved (a root that does not resolve counts as itself), and shown, which maps
// a file the go command names by its real path to the path under the root it was found from,
// as given: the client matches diagnostics by the URI it knows.
func distinctDirs(roots []string) (out []string, shown func(file string) string) {
	out = make([]string, 0, len(roots))
	seen := make(map[string]bool, len(roots))
	type alias struct{ real, given string }
	var aliases []alias
	for _, root := range roots {
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			real = root
		}
		if !seen[real] {
			seen[real] = true
			out = append(out, root)
			if real != root {
				aliases = append(aliases, alias{real, root})
			}
		}
	}
	shown = func(file string) string {
		for _, a := range aliases {
			if rest, ok := strings.CutPrefix(file, a.real); ok && (rest == "" || rest[0] == filepath.Separator) {
				return a.given + rest
			}
		}
		return file
	}
	return out, shown
}

// loadedRoot records whether the new analysis pkgs of root is provisional (a package is
// degraded) and, when it waits for loads to settle, starts a sweep as soon as they have (the
// warm type cache then gives the typed result) rather than at the next period.
func (p *Sweep) loadedRoot(ctx context.Context, root string, pkgs []*analysis.Package) {
	degraded := degradedReason(pkgs) != ""
	settled := settledOf(pkgs)
	p.mu.Lock()
	p.loads++
	if p.provisional == nil {
		p.provisional = map[string]provisionalLoad{}
	}
	if degraded {
		p.provisional[root] = provisionalLoad{n: p.provisional[root].n + 1, at: time.Now(), settled: settled}
	} else {
		delete(p.provisional, root)
	}
	p.mu.Unlock()
	p.pokeWhenSettled(ctx, settled)
}

// pokeWhenSettled starts a sweep once every channel of settled is closed (none: nothing).
func (p *Sweep) pokeWhenSettled(ctx context.Context, settled []<-chan struct{}) {
	if len(settled) == 0 {
		return
	}
	go func() {
		for _, ch := range settled {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		p.poke()
	}()
}

// sweepGroupsAtOnce bounds the package groups one sweep fetches at once.
const sweepGroupsAtOnce = 2

// groupSeries bounds the series of one fetch over several packages (the workspace sweep, the
// report): packages are fetched together, a few hundred series per batch, so a large
// workspace costs a few fetches rather than one per package (the queries name every function of
// their batch).
const groupSeries = 200

// packageGroup is packages whose numbers one fetch asks for.
type packageGroup struct {
	pkgs  []*analysis.Package
	batch []promclient.Series
}

// paths returns the import paths of the group's packages, comma-separated.
func (g packageGroup) paths() string {
	paths := make([]string, len(g.pkgs))
	for i, p := range g.pkgs {
		paths[i] = p.Path
	}
	return strings.Join(paths, ",")
}

// packageGroups splits the packages that have series (as seriesOf gives them) into groups of
// at most groupSeries series (a package with more forms a group of its own), in order.
func packageGroups(pkgs []*analysis.Package, seriesOf func(*analysis.Package) []promclient.Series) []packageGroup {
	var out []packageGroup
	var cur packageGroup
	for _, pkg := range pkgs {
		batch := seriesOf(pkg)
		if len(batch) == 0 {
			continue
		}
		if len(cur.pkgs) > 0 && len(cur.batch)+len(batch) > groupSeries {
			out = append(out, cur)
			cur = packageGroup{}
		}
		cur.pkgs = append(cur.pkgs, pkg)
		cur.batch = append(cur.batch, batch...)
	}
	if len(cur.pkgs) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetchErr is why a fetch gave no numbers.
func fetchErr(snap *promclient.Snapshot, err error) error {
	if snap != nil && snap.Err != nil {
		return snap.Err
	}
	return err
}

// sameProblems compares what a diagnostic shows: place, state and message.
func sameProblems(a, b []SLOProblem) bool {
	key := func(list []SLOProblem) [][3]any {
		out := make([][3]any, len(list))
		for i, p := range list {
			out[i] = [3]any{p.View.Function.NameSpan, p.Breached, p.Message}
		}
		return out
	}
	return reflect.DeepEqual(key(a), key(b))
}

// ObjectivesURL returns the link of the Grafana SLO dashboard ("" without Grafana).
func (w *Workspace) ObjectivesURL() string { return w.numbers.backend().links.ObjectivesURL() }
