package xdp

import (
	"time"

	"golang.org/x/sys/unix"
)

// The kernel checks expiries against bpf_ktime_get_boot_ns (CLOCK_BOOTTIME:
// monotonic, and counting suspend). The agent speaks wall-clock times to
// people, so every expiry is converted at the boundary.

func bootNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		panic("CLOCK_BOOTTIME unavailable: " + err.Error()) // Linux ≥ 2.6.39
	}
	return uint64(ts.Nano())
}

// toBoot converts a wall-clock expiry to boot-time nanoseconds; zero stays
// zero (never expires) and a time in the past becomes an expired value.
func toBoot(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	now := bootNow()
	d := time.Until(t)
	if d <= 0 {
		return max(now, 1) // expired, but not "never"
	}
	return now + uint64(d)
}

func fromBoot(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	now := bootNow()
	return time.Now().Add(time.Duration(int64(ns) - int64(now))).Round(time.Second)
}
