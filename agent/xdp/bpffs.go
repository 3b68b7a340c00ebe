package xdp

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

const sysBPFFS = "/sys/fs/bpf"

// ensureBPFFS checks that pinPath's parent is on a bpffs, mounting one on
// /sys/fs/bpf when that is where it should be and nothing is there yet
// (minimal distributions and some containers don't mount it).
func ensureBPFFS(pinPath string) error {
	parent := filepath.Dir(filepath.Clean(pinPath))
	if onBPFFS(parent) {
		return nil
	}
	if parent != sysBPFFS {
		return fmt.Errorf("pin path %s: %s is not on a bpffs (mount -t bpf bpf %s)", pinPath, parent, parent)
	}
	if err := os.MkdirAll(sysBPFFS, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", sysBPFFS, err)
	}
	if err := unix.Mount("bpf", sysBPFFS, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", sysBPFFS, err)
	}
	return nil
}

func onBPFFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}
