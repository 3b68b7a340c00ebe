package ops_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/palisadewaf/palisade/tools/lab"
)

// The throwaway root is a minimal Debian 12 with systemd (for its unit
// directories, deb-systemd-helper and `systemd-analyze verify --root`),
// procps (/bin/kill in ExecReload), iproute2 and python3 (used by the VM's
// provisioning and its sample application), as on a server.
const (
	debSuite    = "bookworm"
	debIncludes = "systemd,procps,iproute2,python3-minimal"
)

// TestDebLifecycle installs the three packages into a Debian root with dpkg
// (maintainer scripts run chrooted there), then upgrades, removes,
// reinstalls and purges them, checking files, owners, modes, the cloud's
// system user, that the binaries run, that the default configuration is
// valid, and that configuration and data survive everything but purge.
func TestDebLifecycle(t *testing.T) {
	lab.RequireRoot(t)
	dpkg := requireTool(t, "dpkg")
	requireTool(t, "dpkg-deb")
	v1 := buildPackages(t, "v0.1.0")
	v2 := buildPackages(t, "v0.2.0")
	root := debianRoot(t)
	r := &debRoot{t: t, dir: root, dpkgBin: dpkg}

	r.dpkg("-i", v1...)
	r.checkInstalled("0.1.0")
	r.checkUnitsVerify()

	// An administrator's changes and the daemons' data.
	r.appendFile("/etc/palisade/agent.yaml", "# edited by the administrator\n")
	r.appendFile("/etc/palisade/cloud.env", "# edited by the administrator\n")
	r.writeFile("/var/lib/palisade/ruleset.json", "{}\n")
	r.writeFile("/var/lib/palisade-cloud/palisade.db", "data\n")

	r.dpkg("-i", v2...)
	r.checkInstalled("0.2.0")
	r.checkKept("after upgrade")

	r.dpkg("--remove", "palisade-agent", "palisade-cloud", "palisadectl")
	for _, p := range []string{"/usr/bin/palisade-agent", "/usr/bin/palisade-cloud", "/usr/bin/palisadectl",
		"/usr/lib/systemd/system/palisade-agent.service", "/usr/lib/systemd/system/palisade-cloud.service"} {
		r.absent(p)
	}
	r.checkKept("after remove")
	if !strings.Contains(r.file("/etc/passwd"), "palisade-cloud:") {
		t.Error("removal deleted the palisade-cloud user; files may still belong to it")
	}

	// Reinstalling after a removal finds the configuration as it was left.
	r.dpkg("-i", v2...)
	r.checkInstalled("0.2.0")
	r.checkKept("after reinstall")

	r.dpkg("--purge", "palisade-agent", "palisade-cloud", "palisadectl")
	for _, p := range []string{"/etc/palisade/agent.yaml", "/etc/palisade/cloud.env", "/etc/palisade",
		"/var/lib/palisade", "/var/lib/palisade-cloud",
		"/etc/systemd/system/multi-user.target.wants/palisade-agent.service",
		"/etc/systemd/system/palisade-agent.service", "/etc/systemd/system/palisade-cloud.service"} {
		r.absent(p)
	}
}

type debRoot struct {
	t       *testing.T
	dir     string
	dpkgBin string
}

func (r *debRoot) path(p string) string { return filepath.Join(r.dir, p) }

func (r *debRoot) dpkg(action string, args ...string) {
	r.t.Helper()
	full := append([]string{"--root=" + r.dir, action}, args...)
	cmd := exec.Command(r.dpkgBin, full...)
	// No terminal: a configuration prompt would fail the command, which is
	// what the test wants (dpkg must never need to ask).
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("dpkg %s: %v\n%s", strings.Join(full, " "), err, out)
	}
}

func (r *debRoot) chroot(args ...string) string {
	r.t.Helper()
	return run(r.t, "chroot", append([]string{r.dir}, args...)...)
}

func (r *debRoot) file(p string) string {
	r.t.Helper()
	return readFile(r.t, r.path(p))
}

