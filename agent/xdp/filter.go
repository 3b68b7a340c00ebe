// Package xdp loads Palisade's XDP filter (bpf/xdp.c), attaches it to
// network interfaces, and is the single writer of its maps.
//
// All state lives in bpffs under a pin directory (default
// /sys/fs/bpf/palisade): the maps, the program and one link per interface.
// Packets keep being filtered while the agent is stopped; a restarted agent
// adopts the pinned maps, and a new build of the program replaces the old one
// through the pinned link without detaching. Remove tears everything down.
package xdp

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/palisadewaf/palisade/bpf"
)

// DefaultPinPath is where the filter's state lives unless configured.
const DefaultPinPath = "/sys/fs/bpf/palisade"

const (
	progPin  = "prog_xdp"
	linksDir = "links"
)

// Filter is a loaded XDP filter with its maps. It is safe for concurrent
// use; writes to the maps are serialised, as the agent is their only writer.
type Filter struct {
	pinPath string
	log     *slog.Logger
	objs    bpf.XdpObjects

	mu      sync.Mutex
	lists   [listCount]*listState
	reasons *reasonTable
	links   map[string]*attachment
}

// Open loads the filter, reusing the maps pinned under pinPath when they
// exist (adoption after a restart) and pinning new ones otherwise. It mounts
// bpffs on /sys/fs/bpf when nothing is mounted there.
func Open(pinPath string, log *slog.Logger) (*Filter, error) {
	if pinPath == "" {
		pinPath = DefaultPinPath
	}
	if log == nil {
		log = slog.Default()
	}
	if err := ensureBPFFS(pinPath); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(pinPath, linksDir), 0o700); err != nil {
		return nil, fmt.Errorf("create pin directory: %w", err)
	}

	f := &Filter{pinPath: pinPath, log: log, links: map[string]*attachment{}}
	opts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: pinPath}}
	if err := bpf.LoadXdpObjects(&f.objs, opts); err != nil {
		if errors.Is(err, ebpf.ErrMapIncompatible) {
			return nil, fmt.Errorf("load XDP objects: pinned maps under %s come from an incompatible build; "+
				"run `palisade-agent --detach` to remove them (drops stop until the agent starts again): %w", pinPath, err)
		}
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load XDP objects: verifier: %+v", verr)
		}
		return nil, fmt.Errorf("load XDP objects: %w", err)
	}
	if err := f.pinProgram(); err != nil {
		f.objs.Close()
		return nil, err
	}
	for id := range f.lists {
		ls, err := openList(&f.objs, List(id))
		if err != nil {
			f.objs.Close()
			return nil, fmt.Errorf("adopt %s list: %w", List(id), err)
		}
		f.lists[id] = ls
	}
	rt, err := loadReasons(f.objs.Reasons)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("adopt reasons: %w", err)
	}
	f.reasons = rt
	return f, nil
}

// pinProgram pins the freshly loaded program, replacing an older build's pin.
func (f *Filter) pinProgram() error {
	path := filepath.Join(f.pinPath, progPin)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old program pin: %w", err)
	}
	if err := f.objs.PalisadeXdp.Pin(path); err != nil {
		return fmt.Errorf("pin program: %w", err)
	}
	return nil
}

// PinPath is the bpffs directory holding the filter's state.
func (f *Filter) PinPath() string { return f.pinPath }

// Program is the loaded XDP program, for tests and benchmarks.
func (f *Filter) Program() *ebpf.Program { return f.objs.PalisadeXdp }

// Close releases the agent's handles. Pinned state stays, and so do the
// attachments: the filter goes on dropping with nobody at the wheel.
func (f *Filter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, a := range f.links {
		errs = append(errs, a.link.Close())
	}
	f.links = map[string]*attachment{}
	for _, ls := range f.lists {
		if ls != nil {
			ls.close()
		}
	}
	errs = append(errs, f.objs.Close())
	return errors.Join(errs...)
}

// Remove detaches the filter from every interface it is attached to and
// deletes everything pinned under pinPath. It works without a running agent.
func Remove(pinPath string) error {
	if pinPath == "" {
		pinPath = DefaultPinPath
	}
	dir := filepath.Join(pinPath, linksDir)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		l, err := link.LoadPinnedLink(path, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("load link %s: %w", path, err))
			continue
		}
		// Unpinning drops bpffs' reference; closing ours detaches.
		if err := l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("unpin %s: %w", path, err))
		}
		errs = append(errs, l.Close())
	}
	if err := os.RemoveAll(pinPath); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", pinPath, err))
	}
	return errors.Join(errs...)
}
