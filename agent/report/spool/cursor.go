package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The cursor file records how far the cloud has acknowledged: every record
// before (segment, offset) was delivered. It is replaced atomically (write a
// temporary file, rename). It is not fsynced: if it is lost or stale after
// a crash, the spool resends from an older position and the cloud, which
// stores each event id once, drops the duplicates.
//
//	0:4   magic "PSC1"
//	4:12  segment id
//	12:20 offset in that segment
//	20:24 CRC-32C of bytes 0:20
const (
	cursorFile  = "cursor"
	cursorMagic = "PSC1"
	cursorLen   = 24
)

type cursor struct {
	seg uint64
	off int64
}

func writeCursor(dir string, c cursor) error {
	var b [cursorLen]byte
	copy(b[0:4], cursorMagic)
	binary.LittleEndian.PutUint64(b[4:12], c.seg)
	binary.LittleEndian.PutUint64(b[12:20], uint64(c.off))
	binary.LittleEndian.PutUint32(b[20:24], crc32.Checksum(b[0:20], castagnoli))
	tmp := filepath.Join(dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o600); err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, cursorFile)); err != nil {
		return fmt.Errorf("replace cursor: %w", err)
	}
	return nil
}

// errNoCursor means the spool has never acknowledged anything.
var errNoCursor = errors.New("no cursor")

func readCursor(dir string) (cursor, error) {
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if errors.Is(err, os.ErrNotExist) {
		return cursor{}, errNoCursor
	}
	if err != nil {
		return cursor{}, fmt.Errorf("read cursor: %w", err)
	}
	if len(b) != cursorLen || string(b[0:4]) != cursorMagic {
		return cursor{}, fmt.Errorf("cursor file is %d bytes, not a cursor", len(b))
	}
	if crc32.Checksum(b[0:20], castagnoli) != binary.LittleEndian.Uint32(b[20:24]) {
		return cursor{}, errors.New("cursor checksum mismatch")
	}
	return cursor{
		seg: binary.LittleEndian.Uint64(b[4:12]),
		off: int64(binary.LittleEndian.Uint64(b[12:20])),
	}, nil
}
