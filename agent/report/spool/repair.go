package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// repair fixes a segment whose scan found damage, and returns the records
// it now holds (at their new offsets) and, for each, its offset before the
// repair (to map the acknowledged position).
//
// A record cut short at the end of the segment that was being written when
// the process died is the expected trace of a crash: the segment is cut
// back to its last whole record. Any other damage (a bad checksum, garbage
// between records) means the disk or something else changed the file: a
// copy goes to quarantine/ for inspection, and the segment is rewritten
// with the records that still check out.
func (s *Spool) repair(seg *segment, res *scanResult, wasActive bool) (recs []recordPos, oldOffs []int64, err error) {
	oldOffs = make([]int64, len(res.records))
	for i, r := range res.records {
		oldOffs[i] = r.off
	}
	if res.tornTail && wasActive {
		if err := os.Truncate(seg.path, res.validEnd); err != nil {
			return nil, nil, fmt.Errorf("cut torn record off %s: %w", seg.path, err)
		}
		s.log.Warn("spool: cut off a record left incomplete by a crash (it was never acknowledged to the caller as synced)",
			"segment", filepath.Base(seg.path), "offset", res.damageOff, "bytes", res.size-res.validEnd)
		return res.records, oldOffs, nil
	}

	data, err := os.ReadFile(seg.path)
	if err != nil {
		return nil, nil, fmt.Errorf("read damaged segment: %w", err)
	}
	qpath := filepath.Join(s.dir, quarantineDir,
		fmt.Sprintf("%s.%d.damaged", filepath.Base(seg.path), time.Now().UnixNano()))
	if err := os.WriteFile(qpath, data, 0o600); err != nil {
		// Keep going: delivering the valid records matters more than the
		// copy for inspection.
		s.log.Error("spool: could not copy damaged segment to quarantine", "segment", seg.path, "err", err)
		qpath = ""
	}
	s.quarantined++
	s.pruneQuarantine()

	kept := make([]byte, 0, len(data))
	recs = make([]recordPos, len(res.records))
	var keptBytes int64
	for i, r := range res.records {
		recs[i] = recordPos{off: int64(len(kept)), len: r.len, at: r.at}
		kept = append(kept, data[r.off:r.off+r.len]...)
		keptBytes += r.len
	}
	tmp := seg.path + ".tmp"
	if err := writeFileSync(tmp, kept); err != nil {
		return nil, nil, fmt.Errorf("rewrite damaged segment: %w", err)
	}
	if err := os.Rename(tmp, seg.path); err != nil {
		return nil, nil, fmt.Errorf("replace damaged segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return nil, nil, err
	}
	s.log.Error("spool: damaged segment quarantined; its valid records and all other segments will still be delivered",
		"segment", filepath.Base(seg.path), "offset", res.damageOff, "reason", res.damage.Error(),
		"kept_records", len(recs), "lost_bytes", int64(len(data))-keptBytes, "quarantine", qpath)
	return recs, oldOffs, nil
}

// repairLive repairs a segment found damaged while reading (the disk
// changed it after Open).
func (s *Spool) repairLive(id, gen uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if gen != s.gen {
		return nil // repaired meanwhile
	}
	pos := -1
	for i, seg := range s.segs {
		if seg.id == id {
			pos = i
		}
	}
	if pos < 0 {
		return nil // dropped meanwhile
	}
	if pos == len(s.segs)-1 {
		// Never rewrite the file appends go to.
		if err := s.rotate(); err != nil {
			return err
		}
	}
	seg := s.segs[pos]
	res, err := scanSegment(seg.path, s.opts.MaxRecordBytes)
	if err != nil {
		return err
	}
	s.gen++
	if res.clean() {
		return nil // a transient read error; the next read will tell
	}
	recs, oldOffs, err := s.repair(seg, res, false)
	if err != nil {
		return err
	}
	s.totalBytes -= seg.size
	s.totalRecs -= seg.records
	seg.records = len(recs)
	seg.size = 0
	if n := len(recs); n > 0 {
		seg.size = recs[n-1].off + recs[n-1].len
	}
	s.totalBytes += seg.size
	s.totalRecs += seg.records
	if pos == 0 {
		// Records before the acknowledged position stay acknowledged.
		idx := sort.Search(len(oldOffs), func(i int) bool { return oldOffs[i] >= s.head.off })
		s.headIdx = idx
		s.head.off = seg.size
		if idx < len(recs) {
			s.head.off = recs[idx].off
		}
		if s.head.off >= seg.size {
			s.removeHead()
		} else {
			s.headTime = recs[idx].at
		}
		return writeCursor(s.dir, s.head)
	}
	if seg.records == 0 {
		os.Remove(seg.path)
		s.segs = append(s.segs[:pos], s.segs[pos+1:]...)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pruneQuarantine keeps the newest MaxQuarantined copies.
func (s *Spool) pruneQuarantine() {
	dir := filepath.Join(s.dir, quarantineDir)
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= s.opts.MaxQuarantined {
		return
	}
	type qfile struct {
		name string
		mod  time.Time
	}
	var files []qfile
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			files = append(files, qfile{e.Name(), info.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for len(files) > s.opts.MaxQuarantined {
		os.Remove(filepath.Join(dir, files[0].name))
		files = files[1:]
	}
}
