package api

import (
	"context"
	"errors"

	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// ErrNotFound is returned by Lookup.
var ErrNotFound = errors.New("not found")

// Lookup shadows its ctx parameter and reports its named error result.
//
//autometrics:inst
func Lookup(ctx context.Context, key string) (value string, err error) {
	ctx = autometrics.PreInstrument(autometrics.NewContext(
		ctx,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(ctx, &err) //autometrics:defer

	if key == "" {
		return "", ErrNotFound
	}
	return key, ctx.Err()
}
