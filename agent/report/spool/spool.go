// Package spool is the node's durable report queue: an append-only log of
// checksummed records in segment files under one directory, bounded in
// bytes, read in order by one consumer that acknowledges what the cloud has
// stored.
//
// Guarantees:
//   - A record is in the kernel's page cache when Append returns, so killing
//     the process (even with SIGKILL) loses nothing that Append accepted.
//     Segment files are fsynced every Options.SyncInterval (or on every
//     Append), which bounds what a power loss can take.
//   - When the spool holds more than Options.MaxBytes, the oldest segments
//     are deleted and their undelivered records counted in Stats.Dropped.
//   - A damaged segment is copied to quarantine/ with one error log line
//     saying where and why; its valid records, and every other segment, are
//     still delivered. A record cut short at the end of the last segment (a
//     write interrupted by a crash) is cut off with a warning.
//   - Delivery is at least once: after a crash the consumer may see records
//     again that it had already acknowledged. The cloud stores each event id
//     once, which makes it exactly once end to end.
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options tune a spool. The zero value is usable.
type Options struct {
	// MaxBytes bounds the bytes of all segment files. Default 256 MiB,
	// minimum 64 KiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started; it is
	// also the granularity of dropping when the spool is full. Default
	// MaxBytes/8, at most 16 MiB, at most MaxBytes/4.
	SegmentBytes int64
	// MaxRecordBytes bounds one record's payload. Default 1 MiB, at most
	// SegmentBytes minus the record header.
	MaxRecordBytes int
	// SyncInterval is how often written segments are fsynced. Default 1s. A
	// negative value fsyncs in every Append.
	SyncInterval time.Duration
	// MaxQuarantined is how many quarantined segment copies are kept (the
	// oldest are deleted). Default 8.
	MaxQuarantined int
	// Logger receives the spool's log lines. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.MaxBytes == 0 {
		o.MaxBytes = 256 << 20
	}
	if o.MaxBytes < 64<<10 {
		return fmt.Errorf("max bytes %d is below the minimum of 64 KiB", o.MaxBytes)
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(o.MaxBytes/8, 16<<20)
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes/4)
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = 1 << 20
	}
	o.MaxRecordBytes = int(min(int64(o.MaxRecordBytes), o.SegmentBytes-headerLen))
	if o.SyncInterval == 0 {
		o.SyncInterval = time.Second
	}
	if o.MaxQuarantined == 0 {
		o.MaxQuarantined = 8
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// ErrClosed is returned by operations on a closed spool.
var ErrClosed = errors.New("spool is closed")

// ErrTooLarge is returned by Append for a payload over MaxRecordBytes.
var ErrTooLarge = errors.New("record is larger than the spool's record limit")

const (
	quarantineDir = "quarantine"
	lockFile      = "LOCK"
	segPrefix     = "seg-"
	segSuffix     = ".log"
)

type segment struct {
	id      uint64
	path    string
	size    int64 // bytes of valid records
	records int
}

// Spool is a durable, bounded FIFO of records. Append may be called from
// any goroutine; Peek and Ack belong to one consumer.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	mu     sync.Mutex
	segs   []*segment // oldest first; the last one is active
	active *os.File
	buf    []byte
	dirty  bool
	closed bool
	// head is the acknowledged position: every record before it was
	// delivered. head.seg is always segs[0].id.
	head     cursor
	headIdx  int       // records before head.off in segs[0]
	headTime time.Time // append time of the record at head, zero if none
	// gen changes whenever a segment is rewritten, which invalidates the
	// offsets in batches read before.
	gen         uint64
	totalBytes  int64
	totalRecs   int
	dropped     uint64
	quarantined uint64

	notify   chan struct{}
	syncStop chan struct{}
	syncDone chan struct{}
}

// Open opens (creating if needed) the spool in dir, checks every segment,
// quarantines damaged ones and positions the reader after the last
// acknowledged record. Only one process may have a spool open.
func Open(dir string, opts Options) (*Spool, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, quarantineDir), 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("open spool %s: in use by another process", dir)
		}
		return nil, fmt.Errorf("lock spool %s: %w", dir, err)
	}
	s := &Spool{
		dir:      dir,
		opts:     opts,
		log:      opts.Logger,
		lock:     lock,
		notify:   make(chan struct{}, 1),
		syncStop: make(chan struct{}),
		syncDone: make(chan struct{}),
	}
	if err := s.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	go s.syncLoop()
	return s, nil
}

