package shop

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// Edge cases of span detection.

// Quote starts a client span on a tracer passed as a parameter.
func Quote(ctx context.Context, tr trace.Tracer) {
	_, span := tr.Start(ctx, "shop.Quote", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
}

// Nameless starts a span named by an empty string.
func Nameless(ctx context.Context) {
	_, span := tracer.Start(ctx, "")
	defer span.End()
}

// Provided uses a tracer from the global provider, with options from a slice.
func Provided(ctx context.Context, opts []trace.SpanStartOption) {
	_, span := otel.GetTracerProvider().Tracer("shop").Start(ctx, "shop.Provided", opts...)
	defer span.End()
}

type tracerSource interface{ T() trace.Tracer }

// Indirect gets its tracer through an interface method.
func Indirect(ctx context.Context, src tracerSource) {
	_, span := src.T().Start(ctx, "shop.Indirect")
	defer span.End()
}

type notTracer struct{}

func (notTracer) Start(ctx context.Context, name string) (context.Context, int) { return ctx, 0 }

// Untraced calls a Start method that is not a tracer's.
func Untraced(ctx context.Context) {
	var n notTracer
	_, _ = n.Start(ctx, "not a span")
}

// CreateOrder is registered under a method pattern.
func CreateOrder(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }

// Routes registers CreateOrder through otelhttp under "POST /orders".
func Routes(mux *http.ServeMux) {
	mux.Handle("POST /orders", otelhttp.NewHandler(http.HandlerFunc(CreateOrder), "orders"))
}
