package main

import (
	"fmt"
	"regexp"
	"strings"
)

// describeRE matches `git describe --tags --always --dirty` output for a
// tagged tree: v1.2.3, v1.2.3-rc1, v1.2.3-4-gabc1234, each optionally -dirty.
var describeRE = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9A-Za-z]+)+)(?:-([0-9A-Za-z.]+))??(?:-([0-9]+)-g([0-9a-f]+))?(-dirty)?$`)

// hashRE matches describe output when no tag exists: an abbreviated hash
// (which may start with a digit; a version has dots, a hash has none).
var hashRE = regexp.MustCompile(`^([0-9a-f]{7,40})(-dirty)?$`)

// debVersion turns the build's version (what the binaries report, from git
// describe) into a Debian version that dpkg accepts and orders correctly:
//
//	v1.2.3             -> 1.2.3
//	v1.2.3-rc1         -> 1.2.3~rc1              (before 1.2.3)
//	v1.2.3-4-gabc1234  -> 1.2.3+git4.abc1234     (after 1.2.3)
//	abc1234 (no tag)   -> 0.0.0~git<commits>.abc1234
//	dev                -> 0.0.0~dev
//
// commits is the number of commits in the history; it orders untagged
// builds, whose hashes alone do not sort.
func debVersion(v string, commits int) (string, error) {
	dirty := ""
	if m := hashRE.FindStringSubmatch(v); m != nil {
		if m[2] != "" {
			dirty = ".dirty"
		}
		return fmt.Sprintf("0.0.0~git%d.%s%s", commits, m[1], dirty), nil
	}
	if m := describeRE.FindStringSubmatch(v); m != nil {
		if m[5] != "" {
			dirty = ".dirty"
		}
		out := m[1]
		if m[2] != "" {
			out += "~" + m[2]
		}
		if m[3] != "" {
			out += "+git" + m[3] + "." + m[4]
			return out + dirty, nil
		}
		if dirty != "" {
			out += "+dirty"
		}
		return out, nil
	}
	if v == "dev" || v == "" {
		return "0.0.0~dev", nil
	}
	return "", fmt.Errorf("version %q is neither a tag (v1.2.3), a git description nor a commit hash", strings.TrimSpace(v))
}
