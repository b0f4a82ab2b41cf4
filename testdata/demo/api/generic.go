package api

import (
	"github.com/autometrics-dev/autometrics-go/prometheus/autometrics"
)

// Map is an instrumented generic function.
//
//autometrics:inst
func Map[T, U any](in []T, f func(T) U) []U {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// Cache is a generic type with an instrumented pointer-receiver method.
type Cache[K comparable, V any] struct {
	items map[K]V
}

// Get is an instrumented method of a generic type.
//
//autometrics:inst
func (c *Cache[K, V]) Get(key K) (V, bool) {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	v, ok := c.items[key]
	return v, ok
}
