// Package ratelimit is a keyed token-bucket limiter: one bucket per key
// (a node, a client address, an account), created on first use and
// forgotten once full and idle, so that the memory it holds is bounded by
// the keys active within one refill period.
//
// The buckets live in the process: behind a load balancer each replica
// limits what it sees, so the effective limit is per replica.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter limits events per key to Rate per second with bursts up to Burst.
type Limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter allowing rate events per second per key, burst at
// once.
func New(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// Allow takes n tokens from key's bucket at now. When the bucket holds
// fewer it takes none, and says how long to wait until it would hold n.
// A request for more than the burst can never succeed and waits forever
// (math.MaxInt64).
func (l *Limiter) Allow(key string, n int, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.rate)
		b.at = now
	}
	need := float64(n)
	if need > l.burst {
		return false, time.Duration(math.MaxInt64)
	}
	if b.tokens >= need {
		b.tokens -= need
		return true, 0
	}
	return false, time.Duration((need - b.tokens) / l.rate * float64(time.Second))
}

// Len is the number of keys with a bucket.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweep forgets buckets that have refilled completely: a new bucket would
// be the same. It runs at most once per refill period.
func (l *Limiter) sweep(now time.Time) {
	if now.Before(l.sweepAt) {
		return
	}
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, k)
		}
	}
	l.sweepAt = now.Add(full)
}
