package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/palisadewaf/palisade/bpf"
)

func (f *Filter) list(l List) (*listState, error) {
	if int(l) >= listCount {
		return nil, fmt.Errorf("unknown list %d", l)
	}
	return f.lists[l], nil
}

func (f *Filter) encode(e Entry) (encoded, error) {
	if !e.Prefix.IsValid() {
		return encoded{}, errors.New("entry has no prefix")
	}
	return encoded{
		prefix: normalize(e.Prefix),
		value: bpf.XdpListEntry{
			ExpiresNs: toBoot(e.Expires),
			ReasonId:  f.reasons.id(e.Reason),
			Source:    uint32(e.Source),
		},
	}, nil
}

// Add puts one entry into a list in place, replacing an entry for the same
// prefix. When the list's maps are full it is rebuilt with more room.
func (f *Filter) Add(l List, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return err
	}
	enc, err := f.encode(e)
	if err != nil {
		return err
	}
	err = ls.put(enc.prefix, enc.value)
	if errors.Is(err, errFull) {
		var all []encoded
		if err := ls.each(func(p netip.Prefix, v bpf.XdpListEntry) error {
			all = append(all, encoded{p, v})
			return nil
		}); err != nil {
			return fmt.Errorf("grow %s list: %w", l, err)
		}
		err = ls.replace(append(all, enc))
	}
	if err != nil {
		return fmt.Errorf("add %s to %s list: %w", enc.prefix, l, err)
	}
	return nil
}

// Remove deletes a prefix from a list; it reports whether it was there.
func (f *Filter) Remove(l List, p netip.Prefix) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return false, err
	}
	p = normalize(p)
	ok, err := ls.remove(p)
	if err != nil {
		return false, fmt.Errorf("remove %s from %s list: %w", p, l, err)
	}
	return ok, nil
}

// Entries lists a list's entries, sorted by prefix, expired ones included
// until they are swept.
func (f *Filter) Entries(l List) ([]Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, ls.len())
	err = ls.each(func(p netip.Prefix, v bpf.XdpListEntry) error {
		out = append(out, Entry{
			Prefix:  p,
			Expires: fromBoot(v.ExpiresNs),
			Reason:  f.reasons.text(v.ReasonId),
			Source:  Source(v.Source),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out, nil
}

// Len is the number of entries in a list.
func (f *Filter) Len(l List) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return 0
	}
	return ls.len()
}

// Replace swaps a whole list for entries atomically: a packet is checked
// against the old list or the new one, never neither.
func (f *Filter) Replace(l List, entries []Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return err
	}
	enc := make([]encoded, 0, len(entries))
	for i, e := range entries {
		x, err := f.encode(e)
		if err != nil {
			return fmt.Errorf("replace %s list: entry %d: %w", l, i, err)
		}
		enc = append(enc, x)
	}
	if err := ls.replace(enc); err != nil {
		return fmt.Errorf("replace %s list (%d entries): %w", l, len(entries), err)
	}
	return nil
}

// SweepExpired deletes expired entries from every list. The kernel already
// ignores them; sweeping frees the memory and keeps `deny ls` honest.
func (f *Filter) SweepExpired() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := bootNow()
	swept := 0
	for _, ls := range f.lists {
		var dead []netip.Prefix
		err := ls.each(func(p netip.Prefix, v bpf.XdpListEntry) error {
			if v.ExpiresNs != 0 && v.ExpiresNs <= now {
				dead = append(dead, p)
			}
			return nil
		})
		if err != nil {
			return swept, err
		}
		for _, p := range dead {
			if ok, err := ls.remove(p); err != nil {
				return swept, fmt.Errorf("sweep %s from %s list: %w", p, ls.id, err)
			} else if ok {
				swept++
			}
		}
	}
	return swept, nil
}

// RateLimit configures the per-source token bucket.
type RateLimit struct {
	PacketsPerSecond uint64 `yaml:"pps" json:"pps"`     // 0 disables it
	Burst            uint64 `yaml:"burst" json:"burst"` // bucket depth, packets
}

// Limits keeping the kernel's token arithmetic within 64 bits.
const (
	MaxRatePPS = 10_000_000
	MaxBurst   = 1_000_000_000
)

// Validate checks the limits the kernel's arithmetic relies on.
func (r RateLimit) Validate() error {
	if r.PacketsPerSecond > MaxRatePPS {
		return fmt.Errorf("rate limit %d pps is above the maximum %d", r.PacketsPerSecond, MaxRatePPS)
	}
	if r.Burst > MaxBurst {
		return fmt.Errorf("burst %d is above the maximum %d", r.Burst, MaxBurst)
	}
	if r.PacketsPerSecond > 0 && r.Burst == 0 {
		return errors.New("rate limit needs a burst of at least 1 packet")
	}
	return nil
}

// Configure sets the rate limit and the number of dropped-packet samples per
// second and CPU sent to userspace.
func (f *Filter) Configure(rl RateLimit, samplesPerSec uint32) error {
	if err := rl.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg := bpf.XdpFilterConfig{RatePps: rl.PacketsPerSecond, Burst: rl.Burst, SamplesPerSec: samplesPerSec}
	if err := f.objs.Config.Put(uint32(0), cfg); err != nil {
		return fmt.Errorf("write filter config: %w", err)
	}
	return nil
}

