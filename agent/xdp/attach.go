package xdp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// Mode is how the program is attached to an interface.
type Mode string

const (
	// ModeAuto tries native (driver) mode and falls back to generic.
	ModeAuto Mode = "auto"
	// ModeNative runs in the driver, before an skb is allocated.
	ModeNative Mode = "native"
	// ModeGeneric runs after skb allocation: it works everywhere, but the
	// kernel has already paid for the packet. Only a fallback.
	ModeGeneric Mode = "generic"
)

// ParseMode validates a configured mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeNative, ModeGeneric:
		return m, nil
	case "":
		return ModeAuto, nil
	}
	return "", fmt.Errorf("unknown XDP mode %q (want auto, native or generic)", s)
}

type attachment struct {
	iface string
	mode  Mode
	link  link.Link
}

// Attachment describes where the filter runs.
type Attachment struct {
	Interface string `json:"interface"`
	Mode      Mode   `json:"mode"` // native or generic; "unknown" when adopted
	Adopted   bool   `json:"adopted"`
}

func (f *Filter) linkPin(iface string) string {
	return filepath.Join(f.pinPath, linksDir, iface)
}

// Attach runs the filter on iface. When a pinned link for iface exists (an
// agent ran before) the new program replaces the old one through that link,
// with no moment where the interface is unfiltered.
func (f *Filter) Attach(iface string, mode Mode) (Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return Attachment{}, fmt.Errorf("attach XDP to %s: %w", iface, err)
	}
	pin := f.linkPin(iface)
	if l, err := link.LoadPinnedLink(pin, nil); err == nil {
		info, ierr := l.Info()
		sameIface := ierr == nil && info.XDP() != nil && int(info.XDP().Ifindex) == ifc.Index
		if sameIface {
			if err := l.Update(f.objs.PalisadeXdp); err != nil {
				l.Close()
				return Attachment{}, fmt.Errorf("replace XDP program on %s: %w", iface, err)
			}
			prev := f.adoptedMode(iface)
			f.links[iface] = &attachment{iface: iface, mode: prev, link: l}
			return Attachment{Interface: iface, Mode: prev, Adopted: true}, nil
		}
		// The pin is stale (interface re-created): drop it and attach anew.
		_ = l.Unpin()
		l.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return Attachment{}, fmt.Errorf("load pinned link %s: %w", pin, err)
	}

	var l link.Link
	used := mode
	switch mode {
	case ModeNative, ModeAuto:
		l, err = link.AttachXDP(link.XDPOptions{Program: f.objs.PalisadeXdp, Interface: ifc.Index, Flags: link.XDPDriverMode})
		used = ModeNative
		if err != nil && mode == ModeAuto {
			f.log.Warn("native XDP attach failed; falling back to GENERIC mode: packets are filtered only after the kernel allocated an skb for them",
				"iface", iface, "error", err)
			l, err = link.AttachXDP(link.XDPOptions{Program: f.objs.PalisadeXdp, Interface: ifc.Index, Flags: link.XDPGenericMode})
			used = ModeGeneric
		}
	case ModeGeneric:
		l, err = link.AttachXDP(link.XDPOptions{Program: f.objs.PalisadeXdp, Interface: ifc.Index, Flags: link.XDPGenericMode})
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("attach XDP to %s in %s mode: %w", iface, used, err)
	}
	if err := l.Pin(pin); err != nil {
		l.Close()
		return Attachment{}, fmt.Errorf("pin XDP link for %s: %w", iface, err)
	}
	f.links[iface] = &attachment{iface: iface, mode: used, link: l}
	return Attachment{Interface: iface, Mode: used}, nil
}

// adoptedMode asks the kernel (rtnetlink IFLA_XDP) how the program on iface
// runs; bpf link info doesn't say.
func (f *Filter) adoptedMode(iface string) Mode {
	l, err := netlink.LinkByName(iface)
	if err != nil || l.Attrs().Xdp == nil {
		return "unknown"
	}
	switch l.Attrs().Xdp.AttachMode {
	case nl.XDP_ATTACHED_DRV:
		return ModeNative
	case nl.XDP_ATTACHED_SKB:
		return ModeGeneric
	}
	return "unknown"
}

// Attachments lists the interfaces this agent runs the filter on.
func (f *Filter) Attachments() []Attachment {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Attachment, 0, len(f.links))
	for _, a := range f.links {
		out = append(out, Attachment{Interface: a.iface, Mode: a.mode})
	}
	return out
}
