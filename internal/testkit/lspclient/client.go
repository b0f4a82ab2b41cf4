// Package lspclient is a minimal Language Server Protocol client speaking Content-Length framed
// JSON-RPC over any byte stream. am-lsp's tests, demo and benchmarks drive the server with it,
// in process or as a child process over stdio. It sends raw JSON so tests can also send what a
// well-behaved client never would (string ids, malformed frames).
package lspclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Message is any incoming JSON-RPC message.
type Message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *RPCError       `json:"error,omitempty"`
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("jsonrpc error %d: %s", e.Code, e.Message) }

// RequestHandler answers a server→client request (workspace/configuration, …). Returning an
// error sends an error response.
type RequestHandler func(method string, params json.RawMessage) (any, error)

// Client is one connection. It is safe for concurrent use.
type Client struct {
	w      io.Writer
	wmu    sync.Mutex
	nextID atomic.Int64

	mu        sync.Mutex
	pending   map[string]chan Message // by raw id text
	notes     []Message               // server→client notifications, in arrival order
	noteAdded chan struct{}
	orphans   []Message // responses nobody waited for (e.g. to malformed frames)
	handler   RequestHandler
	done      chan struct{}
	readErr   error
}

// New starts a client reading from r and writing to w. handler may be nil (requests from the
// server then get a null result).
func New(r io.Reader, w io.Writer, handler RequestHandler) *Client {
	c := &Client{w: w, pending: map[string]chan Message{}, noteAdded: make(chan struct{}), handler: handler, done: make(chan struct{})}
	go c.readLoop(bufio.NewReader(r))
	return c
}

// Done is closed when the server side of the stream has closed.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) readLoop(r *bufio.Reader) {
	defer close(c.done)
	tp := textproto.NewReader(r)
	for {
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			c.fail(err)
			return
		}
		n, err := strconv.Atoi(hdr.Get("Content-Length"))
		if err != nil || n < 0 {
			c.fail(fmt.Errorf("bad Content-Length %q", hdr.Get("Content-Length")))
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			c.fail(err)
			return
		}
		var m Message
		if err := json.Unmarshal(body, &m); err != nil {
			c.fail(fmt.Errorf("server sent invalid JSON: %v", err))
			return
		}
		c.route(m)
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(err, io.EOF) {
		err = io.EOF
	}
	c.readErr = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

func (c *Client) route(m Message) {
	switch {
	case m.Method != "" && len(m.ID) > 0: // server→client request
		go c.answer(m)
	case m.Method != "": // notification
		c.mu.Lock()
		c.notes = append(c.notes, m)
		close(c.noteAdded)
		c.noteAdded = make(chan struct{})
		c.mu.Unlock()
	default: // response
		key := string(m.ID)
		c.mu.Lock()
		ch, ok := c.pending[key]
		delete(c.pending, key)
		if !ok {
			c.orphans = append(c.orphans, m)
		}
		c.mu.Unlock()
		if ok {
			ch <- m
		}
	}
}

func (c *Client) answer(m Message) {
	var result any
	var rerr error
	if c.handler != nil {
		result, rerr = c.handler(m.Method, m.Params)
	}
	resp := map[string]any{"jsonrpc": "2.0", "id": m.ID}
	if rerr != nil {
		resp["error"] = map[string]any{"code": -32603, "message": rerr.Error()}
	} else {
		resp["result"] = result
	}
	body, _ := json.Marshal(resp)
	_ = c.WriteFrame(body)
}

// WriteFrame sends body with a Content-Length header, whatever it contains.
func (c *Client) WriteFrame(body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n", len(body)); err != nil {
		return err
	}
	_, err := c.w.Write(body)
	return err
}

// Notify sends a notification.
func (c *Client) Notify(method string, params any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return err
	}
	return c.WriteFrame(body)
}

// Call sends a request with the next numeric id and waits for its response; result (may be nil)
// receives the decoded result. A JSON-RPC error response is returned as *RPCError.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	id := c.nextID.Add(1)
	return c.CallWithID(ctx, id, method, params, result)
}

// NextID reserves a numeric id, for requests the caller wants to cancel.
func (c *Client) NextID() int64 { return c.nextID.Add(1) }

// CallWithID is Call with an explicit id (a number or a string).
func (c *Client) CallWithID(ctx context.Context, id any, method string, params, result any) error {
	rawID, err := json.Marshal(id)
	if err != nil {
		return err
	}
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.readErr != nil {
		err := c.readErr
		c.mu.Unlock()
		return fmt.Errorf("connection closed: %w", err)
	}
	c.pending[string(rawID)] = ch
	c.mu.Unlock()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(rawID), "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := c.WriteFrame(body); err != nil {
		return err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("connection closed before the response to %s", method)
		}
		if m.Error != nil {
			return m.Error
		}
		if result != nil && len(m.Result) > 0 {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, string(rawID))
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Cancel sends $/cancelRequest for id (a number or a string).
func (c *Client) Cancel(id any) error {
	return c.Notify("$/cancelRequest", map[string]any{"id": id})
}

// Notifications returns the server→client notifications received so far with the given method.
func (c *Client) Notifications(method string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Message
	for _, m := range c.notes {
		if m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

// WaitNotification waits for a notification with method whose params contain substr.
func (c *Client) WaitNotification(ctx context.Context, method, substr string) (Message, error) {
	for {
		c.mu.Lock()
		for _, m := range c.notes {
			if m.Method == method && strings.Contains(string(m.Params), substr) {
				c.mu.Unlock()
				return m, nil
			}
		}
		added := c.noteAdded
		c.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("no %s notification containing %q: %w", method, substr, ctx.Err())
		}
	}
}

// Orphans returns responses that matched no request, such as errors for malformed frames.
func (c *Client) Orphans() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.orphans...)
}
