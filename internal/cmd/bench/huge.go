package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// hugeSizes are the generated file sizes the huge-document measure opens.
var hugeSizes = []int{2 << 20, 20 << 20}

// hugeTimeout bounds one huge-document run; a server that needs longer is reported as such.
const hugeTimeout = 3 * time.Minute

// huge measures, for each of hugeSizes, a generated Go file of instrumented functions opened in a
// fresh am-lsp: the time from didOpen to the first non-empty CodeLens answer, the time to a
// hover on the last function, and the peak RSS of the server (and of the server with the
// processes it started). Prometheus is not needed: lenses exist
// (saying why numbers are missing) as soon as the functions are found.
func (b *bench) huge(ctx context.Context) error {
	fmt.Println("huge documents: didOpen of a generated file of instrumented functions (am-lsp only)")
	for _, size := range hugeSizes {
		if err := b.hugeOne(ctx, size); err != nil {
			return err
		}
	}
	fmt.Println()
	return nil
}

func (b *bench) hugeOne(ctx context.Context, size int) error {
	dir, err := os.MkdirTemp("", "am-lsp-bench-huge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file, text, lastLine, err := writeHugeModule(dir, size)
	if err != nil {
		return err
	}
	phase, cancel := context.WithTimeout(ctx, hugeTimeout)
	defer cancel()
	s, err := startServer(phase, b.amlsp, []string{"serve", "--log-level", "error"}, dir)
	if err != nil {
		return err
	}
	defer s.close()
	// A port nothing listens on: the lenses say the backend is unreachable.
	opts := map[string]any{"prometheusUrl": "http://127.0.0.1:9", "cacheTtl": "10m"}
	if _, err := s.client.Initialize(phase, dir, map[string]any{}, opts); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	t0 := time.Now()
	if err := s.client.Open(file, text); err != nil {
		return err
	}
	label := fmt.Sprintf("  %5.1f MB (%d lines)", float64(len(text))/(1<<20), lastLine+1)
	firstLens, err := s.firstLens(phase, file)
	if errors.Is(err, context.DeadlineExceeded) {
		server, total := s.mem.finish()
		fmt.Printf("%s  no CodeLens within %s  peak RSS %7.1f MiB (with the go command %7.1f MiB)\n", label, hugeTimeout, server, total)
		return nil
	} else if err != nil {
		return err
	}
	lensAt := time.Since(t0)
	t1 := time.Now()
	md, err := s.client.Hover(phase, file, lastLine, len("func F"))
	if err != nil {
		return fmt.Errorf("hover: %w", err)
	}
	hoverTook := time.Since(t1)
	if md == "" {
		return fmt.Errorf("no hover on the last function of the %d-byte file", len(text))
	}
	server, total := s.mem.finish()
	fmt.Printf("%s  first CodeLens %9s (%d lenses)  hover on the last function %9s  peak RSS %7.1f MiB (with the go command %7.1f MiB)\n",
		label, lensAt.Round(time.Millisecond), firstLens, hoverTook.Round(time.Millisecond), server, total)
	return nil
}

// firstLens asks for the CodeLenses of file until some come back and returns how many.
func (s *session) firstLens(ctx context.Context, file string) (int, error) {
	params := map[string]any{"textDocument": map[string]any{"uri": fileURIOf(file)}}
	for {
		var lenses []any
		if err := s.client.Call(ctx, "textDocument/codeLens", params, &lenses); err != nil {
			return 0, err
		}
		if len(lenses) > 0 {
			return len(lenses), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func fileURIOf(path string) string { return "file://" + filepath.ToSlash(path) }

// writeHugeModule writes, under dir, a module wired to the autometrics stand-in with one file of
// instrumented functions of about size bytes, and returns the file, its text and the line of the
// last function's declaration.
func writeHugeModule(dir string, size int) (file, text string, lastLine int, err error) {
	standIn := abs("testdata/autometrics-go")
	gomod := fmt.Sprintf("module example.com/huge\n\ngo 1.22\n\nrequire github.com/autometrics-dev/autometrics-go v1.1.0\n\nreplace github.com/autometrics-dev/autometrics-go => %s\n", standIn)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", "", 0, err
	}
	var sb strings.Builder
	sb.WriteString("// Package huge is a generated file of instrumented functions.\npackage huge\n\nimport \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n")
	line := 4
	for i := 0; sb.Len() < size; i++ {
		lastLine = line + 4
		fmt.Fprintf(&sb, `
// F%d is instrumented.
//
//autometrics:inst
func F%d() int {
	amCtx := autometrics.PreInstrument(autometrics.NewContext(
		nil,
		autometrics.WithConcurrentCalls(true),
		autometrics.WithCallerName(true),
	)) //autometrics:shadow-ctx
	defer autometrics.Instrument(amCtx, nil) //autometrics:defer

	return %d
}
`, i, i, i)
		line += 14
	}
	file = filepath.Join(dir, "huge.go")
	return file, sb.String(), lastLine, os.WriteFile(file, []byte(sb.String()), 0o644)
}
