package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sync/errgroup"

	"github.com/palisadewaf/palisade/bpf"
)

// List names one of the filter's IP lists.
type List uint32

const (
	Allow List = List(bpf.XdpListIdLIST_ALLOW)
	Deny  List = List(bpf.XdpListIdLIST_DENY)

	listCount = int(bpf.XdpListIdLIST_COUNT)
)

func (l List) String() string {
	switch l {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("list(%d)", uint32(l))
}

// ParseList maps "allow" and "deny" to their List.
func ParseList(s string) (List, error) {
	switch s {
	case "allow":
		return Allow, nil
	case "deny":
		return Deny, nil
	}
	return 0, fmt.Errorf("unknown list %q (want allow or deny)", s)
}

// Source says where an entry came from.
type Source uint32

const (
	SourceManual = Source(bpf.XdpEntrySourceSOURCE_MANUAL)
	SourceFile   = Source(bpf.XdpEntrySourceSOURCE_FILE)
	SourceCloud  = Source(bpf.XdpEntrySourceSOURCE_CLOUD)
)

func (s Source) String() string {
	switch s {
	case SourceManual:
		return "manual"
	case SourceFile:
		return "file"
	case SourceCloud:
		return "cloud"
	}
	return fmt.Sprintf("source(%d)", uint32(s))
}

// Entry is one address or prefix of a list.
type Entry struct {
	Prefix  netip.Prefix `json:"prefix"`
	Expires time.Time    `json:"expires,omitzero"` // zero: never
	Reason  string       `json:"reason,omitempty"`
	Source  Source       `json:"source"`
}

// Expired reports whether the entry no longer applies at now.
func (e Entry) Expired(now time.Time) bool {
	return !e.Expires.IsZero() && !e.Expires.After(now)
}

// ParsePrefix accepts an address ("198.18.0.1", "fd00::1") or a CIDR
// ("198.18.0.0/15") and returns it masked, with IPv4-mapped IPv6 unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix: %w", s, err)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zoned addresses are not allowed in lists", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return normalize(p), nil
}

func normalize(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// kind is which of a list's four maps holds a prefix.
type kind int

const (
	kindV4 kind = iota
	kindV4LPM
	kindV6
	kindV6LPM
	kindCount
)

func kindOf(p netip.Prefix) kind {
	switch {
	case p.Addr().Is4() && p.Bits() == 32:
		return kindV4
	case p.Addr().Is4():
		return kindV4LPM
	case p.Bits() == 128:
		return kindV6
	default:
		return kindV6LPM
	}
}

// key encodes p the way the map of its kind stores it.
func key(p netip.Prefix) any {
	switch kindOf(p) {
	case kindV4:
		return p.Addr().As4()
	case kindV4LPM:
		return bpf.XdpLpmV4Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As4()}
	case kindV6:
		return bpf.XdpSrcKey{Addr: p.Addr().As16()}
	default:
		return bpf.XdpLpmV6Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}
	}
}

// newKey returns a pointer for map iteration to decode a key of kind k into.
func newKey(k kind) any {
	switch k {
	case kindV4:
		return new([4]byte)
	case kindV4LPM:
		return new(bpf.XdpLpmV4Key)
	case kindV6:
		return new(bpf.XdpSrcKey)
	default:
		return new(bpf.XdpLpmV6Key)
	}
}

func prefixOf(k any) netip.Prefix {
	switch k := k.(type) {
	case *[4]byte:
		return netip.PrefixFrom(netip.AddrFrom4(*k), 32)
	case *bpf.XdpLpmV4Key:
		return netip.PrefixFrom(netip.AddrFrom4(k.Addr), int(k.Prefixlen))
	case *bpf.XdpSrcKey:
		return netip.PrefixFrom(netip.AddrFrom16(k.Addr), 128)
	case *bpf.XdpLpmV6Key:
		return netip.PrefixFrom(netip.AddrFrom16(k.Addr), int(k.Prefixlen))
	}
	panic(fmt.Sprintf("unknown key type %T", k))
}

// minCapacity is the smallest inner map; with BPF_F_NO_PREALLOC capacity
// costs only a bucket array, so single adds rarely have to grow the list.
const minCapacity = 65536

func capacityFor(n int) uint32 {
	return uint32(max(minCapacity, n+n/4+1024))
}

// replaceGrace is how long a replaced generation stays reachable after the
// flip. A program run that read the old generation number finishes within
// microseconds (XDP runs are bounded and inside one RCU read section), so
// this is orders of magnitude more than needed.
const replaceGrace = 50 * time.Millisecond

// listState is the agent's view of one list: the four outer maps, the live
// generation and its inner maps, and entry counts.
type listState struct {
	id     List
	outers [kindCount]*ebpf.Map
	gens   *ebpf.Map
	gen    uint32
	inner  [kindCount]*ebpf.Map
	size   [kindCount]int
	cap    [kindCount]uint32
}