func (r *debRoot) writeFile(p, s string) {
	r.t.Helper()
	if err := os.WriteFile(r.path(p), []byte(s), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *debRoot) appendFile(p, s string) {
	r.t.Helper()
	r.writeFile(p, r.file(p)+s)
}

func (r *debRoot) absent(p string) {
	r.t.Helper()
	if _, err := os.Lstat(r.path(p)); err == nil {
		r.t.Errorf("%s still exists", p)
	} else if !os.IsNotExist(err) {
		r.t.Error(err)
	}
}

// checkMode checks type, permissions and owner of p; owner is user:group.
func (r *debRoot) checkMode(p string, want fs.FileMode, owner string) {
	r.t.Helper()
	fi, err := os.Lstat(r.path(p))
	if err != nil {
		r.t.Errorf("%s: %v", p, err)
		return
	}
	if fi.Mode() != want {
		r.t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
	}
	st := fi.Sys().(*syscall.Stat_t)
	user, group, _ := strings.Cut(owner, ":")
	if uid := r.id("/etc/passwd", user); st.Uid != uid {
		r.t.Errorf("%s: owner uid %d, want %s (%d)", p, st.Uid, user, uid)
	}
	if gid := r.id("/etc/group", group); st.Gid != gid {
		r.t.Errorf("%s: group gid %d, want %s (%d)", p, st.Gid, group, gid)
	}
}

// id looks name up in the root's passwd or group file.
func (r *debRoot) id(db, name string) uint32 {
	r.t.Helper()
	for line := range strings.Lines(r.file(db)) {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == name {
			n, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				r.t.Fatalf("%s: %q: %v", db, line, err)
			}
			return uint32(n)
		}
	}
	r.t.Fatalf("%s has no %s", db, name)
	return 0
}

func (r *debRoot) checkInstalled(version string) {
	r.t.Helper()
	for _, pkg := range []string{"palisade-agent", "palisade-cloud", "palisadectl"} {
		got := run(r.t, r.dpkgBin+"-query", "--admindir="+r.path("/var/lib/dpkg"), "-W", "-f=${Status} ${Version}", pkg)
		if got != "install ok installed "+version {
			r.t.Errorf("%s: dpkg status %q, want installed %s", pkg, got, version)
		}
	}
	r.checkMode("/usr/bin/palisade-agent", 0o755, "root:root")
	r.checkMode("/usr/bin/palisade-cloud", 0o755, "root:root")
	r.checkMode("/usr/bin/palisadectl", 0o755, "root:root")
	r.checkMode("/usr/lib/systemd/system/palisade-agent.service", 0o644, "root:root")
	r.checkMode("/usr/lib/systemd/system/palisade-cloud.service", 0o644, "root:root")
	r.checkMode("/etc/palisade", fs.ModeDir|0o755, "root:root")
	r.checkMode("/etc/palisade/agent.yaml", 0o640, "root:root")
	r.checkMode("/etc/palisade/cloud.env", 0o600, "root:root")
	r.checkMode("/var/lib/palisade", fs.ModeDir|0o700, "root:root")
	r.checkMode("/var/lib/palisade-cloud", fs.ModeDir|0o750, "palisade-cloud:palisade-cloud")

	// The cloud's user: a system account that cannot log in.
	var entry []string
	for line := range strings.Lines(r.file("/etc/passwd")) {
		if f := strings.Split(strings.TrimSpace(line), ":"); f[0] == "palisade-cloud" {
			entry = f
		}
	}
	if len(entry) != 7 {
		r.t.Fatalf("no palisade-cloud user in /etc/passwd")
	}
	if uid, _ := strconv.Atoi(entry[2]); uid == 0 || uid >= 1000 {
		r.t.Errorf("palisade-cloud has uid %d, want a system uid (1-999)", uid)
	}
	if entry[5] != "/var/lib/palisade-cloud" || entry[6] != "/usr/sbin/nologin" {
		r.t.Errorf("palisade-cloud: home %s shell %s", entry[5], entry[6])
	}

	// The binaries run in the root, and the default configuration they
	// ship is valid as it is.
	for _, bin := range []string{"palisade-agent", "palisade-cloud"} {
		if out := r.chroot("/usr/bin/"+bin, "--version"); !strings.Contains(out, "version") {
			r.t.Errorf("%s --version: %q", bin, out)
		}
	}
	if out := r.chroot("/usr/bin/palisadectl", "--help"); !strings.Contains(out, "palisadectl") {
		r.t.Errorf("palisadectl --help: %q", out)
	}
	r.chroot("/usr/bin/palisade-agent", "check-config", "--config", "/etc/palisade/agent.yaml")

	// postinst enabled both units, as deb-systemd-helper does for
	// packages built by debhelper (linking /lib or /usr/lib: one directory
	// on a merged-/usr system).
	for _, u := range []string{"palisade-agent.service", "palisade-cloud.service"} {
		link := r.path("/etc/systemd/system/multi-user.target.wants/" + u)
		dst, err := os.Readlink(link)
		if err != nil || (dst != "/usr/lib/systemd/system/"+u && dst != "/lib/systemd/system/"+u) {
			r.t.Errorf("%s not enabled: %q, %v", u, dst, err)
		}
	}
}

