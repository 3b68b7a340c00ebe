package spool

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the spool's goroutines to log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func openTest(t *testing.T, dir string, opts Options) (*Spool, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

func payload(i int) []byte { return fmt.Appendf(nil, "event-%06d-%s", i, strings.Repeat("x", i%50)) }

func appendN(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append(payload(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// drain reads and acknowledges everything, returning the payloads.
func drain(t *testing.T, s *Spool, batch int) []string {
	t.Helper()
	var got []string
	for {
		b, err := s.Peek(batch, 1<<20)
		if err != nil {
			t.Fatalf("peek: %v", err)
		}
		if len(b.Records) == 0 {
			return got
		}
		for _, r := range b.Records {
			got = append(got, string(r.Payload))
		}
		if err := s.Ack(b); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
}

func want(from, to int) []string {
	var w []string
	for i := from; i < to; i++ {
		w = append(w, string(payload(i)))
	}
	return w
}

func TestOrderAcrossSegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, Options{MaxBytes: 1 << 20, SegmentBytes: 4 << 10})
	appendN(t, s, 0, 500)
	if st := s.Stats(); st.Events != 500 || st.Oldest.IsZero() {
		t.Fatalf("stats after 500 appends: %+v", st)
	}
	// Deliver the first 120 only.
	b, err := s.Peek(120, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 120 {
		t.Fatalf("peek 120: got %d", len(b.Records))
	}
	if err := s.Ack(b); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Events != 380 {
		t.Fatalf("events after acking 120: %d", st.Events)
	}
	// Read a batch but do not acknowledge it: it must come back.
	if _, err := s.Peek(50, 1<<20); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, _ := openTest(t, dir, Options{MaxBytes: 1 << 20, SegmentBytes: 4 << 10})
	if st := s2.Stats(); st.Events != 380 {
		t.Fatalf("events after reopen: %d, want 380", st.Events)
	}
	appendN(t, s2, 500, 510)
	got := drain(t, s2, 64)
	if !slices.Equal(got, want(120, 510)) {
		t.Fatalf("after reopen got %d records (first %q), want 120..509", len(got), first(got))
	}
	if st := s2.Stats(); st.Events != 0 || !st.Oldest.IsZero() {
		t.Fatalf("stats after drain: %+v", st)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if len(segs) != 1 {
		t.Fatalf("delivered segments are not deleted: %v", segs)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestFullSpoolDropsOldestAndCounts(t *testing.T) {
	dir := t.TempDir()
	s, logs := openTest(t, dir, Options{MaxBytes: 64 << 10, SegmentBytes: 8 << 10})
	appendN(t, s, 0, 3000) // ~150 KiB of records
	st := s.Stats()
	if st.Bytes > 64<<10 {
		t.Fatalf("spool holds %d bytes, limit %d", st.Bytes, 64<<10)
	}
	if st.Dropped == 0 || int64(st.Dropped)+st.Events != 3000 {
		t.Fatalf("dropped %d + kept %d != 3000 appended", st.Dropped, st.Events)
	}
	if !strings.Contains(logs.String(), "spool full: dropped the oldest undelivered events") {
		t.Fatalf("no log line for the drop; logs:\n%s", logs)
	}
	got := drain(t, s, 100)
	if !slices.Equal(got, want(3000-len(got), 3000)) {
		t.Fatalf("kept records are not the newest %d", len(got))
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want 'in use'", err)
	}
}

func TestTooLargeRecord(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), Options{MaxBytes: 1 << 20, MaxRecordBytes: 100})
	if err := s.Append(make([]byte, 101)); err == nil {
		t.Fatal("101-byte record accepted with a 100-byte limit")
	}
	if err := s.Append(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
}

// segments returns the spool's segment files, oldest first.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(segs)
	return segs
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedSegmentIsQuarantinedAndTheRestDelivered(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 1 << 20, SegmentBytes: 4 << 10}
	s, _ := openTest(t, dir, opts)
	appendN(t, s, 0, 400)
	s.Close()
	segs := segments(t, dir)
	if len(segs) < 4 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	// Damage the payload of the third record of the second segment.
	victim := segs[1]
	data, _ := os.ReadFile(victim)
	off := int64(0)
	for range 2 {
		_, _, n, err := decodeRecord(data[off:], 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		off += int64(n)
	}
	flipByte(t, victim, off+headerLen+3)

	s2, logs := openTest(t, dir, opts)
	line := logs.String()
	if !strings.Contains(line, "damaged segment quarantined") || !strings.Contains(line, filepath.Base(victim)) {
		t.Fatalf("no clear log line naming the segment; logs:\n%s", line)
	}
	q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v, want one copy", q)
	}
	got := drain(t, s2, 50)
	if len(got) != 399 {
		t.Fatalf("delivered %d records, want 399 (all but the damaged one)", len(got))
	}
	for _, p := range got {
		if !strings.HasPrefix(p, "event-") {
			t.Fatalf("delivered a garbage record %q", p)
		}
	}
	if s2.Stats().Quarantined != 1 {
		t.Fatalf("quarantined count %d", s2.Stats().Quarantined)
	}
}

func TestTornTailIsCutWithoutQuarantine(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, Options{})
	appendN(t, s, 0, 10)
	s.Close()
	segs := segments(t, dir)
	last := segs[len(segs)-1]
	// The first half of an eleventh record, as a crash mid-write leaves it.
	rec := encodeRecord(nil, time.Now(), payload(10))
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec[:len(rec)/2])
	f.Close()

	s2, logs := openTest(t, dir, Options{})
	if !strings.Contains(logs.String(), "incomplete") {
		t.Fatalf("no log line about the torn record; logs:\n%s", logs)
	}
	if q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*")); len(q) != 0 {
		t.Fatalf("a torn tail should not be quarantined: %v", q)
	}
	if got := drain(t, s2, 50); !slices.Equal(got, want(0, 10)) {
		t.Fatalf("got %q", got)
	}
}

func TestDamageFoundWhileReading(t *testing.T) {
	dir := t.TempDir()
	s, logs := openTest(t, dir, Options{MaxBytes: 1 << 20, SegmentBytes: 4 << 10})
	appendN(t, s, 0, 300)
	// Deliver some, then damage the head segment behind the spool's back.
	b, _ := s.Peek(10, 1<<20)
	s.Ack(b)
	segs := segments(t, dir)
	data, _ := os.ReadFile(segs[0])
	// The 16th record of the head segment: past the acknowledged ten.
	off := int64(0)
	for range 15 {
		_, _, n, _ := decodeRecord(data[off:], 1<<20)
		off += int64(n)
	}
	flipByte(t, segs[0], off+8) // its checksum

	got := drain(t, s, 7)
	if len(got) != 289 {
		t.Fatalf("delivered %d, want 289 (300 - 10 acked - 1 damaged)", len(got))
	}
	if !slices.Equal(got[:5], want(10, 15)) || got[5] != string(payload(16)) {
		t.Fatalf("records around the damage: %q", got[:6])
	}
	if !strings.Contains(logs.String(), "damaged segment quarantined") {
		t.Fatalf("no log line; logs:\n%s", logs)
	}
}

func TestUnreadableCursorResendsEverything(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, Options{})
	appendN(t, s, 0, 20)
	b, _ := s.Peek(5, 1<<20)
	s.Ack(b)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, cursorFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, logs := openTest(t, dir, Options{})
	if !strings.Contains(logs.String(), "cursor unreadable") {
		t.Fatalf("logs:\n%s", logs)
	}
	if got := drain(t, s2, 50); !slices.Equal(got, want(0, 20)) {
		t.Fatalf("got %d records", len(got))
	}
}

func TestConcurrentAppendWhileDraining(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), Options{MaxBytes: 4 << 20, SegmentBytes: 16 << 10})
	const writers, each = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { appendN(t, s, w*each, (w+1)*each) })
	}
	var got []string
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			got = append(got, drain(t, s, 64)...)
			slices.Sort(got)
			if !slices.Equal(got, want(0, writers*each)) {
				t.Fatalf("got %d records, want %d, each once", len(got), writers*each)
			}
			return
		case <-s.Notify():
			got = append(got, drain(t, s, 64)...)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