var (
	specOnce sync.Once
	spec     *ebpf.CollectionSpec
	specErr  error
)

func innerSpec(outer string) (*ebpf.MapSpec, error) {
	specOnce.Do(func() { spec, specErr = bpf.LoadXdp() })
	if specErr != nil {
		return nil, fmt.Errorf("load XDP spec: %w", specErr)
	}
	ms, ok := spec.Maps[outer]
	if !ok || ms.InnerMap == nil {
		return nil, fmt.Errorf("no inner map spec for %s", outer)
	}
	return ms.InnerMap.Copy(), nil
}

func outerNames(id List) [kindCount]string {
	n := id.String()
	return [kindCount]string{n + "_v4", n + "_v4_lpm", n + "_v6", n + "_v6_lpm"}
}

func outersOf(objs *bpf.XdpObjects, id List) [kindCount]*ebpf.Map {
	if id == Allow {
		return [kindCount]*ebpf.Map{objs.AllowV4, objs.AllowV4Lpm, objs.AllowV6, objs.AllowV6Lpm}
	}
	return [kindCount]*ebpf.Map{objs.DenyV4, objs.DenyV4Lpm, objs.DenyV6, objs.DenyV6Lpm}
}

// openList adopts the live generation of a list, creating empty inner maps
// where a slot is empty (first start).
func openList(objs *bpf.XdpObjects, id List) (*listState, error) {
	ls := &listState{id: id, outers: outersOf(objs, id), gens: objs.ListGen}
	lid := uint32(id)
	if err := ls.gens.Lookup(lid, &ls.gen); err != nil {
		return nil, fmt.Errorf("read generation: %w", err)
	}
	ls.gen &= 1
	names := outerNames(id)
	for k := range kindCount {
		var m *ebpf.Map
		err := ls.outers[k].Lookup(ls.gen, &m)
		switch {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			if m, err = newInner(names[k], minCapacity); err != nil {
				return nil, err
			}
			if err := ls.outers[k].Put(ls.gen, m); err != nil {
				m.Close()
				return nil, fmt.Errorf("install %s[%d]: %w", names[k], ls.gen, err)
			}
		case err != nil:
			return nil, fmt.Errorf("look up %s[%d]: %w", names[k], ls.gen, err)
		}
		ls.inner[k] = m
		info, err := m.Info()
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", names[k], err)
		}
		ls.cap[k] = info.MaxEntries
		n, err := countKeys(m, kind(k))
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", names[k], err)
		}
		ls.size[k] = n
	}
	return ls, nil
}

func newInner(outer string, capacity uint32) (*ebpf.Map, error) {
	ms, err := innerSpec(outer)
	if err != nil {
		return nil, err
	}
	ms.MaxEntries = capacity
	m, err := ebpf.NewMap(ms)
	if err != nil {
		return nil, fmt.Errorf("create %s inner map (%d entries): %w", outer, capacity, err)
	}
	return m, nil
}

func countKeys(m *ebpf.Map, k kind) (int, error) {
	n := 0
	it := m.Iterate()
	var v bpf.XdpListEntry
	kp := newKey(k)
	for it.Next(kp, &v) {
		n++
	}
	return n, it.Err()
}

func (ls *listState) len() int {
	n := 0
	for _, s := range ls.size {
		n += s
	}
	return n
}

func (ls *listState) close() {
	for _, m := range ls.inner {
		if m != nil {
			m.Close()
		}
	}
}

// errFull means an inner map has no room left; the caller grows the list.
var errFull = errors.New("list map is full")

func (ls *listState) put(p netip.Prefix, v bpf.XdpListEntry) error {
	k := kindOf(p)
	kk := key(p)
	var old bpf.XdpListEntry
	existed := ls.inner[k].Lookup(kk, &old) == nil
	if !existed && ls.size[k] >= int(ls.cap[k]) {
		return errFull
	}
	if err := ls.inner[k].Put(kk, v); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) || strings.Contains(err.Error(), "argument list too long") {
			return errFull
		}
		return err
	}
	if !existed {
		ls.size[k]++
	}
	return nil
}

func (ls *listState) remove(p netip.Prefix) (bool, error) {
	k := kindOf(p)
	err := ls.inner[k].Delete(key(p))
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ls.size[k]--
	return true, nil
}

// each calls fn for every entry of the live generation.
func (ls *listState) each(fn func(p netip.Prefix, v bpf.XdpListEntry) error) error {
	for k := range kindCount {
		it := ls.inner[k].Iterate()
		kp := newKey(kind(k))
		var v bpf.XdpListEntry
		for it.Next(kp, &v) {
			if err := fn(prefixOf(kp), v); err != nil {
				return err
			}
		}
		if err := it.Err(); err != nil {
			return fmt.Errorf("iterate %s: %w", outerNames(ls.id)[k], err)
		}
	}
	return nil
}

