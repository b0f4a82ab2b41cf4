package lsp

// This file is the only place that touches go.lsp.dev/jsonrpc2: framing, payload codec,
// ordering, cancellation, panic recovery and error codes. Handlers elsewhere in the package are
// plain functions from decoded params to results.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"runtime/trace"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"

	"github.com/am-lsp/am-lsp/internal/analysis"
	"go.lsp.dev/protocol"
)

// LSP error codes that jsonrpc2 does not name.
const (
	codeRequestCancelled jsonrpc2.Code = -32800
)

// method describes how one LSP method is served.
type method struct {
	// call decodes params and runs the handler. It returns the result for requests.
	call func(ctx context.Context, s *Server, params jsonrpc2.RawMessage) (any, error)
	// ordered methods run on the read loop, in wire order, before any later message is read:
	// text synchronisation and lifecycle notifications. Everything else runs concurrently.
	ordered bool
	// beforeInit methods are accepted before initialize (the spec allows only these).
	beforeInit bool
}

// handle adapts a typed handler to a method entry: params are decoded with the protocol's
// union-aware decoder and a decoding failure becomes InvalidParams.
func handle[P any, R any](fn func(ctx context.Context, s *Server, p *P) (R, error)) func(context.Context, *Server, jsonrpc2.RawMessage) (any, error) {
	return func(ctx context.Context, s *Server, raw jsonrpc2.RawMessage) (any, error) {
		p := new(P)
		if len(raw) > 0 && string(raw) != "null" {
			if err := protocol.Unmarshal(raw, p); err != nil {
				return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
			}
		}
		return fn(ctx, s, p)
	}
}

// lspCodec marshals results with the protocol package's union-aware encoder.
type lspCodec struct{}

func (lspCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		return m, nil
	case json.RawMessage:
		return m, nil
	}
	return protocol.Marshal(v)
}

func (lspCodec) Unmarshal(data []byte, v any) error { return protocol.Unmarshal(data, v) }

// connection runs one JSON-RPC session for a Server.
type connection struct {
	srv  *Server
	conn jsonrpc2.Conn
	log  *slog.Logger

	mu       sync.Mutex
	inflight map[jsonrpc2.ID]context.CancelFunc // requests being handled, for $/cancelRequest
}

// serveStream runs the server over rwc until the client sends exit or closes the stream. It
// returns the process exit code the LSP spec asks for: 0 after shutdown, 1 otherwise.
func serveStream(ctx context.Context, srv *Server, rwc io.ReadWriteCloser) int {
	stream := &tolerantStream{frames: newFrameReader(rwc), w: rwc, closer: rwc, log: srv.log}
	c := &connection{srv: srv, log: srv.log, inflight: map[jsonrpc2.ID]context.CancelFunc{}}
	c.conn = jsonrpc2.NewConn(stream, jsonrpc2.WithCodec(lspCodec{}), jsonrpc2.WithPreempter(c))
	srv.client = &clientConn{conn: c.conn}
	c.conn.Go(ctx, c.dispatch)
	select {
	case <-srv.exited:
	case <-c.conn.Done():
	case <-ctx.Done():
	}
	closed := make(chan struct{})
	go func() { _ = c.conn.Close(); close(closed) }()
	select {
	case <-closed:
	case <-srv.closeGrace():
	}
	if err := c.conn.Err(); err != nil && !errors.Is(err, io.EOF) {
		srv.log.Info("connection ended", "err", err)
	}
	return srv.exitCode()
}

// Preempt handles $/cancelRequest on the read loop, ahead of the request it cancels. Both
// numeric ids (VS Code) and string ids are honoured.
func (c *connection) Preempt(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	if req.Method() != "$/cancelRequest" {
		return nil, jsonrpc2.ErrNotHandled
	}
	var p struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(req.Params(), &p); err == nil {
		if id, ok := parseID(p.ID); ok {
			c.mu.Lock()
			cancel := c.inflight[id]
			c.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
	}
	return struct{}{}, nil
}

func parseID(raw json.RawMessage) (jsonrpc2.ID, bool) {
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return jsonrpc2.NewNumberID(n), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return jsonrpc2.NewStringID(s), true
	}
	return jsonrpc2.ID{}, false
}

