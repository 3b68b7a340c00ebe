package h1

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 4096

// ChunkedReader decodes a chunked body (RFC 9112 §7.1) strictly: hex size
// without sign or spaces, extensions of token characters, CRLF after every
// line and every chunk's data. Trailer fields are parsed like header fields
// and kept for the writer.
type ChunkedReader struct {
	br        *bufio.Reader
	left      int64 // bytes left in the current chunk
	needCRLF  bool  // after a chunk's data
	done      bool
	err       error
	maxFields int
	// Trailers holds the trailer section after EOF.
	Trailers []Header
}

// NewChunkedReader reads the chunked body that follows a head on br.
func NewChunkedReader(br *bufio.Reader, maxTrailers int) *ChunkedReader {
	return &ChunkedReader{br: br, maxFields: maxTrailers}
}

func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if c.needCRLF {
			if err := c.expectCRLF(); err != nil {
				c.err = err
				return 0, err
			}
			c.needCRLF = false
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 {
		c.needCRLF = true
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *ChunkedReader) expectCRLF() error {
	b1, err := c.br.ReadByte()
	if err != nil {
		return eofIsUnexpected(err)
	}
	b2, err := c.br.ReadByte()
	if err != nil {
		return eofIsUnexpected(err)
	}
	if b1 != '\r' || b2 != '\n' {
		return fail(400, ReasonChunked)
	}
	return nil
}

func (c *ChunkedReader) nextChunk() error {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > maxChunkLine {
		return fail(400, ReasonChunked)
	}
	if err != nil {
		return eofIsUnexpected(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return fail(400, ReasonBareLF)
	}
	line = line[:len(line)-2]
	size := line
	for i, b := range line {
		if b == ';' {
			size = line[:i]
			if !validExtensions(line[i:]) {
				return fail(400, ReasonChunked)
			}
			break
		}
	}
	if len(size) == 0 || len(size) > 15 {
		return fail(400, ReasonChunked)
	}
	var n int64
	for _, b := range size {
		var d byte
		switch {
		case b >= '0' && b <= '9':
			d = b - '0'
		case b >= 'a' && b <= 'f':
			d = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			d = b - 'A' + 10
		default:
			return fail(400, ReasonChunked)
		}
		n = n<<4 | int64(d)
	}
	if n > 0 {
		c.left = n
		return nil
	}
	// Last chunk: trailer section, then the empty line.
	buf, err := readHead(c.br, maxChunkLine*4, nil, false)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			return fail(400, ReasonChunked)
		}
		return eofIsUnexpected(err)
	}
	fields, err := parseFields(string(buf), c.maxFields, nil)
	if err != nil {
		return err
	}
	c.Trailers = fields
	c.done = true
	return nil
}

// validExtensions checks `*( ";" token [ "=" ( token / quoted-string ) ] )`
// loosely but without control characters or unquoted separators.
func validExtensions(ext []byte) bool {
	inQuote := false
	for _, b := range ext {
		switch {
		case inQuote:
			if b == '"' {
				inQuote = false
			} else if b < ' ' && b != '\t' || b == 0x7f {
				return false
			}
		case b == '"':
			inQuote = true
		case b == ';' || b == '=' || b == ' ' || b == '\t' || tchar[b]:
		default:
			return false
		}
	}
	return !inQuote
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendChunk appends one chunk of data in chunked framing.
func AppendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = strconv.AppendInt(dst, int64(len(data)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// AppendLastChunk appends the last chunk and the trailer section.
func AppendLastChunk(dst []byte, trailers []Header) []byte {
	dst = append(dst, "0\r\n"...)
	for _, h := range trailers {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '\r', '\n')
}
