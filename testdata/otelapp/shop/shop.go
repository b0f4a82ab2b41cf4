// Package shop is traced with OpenTelemetry spans; am-lsp's span-metrics tests analyse it, and
// the emitter calls it with known counts.
package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var tracer = otel.Tracer("example.com/otelapp/shop")

const prefix = "shop."

// ErrDeclined is returned by Checkout for declined payments.
var ErrDeclined = errors.New("payment declined")

// Checkout is a server span named by a constant expression; it fails when fail is set.
func Checkout(ctx context.Context, fail bool) (err error) {
	ctx, span := tracer.Start(ctx, prefix+"Checkout", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	if fail {
		span.RecordError(ErrDeclined)
		span.SetStatus(codes.Error, ErrDeclined.Error())
		return ErrDeclined
	}
	return Reserve(ctx, 1)
}

// Reserve is an internal span with a literal name.
func Reserve(ctx context.Context, n int) error {
	_, span := otel.Tracer("example.com/otelapp/shop").Start(ctx, "shop.Reserve")
	defer span.End()
	_ = n
	return nil
}

// Inventory holds its own tracer.
type Inventory struct {
	tracer trace.Tracer
}

// NewInventory returns an Inventory traced with the global provider.
func NewInventory() *Inventory { return &Inventory{tracer: otel.Tracer("inventory")} }

// Count is a span started on a struct field's tracer.
func (inv *Inventory) Count(ctx context.Context, sku string) int {
	_, span := inv.tracer.Start(ctx, "Inventory.Count")
	defer span.End()
	return len(sku)
}

// Lookup is named at run time; the span carries code.function.name so the collector can key it.
func Lookup(ctx context.Context, t trace.Tracer, sku string) {
	_, span := t.Start(ctx, fmt.Sprintf("lookup %s", sku),
		trace.WithAttributes(attribute.String("code.function.name", "example.com/otelapp/shop.Lookup")))
	defer span.End()
}

// Ping is served through otelhttp.NewHandler.
func Ping(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("pong"))
}

// Handler is the service's HTTP handler.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ping", otelhttp.NewHandler(http.HandlerFunc(Ping), "ping"))
	return mux
}
