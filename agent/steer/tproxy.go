package steer

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tableName is the agent's nftables table; the agent owns it whole and
// rewrites it on every change.
const tableName = "palisade_steer"

// tproxy steers with nftables TPROXY rules, one pair (IPv4, IPv6) per
// intercepted port:
//
//	table inet palisade_steer {
//	  chain prerouting {
//	    type filter hook prerouting priority mangle;
//	    meta mark == MARK return          # the agent's own connections
//	    meta l4proto tcp tcp dport PORT fib daddr type local
//	      meta nfproto ipv4 tproxy ip to 127.0.0.1:LISTENER4
//	    ... ip6 to [::1]:LISTENER6
//	  }
//	}
//
// When no transparent socket listens on the target, the tproxy expression
// does not match and the packet continues to the application: fail-open.
type tproxy struct {
	conn  *nftables.Conn
	mark  uint32
	ports map[uint16]*Listener
}

func openTPROXY(netnsFD int, mark uint32) (*tproxy, error) {
	c, err := nftables.New(nftables.WithNetNSFd(netnsFD))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	t := &tproxy{conn: c, mark: mark, ports: map[uint16]*Listener{}}
	// Replace whatever a previous agent left behind.
	if err := t.sync(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *tproxy) add(port uint16, l *Listener) error {
	t.ports[port] = l
	if err := t.sync(); err != nil {
		delete(t.ports, port)
		return err
	}
	return nil
}

func (t *tproxy) remove(port uint16) error {
	delete(t.ports, port)
	return t.sync()
}

// sync rewrites the table in one netlink batch, which the kernel applies
// atomically: a packet sees either the old rules or the new ones.
func (t *tproxy) sync() error {
	table := &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}
	// Add-delete-add: deletes a stale table if there is one, without
	// failing the batch when there is none.
	t.conn.AddTable(table)
	t.conn.DelTable(table)
	t.conn.AddTable(table)
	chain := t.conn.AddChain(&nftables.Chain{
		Name:     "prerouting",
		Table:    table,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityMangle,
	})
	t.conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(t.mark)},
		&expr.Verdict{Kind: expr.VerdictReturn},
	}})
	for _, port := range slices.Sorted(maps.Keys(t.ports)) {
		v4, v6 := t.ports[port].localPorts()
		t.conn.AddRule(&nftables.Rule{Table: table, Chain: chain,
			Exprs: tproxyRule(port, unix.NFPROTO_IPV4, []byte{127, 0, 0, 1}, v4)})
		if v6 != 0 {
			t.conn.AddRule(&nftables.Rule{Table: table, Chain: chain,
				Exprs: tproxyRule(port, unix.NFPROTO_IPV6, []byte{15: 1}, v6)})
		}
	}
	if err := t.conn.Flush(); err != nil {
		return fmt.Errorf("write nftables table %s: %w", tableName, err)
	}
	return nil
}

// tproxyRule matches new and established TCP packets to a local address on
// port, for one IP family, and hands them to the listener at addr:to.
func tproxyRule(port uint16, family byte, addr []byte, to uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Immediate{Register: 1, Data: addr},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(to)},
		&expr.TProxy{Family: family, TableFamily: byte(nftables.TableFamilyINet), RegAddr: 1, RegPort: 2},
	}
}

// close removes the table: connections go to the applications again.
func (t *tproxy) close() error {
	table := &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}
	t.conn.DelTable(table)
	if err := t.conn.Flush(); err != nil {
		return fmt.Errorf("remove nftables table %s: %w", tableName, err)
	}
	return nil
}
