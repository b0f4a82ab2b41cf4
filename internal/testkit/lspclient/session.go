package lspclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// FileURI returns the file:// URI of an absolute path.
func FileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// Initialize sends initialize (with the given capabilities and initializationOptions, either may
// be nil) and initialized, and returns the server's capabilities.
func (c *Client) Initialize(ctx context.Context, rootDir string, capabilities, initOptions any) (json.RawMessage, error) {
	if capabilities == nil {
		capabilities = map[string]any{}
	}
	params := map[string]any{
		"processId":    os.Getpid(),
		"rootUri":      FileURI(rootDir),
		"capabilities": capabilities,
	}
	if initOptions != nil {
		params["initializationOptions"] = initOptions
	}
	var result struct {
		Capabilities json.RawMessage `json:"capabilities"`
	}
	if err := c.Call(ctx, "initialize", params, &result); err != nil {
		return nil, err
	}
	return result.Capabilities, c.Notify("initialized", map[string]any{})
}

// Open sends didOpen for path with text at version 1.
func (c *Client) Open(path, text string) error {
	return c.Notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": FileURI(path), "languageId": "go", "version": 1, "text": text},
	})
}

// Change sends an incremental didChange replacing the range (zero-based line/UTF-16 character)
// with text.
func (c *Client) Change(path string, version int, startLine, startChar, endLine, endChar int, text string) error {
	return c.Notify("textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": FileURI(path), "version": version},
		"contentChanges": []any{map[string]any{
			"range": map[string]any{
				"start": map[string]any{"line": startLine, "character": startChar},
				"end":   map[string]any{"line": endLine, "character": endChar},
			},
			"text": text,
		}},
	})
}

// HangBound is the most a test lets one hover take while a backend or the go command never
// answers. It only catches a hover that waits for what hangs: the tests' hang fixtures never
// answer, and the query timeouts and go command limits those tests set are longer still (60 s,
// the loader's 30 s), so such a hover takes at least that long. It is far above how late a
// hover can be on a busy machine (CI runs several packages' tests at once on two cores, where
// a hover with a 400 ms deadline took over a second while the server decoded a 50 MB body), so
// tests do not assert the hover deadline itself: the bench measures it ("hover while Prometheus
// hangs" in internal/cmd/bench, worst hover against the deadline).
const HangBound = 20 * time.Second

// HoverWithinHangBound is Hover, failing with an error that says so when no answer came within
// HangBound. It returns how long the hover took, for the log.
func (c *Client) HoverWithinHangBound(ctx context.Context, path string, line, character int) (card string, took time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, HangBound)
	defer cancel()
	start := time.Now()
	card, err = c.Hover(ctx, path, line, character)
	took = time.Since(start)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("hover at %s:%d:%d did not answer within %v (it waits for what hangs?): %w", path, line, character, HangBound, err)
	}
	return card, took, err
}

// Hover requests a hover and returns its markdown ("" for a null hover).
func (c *Client) Hover(ctx context.Context, path string, line, character int) (string, error) {
	var result *struct {
		Contents struct {
			Kind  string `json:"kind"`
			Value string `json:"value"`
		} `json:"contents"`
	}
	err := c.Call(ctx, "textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": FileURI(path)},
		"position":     map[string]any{"line": line, "character": character},
	}, &result)
	if err != nil || result == nil {
		return "", err
	}
	return result.Contents.Value, nil
}

// Shutdown sends shutdown then exit.
func (c *Client) Shutdown(ctx context.Context) error {
	if err := c.Call(ctx, "shutdown", nil, nil); err != nil {
		return err
	}
	return c.Notify("exit", nil)
}
