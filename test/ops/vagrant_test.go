package ops_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/tools/lab"
)

const provisionScript = "tools/vagrant/provision.sh"

// TestVagrantfileValidates runs `vagrant validate` on a copy of the
// Vagrantfile with its provisioning script (vagrant checks the script's
// path exists): once with the libvirt provider's settings checked by the
// vagrant-libvirt plugin, once ignoring provider blocks (VirtualBox is not
// in Debian).
func TestVagrantfileValidates(t *testing.T) {
	vagrant := requireTool(t, "vagrant")
	dir := t.TempDir()
	copyFile(t, path(t, "Vagrantfile"), filepath.Join(dir, "Vagrantfile"))
	copyFile(t, path(t, provisionScript), filepath.Join(dir, filepath.FromSlash(provisionScript)))

	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"libvirt", []string{"validate"}, "VAGRANT_DEFAULT_PROVIDER=libvirt"},
		{"any provider", []string{"validate", "--ignore-provider"}, ""},
	} {
		cmd := exec.Command(vagrant, tc.args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "VAGRANT_CHECKPOINT_DISABLE=1", "VAGRANT_CWD="+dir)
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "validated successfully") {
			t.Errorf("vagrant validate (%s): %v\n%s", tc.name, err, out)
		}
	}
}

var provisionRE = regexp.MustCompile(`(?m)^\s*config\.vm\.provision\b(.*(?:\n\s+.*)*)`)

// TestVagrantProvisionsWithTestedScript checks that the VM is provisioned
// by tools/vagrant/provision.sh alone (no inline shell, no second
// provisioner), that the script's dependency and build steps are the ones
// CI runs (tools/ci/deps.sh, make package), and runs its install and
// configure steps in a Debian root: the packages install, the sample
// application's unit and the demo configuration are valid.
func TestVagrantProvisionsWithTestedScript(t *testing.T) {
	lab.RequireRoot(t)
	vf := readFile(t, path(t, "Vagrantfile"))
	provisions := provisionRE.FindAllStringSubmatch(vf, -1)
	if len(provisions) != 1 {
		t.Fatalf("Vagrantfile has %d provisioners, want exactly one (%s)", len(provisions), provisionScript)
	}
	if p := provisions[0][1]; !strings.Contains(p, `path: "`+provisionScript+`"`) || strings.Contains(p, "inline") {
		t.Fatalf("the Vagrantfile's provisioner is not %s alone: %s", provisionScript, p)
	}
	script := readFile(t, path(t, provisionScript))
	for _, want := range []string{`bash "$src/tools/ci/deps.sh"`, "make package"} {
		if !strings.Contains(script, want) {
			t.Errorf("%s does not run %q: its steps must be the ones CI runs", provisionScript, want)
		}
	}

	debs := buildPackages(t, "v0.1.0")
	root := debianRoot(t)
	src := filepath.Join(root, "src")
	for _, d := range debs {
		copyFile(t, d, filepath.Join(src, "dist", filepath.Base(d)))
	}
	copyFile(t, path(t, provisionScript), filepath.Join(src, filepath.FromSlash(provisionScript)))

	if out, err := runErr("chroot", root, "bash", "/src/"+provisionScript, "/src", "bogus"); err == nil {
		t.Errorf("provision.sh accepted an unknown step:\n%s", out)
	}
	run(t, "chroot", root, "bash", "/src/"+provisionScript, "/src", "install", "configure")

	r := &debRoot{t: t, dir: root, dpkgBin: requireTool(t, "dpkg")}
	r.checkInstalled("0.1.0")
	if cfg := r.file("/etc/palisade/agent.yaml"); !strings.Contains(cfg, "name: sample") {
		t.Errorf("agent.yaml does not protect the sample application:\n%s", cfg)
	}
	if env := r.file("/etc/palisade/cloud.env"); !strings.Contains(env, "\nPALISADE_CLOUD_LISTEN=0.0.0.0:8080\n") {
		t.Errorf("cloud.env does not listen for the host:\n%s", env)
	}
	analyze := requireTool(t, "systemd-analyze")
	if out, err := runErr(analyze, "verify", "--root="+root,
		"palisade-sample-app.service", "palisade-agent.service", "palisade-cloud.service"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify after provisioning: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}