// dispatch routes one message. It never lets a panic escape (the connection would fail) and
// never returns an error for a notification (jsonrpc2 would close the connection).
func (c *connection) dispatch(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
	name := req.Method()
	isCall := req.IsCall()
	m, known := methods[name]
	if !known {
		if isCall {
			return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %s", name)
		}
		return nil, nil // unknown notifications, including $/ ones, are ignored as the spec says
	}
	if isCall {
		analysis.Answering() // background type checks pause while the editor waits for answers
	}
	if rejection := c.srv.admit(name, m.beforeInit); rejection != nil {
		if isCall {
			return nil, rejection
		}
		return nil, nil
	}
	// The request context jsonrpc2 passes is pooled and recycled when the handler returns; a
	// context derived from it can outlive it (context's propagation goroutine), so handlers get a
	// context of their own, derived from the connection's, cancelled by $/cancelRequest.
	if !m.ordered {
		jsonrpc2.Async(ctx) // clones req in place: read its id and params only after this
	}
	var id jsonrpc2.ID
	if isCall {
		id = req.ID()
	}
	params := req.Params()
	hctx, cancel := context.WithCancel(jsonrpc2.DetachContext(ctx))
	defer cancel()
	if trace.IsEnabled() { // serve --trace: one task per message, named by its method
		var task *trace.Task
		hctx, task = trace.NewTask(hctx, name)
		defer task.End()
	}
	if isCall {
		c.mu.Lock()
		c.inflight[id] = cancel
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.inflight, id)
			c.mu.Unlock()
		}()
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", "method", name, "panic", r, "stack", string(debug.Stack()))
			result = nil
			err = jsonrpc2.Errorf(jsonrpc2.InternalError, "am-lsp: internal error in %s: %v", name, r)
		}
		if !isCall {
			if err != nil {
				c.log.Warn("notification failed", "method", name, "err", err)
			}
			result, err = nil, nil
		}
	}()
	result, err = m.call(hctx, c.srv, params)
	if isCall && errors.Is(hctx.Err(), context.Canceled) {
		return nil, jsonrpc2.NewError(codeRequestCancelled, "request cancelled")
	}
	return result, err
}

// clientConn sends server→client messages. Calls must never be made from an ordered handler
// (the read loop would wait for its own response).
type clientConn struct{ conn jsonrpc2.Conn }

func (c *clientConn) notify(ctx context.Context, method string, params any) error {
	return c.conn.Notify(ctx, method, params)
}

func (c *clientConn) call(ctx context.Context, method string, params, result any) error {
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

// tolerantStream is the connection's jsonrpc2.Stream: LSP header framing that survives bad
// input. Frames that are not valid JSON-RPC, and framing garbage, are answered with an error
// response (id null) instead of ending the connection; reading then goes on.
type tolerantStream struct {
	frames *frameReader
	w      io.Writer
	closer io.Closer
	log    *slog.Logger
	wmu    sync.Mutex
}

// ReadFrame returns the next usable frame body.
func (s *tolerantStream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		frame, err := s.frames.next()
		var bad *errBadFrame
		if errors.As(err, &bad) {
			s.reject(ctx, jsonrpc2.NewError(jsonrpc2.ParseError, "parse error: "+bad.Error()))
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if rejection := checkFrame(frame); rejection != nil {
			s.reject(ctx, rejection)
			continue
		}
		return frame, int64(len(frame)), nil
	}
}

func (s *tolerantStream) reject(ctx context.Context, e *jsonrpc2.Error) {
	s.log.Warn("rejected malformed message", "err", e.Message)
	_, _ = s.WriteFrame(ctx, jsonrpc2.AppendResponse(nil, jsonrpc2.ID{}, nil, e))
}

// checkFrame returns the error to answer for a frame that is not a usable JSON-RPC message.
func checkFrame(frame []byte) *jsonrpc2.Error {
	if !json.Valid(frame) {
		return jsonrpc2.NewError(jsonrpc2.ParseError, "parse error: the message is not valid JSON")
	}
	trimmed := strings.TrimSpace(string(frame))
	if strings.HasPrefix(trimmed, "[") {
		return nil // batches are checked member by member by jsonrpc2
	}
	if _, err := jsonrpc2.DecodeMessage(frame); err != nil {
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, fmt.Sprintf("invalid request: %v", err))
	}
	return nil
}

// WriteFrame writes one frame; writes from concurrent handlers never interleave.
func (s *tolerantStream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return writeFrame(s.w, data)
}

func (s *tolerantStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	frame, n, err := s.ReadFrame(ctx)
	if err != nil {
		return nil, n, err
	}
	msg, err := jsonrpc2.DecodeMessage(frame)
	return msg, n, err
}

func (s *tolerantStream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	return s.WriteFrame(ctx, jsonrpc2.AppendMessage(nil, msg))
}

func (s *tolerantStream) Close() error { return s.closer.Close() }
