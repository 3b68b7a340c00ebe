package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Binaries returns the directory holding palisade-agent, palisade-cloud and
// palisadectl: $PALISADE_BIN (set by `make test-e2e`), or a fresh build of
// ./cmd/... when it is unset, so that `go test ./test/...` works alone.
func Binaries(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("PALISADE_BIN"); dir != "" {
		return dir
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "palisade-bin-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/", "./cmd/...")
		cmd.Dir = strings.TrimSpace(string(out))
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return buildDir
}

// Bin is the path of one binary of Binaries.
func Bin(t testing.TB, name string) string {
	return filepath.Join(Binaries(t), name)
}
