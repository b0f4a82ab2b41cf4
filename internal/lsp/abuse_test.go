package lsp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/am-lsp/am-lsp/internal/testkit/lspclient"
)

// TestProtocolAbuse sends thousands of malformed or out-of-place messages, then checks that
// every request got the spec's error and that the server still serves a hover.
func TestProtocolAbuse(t *testing.T) {
	s := startSession(t, nil, nil)
	c := s.client
	ctx := ctxFor(t, 2*time.Minute)
	rng := rand.New(rand.NewSource(1))

	// Before initialize: requests get -32002, notifications are dropped.
	for i := 0; i < 50; i++ {
		err := c.Call(ctx, "textDocument/hover", map[string]any{}, nil)
		if code := rpcCode(t, err); code != -32002 {
			t.Fatalf("request before initialize: code %d", code)
		}
		_ = c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": "file:///x.go", "text": "package x"}})
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/abuse\n\ngo 1.26\n")
	file := filepath.Join(dir, "a.go")
	src := "package abuse\n\nimport am \"github.com/autometrics-dev/autometrics-go/prometheus/autometrics\"\n\n//autometrics:inst\nfunc Work() {\n\tdefer am.Instrument(am.PreInstrument(am.NewContext(nil)), nil) //autometrics:defer\n}\n"
	writeFile(t, file, src)
	if _, err := c.Initialize(ctx, dir, nil, map[string]any{"prometheusUrl": closedPortURL}); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(file, src); err != nil {
		t.Fatal(err)
	}

	// Framing garbage and invalid bodies, written raw.
	garbage := [][]byte{
		[]byte("Content-Length: abc\r\n\r\n{}"),
		[]byte("Content-Type: text/plain\r\n\r\n"),
		[]byte("this is not a header at all\r\n\r\n"),
		[]byte("Content-Length: 5\r\n\r\n{nope"),
		[]byte("Content-Length: 2\r\n\r\n42"),
		[]byte("Content-Length: 2\r\n\r\n{}"),
		[]byte("Content-Length: 12\r\n\r\n{\"id\":true}"),
	}
	rawWrites := 0
	for i := 0; i < 1000; i++ {
		var frame []byte
		switch i % 3 {
		case 0:
			frame = garbage[rng.Intn(len(garbage))]
		case 1:
			junk := make([]byte, rng.Intn(200))
			rng.Read(junk)
			frame = append([]byte(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(junk))), junk...)
		default:
			frame = []byte(fmt.Sprintf("Content-Length: %d\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":", 40, i))
			frame = append(frame, bytes.Repeat([]byte(" "), 40-len(`{"jsonrpc":"2.0","id":`)-len(fmt.Sprint(i))-len(`,"method":`))...)
		}
		if _, err := s.conn.Write(frame); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		rawWrites++
	}

	// Well-framed but wrong: bad params, unknown methods, out-of-range positions, unknown URIs,
	// changes to unopened files, old versions, a huge document.
	for i := 0; i < 1000; i++ {
		switch i % 8 {
		case 0:
			err := c.Call(ctx, "textDocument/hover", map[string]any{"textDocument": 7, "position": "x"}, nil)
			if code := rpcCode(t, err); code != -32602 {
				t.Fatalf("bad params: code %d", code)
			}
		case 1:
			if code := rpcCode(t, c.Call(ctx, fmt.Sprintf("textDocument/nope%d", i), nil, nil)); code != -32601 {
				t.Fatalf("unknown method: code %d", code)
			}
		case 2:
			md, err := c.Hover(ctx, file, 10000+i, 5)
			if err != nil || md != "" {
				t.Fatalf("hover out of range: %q %v", md, err)
			}
		case 3:
			md, err := c.Hover(ctx, filepath.Join(dir, "unknown.go"), 0, 0)
			if err != nil || md != "" {
				t.Fatalf("hover on an unknown URI: %q %v", md, err)
			}
		case 4:
			_ = c.Change(filepath.Join(dir, "never-opened.go"), i, 0, 0, 0, 0, "x")
		case 5:
			_ = c.Change(file, 1, 0, 0, 0, 0, "// same version as open\n")
			_ = c.Change(file, -5, 0, 0, 0, 0, "// out of order\n")
		case 6:
			_ = c.Notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(file), "version": 3}, "contentChanges": "nope"})
		case 7:
			_ = c.Notify("$/cancelRequest", map[string]any{"id": map[string]any{"weird": true}})
		}
	}
	huge := filepath.Join(dir, "huge.go")
	if err := c.Open(huge, "package abuse\n\n"+strings.Repeat("// filler line of a huge document\n", 300000)); err != nil {
		t.Fatal(err)
	}

	// The session still works: a hover on the instrumented function names its series.
	var md string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		md, err = c.Hover(ctx, file, 5, 6)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(md, `function="Work", module="example.com/abuse"`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(md, `function="Work", module="example.com/abuse"`) {
		t.Fatalf("hover after the abuse (document text may have been corrupted):\n%s", md)
	}
	orphans := c.Orphans()
	if len(orphans) < rawWrites/2 {
		t.Errorf("only %d error responses to %d malformed frames", len(orphans), rawWrites)
	}
	for _, o := range orphans {
		if o.Error == nil || (o.Error.Code != -32700 && o.Error.Code != -32600) {
			t.Fatalf("malformed frame answered with %+v, want -32700 or -32600", o)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-s.code; code != 0 {
		t.Errorf("exit code %d after shutdown", code)
	}
	s.code <- 0
}

// TestNoGoroutineLeakAfterOpenCloseCycles opens and closes many documents and checks the
// server's goroutines return to their level before.
func TestNoGoroutineLeakAfterOpenCloseCycles(t *testing.T) {
	s := startInitialized(t, closedPortURL, nil)
	ctx := ctxFor(t, 2*time.Minute)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/cycles\n\ngo 1.26\n")
	settle := func() int {
		n := 0
		for i := 0; i < 100; i++ {
			time.Sleep(100 * time.Millisecond)
			m := runtime.NumGoroutine()
			if i > 10 && m == n {
				return m
			}
			n = m
		}
		return n
	}
	if _, err := s.client.Hover(ctx, filepath.Join(dir, "none.go"), 0, 0); err != nil {
		t.Fatal(err)
	}
	before := settle()
	for i := 0; i < 60; i++ {
		f := filepath.Join(dir, fmt.Sprintf("f%d.go", i%20))
		src := fmt.Sprintf("package cycles\n\n//autometrics:inst\nfunc F%d() {}\n", i)
		if err := s.client.Open(f, src); err != nil {
			t.Fatal(err)
		}
		if _, err := s.client.Hover(ctx, f, 3, 6); err != nil {
			t.Fatal(err)
		}
		if err := s.client.Notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": lspclient.FileURI(f)}}); err != nil {
			t.Fatal(err)
		}
	}
	after := settle()
	if after > before+5 {
		t.Errorf("goroutines: %d before, %d after 60 open/hover/close cycles", before, after)
	}
	t.Logf("goroutines: %d before, %d after", before, after)
}

// FuzzServerStream feeds arbitrary bytes to a server as its whole input: it must neither panic
// nor hang. Run longer with: go test -run '^$' -fuzz FuzzServerStream -fuzztime 5m ./internal/lsp/
func FuzzServerStream(f *testing.F) {
	f.Add([]byte("Content-Length: 2\r\n\r\n{}"))
	f.Add([]byte("Content-Length: 58\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"))
	f.Add([]byte("Content-Length: 999999999999\r\n\r\n"))
	f.Add([]byte("garbage\r\n\r\nContent-Length: 2\r\n\r\n[]"))
	f.Add([]byte("Content-Length: 45\r\n\r\n[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}]"))
	f.Fuzz(func(t *testing.T, input []byte) {
		clientEnd, serverEnd := net.Pipe()
		srv := New(Options{Getenv: func(string) string { return "" }})
		done := make(chan int, 1)
		go func() { done <- srv.Serve(context.Background(), serverEnd) }()
		go io.Copy(io.Discard, clientEnd)
		_, _ = clientEnd.Write(input)
		clientEnd.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop after its input ended")
		}
	})
}

// FuzzFrameReader checks the framing reader on arbitrary bytes: it never panics, and a valid
// frame appended after any garbage is still delivered.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("Content-Length: 3\r\n\r\nabc"))
	f.Add([]byte("xx Content-Length: 3\r\n\r\n"))
	f.Add([]byte("\r\n\r\n\r\n"))
	f.Fuzz(func(t *testing.T, garbage []byte) {
		const want = `{"jsonrpc":"2.0","method":"x"}`
		input := append(append([]byte{}, garbage...), []byte(fmt.Sprintf("\r\n\r\nContent-Length: %d\r\n\r\n%s", len(want), want))...)
		r := newFrameReader(bytes.NewReader(input))
		for i := 0; i < 10000; i++ {
			body, err := r.next()
			if err == nil && string(body) == want {
				return
			}
			if err != nil {
				if _, bad := err.(*errBadFrame); !bad {
					// A Content-Length in the garbage may legitimately swallow the valid frame.
					if strings.Contains(strings.ToLower(string(garbage)), "content-length") {
						return
					}
					t.Fatalf("stream ended (%v) before the valid frame after %q", err, garbage)
				}
			}
		}
		t.Fatal("frame reader loops")
	})
}
