// Package ops_test checks what operators install and run: the Debian
// packages (installed into a throwaway Debian root), the systemd units, the
// agent under its unit's capability set, the Prometheus rules and Grafana
// dashboards, the Vagrant VM's definition and provisioning script, and a
// real Prometheus scraping a running agent and cloud.
//
// Every tool these tests use (dpkg, debootstrap, systemd-analyze, promtool,
// prometheus, vagrant) is installed by `make deps`; with CI=true a missing
// one fails the test instead of skipping it.
package ops_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/tools/lab"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if packagerBin != "" {
		os.Remove(packagerBin)
	}
	os.Exit(code)
}

// requireTool returns the path of a tool the test needs.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	lab.Require(t, name+" (installed by make deps)", err == nil)
	return path
}

var (
	rootOnce sync.Once
	rootDir  string
)

// repoRoot is the module's directory: the tests read the files operators
// get (units, rules, docs) from the tree, not from copies.
func repoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err == nil {
			rootDir = strings.TrimSpace(string(out))
		}
	})
	if rootDir == "" {
		t.Fatal("cannot find the module's directory (go list -m)")
	}
	return rootDir
}

// run runs a command and fails the test with its output when it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// path joins the repository root and a slash-separated relative path.
func path(t testing.TB, rel string) string {
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
