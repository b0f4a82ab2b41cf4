package promclient

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// querier is the part of the backend the client uses: instant queries at a given instant (the
// zero time: the server's current time) answering a vector, and range queries answering a matrix, each with the backend's
// warnings (and infos). Further backend endpoints (alerts, exemplars) are added here as methods,
// implemented on promAPI, so that tests and the fault handling see one seam.
type querier interface {
	Query(ctx context.Context, query string, at time.Time, timeout time.Duration) (model.Vector, []string, error)
	QueryRange(ctx context.Context, query string, r v1.Range, timeout time.Duration) (model.Matrix, []string, error)
	// Alerts answers /api/v1/alerts: the active (firing and pending) alerts of the rules the
	// backend evaluates.
	Alerts(ctx context.Context) ([]v1.Alert, error)
	// QueryExemplars answers /api/v1/query_exemplars for the selectors of query in [start, end].
	QueryExemplars(ctx context.Context, query string, start, end time.Time) ([]v1.ExemplarQueryResult, error)
}

// promAPI is the querier over client_golang's v1 API.
type promAPI struct {
	api v1.API
	rt  *transport
}

func (p *promAPI) Query(ctx context.Context, query string, at time.Time, timeout time.Duration) (model.Vector, []string, error) {
	val, warnings, infos, err := p.api.Query(ctx, query, at, v1.WithTimeout(serverTimeout(timeout)))
	notes := append(append([]string(nil), warnings...), infos...)
	if err != nil {
		return nil, notes, err
	}
	switch v := val.(type) {
	case model.Vector:
		return v, notes, nil
	case nil:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: "no result in the response"}
	default:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("result of type %s, want vector", val.Type())}
	}
}

func (p *promAPI) QueryRange(ctx context.Context, query string, r v1.Range, timeout time.Duration) (model.Matrix, []string, error) {
	val, warnings, infos, err := p.api.QueryRange(ctx, query, r, v1.WithTimeout(serverTimeout(timeout)))
	notes := append(append([]string(nil), warnings...), infos...)
	if err != nil {
		return nil, notes, err
	}
	switch v := val.(type) {
	case model.Matrix:
		return v, notes, nil
	case nil:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: "no result in the response"}
	default:
		return nil, notes, &v1.Error{Type: v1.ErrBadResponse, Msg: fmt.Sprintf("result of type %s, want matrix", val.Type())}
	}
}

// serverTimeout renders d in a form the server's duration parser accepts (it rejects "1.5s").
func serverTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Truncate(time.Second)
	}
	if d >= time.Millisecond {
		return d.Truncate(time.Millisecond)
	}
	return time.Millisecond
}

func (p *promAPI) Alerts(ctx context.Context) ([]v1.Alert, error) {
	res, err := p.api.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	return res.Alerts, nil
}

func (p *promAPI) QueryExemplars(ctx context.Context, query string, start, end time.Time) ([]v1.ExemplarQueryResult, error) {
	return p.api.QueryExemplars(ctx, query, start, end)
}
