// Package many has fifty traced functions: the benchmark and the query-count test open it.
package many

import (
	"context"

	"go.opentelemetry.io/otel"
)

var tracer = otel.Tracer("example.com/otelapp/many")

// F00 is traced.
func F00(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F00")
	defer span.End()
}

// F01 is traced.
func F01(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F01")
	defer span.End()
}

// F02 is traced.
func F02(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F02")
	defer span.End()
}

// F03 is traced.
func F03(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F03")
	defer span.End()
}

// F04 is traced.
func F04(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F04")
	defer span.End()
}

// F05 is traced.
func F05(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F05")
	defer span.End()
}

// F06 is traced.
func F06(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F06")
	defer span.End()
}

// F07 is traced.
func F07(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F07")
	defer span.End()
}

// F08 is traced.
func F08(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F08")
	defer span.End()
}

// F09 is traced.
func F09(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F09")
	defer span.End()
}

// F10 is traced.
func F10(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F10")
	defer span.End()
}

// F11 is traced.
func F11(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F11")
	defer span.End()
}

// F12 is traced.
func F12(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F12")
	defer span.End()
}

// F13 is traced.
func F13(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F13")
	defer span.End()
}

// F14 is traced.
func F14(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F14")
	defer span.End()
}

// F15 is traced.
func F15(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F15")
	defer span.End()
}

// F16 is traced.
func F16(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F16")
	defer span.End()
}

// F17 is traced.
func F17(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F17")
	defer span.End()
}

// F18 is traced.
func F18(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F18")
	defer span.End()
}

// F19 is traced.
func F19(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F19")
	defer span.End()
}

// F20 is traced.
func F20(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F20")
	defer span.End()
}

// F21 is traced.
func F21(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F21")
	defer span.End()
}

// F22 is traced.
func F22(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F22")
	defer span.End()
}

// F23 is traced.
func F23(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F23")
	defer span.End()
}

// F24 is traced.
func F24(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F24")
	defer span.End()
}

// F25 is traced.
func F25(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F25")
	defer span.End()
}

// F26 is traced.
func F26(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F26")
	defer span.End()
}

// F27 is traced.
func F27(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F27")
	defer span.End()
}

// F28 is traced.
func F28(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F28")
	defer span.End()
}

// F29 is traced.
func F29(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F29")
	defer span.End()
}

// F30 is traced.
func F30(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F30")
	defer span.End()
}

// F31 is traced.
func F31(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F31")
	defer span.End()
}

// F32 is traced.
func F32(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F32")
	defer span.End()
}

// F33 is traced.
func F33(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F33")
	defer span.End()
}

// F34 is traced.
func F34(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F34")
	defer span.End()
}

// F35 is traced.
func F35(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F35")
	defer span.End()
}

// F36 is traced.
func F36(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F36")
	defer span.End()
}

// F37 is traced.
func F37(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F37")
	defer span.End()
}

// F38 is traced.
func F38(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F38")
	defer span.End()
}

// F39 is traced.
func F39(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F39")
	defer span.End()
}

// F40 is traced.
func F40(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F40")
	defer span.End()
}

// F41 is traced.
func F41(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F41")
	defer span.End()
}

// F42 is traced.
func F42(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F42")
	defer span.End()
}

// F43 is traced.
func F43(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F43")
	defer span.End()
}

// F44 is traced.
func F44(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F44")
	defer span.End()
}

// F45 is traced.
func F45(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F45")
	defer span.End()
}

// F46 is traced.
func F46(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F46")
	defer span.End()
}

// F47 is traced.
func F47(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F47")
	defer span.End()
}

// F48 is traced.
func F48(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F48")
	defer span.End()
}

// F49 is traced.
func F49(ctx context.Context) {
	_, span := tracer.Start(ctx, "many.F49")
	defer span.End()
}