// load reads the directory: segments, the cursor, and starts a fresh
// active segment.
func (s *Spool) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var ids []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			// A rewrite or cursor update interrupted by a crash.
			os.Remove(filepath.Join(s.dir, name))
			continue
		}
		if id, ok := parseSegmentName(name); ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	// positions holds each segment's records; oldOffsets, for a repaired
	// segment, where they were before (the cursor speaks of those).
	positions := make(map[uint64][]recordPos, len(ids))
	oldOffsets := make(map[uint64][]int64, len(ids))
	for i, id := range ids {
		seg := &segment{id: id, path: s.segmentPath(id)}
		res, err := scanSegment(seg.path, s.opts.MaxRecordBytes)
		if err != nil {
			return err
		}
		recs := res.records
		offs := make([]int64, len(recs))
		for i, r := range recs {
			offs[i] = r.off
		}
		if !res.clean() {
			// Only the last segment was being written when the process
			// stopped.
			last := i == len(ids)-1
			if recs, offs, err = s.repair(seg, res, last); err != nil {
				return err
			}
		}
		if len(recs) == 0 {
			os.Remove(seg.path)
			continue
		}
		seg.records = len(recs)
		seg.size = recs[len(recs)-1].off + recs[len(recs)-1].len
		positions[id], oldOffsets[id] = recs, offs
		s.segs = append(s.segs, seg)
	}

	c, err := readCursor(s.dir)
	switch {
	case errors.Is(err, errNoCursor):
	case err != nil:
		s.log.Warn("spool cursor unreadable: resending from the oldest record (the cloud drops duplicates)",
			"dir", s.dir, "err", err)
		c = cursor{}
	}
	nextID := c.seg + 1
	if n := len(s.segs); n > 0 {
		nextID = max(nextID, s.segs[n-1].id+1)
	}
	// Segments wholly before the cursor were delivered.
	for len(s.segs) > 0 && s.segs[0].id < c.seg {
		os.Remove(s.segs[0].path)
		s.segs = s.segs[1:]
	}
	if len(s.segs) > 0 && s.segs[0].id == c.seg {
		recs, offs := positions[c.seg], oldOffsets[c.seg]
		idx := sort.Search(len(offs), func(i int) bool { return offs[i] >= c.off })
		if idx == len(recs) {
			os.Remove(s.segs[0].path)
			s.segs = s.segs[1:]
		} else {
			s.headIdx = idx
			s.head.off = recs[idx].off
		}
	}
	if err := s.newActive(nextID); err != nil {
		return err
	}
	s.head.seg = s.segs[0].id
	if recs := positions[s.head.seg]; s.headIdx < len(recs) {
		s.headTime = recs[s.headIdx].at
	}
	for _, seg := range s.segs {
		s.totalBytes += seg.size
		s.totalRecs += seg.records
	}
	if err := writeCursor(s.dir, s.head); err != nil {
		return err
	}
	s.enforceLimit()
	return nil
}

func (s *Spool) segmentPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s%016x%s", segPrefix, id, segSuffix))
}

func parseSegmentName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 16, 64)
	return id, err == nil
}

// newActive creates and appends the segment that receives new records.
func (s *Spool) newActive(id uint64) error {
	seg := &segment{id: id, path: s.segmentPath(id)}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.active = f
	s.segs = append(s.segs, seg)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Append adds one record. It returns once the record is written to the
// segment file (the page cache), never waiting on the consumer.
func (s *Spool) Append(payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(payload) > s.opts.MaxRecordBytes {
		return fmt.Errorf("append %d bytes: %w (%d)", len(payload), ErrTooLarge, s.opts.MaxRecordBytes)
	}
	now := time.Now()
	s.buf = encodeRecord(s.buf[:0], now, payload)
	act := s.segs[len(s.segs)-1]
	if act.size > 0 && act.size+int64(len(s.buf)) > s.opts.SegmentBytes {
		if err := s.rotate(); err != nil {
			return fmt.Errorf("append: %w", err)
		}
		act = s.segs[len(s.segs)-1]
	}
	if _, err := s.active.Write(s.buf); err != nil {
		// Cut off whatever part was written so the segment stays valid.
		if terr := s.active.Truncate(act.size); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("append to %s: %w", act.path, err)
	}
	if s.totalRecs-s.headIdx == 0 {
		s.headTime = now
	}
	act.size += int64(len(s.buf))
	act.records++
	s.totalBytes += int64(len(s.buf))
	s.totalRecs++
	if s.opts.SyncInterval < 0 {
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("append: fsync %s: %w", act.path, err)
		}
	} else {
		s.dirty = true
	}
	s.enforceLimit()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// rotate seals the active segment and starts the next one.
func (s *Spool) rotate() error {
	act := s.segs[len(s.segs)-1]
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", act.path, err)
	}
	if err := s.active.Close(); err != nil {
		return fmt.Errorf("close %s: %w", act.path, err)
	}
	s.dirty = false
	return s.newActive(act.id + 1)
}

