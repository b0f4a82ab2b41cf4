package shop

import "context"

// Span shadows nothing but uses the names the action prefers.
func Span(ctx context.Context, span int) (int, error) {
	tracer := span * 2
	return tracer, ctx.Err()
}
