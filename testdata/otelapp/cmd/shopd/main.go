// Command shopd serves the shop; its resource names the service.
package main

import (
	"context"
	"log"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"example.com/otelapp/shop"
)

func main() {
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("shop"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", shop.Handler()))
}