// enforceLimit drops the oldest sealed segments while the spool is over
// MaxBytes.
func (s *Spool) enforceLimit() {
	for s.totalBytes > s.opts.MaxBytes && len(s.segs) > 1 {
		seg := s.segs[0]
		lost := seg.records - s.headIdx
		s.dropped += uint64(lost)
		s.removeHead()
		s.log.Warn("spool full: dropped the oldest undelivered events",
			"dir", s.dir, "events", lost, "segment", filepath.Base(seg.path), "max_bytes", s.opts.MaxBytes)
	}
}

// removeHead deletes segs[0] and moves the head to the start of the next.
func (s *Spool) removeHead() {
	seg := s.segs[0]
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("spool: remove delivered segment", "segment", seg.path, "err", err)
	}
	s.totalBytes -= seg.size
	s.totalRecs -= seg.records
	s.segs = s.segs[1:]
	s.head = cursor{seg: s.segs[0].id}
	s.headIdx = 0
	s.headTime = s.recordTime(s.segs[0], 0)
}

// recordTime reads the append time of the record at off in seg; zero when
// there is none or it cannot be read (the time only feeds a metric).
func (s *Spool) recordTime(seg *segment, off int64) time.Time {
	if off >= seg.size {
		return time.Time{}
	}
	f, err := os.Open(seg.path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	h := make([]byte, headerLen)
	if _, err := f.ReadAt(h, off); err != nil || string(h[0:4]) != magic {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.LittleEndian.Uint64(h[12:20])))
}

// Record is one spooled payload and the time it was appended.
type Record struct {
	Payload []byte
	Time    time.Time
}

// Batch is a run of records read from the head of the spool. Acknowledge it
// with Ack once the cloud has stored it.
type Batch struct {
	Records []Record
	gen     uint64
	end     cursor
	endIdx  int
}

// Peek reads up to maxRecords records (and about maxBytes of payload, but
// always at least one record) from the head of the spool without removing
// them. It returns an empty batch when the spool is empty.
func (s *Spool) Peek(maxRecords, maxBytes int) (*Batch, error) {
	for attempt := 0; ; attempt++ {
		b, err := s.peek(maxRecords, maxBytes)
		if err == nil {
			return b, nil
		}
		var dmg *damageError
		switch {
		case errors.As(err, &dmg) && attempt < 3:
			if rerr := s.repairLive(dmg.seg, dmg.gen); rerr != nil {
				return nil, fmt.Errorf("peek: %w", rerr)
			}
		case errors.Is(err, os.ErrNotExist) && attempt < 3:
			// The segment was dropped (spool full) while we were reading;
			// start again from the new head.
		default:
			return nil, fmt.Errorf("peek: %w", err)
		}
	}
}

type damageError struct {
	seg uint64
	gen uint64
	err error
}

func (e *damageError) Error() string { return fmt.Sprintf("segment %d: %v", e.seg, e.err) }
func (e *damageError) Unwrap() error { return e.err }

type segRange struct {
	id       uint64
	path     string
	from, to int64
	idx      int
}

func (s *Spool) peek(maxRecords, maxBytes int) (*Batch, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	plan := make([]segRange, 0, len(s.segs))
	for i, seg := range s.segs {
		r := segRange{id: seg.id, path: seg.path, to: seg.size}
		if i == 0 {
			r.from, r.idx = s.head.off, s.headIdx
		}
		plan = append(plan, r)
	}
	b := &Batch{gen: s.gen, end: s.head, endIdx: s.headIdx}
	s.mu.Unlock()

	// Sealed segments never change and the active one only grows past the
	// size we saw, so the file ranges can be read without the lock.
	bytes := 0
	for _, r := range plan {
		if r.from >= r.to {
			continue
		}
		full, err := s.readRange(r, b, maxRecords, maxBytes, &bytes)
		if err != nil {
			return nil, err
		}
		if !full {
			break
		}
	}
	return b, nil
}

