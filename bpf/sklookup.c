//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Palisade's steering program: an sk_lookup program that hands new TCP
 * connections to intercepted ports to the agent's listening socket.
 *
 * It runs when the kernel looks for a listener for an incoming SYN in the
 * network namespace it is attached to. For a port the agent intercepts it
 * assigns the agent's listener from the `steer_sockets` SOCKMAP; in every
 * other case it returns SK_PASS without choosing, and the kernel's normal
 * lookup finds the application's own socket. So when the agent is gone (its
 * sockets leave the SOCKMAP as they close, and its link is released with
 * its process), connections reach the application directly: fail-open by
 * construction (docs/PROXY.md, "Steering").
 *
 * The agent's own connections to the application would be steered back into
 * the agent; it registers each one's source address and port in
 * `steer_bypass` before connecting, and the program leaves those alone.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10

/* Sockets per slot: the IPv4 listener (0) and the IPv6 listener (1). */
#define FAMILIES 2
#define MAX_SLOTS 256

/* A connection the agent itself opens to a local application: its source
 * address (IPv4 stored v4-mapped, ::ffff:a.b.c.d) and source port (network
 * byte order, as the kernel gives it). */
struct steer_bypass_key {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

/* Counters in `steer_counters`, summed by the agent for its metrics. */
enum steer_counter {
	STEER_ASSIGNED = 0,      /* connection handed to the agent */
	STEER_BYPASSED = 1,      /* the agent's own upstream connection */
	STEER_NO_SOCKET = 2,     /* port intercepted, no agent socket: fail-open */
	STEER_ASSIGN_FAILED = 3, /* bpf_sk_assign refused the socket: fail-open */
	STEER_COUNTER_MAX = 4,
};

/* Intercepted local port (host byte order) -> slot of its listeners. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} steer_ports SEC(".maps");

/* slot * FAMILIES + family index -> the agent's listening socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, MAX_SLOTS * FAMILIES);
	__type(key, __u32);
	__type(value, __u64);
} steer_sockets SEC(".maps");

/* LRU, so that entries an agent leaves behind (it died between registering
 * and removing one) age out on their own. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct steer_bypass_key);
	__type(value, __u8);
} steer_bypass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_counters SEC(".maps");

/* Keep the types the agent's Go code uses in BTF for bpf2go. */
const struct steer_bypass_key *unused_steer_bypass_key __attribute__((unused));
const enum steer_counter *unused_steer_counter __attribute__((unused));

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&steer_counters, &which);
	if (v)
		*v += 1;
}

static __always_inline int is_bypassed(struct bpf_sk_lookup *ctx)
{
	struct steer_bypass_key k = {};
	if (ctx->family == AF_INET) {
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], &ctx->remote_ip4, 4);
	} else {
		__u32 w[4];
		w[0] = ctx->remote_ip6[0];
		w[1] = ctx->remote_ip6[1];
		w[2] = ctx->remote_ip6[2];
		w[3] = ctx->remote_ip6[3];
		__builtin_memcpy(k.addr, w, 16);
	}
	k.port = ctx->remote_port;
	return bpf_map_lookup_elem(&steer_bypass, &k) != NULL;
}

SEC("sk_lookup")
int palisade_steer(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return SK_PASS;

	__u32 port = ctx->local_port;
	__u32 *slot = bpf_map_lookup_elem(&steer_ports, &port);
	if (!slot)
		return SK_PASS;

	if (is_bypassed(ctx)) {
		count(STEER_BYPASSED);
		return SK_PASS;
	}

	__u32 key = *slot * FAMILIES + (ctx->family == AF_INET6 ? 1 : 0);
	struct bpf_sock *sk = bpf_map_lookup_elem(&steer_sockets, &key);
	if (!sk) {
		count(STEER_NO_SOCKET);
		return SK_PASS;
	}
	long err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	count(err ? STEER_ASSIGN_FAILED : STEER_ASSIGNED);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
