package lab

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Require fails the test when CI=true and the process lacks what it needs
// (root: BPF, bpffs, network namespaces); elsewhere it skips. A test that
// needs the kernel must never pass in CI by skipping.
func Require(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required (CI=true: failing instead of skipping)", what)
	}
	t.Skipf("%s is required; skipping (set CI=true to make this a failure)", what)
}

// RequireRoot is Require for tests that need uid 0 (BPF, netns, nftables).
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, "root", unix.Geteuid() == 0)
}