// readRange appends records from r to b; it reports whether it read the
// whole range (and the batch may go on to the next segment).
func (s *Spool) readRange(r segRange, b *Batch, maxRecords, maxBytes int, bytes *int) (bool, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.NewSectionReader(f, r.from, r.to-r.from), 64<<10)
	off, idx := r.from, r.idx
	h := make([]byte, headerLen)
	for off < r.to {
		if len(b.Records) >= maxRecords || (len(b.Records) > 0 && *bytes >= maxBytes) {
			return false, nil
		}
		if _, err := io.ReadFull(br, h); err != nil {
			return false, &damageError{seg: r.id, gen: b.gen, err: fmt.Errorf("read header at %d: %w", off, err)}
		}
		size := int(binary.LittleEndian.Uint32(h[4:8]))
		if size > s.opts.MaxRecordBytes || off+int64(headerLen+size) > r.to {
			return false, &damageError{seg: r.id, gen: b.gen, err: fmt.Errorf("%w: bad length %d at %d", errCorrupt, size, off)}
		}
		rec := make([]byte, headerLen+size)
		copy(rec, h)
		if _, err := io.ReadFull(br, rec[headerLen:]); err != nil {
			return false, &damageError{seg: r.id, gen: b.gen, err: fmt.Errorf("read record at %d: %w", off, err)}
		}
		payload, at, n, err := decodeRecord(rec, s.opts.MaxRecordBytes)
		if err != nil {
			return false, &damageError{seg: r.id, gen: b.gen, err: fmt.Errorf("record at %d: %w", off, err)}
		}
		b.Records = append(b.Records, Record{Payload: payload, Time: at})
		*bytes += len(payload)
		off += int64(n)
		idx++
		b.end = cursor{seg: r.id, off: off}
		b.endIdx = idx
	}
	return true, nil
}

// Ack marks every record of b (and before it) as delivered, deleting
// segments that are wholly delivered.
func (s *Spool) Ack(b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(b.Records) == 0 || b.gen != s.gen || b.end.seg < s.head.seg ||
		(b.end.seg == s.head.seg && b.end.off <= s.head.off) {
		// Nothing new, or the records moved (dropped or rewritten) since
		// the batch was read: they will be read again, and the cloud drops
		// the duplicates.
		return nil
	}
	for s.segs[0].id < b.end.seg {
		s.removeHead()
	}
	s.head = b.end
	s.headIdx = b.endIdx
	if seg := s.segs[0]; s.head.off >= seg.size && len(s.segs) > 1 {
		s.removeHead()
	} else {
		s.headTime = s.recordTime(seg, s.head.off)
	}
	return writeCursor(s.dir, s.head)
}

// Notify returns a channel that receives a value after records are
// appended (coalesced: one value may stand for many appends).
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// Stats describe a spool at one moment.
type Stats struct {
	// Events is the number of records not yet acknowledged.
	Events int64
	// Bytes is the size of all segment files.
	Bytes int64
	// Oldest is the append time of the oldest unacknowledged record, zero
	// when there is none.
	Oldest time.Time
	// Dropped counts records deleted undelivered because the spool was
	// full, since Open.
	Dropped uint64
	// Quarantined counts damaged segments quarantined since Open.
	Quarantined uint64
}

// Stats returns the spool's current counts.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Events:      int64(s.totalRecs - s.headIdx),
		Bytes:       s.totalBytes,
		Oldest:      s.headTime,
		Dropped:     s.dropped,
		Quarantined: s.quarantined,
	}
}

func (s *Spool) syncLoop() {
	defer close(s.syncDone)
	if s.opts.SyncInterval < 0 {
		<-s.syncStop
		return
	}
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.syncStop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		f, dirty := s.active, s.dirty
		s.dirty = false
		s.mu.Unlock()
		if !dirty {
			continue
		}
		// Outside the lock so appends go on; a rotation may close f
		// meanwhile, after fsyncing it itself.
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.log.Error("spool: fsync segment", "dir", s.dir, "err", err)
		}
	}
}

// Close flushes the active segment to disk and releases the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.syncStop)
	<-s.syncDone

	s.mu.Lock()
	defer s.mu.Unlock()
	act := s.segs[len(s.segs)-1]
	err := s.active.Sync()
	err = errors.Join(err, s.active.Close())
	if act.size == 0 {
		os.Remove(act.path)
	}
	return errors.Join(err, s.lock.Close())
}
