// Command emitter sends spans with known counts and errors through the real OpenTelemetry SDK to
// an OTLP/HTTP endpoint, then flushes and exits. am-lsp's span-metrics tests run it against a
// real Collector.
//
//	emitter -endpoint 127.0.0.1:4318 -service shop -checkouts 40 -failures 10
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"example.com/otelapp/shop"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:4318", "OTLP/HTTP endpoint (host:port)")
	service := flag.String("service", "shop", "service.name resource attribute")
	checkouts := flag.Int("checkouts", 40, "Checkout calls")
	failures := flag.Int("failures", 10, "of which fail")
	counts := flag.Int("counts", 7, "Inventory.Count calls")
	lookups := flag.Int("lookups", 5, "Lookup calls (span named at run time)")
	pings := flag.Int("pings", 3, "GET /ping requests through otelhttp")
	flag.Parse()
	if *failures > *checkouts {
		log.Fatal("emitter: -failures exceeds -checkouts")
	}
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(*endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		log.Fatalf("emitter: exporter: %v", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(*service)))
	if err != nil {
		log.Fatalf("emitter: resource: %v", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})

	for i := 0; i < *checkouts; i++ {
		_ = shop.Checkout(ctx, i < *failures)
	}
	inv := shop.NewInventory()
	for i := 0; i < *counts; i++ {
		inv.Count(ctx, "sku")
	}
	for i := 0; i < *lookups; i++ {
		shop.Lookup(ctx, otel.Tracer("lookup"), fmt.Sprint("sku-", i))
	}
	srv := httptest.NewServer(shop.Handler())
	for i := 0; i < *pings; i++ {
		resp, err := http.Get(srv.URL + "/ping")
		if err != nil {
			log.Fatalf("emitter: ping: %v", err)
		}
		resp.Body.Close()
	}
	srv.Close()
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "emitter: flush: %v\n", err)
		os.Exit(1)
	}
}
