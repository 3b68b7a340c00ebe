package xdp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/palisadewaf/palisade/bpf"
)

// Sample is one dropped packet the kernel chose to tell userspace about. The
// kernel sends at most filter_config.samples_per_sec of them per CPU and
// second, never one per dropped packet.
type Sample struct {
	Time      time.Time  `json:"time"`
	Interface string     `json:"interface"`
	Reason    string     `json:"reason"`
	Source    netip.Addr `json:"source"`
	Protocol  uint8      `json:"protocol"`
	Length    uint32     `json:"length"`
}

// SampleLog keeps the most recent samples for `palisadectl xdp stats`.
type SampleLog struct {
	mu    sync.Mutex
	ring  []Sample
	next  int
	total uint64
}

// NewSampleLog keeps the last n samples.
func NewSampleLog(n int) *SampleLog { return &SampleLog{ring: make([]Sample, 0, n)} }

func (l *SampleLog) add(s Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, s)
		return
	}
	l.ring[l.next] = s
	l.next = (l.next + 1) % len(l.ring)
}

// Recent returns the kept samples, newest first, and how many were seen.
func (l *SampleLog) Recent() ([]Sample, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Sample, 0, len(l.ring))
	for i := range len(l.ring) {
		j := (l.next - 1 - i + 2*len(l.ring)) % len(l.ring)
		out = append(out, l.ring[j])
	}
	return out, l.total
}

// ReadSamples consumes the samples ring buffer until ctx ends, passing each
// sample to fn and to log (when not nil).
func (f *Filter) ReadSamples(ctx context.Context, log *SampleLog, fn func(Sample)) error {
	rd, err := ringbuf.NewReader(f.objs.Samples)
	if err != nil {
		return fmt.Errorf("open samples ring buffer: %w", err)
	}
	go func() {
		<-ctx.Done()
		rd.Close()
	}()
	var raw bpf.XdpDropSample
	for {
		rec, err := rd.Read()
		if errors.Is(err, ringbuf.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read sample: %w", err)
		}
		if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &raw); err != nil {
			continue // short record: the kernel and this build disagree; skip it
		}
		addr := netip.AddrFrom16(raw.Saddr)
		if raw.Family == 4 {
			addr = addr.Unmap()
		}
		s := Sample{
			Time:      fromBoot(raw.BootNs),
			Interface: InterfaceName(raw.Ifindex),
			Reason:    ReasonName(raw.Reason),
			Source:    addr,
			Protocol:  raw.L4proto,
			Length:    raw.PktLen,
		}
		if log != nil {
			log.add(s)
		}
		if fn != nil {
			fn(s)
		}
	}
}
