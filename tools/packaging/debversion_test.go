package main

import (
	"os/exec"
	"testing"
)

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		commits int
		want    string
	}{
		{"v1.2.3", 0, "1.2.3"},
		{"1.2.3", 0, "1.2.3"},
		{"v1.2.3-rc1", 0, "1.2.3~rc1"},
		{"v1.2.3-4-gabc1234", 0, "1.2.3+git4.abc1234"},
		{"v1.2.3-4-gabc1234-dirty", 0, "1.2.3+git4.abc1234.dirty"},
		{"v1.2.3-rc1-4-gabc1234", 0, "1.2.3~rc1+git4.abc1234"},
		{"v1.2.3-dirty", 0, "1.2.3+dirty"},
		{"abc1234", 12, "0.0.0~git12.abc1234"},
		{"abc1234-dirty", 12, "0.0.0~git12.abc1234.dirty"},
		{"6448fdf", 12, "0.0.0~git12.6448fdf"},
		{"dev", 0, "0.0.0~dev"},
	} {
		got, err := debVersion(tc.in, tc.commits)
		if err != nil || got != tc.want {
			t.Errorf("debVersion(%q, %d) = %q, %v; want %q", tc.in, tc.commits, got, err, tc.want)
		}
	}
	for _, bad := range []string{"release one", "v", "-1", "12"} {
		if got, err := debVersion(bad, 0); err == nil {
			t.Errorf("debVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestDebVersionOrder checks the mapping against dpkg's own ordering: a
// pre-release sorts before its release, later commits after it, and more
// commits on an untagged tree after fewer.
func TestDebVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Fatalf("dpkg, which these packages are for, is not installed: %v", err)
	}
	order := [][2]any{
		{"abc1234", 3}, {"def5678", 10}, {"v0.1.0-rc1", 0}, {"v0.1.0", 0},
		{"v0.1.0-2-gabc1234", 0}, {"v0.1.0-11-gdef5678", 0}, {"v0.2.0", 0},
	}
	var prev string
	for _, o := range order {
		v, err := debVersion(o[0].(string), o[1].(int))
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := exec.Command(dpkg, "--compare-versions", prev, "lt", v).Run(); err != nil {
				t.Errorf("dpkg does not order %q before %q", prev, v)
			}
		}
		prev = v
	}
}
