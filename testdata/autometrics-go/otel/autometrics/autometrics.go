// Package autometrics is a no-op stand-in for the OpenTelemetry backend of autometrics-go:
// same import path and signatures, no behaviour.
package autometrics

import (
	"context"
	"time"
)

// Option configures the context built by NewContext.
type Option interface {
	apply(*settings)
}

type settings struct{}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

func noop() Option { return optionFunc(func(*settings) {}) }

// ValidHttpRange is an inclusive range of HTTP status codes counted as success.
type ValidHttpRange struct {
	Min int
	Max int
}

// NewContext returns a context carrying the instrumentation options.
func NewContext(ctx context.Context, opts ...Option) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return ctx
}

// PreInstrument starts measuring a call.
func PreInstrument(ctx context.Context) context.Context { return ctx }

// Instrument records the call started by PreInstrument; err may be nil.
func Instrument(ctx context.Context, err *error) {}

// WithConcurrentCalls enables the concurrent calls gauge.
func WithConcurrentCalls(enabled bool) Option { return noop() }

// WithCallerName enables the caller labels.
func WithCallerName(enabled bool) Option { return noop() }

// WithSloName sets the objective name.
func WithSloName(name string) Option { return noop() }

// WithAlertSuccess sets the success-rate objective in percent.
func WithAlertSuccess(objective float64) Option { return noop() }

// WithAlertLatency sets the latency threshold and its objective in percent.
func WithAlertLatency(target time.Duration, objective float64) Option { return noop() }

// WithTraceID sets the trace id used for exemplars.
func WithTraceID(tid []byte) Option { return noop() }

// WithSpanID sets the span id used for exemplars.
func WithSpanID(sid []byte) Option { return noop() }

// WithValidHttpCodes sets the status codes counted as success.
func WithValidHttpCodes(ranges []ValidHttpRange) Option { return noop() }

// DecodeString decodes a hex-encoded id; it returns nil on invalid input.
func DecodeString(s string) []byte { return nil }