// checkUnitsVerify runs systemd-analyze verify on the units as installed:
// unit syntax, the executables they name, their dependencies.
func (r *debRoot) checkUnitsVerify() {
	r.t.Helper()
	analyze := requireTool(r.t, "systemd-analyze")
	out, err := runErr(analyze, "verify", "--root="+r.dir, "palisade-agent.service", "palisade-cloud.service")
	if err != nil || strings.TrimSpace(out) != "" {
		r.t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func (r *debRoot) checkKept(when string) {
	r.t.Helper()
	for p, want := range map[string]string{
		"/etc/palisade/agent.yaml":            "# edited by the administrator\n",
		"/etc/palisade/cloud.env":             "# edited by the administrator\n",
		"/var/lib/palisade/ruleset.json":      "{}\n",
		"/var/lib/palisade-cloud/palisade.db": "data\n",
	} {
		b, err := os.ReadFile(r.path(p))
		if err != nil || !strings.HasSuffix(string(b), want) {
			r.t.Errorf("%s: %s lost (%v)", when, p, err)
		}
	}
}

var (
	packagerOnce sync.Once
	packagerBin  string
	packagerErr  error
)

// buildPackages builds the three .deb files of the binaries under test with
// tools/packaging, as `make package` does, as version v.
func buildPackages(t *testing.T, v string) []string {
	t.Helper()
	packagerOnce.Do(func() {
		packagerBin = filepath.Join(os.TempDir(), fmt.Sprintf("palisade-packaging-%d", os.Getpid()))
		out, err := exec.Command("go", "build", "-o", packagerBin, path(t, "tools/packaging")).CombinedOutput()
		if err != nil {
			packagerErr = fmt.Errorf("build tools/packaging: %v\n%s", err, out)
		}
	})
	if packagerErr != nil {
		t.Fatal(packagerErr)
	}
	out := t.TempDir()
	run(t, packagerBin, "-bin", lab.Binaries(t), "-out", out, "-pkgdir", path(t, "tools/packaging"), "-version", v)
	debs, err := filepath.Glob(filepath.Join(out, "*.deb"))
	if err != nil || len(debs) != 3 {
		t.Fatalf("want 3 packages in %s, got %v (%v)", out, debs, err)
	}
	return debs
}

// debianRoot returns a fresh minimal Debian root. debootstrap runs once per
// machine; its result is kept as a tarball in the user's cache directory
// (PALISADE_OPS_CACHE overrides it) and unpacked for each test.
func debianRoot(t *testing.T) string {
	t.Helper()
	debootstrap := requireTool(t, "debootstrap")
	mirror := os.Getenv("PALISADE_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	cache := os.Getenv("PALISADE_OPS_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(dir, "palisade-ops")
	}
	sum := sha256.Sum256([]byte(debSuite + " " + debIncludes + " " + mirror))
	tarball := filepath.Join(cache, fmt.Sprintf("%s-minbase-%s.tar", debSuite, hex.EncodeToString(sum[:6])))

	if _, err := os.Stat(tarball); err != nil {
		if err := os.MkdirAll(cache, 0o700); err != nil {
			t.Fatal(err)
		}
		build := filepath.Join(t.TempDir(), "debootstrap")
		t.Logf("debootstrap %s into %s (once; cached in %s)", debSuite, build, tarball)
		run(t, debootstrap, "--variant=minbase", "--include="+debIncludes, debSuite, build, mirror)
		tmp := tarball + ".tmp"
		run(t, "tar", "--numeric-owner", "-C", build, "-cpf", tmp, ".")
		if err := os.Rename(tmp, tarball); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "--numeric-owner", "-C", root, "-xpf", tarball)
	return root
}
