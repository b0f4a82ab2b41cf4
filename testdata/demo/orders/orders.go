// Package orders is traced with an OpenTelemetry span rather than instrumented with Autometrics:
// its numbers come from the span metrics of the Collector's spanmetrics connector.
package orders

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var tracer = otel.Tracer("example.com/demo/orders")

// ErrOutOfStock is returned when an order cannot be filled.
var ErrOutOfStock = errors.New("out of stock")

// Place places an order; a server span measures it.
func Place(ctx context.Context, sku string, qty int) (err error) {
	ctx, span := tracer.Start(ctx, "orders.Place", trace.WithSpanKind(trace.SpanKindServer))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	if qty > 10 {
		return ErrOutOfStock
	}
	_ = ctx
	_ = sku
	return nil
}
