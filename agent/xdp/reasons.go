package xdp

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/cilium/ebpf"

	"github.com/palisadewaf/palisade/bpf"
)

// reasonTable deduplicates the free-text reasons of list entries into the
// pinned `reasons` map, so that entries carry a 4-byte id and the texts
// outlive the agent. Id 0 means "no reason".
type reasonTable struct {
	m      *ebpf.Map
	byText map[string]uint32
	byID   map[uint32]string
	next   uint32
	full   bool
}

func loadReasons(m *ebpf.Map) (*reasonTable, error) {
	rt := &reasonTable{m: m, byText: map[string]uint32{}, byID: map[uint32]string{}, next: 1}
	var id uint32
	var v bpf.XdpReasonText
	it := m.Iterate()
	for it.Next(&id, &v) {
		text := cString(v.Text[:])
		rt.byText[text], rt.byID[id] = id, text
		rt.next = max(rt.next, id+1)
	}
	return rt, it.Err()
}

func cString(b []int8) string {
	raw := make([]byte, len(b))
	for i, c := range b {
		raw[i] = byte(c)
	}
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		raw = raw[:i]
	}
	return string(raw)
}

// truncate cuts s to fit the C buffer with its NUL, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// id returns the id of text, storing it when new. When the table is full the
// entry keeps working without its reason (id 0); the caller is not failed
// for a label.
func (rt *reasonTable) id(text string) uint32 {
	text = truncate(text, len(bpf.XdpReasonText{}.Text)-1)
	if text == "" {
		return 0
	}
	if id, ok := rt.byText[text]; ok {
		return id
	}
	if rt.full {
		return 0
	}
	var v bpf.XdpReasonText
	for i := 0; i < len(text); i++ {
		v.Text[i] = int8(text[i])
	}
	id := rt.next
	if err := rt.m.Put(id, v); err != nil {
		rt.full = true
		return 0
	}
	rt.next++
	rt.byText[text], rt.byID[id] = id, text
	return id
}

func (rt *reasonTable) text(id uint32) string {
	return rt.byID[id]
}

func (rt *reasonTable) String() string {
	return fmt.Sprintf("%d reasons", len(rt.byID))
}
