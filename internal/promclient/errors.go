package promclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/am-lsp/am-lsp/internal/plaintext"
)

// ErrorKind says why a fetch failed.
type ErrorKind int

const (
	// Unreachable: no connection (refused, DNS, TLS, reset), or a server certificate that is
	// not trusted.
	Unreachable ErrorKind = iota + 1
	// Timeout: no answer within Config.Timeout, or the server gave up on the query.
	Timeout
	// Unauthorized: the server answered 401 or 403, or the bearer token file cannot be read.
	Unauthorized
	// BadResponse: the server answered 5xx, another unexpected status, a body that is not
	// a Prometheus API answer, or one too large.
	BadResponse
	// QueryError: the server rejected or failed to run the query (bad_data, execution).
	QueryError
)

func (k ErrorKind) String() string {
	switch k {
	case Unreachable:
		return "unreachable"
	case Timeout:
		return "timeout"
	case Unauthorized:
		return "unauthorized"
	case BadResponse:
		return "bad response"
	case QueryError:
		return "query error"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// FetchError is the error of a fetch that the backend failed.
type FetchError struct {
	Kind ErrorKind
	URL  string // the backend's base URL, without credentials
	Err  error
	// Status is the HTTP status code of the backend's answer when it refused or failed the
	// request (401, 403, 404, 502, a 503 timeout…); 0 when no answer came or it was a
	// Prometheus API error of a 2xx, 400 or 422.
	Status int
	// Certificate is why the server's TLS certificate was not trusted (Kind Unreachable), in
	// the words of crypto/x509; nil for any other failure.
	Certificate error
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("prometheus %s: %s: %v", e.URL, e.Kind, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// classify turns an error of the querier into a *FetchError.
func (c *Client) classify(err error) *FetchError {
	fe := &FetchError{URL: c.display, Err: err}
	var se *statusError
	var ce *credentialsError
	var re *redirectError
	var ae *v1.Error
	var ne net.Error
	var ue *url.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &se):
		fe.Kind, fe.Status = Unauthorized, se.Code
		fe.Err = se // the url.Error around it adds nothing
	case errors.As(err, &ce):
		fe.Kind = Unauthorized
		fe.Err = ce
	case errors.As(err, &re):
		fe.Kind = BadResponse
		fe.Err = re
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he):
		fe.Kind = Unreachable
		reason := err
		if cv != nil {
			reason = cv.Err
		}
		fe.Certificate = reason
		fe.Err = fmt.Errorf("TLS: the server's certificate is not trusted (%v): configure the CA file of the authority that signed it, or turn verification off explicitly (insecure)", reason)
	case errors.Is(err, errTooLarge):
		fe.Kind = BadResponse
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		fe.Kind = Timeout
		fe.Err = fmt.Errorf("no answer within %v", c.cfg.Timeout)
	case errors.As(err, &ae):
		fe.Kind, fe.Err = classifyAPIError(ae)
		fe.Status = apiStatus(ae)
	case errors.As(err, &ne) && ne.Timeout():
		fe.Kind = Timeout
	case errors.As(err, &ue):
		fe.Kind = Unreachable
	default:
		fe.Kind = BadResponse
	}
	return fe
}

// classifyAPIError says what kind of failure an API error is. The backend's own words in it are
// cut to maxBackendText characters on one line.
func classifyAPIError(e *v1.Error) (ErrorKind, error) {
	msg := snippet(e.Msg)
	switch e.Type {
	case v1.ErrBadData, v1.ErrExec:
		return QueryError, fmt.Errorf("%s: %s", e.Type, msg)
	case v1.ErrTimeout, v1.ErrCanceled:
		return Timeout, fmt.Errorf("%s: %s", e.Type, msg)
	case v1.ErrServer, v1.ErrClient:
		// Prometheus answers a query timeout with 503 and a JSON body that client_golang
		// does not decode for 5xx statuses.
		var body struct {
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if json.Unmarshal([]byte(e.Detail), &body) == nil && body.ErrorType != "" {
			switch v1.ErrorType(body.ErrorType) {
			case v1.ErrTimeout, v1.ErrCanceled:
				return Timeout, fmt.Errorf("%s: %s", body.ErrorType, snippet(body.Error))
			case v1.ErrBadData, v1.ErrExec:
				return QueryError, fmt.Errorf("%s: %s", body.ErrorType, snippet(body.Error))
			}
			return BadResponse, fmt.Errorf("%s (%s: %s)", msg, body.ErrorType, snippet(body.Error))
		}
		if d := snippet(e.Detail); d != "" {
			return BadResponse, fmt.Errorf("%s: %s", msg, d)
		}
		return BadResponse, errors.New(msg)
	}
	return BadResponse, fmt.Errorf("%s: %s", e.Type, msg)
}

// apiStatus returns the HTTP status of an API error for a 4xx or 5xx answer (client_golang
// names it in the message as "client error: 404" or "server error: 502"), else 0.
func apiStatus(e *v1.Error) int {
	var code int
	switch e.Type {
	case v1.ErrClient:
		if _, err := fmt.Sscanf(e.Msg, "client error: %d", &code); err == nil {
			return code
		}
	case v1.ErrServer:
		if _, err := fmt.Sscanf(e.Msg, "server error: %d", &code); err == nil {
			return code
		}
	}
	return 0
}

// maxBackendText bounds, in characters, each piece of the backend's own text (an error message,
// a body, a warning) that errors and snapshots carry.
const maxBackendText = 400

// snippet returns the start of the backend's text s on one line, as plain text safe to print
// (plaintext.Line): control characters and bidirectional overrides dropped, white space
// collapsed, cut to maxBackendText characters with "…".
func snippet(s string) string { return plaintext.Line(s, maxBackendText) }
