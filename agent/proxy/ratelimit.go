package proxy

import (
	"container/list"
	"math"
	"net/netip"
	"sync"
	"time"
)

// maxRateBuckets bounds the token buckets the proxy keeps for ruleset
// rate limits (about 200 bytes each: a few MiB at most).
const maxRateBuckets = 1 << 15

// bucketKey names one token bucket: one source under one rule of one
// application. Global rules (application 0 in the ruleset) get a bucket
// per application they apply to.
type bucketKey struct {
	app   int64
	rule  int64
	scope string // the rule's path prefix, or what the bucket gates
	src   netip.Addr
}

type bucket struct {
	key    bucketKey
	tokens float64
	last   time.Time // when tokens was last brought up to date
}

// rateLimiter keeps token buckets in a map bounded to max entries: when it
// is full, the least recently used bucket goes. Forgetting a bucket
// forgets its source's debt, so a client spraying requests from more
// sources than the map holds escapes per-source limits; active offenders,
// being recently used, are the last to be forgotten, and floods from many
// sources are the XDP filter's rate limit's to stop.
type rateLimiter struct {
	mu      sync.Mutex
	max     int
	buckets map[bucketKey]*list.Element // of *bucket
	lru     list.List                   // front: most recently used
}

func newRateLimiter(max int) *rateLimiter {
	return &rateLimiter{max: max, buckets: make(map[bucketKey]*list.Element)}
}

// take spends one token of k's bucket under rl at now. It reports whether
// the request is within the limit, and when not, how long until a token is
// back. A bucket starts full (rl.Burst tokens) and refills at rl.Requests
// per rl.Period. A rule that allows nothing measurable (no requests or no
// period) limits nothing.
func (l *rateLimiter) take(k bucketKey, rl RateLimit, now time.Time) (ok bool, retry time.Duration) {
	if rl.Requests <= 0 || rl.Period <= 0 {
		return true, 0
	}
	burst := float64(rl.Burst)
	if rl.Burst <= 0 {
		burst = float64(rl.Requests)
	}
	perSecond := float64(rl.Requests) / rl.Period.Seconds()

	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, found := l.buckets[k]; found {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		// A clock that went back refills nothing rather than draining.
		if elapsed := now.Sub(b.last); elapsed > 0 {
			b.tokens = min(burst, b.tokens+elapsed.Seconds()*perSecond)
			b.last = now
		}
		// A ruleset may have lowered the burst since.
		b.tokens = min(b.tokens, burst)
	} else {
		if l.lru.Len() >= l.max {
			oldest := l.lru.Back()
			delete(l.buckets, oldest.Value.(*bucket).key)
			l.lru.Remove(oldest)
		}
		b = &bucket{key: k, tokens: burst, last: now}
		l.buckets[k] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := (1 - b.tokens) / perSecond
	return false, time.Duration(math.Ceil(wait * float64(time.Second)))
}

// len is the number of buckets held.
func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// retryAfterSeconds is a Retry-After value for a wait: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(wait time.Duration) int64 {
	return max(1, int64(math.Ceil(wait.Seconds())))
}
