package promclient

import "context"

// Priority of queries: the editor's requests (hovers, and the prefetch of open files that
// hovers read) must never queue behind bulk work such as the workspace SLO sweep, which fetches
// every package of the workspace. A client has maxConcurrentQueries slots; bulk fetches use at
// most maxBulkQueries of them, so the rest are always free for the editor. A fetch in flight
// that an editor request joins (a hover whose series a sweep batch covers) is promoted: its
// queries not yet sent stop waiting for a bulk slot.

// maxBulkQueries bounds the queries bulk fetches have in flight at once: half the slots.
const maxBulkQueries = maxConcurrentQueries / 2

// bulkKey marks a caller's context as bulk work (Bulk).
type bulkKey struct{}

// promoteKey carries, in the context of a bulk fetch's queries, the channel closed when an
// editor request joins that fetch.
type promoteKey struct{}

// Bulk returns ctx marked as bulk work: a Fetch (FetchTrend, FetchIncident) with it that
// starts a fetch starts one whose queries use at most half of the client's slots for queries in
// flight, so that editor requests (fetches without the mark) always find free slots. A fetch
// without the mark that joins a bulk fetch in flight lifts the limit for the queries that fetch
// has not sent yet.
func Bulk(ctx context.Context) context.Context { return context.WithValue(ctx, bulkKey{}, true) }

// isBulk reports whether ctx was marked by Bulk.
func isBulk(ctx context.Context) bool {
	b, _ := ctx.Value(bulkKey{}).(bool)
	return b
}

// acquire waits for a slot for one query and returns the function that gives it back. The
// queries of a bulk fetch (their context carries a promotion channel) first wait for one of
// the maxBulkQueries bulk slots, unless the fetch is promoted meanwhile.
func (c *Client) acquire(ctx context.Context) (release func(), err error) {
	bulk := false
	if promoted, ok := ctx.Value(promoteKey{}).(<-chan struct{}); ok {
		select {
		case c.bulk <- struct{}{}:
			bulk = true
		case <-promoted:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		if bulk {
			<-c.bulk
		}
		return nil, ctx.Err()
	}
	return func() {
		<-c.sem
		if bulk {
			<-c.bulk
		}
	}, nil
}
