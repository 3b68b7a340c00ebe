package spool

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzOpenDamaged damages spool files in arbitrary ways (byte flips at
// fuzzer-chosen places, a cut-off tail) and checks that opening and
// draining the spool never fails, and delivers only records that were
// appended, in order, never garbage.
func FuzzOpenDamaged(f *testing.F) {
	f.Add([]byte{0, 0, 0xff}, uint16(0))
	f.Add([]byte{0, 4, 0x01, 0x10, 0x00, 0x80}, uint16(7))
	f.Add([]byte{0x01, 0x00, 0x50}, uint16(3000))
	f.Fuzz(func(t *testing.T, flips []byte, cut uint16) {
		dir := t.TempDir()
		opts := Options{MaxBytes: 64 << 10, SegmentBytes: 2 << 10, MaxQuarantined: 3, Logger: discardLogger()}
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		const n = 120
		for i := range n {
			if err := s.Append(payload(i)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		segs := segments(t, dir)
		// Each flip is 3 bytes: a 16-bit position over all segments laid end
		// to end, and a value to XOR in.
		for ; len(flips) >= 3; flips = flips[3:] {
			pos := int(binary.LittleEndian.Uint16(flips[0:2]))
			damageAt(t, segs, pos, flips[2])
		}
		last := segs[len(segs)-1]
		if info, err := os.Stat(last); err == nil && info.Size() > 0 {
			os.Truncate(last, info.Size()-int64(cut)%info.Size())
		}

		s2, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("open damaged spool: %v", err)
		}
		defer s2.Close()
		got := drain(t, s2, 17)
		all := want(0, n)
		i := 0
		for _, p := range got {
			j := slices.Index(all[i:], p)
			if j < 0 {
				t.Fatalf("delivered %q: not an appended record, or out of order", p)
			}
			i += j + 1
		}
		if q, _ := filepath.Glob(filepath.Join(dir, quarantineDir, "*")); len(q) > opts.MaxQuarantined {
			t.Fatalf("quarantine holds %d copies, limit %d", len(q), opts.MaxQuarantined)
		}
	})
}

func damageAt(t *testing.T, segs []string, pos int, x byte) {
	for _, p := range segs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if pos < len(data) {
			data[pos] ^= x
			os.WriteFile(p, data, 0o600)
			return
		}
		pos -= len(data)
	}
}
