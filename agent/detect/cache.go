package detect

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	"github.com/palisadewaf/palisade/agent/detect/attack"
)

// cleanCache remembers header and cookie values in which the built-in
// detectors found nothing, so that the next request carrying the same
// value in the same context skips them. Headers repeat across requests far
// more than anything else a request holds: every client of a browser
// version sends the same User-Agent and Accept-Language, and a client its
// own cookies on every request; the User-Agent alone is the costliest
// value of a typical request (a dozen tokens libinjection and the shell
// tokenizer must both read).
//
// It is a direct-mapped table of atomic pointers: lock-free, a fixed size,
// and a collision only replaces an entry. Detection is a pure function of
// the value and its attack.Context, both part of the entry, so a hit
// returns what a scan would. Only clean results are kept: a value with a
// detection is scanned every time, and a ruleset that disables types
// bypasses the cache (walker.scan does not call builtin then). Custom
// detectors are not cached: they run on every value as before.
type cleanCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cleanEntry]
}

type cleanEntry struct {
	ctx attack.Context
	v   string
}

// cleanMaxLen is the longest value the cache keeps: longer header values
// are rare, and a long unique one would only evict shorter shared ones.
const cleanMaxLen = 512

func newCleanCache(n int) *cleanCache {
	if n <= 0 {
		return nil
	}
	return &cleanCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cleanEntry], n)}
}

// cacheable reports whether a value in ctx may be looked up and stored.
func cacheable(ctx *attack.Context, v string) bool {
	return (ctx.Where == attack.InHeader || ctx.Where == attack.InCookie) && len(v) <= cleanMaxLen
}

func (c *cleanCache) slot(ctx *attack.Context, v string) *atomic.Pointer[cleanEntry] {
	h := maphash.String(c.seed, v) ^ maphash.String(c.seed, ctx.Header)*0x9E3779B97F4A7C15 ^ maphash.String(c.seed, ctx.Name)*0xC2B2AE3D27D4EB4F
	return &c.slots[h%uint64(len(c.slots))]
}

// has reports whether v was found clean in ctx.
func (c *cleanCache) has(ctx *attack.Context, v string) bool {
	e := c.slot(ctx, v).Load()
	return e != nil && e.v == v && e.ctx == *ctx
}

// add records that v is clean in ctx. The strings are copied: the entry
// outlives the request.
func (c *cleanCache) add(ctx *attack.Context, v string) {
	k := *ctx
	k.Header, k.Host, k.Name, k.Parent = strings.Clone(k.Header), strings.Clone(k.Host), strings.Clone(k.Name), strings.Clone(k.Parent)
	c.slot(ctx, v).Store(&cleanEntry{ctx: k, v: strings.Clone(v)})
}