// Counter is one row of the filter's packet counters, summed over CPUs.
type Counter struct {
	Ifindex uint32
	Action  string // "pass" or "drop"
	Reason  string // see ReasonName
	Packets uint64
	Bytes   uint64
}

// ReasonName is the label for a verdict reason.
func ReasonName(r uint8) string {
	switch bpf.XdpVerdictReason(r) {
	case bpf.XdpVerdictReasonREASON_NO_MATCH:
		return "no_match"
	case bpf.XdpVerdictReasonREASON_ALLOWLIST:
		return "allowlist"
	case bpf.XdpVerdictReasonREASON_DENYLIST:
		return "denylist"
	case bpf.XdpVerdictReasonREASON_RATELIMIT:
		return "ratelimit"
	case bpf.XdpVerdictReasonREASON_MALFORMED:
		return "malformed"
	case bpf.XdpVerdictReasonREASON_NOT_IP:
		return "not_ip"
	}
	return "unknown"
}

func actionName(a uint8) string {
	switch a {
	case 1: // XDP_DROP
		return "drop"
	case 2: // XDP_PASS
		return "pass"
	}
	return "other"
}

// Counters reads the per-CPU packet counters.
func (f *Filter) Counters() ([]Counter, error) {
	var out []Counter
	var k bpf.XdpCounterKey
	var perCPU []bpf.XdpCounterValue
	it := f.objs.Counters.Iterate()
	for it.Next(&k, &perCPU) {
		c := Counter{Ifindex: k.Ifindex, Action: actionName(k.Action), Reason: ReasonName(k.Reason)}
		for _, v := range perCPU {
			c.Packets += v.Packets
			c.Bytes += v.Bytes
		}
		out = append(out, c)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	return out, nil
}

// expiresIn is a helper for callers that speak TTLs.
func ExpiresIn(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return time.Now().Add(ttl)
}

// inPlaceLimit is the largest change ReplaceSource makes entry by entry;
// a bigger one rebuilds the list and flips it in one write. In place,
// every address moves from its old verdict to its new one atomically, and
// nothing else about the list changes; a rebuild costs the kernel a few
// RCU grace periods, which is worth it only for big changes.
const inPlaceLimit = 4096

// ReplaceSource makes the entries of one source (the cloud's ruleset, say)
// in list l exactly entries, and leaves the entries of other sources alone:
// for a prefix held by another source (an operator's palisadectl entry),
// that entry wins. Small changes are made in place, big ones by an atomic
// rebuild of the whole list.
func (f *Filter) ReplaceSource(l List, src Source, entries []Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls, err := f.list(l)
	if err != nil {
		return err
	}
	current := map[netip.Prefix]bpf.XdpListEntry{}
	if err := ls.each(func(p netip.Prefix, v bpf.XdpListEntry) error {
		current[p] = v
		return nil
	}); err != nil {
		return fmt.Errorf("replace %s entries of %s list: %w", src, l, err)
	}
	want := make(map[netip.Prefix]encoded, len(entries))
	for i, e := range entries {
		e.Source = src
		enc, err := f.encode(e)
		if err != nil {
			return fmt.Errorf("replace %s entries of %s list: entry %d: %w", src, l, i, err)
		}
		if v, ok := current[enc.prefix]; ok && Source(v.Source) != src {
			continue // another source's entry for this prefix wins
		}
		want[enc.prefix] = enc
	}
	var adds []encoded
	var dels []netip.Prefix
	for p, v := range current {
		if _, ok := want[p]; !ok && Source(v.Source) == src {
			dels = append(dels, p)
		}
	}
	for p, e := range want {
		if v, ok := current[p]; !ok || !sameEntry(v, e.value) {
			adds = append(adds, e)
		}
	}
	if len(adds)+len(dels) <= inPlaceLimit {
		err := func() error {
			for _, p := range dels {
				if _, err := ls.remove(p); err != nil {
					return err
				}
			}
			for _, e := range adds {
				if err := ls.put(e.prefix, e.value); err != nil {
					return err
				}
			}
			return nil
		}()
		if err == nil {
			return nil
		}
		if !errors.Is(err, errFull) {
			return fmt.Errorf("replace %s entries of %s list: %w", src, l, err)
		}
		// Out of room: the rebuild below sizes the maps for the new list.
	}
	all := make([]encoded, 0, len(current)+len(want))
	for p, v := range current {
		if Source(v.Source) != src {
			all = append(all, encoded{p, v})
		}
	}
	for _, e := range want {
		all = append(all, e)
	}
	if err := ls.replace(all); err != nil {
		return fmt.Errorf("replace %s entries of %s list (%d entries): %w", src, l, len(all), err)
	}
	return nil
}

// sameEntry compares two values, taking expiries within a second as equal:
// converting a wall-clock expiry to boot time is not exact to the
// nanosecond, and rewriting every entry for that would be waste.
func sameEntry(a, b bpf.XdpListEntry) bool {
	d := int64(a.ExpiresNs) - int64(b.ExpiresNs)
	if (a.ExpiresNs == 0) != (b.ExpiresNs == 0) || d > int64(time.Second) || d < -int64(time.Second) {
		return false
	}
	return a.ReasonId == b.ReasonId && a.Source == b.Source
}
