package proxy

import (
	"net/netip"
	"testing"
	"time"
)

func sourceKey(i int) bucketKey {
	return bucketKey{app: 1, rule: 1, scope: "/", src: netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})}
}

func TestRateLimiterRefill(t *testing.T) {
	l := newRateLimiter(16)
	rl := RateLimit{Requests: 6, Period: time.Minute, Burst: 3} // a token every 10 s
	k := sourceKey(1)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.take(k, rl, t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.take(k, rl, t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused, 10s", ok, wait)
	}
	if ok, wait = l.take(k, rl, t0.Add(7*time.Second)); ok || wait != 3*time.Second {
		t.Fatalf("0.7 token: ok=%v wait=%v, want refused, 3s", ok, wait)
	}
	if ok, _ = l.take(k, rl, t0.Add(10*time.Second)); !ok {
		t.Fatal("a token is back after 10 s")
	}
	// A clock that goes back refills nothing and does not drain either.
	if ok, _ = l.take(k, rl, t0); ok {
		t.Fatal("time going back gave a token")
	}
	if ok, _ = l.take(k, rl, t0.Add(20*time.Second)); !ok {
		t.Fatal("refill after the clock came back")
	}
	// Another source has its own bucket.
	if ok, _ = l.take(sourceKey(2), rl, t0); !ok {
		t.Fatal("another source refused")
	}
	// Burst 0 means Requests; a lowered burst applies to a full bucket.
	k3 := sourceKey(3)
	for i := range 7 {
		ok, _ := l.take(k3, RateLimit{Requests: 6, Period: time.Minute}, t0)
		if ok != (i < 6) {
			t.Fatalf("burst 0, request %d: ok=%v", i+1, ok)
		}
	}
	k4 := sourceKey(4)
	l.take(k4, rl, t0)
	lowered := RateLimit{Requests: 6, Period: time.Minute, Burst: 1}
	if ok, _ := l.take(k4, lowered, t0.Add(time.Hour)); !ok {
		t.Fatal("lowered burst: first request refused")
	}
	if ok, _ := l.take(k4, lowered, t0.Add(time.Hour)); ok {
		t.Fatal("lowered burst: second request admitted")
	}
	// A rule that allows nothing measurable limits nothing.
	if ok, _ := l.take(sourceKey(5), RateLimit{Requests: 0, Period: time.Minute}, t0); !ok {
		t.Fatal("zero-request rule refused")
	}
}

// The limiter never holds more than its bound; the bucket it forgets is
// the least recently used, so an active offender stays limited while
// sources sprayed past it are forgotten.
func TestRateLimiterBoundedMemory(t *testing.T) {
	const max = 64
	l := newRateLimiter(max)
	rl := RateLimit{Requests: 1, Period: time.Hour}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	offender := sourceKey(0)
	l.take(offender, rl, now)
	for i := 1; i <= 10*max; i++ {
		l.take(sourceKey(i), rl, now)
		if i%(max/2) == 0 {
			// The offender keeps coming back, and stays refused.
			if ok, _ := l.take(offender, rl, now); ok {
				t.Fatalf("after %d other sources, the offender's bucket was forgotten", i)
			}
		}
		if n := l.len(); n > max {
			t.Fatalf("%d buckets, bound %d", n, max)
		}
	}
	if n := l.len(); n != max {
		t.Fatalf("%d buckets, want %d", n, max)
	}
	// The oldest sprayed source was forgotten: it starts afresh.
	if ok, _ := l.take(sourceKey(1), rl, now); !ok {
		t.Error("a forgotten source is still limited")
	}
	// The most recent one is remembered.
	if ok, _ := l.take(sourceKey(10*max), rl, now); ok {
		t.Error("a recent source was forgotten")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for wait, want := range map[time.Duration]int64{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, time.Minute: 60} {
		if got := retryAfterSeconds(wait); got != want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", wait, got, want)
		}
	}
}

func BenchmarkRateLimiterTake(b *testing.B) {
	l := newRateLimiter(maxRateBuckets)
	rl := RateLimit{Requests: 100, Period: time.Second, Burst: 100}
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		l.take(sourceKey(i%4096), rl, now.Add(time.Duration(i)*time.Microsecond))
	}
}
