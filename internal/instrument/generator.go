package instrument

import (
	"go/ast"
	"strconv"
	"strings"

	"github.com/am-lsp/am-lsp/internal/analysis"
)

// generatorFlags are the options of the file's //go:generate line that runs the autometrics
// generator, which the actions and diagnostics follow.
type generatorFlags struct {
	// otel: --otel, the statements use the OpenTelemetry backend's import.
	otel bool
	// customLatency: --custom-latency, any positive latency threshold is valid in a directive.
	customLatency bool
	// noDoc: --no-doc, the generator writes no documentation block (as the actions never do).
	noDoc bool
	// instAll: -i / --inst-all, every function is instrumented, directive or not.
	instAll bool
	// rmAll: --rm-all, every go generate removes the statements (and keeps the directives);
	// it wins over instAll.
	rmAll bool
}

// readGeneratorFlags returns the flags of the first //go:generate line of the file that runs
// the autometrics generator (`autometrics …`, `…/autometrics …`, or `go run …/autometrics-go/cmd/autometrics[@v] …`),
// or nil when no line does. Flags take the go-arg forms the generator parses ("--otel",
// "--otel=false", "-i"); environment variables (AM_INSTRUMENT_ALL, …) are not seen.
func readGeneratorFlags(file *ast.File) *generatorFlags {
	for _, g := range file.Comments {
		for _, c := range g.List {
			rest, ok := strings.CutPrefix(c.Text, "//go:generate ")
			if !ok {
				continue
			}
			if args, ok := generatorArgs(strings.Fields(rest)); ok {
				return parseGeneratorArgs(args)
			}
		}
	}
	return nil
}

// generatorArgs returns the arguments of a go:generate command that runs the generator.
func generatorArgs(fields []string) ([]string, bool) {
	if len(fields) == 0 {
		return nil, false
	}
	if fields[0] == "autometrics" || strings.HasSuffix(fields[0], "/autometrics") {
		return fields[1:], true
	}
	if len(fields) > 2 && fields[0] == "go" && fields[1] == "run" {
		for i, f := range fields[2:] {
			if strings.HasPrefix(f, "-") {
				continue // a flag of go run
			}
			pkg, _, _ := strings.Cut(f, "@")
			if strings.HasSuffix(pkg, "autometrics-go/cmd/autometrics") {
				return fields[3+i:], true
			}
			return nil, false
		}
	}
	return nil, false
}

func parseGeneratorArgs(args []string) *generatorFlags {
	g := &generatorFlags{}
	for _, a := range args {
		name, value, hasValue := strings.Cut(a, "=")
		on := true
		if hasValue {
			b, err := strconv.ParseBool(value)
			if err != nil {
				continue
			}
			on = b
		}
		switch name {
		case "--otel":
			g.otel = on
		case "--custom-latency":
			g.customLatency = on
		case "--no-doc":
			g.noDoc = on
		case "-i", "--inst-all":
			g.instAll = on
		case "--rm-all":
			g.rmAll = on
		}
	}
	return g
}

// runsGenerator reports a //go:generate line that runs autometrics.
func (f *file) runsGenerator() bool { return f.gen != nil }

// instrumentsAll reports that the generator instruments every function of the file.
func (f *file) instrumentsAll() bool { return f.gen != nil && f.gen.instAll && !f.gen.rmAll }

// removesAll reports that the generator removes the statements of every function of the file.
func (f *file) removesAll() bool { return f.gen != nil && f.gen.rmAll }

// directiveOptions are the rules directives of this file are checked by.
func (f *file) directiveOptions() analysis.DirectiveOptions {
	return analysis.DirectiveOptions{CustomLatency: f.gen != nil && f.gen.customLatency}
}
