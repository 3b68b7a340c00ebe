package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/palisadewaf/palisade/bpf"
	"github.com/palisadewaf/palisade/tools/lab"
)

// generator sends frames from the attacker's veth as XDP frames: the
// gen_tx program run with BPF_PROG_TEST_RUN in live-frames mode turns
// XDP_TX into a transmit on the veth, which hands the peer an xdp_frame.
type generator struct {
	objs      bpf.TrafficgenObjects
	host, att *lab.NS
	hostIf    string
	attIndex  uint32
	frame     []byte
}

// xdpMd mirrors struct xdp_md, the context BPF_PROG_TEST_RUN takes for XDP.
type xdpMd struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

func newGenerator(host *lab.NS, hostIf string, att *lab.NS, attIf string) (*generator, error) {
	g := &generator{host: host, att: att, hostIf: hostIf}
	if err := bpf.LoadTrafficgenObjects(&g.objs, nil); err != nil {
		return nil, fmt.Errorf("load traffic generator: %w", err)
	}
	hl, err := host.Handle().LinkByName(hostIf)
	if err != nil {
		return nil, err
	}
	al, err := att.Handle().LinkByName(attIf)
	if err != nil {
		return nil, err
	}
	g.attIndex = uint32(al.Attrs().Index)
	g.frame = udpFrame(al.Attrs().HardwareAddr, hl.Attrs().HardwareAddr, att.Addr4, host.Addr4)
	return g, nil
}

func (g *generator) close() { g.objs.Close() }

// attachPass puts an XDP_PASS program on the host's veth, so that it takes
// XDP frames and builds skbs for the stack (nftables side and baseline).
func (g *generator) attachPass() (func() error, error) {
	var l link.Link
	err := g.host.Do(func() error {
		ifc, err := net.InterfaceByName(g.hostIf)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: g.objs.Pass, Interface: ifc.Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach XDP_PASS: %w", err)
	}
	return l.Close, nil
}

// flood sends n frames (transmit=false: the generator drops them itself,
// the baseline) and returns the machine's busy CPU time per frame.
func (g *generator) flood(n int, transmit bool) (float64, error) {
	prog := g.objs.GenDrop
	if transmit {
		prog = g.objs.GenTx
	}
	before, err := busyNS()
	if err != nil {
		return 0, err
	}
	err = g.att.Do(func() error {
		_, err := prog.Run(&ebpf.RunOptions{
			Data:    g.frame,
			Repeat:  uint32(n),
			Flags:   unix.BPF_F_TEST_XDP_LIVE_FRAMES,
			Context: xdpMd{DataEnd: uint32(len(g.frame)), IngressIfindex: g.attIndex},
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("generate frames: %w", err)
	}
	time.Sleep(100 * time.Millisecond) // let the receive side drain
	after, err := busyNS()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}

// udpFrame builds a 64-byte Ethernet/IPv4/UDP frame to port 9 (discard).
func udpFrame(src, dst net.HardwareAddr, from, to netip.Addr) []byte {
	b := make([]byte, 0, 64)
	b = append(b, dst...)
	b = append(b, src...)
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 20+8+18)
	copy(ip[12:], from.AsSlice())
	copy(ip[16:], to.AsSlice())
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	b = append(b, ip...)
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], 8+18)
	b = append(b, udp...)
	return append(b, make([]byte, 18)...)
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
