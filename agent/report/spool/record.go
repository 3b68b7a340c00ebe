package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// On-disk record layout (little endian):
//
//	0:4   magic "PSR1"
//	4:8   payload length
//	8:12  CRC-32C of bytes 4:8, 12:20 and the payload
//	12:20 append time, Unix nanoseconds
//	20:   payload
//
// The magic lets a reader find the next record after a damaged one; the CRC
// covers the length so that a flipped length bit is caught instead of
// sending the reader off into the middle of another record.
const (
	headerLen = 20
	magic     = "PSR1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord appends one framed record to dst.
func encodeRecord(dst []byte, at time.Time, payload []byte) []byte {
	var h [headerLen]byte
	copy(h[0:4], magic)
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[12:20], uint64(at.UnixNano()))
	crc := crc32.Update(0, castagnoli, h[4:8])
	crc = crc32.Update(crc, castagnoli, h[12:20])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h[8:12], crc)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// errCorrupt marks a record that is present but damaged (as opposed to a
// record cut short by the end of the data).
var errCorrupt = errors.New("corrupt record")

// decodeRecord reads the record at the start of b. It returns the payload
// (aliasing b), the append time and the record's full length. It returns
// io.ErrUnexpectedEOF when b ends before the record does, and an error
// wrapping errCorrupt when the record is damaged.
func decodeRecord(b []byte, maxPayload int) (payload []byte, at time.Time, n int, err error) {
	if len(b) < headerLen {
		return nil, time.Time{}, 0, io.ErrUnexpectedEOF
	}
	if string(b[0:4]) != magic {
		return nil, time.Time{}, 0, fmt.Errorf("%w: bad magic %q", errCorrupt, b[0:4])
	}
	size := binary.LittleEndian.Uint32(b[4:8])
	if int64(size) > int64(maxPayload) {
		return nil, time.Time{}, 0, fmt.Errorf("%w: length %d over limit %d", errCorrupt, size, maxPayload)
	}
	n = headerLen + int(size)
	if len(b) < n {
		return nil, time.Time{}, 0, io.ErrUnexpectedEOF
	}
	crc := crc32.Update(0, castagnoli, b[4:8])
	crc = crc32.Update(crc, castagnoli, b[12:20])
	crc = crc32.Update(crc, castagnoli, b[headerLen:n])
	if want := binary.LittleEndian.Uint32(b[8:12]); crc != want {
		return nil, time.Time{}, 0, fmt.Errorf("%w: checksum %08x, header says %08x", errCorrupt, crc, want)
	}
	at = time.Unix(0, int64(binary.LittleEndian.Uint64(b[12:20])))
	return b[headerLen:n], at, n, nil
}

// recordPos is where one valid record sits in a segment file.
type recordPos struct {
	off int64
	len int64
	at  time.Time
}

// scanResult describes what a segment file holds.
type scanResult struct {
	records []recordPos
	// validEnd is the end of the last record of the unbroken valid prefix.
	validEnd int64
	// size is the file size.
	size int64
	// damageOff is the offset of the first damaged byte, or -1.
	damageOff int64
	// damage describes the first damage found.
	damage error
	// tornTail is true when the only damage is a record cut short by the end
	// of the file: the trace of a write interrupted by a crash.
	tornTail bool
}

func (r *scanResult) clean() bool { return r.damageOff < 0 }

// scanSegment reads a whole segment file and finds every valid record. After
// a damaged record it looks for the next magic whose record checks out, so
// that one bad sector costs the records it hit and not the whole segment.
func scanSegment(path string, maxPayload int) (*scanResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read segment: %w", err)
	}
	res := &scanResult{size: int64(len(data)), damageOff: -1}
	off := 0
	inPrefix := true
	for off < len(data) {
		_, at, n, err := decodeRecord(data[off:], maxPayload)
		if err == nil {
			res.records = append(res.records, recordPos{off: int64(off), len: int64(n), at: at})
			off += n
			if inPrefix {
				res.validEnd = int64(off)
			}
			continue
		}
		if inPrefix {
			inPrefix = false
			res.damageOff = int64(off)
			res.damage = err
			res.tornTail = errors.Is(err, io.ErrUnexpectedEOF)
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			// Damage after the first damage: the tail is not merely torn.
			res.tornTail = false
		}
		next := bytes.Index(data[off+1:], []byte(magic))
		if next < 0 {
			break
		}
		res.tornTail = false // there is more data after the damaged record
		off += 1 + next
	}
	return res, nil
}
