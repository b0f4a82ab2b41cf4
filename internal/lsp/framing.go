package lsp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxMessageBytes bounds one message body; larger ones are skipped and answered with an error.
const maxMessageBytes = 64 << 20

// maxHeaderLine bounds one header line; longer lines are garbage.
const maxHeaderLine = 8 << 10

// errBadFrame wraps framing problems the reader recovered from: the message is lost, the
// stream goes on.
type errBadFrame struct{ reason string }

func (e *errBadFrame) Error() string { return "invalid message frame: " + e.reason }

// frameReader reads LSP base-protocol frames ("Content-Length: N\r\n\r\n" + N bytes). Unlike a
// strict reader it survives garbage: a header block without a usable Content-Length, an
// oversized body or bytes that are no header at all are reported as *errBadFrame, and reading
// resynchronises on the next line that carries a Content-Length header, even one glued to the
// end of garbage.
type frameReader struct {
	r *bufio.Reader
}

func newFrameReader(r io.Reader) *frameReader { return &frameReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next frame's body. Errors other than *errBadFrame end the stream (io.EOF
// at a clean boundary).
func (f *frameReader) next() ([]byte, error) {
	length := -1
	var problem string
	sawHeader := false
	for {
		line, err := f.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (sawHeader || problem != "") {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			if !sawHeader {
				continue // stray blank lines between frames
			}
			break
		}
		if i := indexFold(line, "content-length:"); i > 0 {
			problem = "garbage before a header"
			line = line[i:]
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			problem = fmt.Sprintf("not a header line: %.40q", line)
			sawHeader = false
			continue
		}
		sawHeader = true
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				problem = fmt.Sprintf("bad Content-Length %q", strings.TrimSpace(value))
				length = -1
				continue
			}
			length = n
		}
	}
	if length < 0 {
		if problem == "" {
			problem = "no Content-Length header"
		}
		return nil, &errBadFrame{reason: problem}
	}
	if length > maxMessageBytes {
		if _, err := io.CopyN(io.Discard, f.r, int64(length)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, &errBadFrame{reason: fmt.Sprintf("message of %d bytes exceeds the limit of %d", length, maxMessageBytes)}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(f.r, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return body, nil // garbage before this frame, if any, is lost; the frame itself is fine
}

// readLine reads one header line without its line ending. Overlong lines are consumed and
// returned truncated (they can never be valid headers).
func (f *frameReader) readLine() (string, error) {
	var buf []byte
	for {
		chunk, err := f.r.ReadSlice('\n')
		if len(buf) < maxHeaderLine {
			buf = append(buf, chunk...)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 && errors.Is(err, io.EOF) {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	return string(bytes.TrimRight(buf, "\r\n")), nil
}

// writeFrame writes body with its Content-Length header in one write.
func writeFrame(w io.Writer, body []byte) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// indexFold is strings.Index ignoring ASCII case, with byte offsets into s (strings.ToLower
// would shift them for non-ASCII input).
func indexFold(s, substr string) int {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return i
		}
	}
	return -1
}