type encoded struct {
	prefix netip.Prefix
	value  bpf.XdpListEntry
}

// replace fills a new generation with entries and flips list_gen to it, so
// that the kernel sees the old list or the new one, never neither.
func (ls *listState) replace(entries []encoded) error {
	var byKind [kindCount][]encoded
	for _, e := range entries {
		k := kindOf(e.prefix)
		byKind[k] = append(byKind[k], e)
	}
	names := outerNames(ls.id)
	next := ls.gen ^ 1
	var fresh [kindCount]*ebpf.Map
	closeFresh := func() {
		for _, m := range fresh {
			if m != nil {
				m.Close()
			}
		}
	}
	var sizes [kindCount]int
	var caps [kindCount]uint32
	for k := range kindCount {
		caps[k] = capacityFor(len(byKind[k]))
		m, err := newInner(names[k], caps[k])
		if err != nil {
			closeFresh()
			return err
		}
		fresh[k] = m
		n, err := fill(m, kind(k), byKind[k])
		if err != nil {
			closeFresh()
			return fmt.Errorf("fill %s: %w", names[k], err)
		}
		sizes[k] = n
	}
	for k := range kindCount {
		if err := ls.outers[k].Put(next, fresh[k]); err != nil {
			closeFresh()
			return fmt.Errorf("install %s[%d]: %w", names[k], next, err)
		}
	}
	if err := ls.gens.Put(uint32(ls.id), next); err != nil {
		closeFresh()
		return fmt.Errorf("flip %s list to generation %d: %w", ls.id, next, err)
	}
	old := ls.inner
	ls.inner, ls.size, ls.cap, ls.gen = fresh, sizes, caps, next

	// Free the old generation once no program run can still be using it.
	time.Sleep(replaceGrace)
	var errs []error
	for k := range kindCount {
		if err := ls.outers[k].Delete(next ^ 1); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("release %s[%d]: %w", names[k], next^1, err))
		}
		old[k].Close()
	}
	return errors.Join(errs...)
}

// fill writes entries into a new inner map, in batches where the map type
// supports it (hash maps do, LPM tries don't). Duplicates keep the last.
func fill(m *ebpf.Map, k kind, entries []encoded) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	if k == kindV4 || k == kindV6 {
		return fillBatch(m, k, entries)
	}
	seen := make(map[netip.Prefix]struct{}, len(entries))
	for _, e := range entries {
		if err := m.Put(key(e.prefix), e.value); err != nil {
			return 0, fmt.Errorf("put %s: %w", e.prefix, err)
		}
		seen[e.prefix] = struct{}{}
	}
	return len(seen), nil
}

const batchSize = 16384

// fillBatch writes exact entries with BPF_MAP_UPDATE_BATCH from one
// goroutine per CPU: the kernel allocates each element, which dominates the
// cost of a big replace, and its hash map takes per-bucket locks, so the
// work spreads across CPUs.
func fillBatch(m *ebpf.Map, k kind, entries []encoded) (int, error) {
	var keys any
	values := make([]bpf.XdpListEntry, len(entries))
	var unique int
	if k == kindV4 {
		ks := make([][4]byte, len(entries))
		seen := make(map[[4]byte]struct{}, len(entries))
		for i, e := range entries {
			ks[i], values[i] = e.prefix.Addr().As4(), e.value
			seen[ks[i]] = struct{}{}
		}
		keys, unique = ks, len(seen)
	} else {
		ks := make([]bpf.XdpSrcKey, len(entries))
		seen := make(map[[16]byte]struct{}, len(entries))
		for i, e := range entries {
			ks[i], values[i] = bpf.XdpSrcKey{Addr: e.prefix.Addr().As16()}, e.value
			seen[ks[i].Addr] = struct{}{}
		}
		keys, unique = ks, len(seen)
	}
	workers := min(runtime.NumCPU(), 4)
	chunks := make(chan int, len(entries)/batchSize+1)
	for start := 0; start < len(entries); start += batchSize {
		chunks <- start
	}
	close(chunks)
	var g errgroup.Group
	for range workers {
		g.Go(func() error {
			for start := range chunks {
				end := min(start+batchSize, len(entries))
				var err error
				switch ks := keys.(type) {
				case [][4]byte:
					_, err = m.BatchUpdate(ks[start:end], values[start:end], nil)
				case []bpf.XdpSrcKey:
					_, err = m.BatchUpdate(ks[start:end], values[start:end], nil)
				}
				if err != nil {
					return fmt.Errorf("batch update at %d: %w", start, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return unique, nil
}
