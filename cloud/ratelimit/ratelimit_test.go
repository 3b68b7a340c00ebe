package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := New(10, 5) // 10/s, burst 5
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("a", 1, t0); !ok {
			t.Fatalf("call %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("a", 1, t0)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("over the burst: ok=%v wait=%v, want refused for 100ms", ok, wait)
	}
	if ok, _ := l.Allow("b", 5, t0); !ok {
		t.Fatal("another key shares a's bucket")
	}
	if ok, _ := l.Allow("a", 1, t0.Add(100*time.Millisecond)); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, wait := l.Allow("a", 6, t0.Add(time.Hour)); ok || wait < time.Hour {
		t.Fatalf("more than the burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("a", 5, t0.Add(time.Hour)); !ok {
		t.Fatal("full bucket refused its burst")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := New(1, 2)
	for i := 0; i < 1000; i++ {
		l.Allow(fmt.Sprint(i), 1, t0)
	}
	// Two seconds refill every bucket: the next call sweeps them all.
	l.Allow("x", 1, t0.Add(3*time.Second))
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}
