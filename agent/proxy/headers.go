package proxy

import (
	"net/netip"
	"strings"
	"time"
)

// equalFold is ASCII case-insensitive equality.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x != y {
			if 'A' <= x && x <= 'Z' {
				x += 'a' - 'A'
			}
			if 'A' <= y && y <= 'Z' {
				y += 'a' - 'A'
			}
			if x != y {
				return false
			}
		}
	}
	return true
}

// hopByHop reports whether a field applies to one connection only (RFC
// 9110 §7.6.1), or carries framing the proxy writes itself; such fields are
// never forwarded as received.
func hopByHop(name string) bool {
	switch len(name) {
	case 2:
		return equalFold(name, "te")
	case 6:
		return equalFold(name, "expect")
	case 7:
		return equalFold(name, "upgrade") || equalFold(name, "trailer")
	case 10:
		return equalFold(name, "connection") || equalFold(name, "keep-alive")
	case 14:
		return equalFold(name, "content-length") || equalFold(name, "http2-settings")
	case 16:
		return equalFold(name, "proxy-connection")
	case 17:
		return equalFold(name, "transfer-encoding")
	case 18:
		return equalFold(name, "proxy-authenticate")
	case 19:
		return equalFold(name, "proxy-authorization")
	}
	return false
}

// namedByConnection reports whether the Connection field listed name
// (options are lower case).
func namedByConnection(name string, options []string) bool {
	for _, o := range options {
		if equalFold(name, o) {
			return true
		}
	}
	return false
}

// forwardingField identifies the fields through which proxies tell the
// application who the client is.
type forwardingField uint8

const (
	notForwarding forwardingField = iota
	fieldXFF
	fieldXRealIP
	fieldForwarded
	fieldXFProto
	fieldXFHost
)

func forwardingKind(name string) forwardingField {
	switch len(name) {
	case 9:
		if equalFold(name, "x-real-ip") {
			return fieldXRealIP
		}
		if equalFold(name, "forwarded") {
			return fieldForwarded
		}
	case 15:
		if equalFold(name, "x-forwarded-for") {
			return fieldXFF
		}
	case 16:
		if equalFold(name, "x-forwarded-host") {
			return fieldXFHost
		}
	case 17:
		if equalFold(name, "x-forwarded-proto") {
			return fieldXFProto
		}
	}
	return notForwarding
}

// forwarding is what the client sent in forwarding fields and what the
// proxy concludes from them.
type forwarding struct {
	peer    netip.Addr // the address the connection came from
	trusted bool       // peer is a trusted proxy: its forwarding fields are believed
	client  netip.Addr // the client, after walking X-Forwarded-For through trusted proxies
	xff     []string   // received X-Forwarded-For values
	fwd     []string   // received Forwarded values
	proto   string     // received X-Forwarded-Proto
	host    string     // received X-Forwarded-Host
}

// collect records one received field.
func (f *forwarding) collect(kind forwardingField, value string) {
	switch kind {
	case fieldXFF:
		f.xff = append(f.xff, value)
	case fieldForwarded:
		f.fwd = append(f.fwd, value)
	case fieldXFProto:
		f.proto = value
	case fieldXFHost:
		f.host = value
	}
}

// resolve finds the client: the peer, unless the peer is a trusted proxy,
// in which case the right-most X-Forwarded-For address that is not itself
// a trusted proxy. Values from untrusted peers are ignored (and replaced
// on the way out): a client cannot choose the address it is judged by.
func (f *forwarding) resolve(trusted *PrefixSet) {
	now := time.Now()
	f.client = f.peer
	f.trusted = trusted.Contains(f.peer, now)
	if !f.trusted {
		return
	}
	for i := len(f.xff) - 1; i >= 0; i-- {
		parts := strings.Split(f.xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return // garbage: stop at the last address we could trust
			}
			f.client = a.Unmap()
			if !trusted.Contains(f.client, now) {
				return
			}
		}
	}
}

// appendFields appends the forwarding fields sent to the application.
func (f *forwarding) appendFields(dst []byte, host string, tls bool) []byte {
	proto := "http"
	if tls {
		proto = "https"
	}
	peer := f.peer.String()
	dst = append(dst, "X-Forwarded-For: "...)
	if f.trusted && len(f.xff) > 0 {
		for _, v := range f.xff {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
	}
	dst = append(dst, peer...)
	dst = append(dst, "\r\nX-Real-IP: "...)
	dst = append(dst, f.client.String()...)
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	if f.trusted && f.proto != "" {
		dst = append(dst, f.proto...)
	} else {
		dst = append(dst, proto...)
	}
	if xfh := f.forwardedHost(host); xfh != "" {
		dst = append(dst, "\r\nX-Forwarded-Host: "...)
		dst = append(dst, xfh...)
	}
	dst = append(dst, "\r\nForwarded: "...)
	if f.trusted && len(f.fwd) > 0 {
		for _, v := range f.fwd {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
	}
	dst = append(dst, "for="...)
	if f.peer.Is6() {
		dst = append(dst, `"[`...)
		dst = append(dst, peer...)
		dst = append(dst, `]"`...)
	} else {
		dst = append(dst, peer...)
	}
	if host != "" {
		dst = append(dst, `;host="`...)
		dst = append(dst, host...) // validated: no quote or backslash
		dst = append(dst, '"')
	}
	dst = append(dst, ";proto="...)
	dst = append(dst, proto...)
	return append(dst, "\r\n"...)
}

func (f *forwarding) forwardedHost(host string) string {
	if f.trusted && f.host != "" {
		return f.host
	}
	return host
}

// fieldsFor returns the values of the forwarding fields as a map for the
// HTTP/2 path.
func (f *forwarding) fields(host string, tls bool) map[string]string {
	proto := "http"
	if tls {
		proto = "https"
	}
	peer := f.peer.String()
	xff := peer
	if f.trusted && len(f.xff) > 0 {
		xff = strings.Join(f.xff, ", ") + ", " + peer
	}
	forNode := peer
	if f.peer.Is6() {
		forNode = `"[` + peer + `]"`
	}
	elem := "for=" + forNode
	if host != "" {
		elem += `;host="` + host + `"`
	}
	elem += ";proto=" + proto
	if f.trusted && len(f.fwd) > 0 {
		elem = strings.Join(f.fwd, ", ") + ", " + elem
	}
	xfp := proto
	if f.trusted && f.proto != "" {
		xfp = f.proto
	}
	out := map[string]string{
		"X-Forwarded-For":   xff,
		"X-Real-Ip":         f.client.String(),
		"X-Forwarded-Proto": xfp,
		"Forwarded":         elem,
	}
	if xfh := f.forwardedHost(host); xfh != "" {
		out["X-Forwarded-Host"] = xfh
	}
	return out
}
