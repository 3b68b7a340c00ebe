//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Palisade's XDP filter: drops packets from denylisted sources at the NIC.
 *
 * Verdict, in this order (docs/ARCHITECTURE.md, "The XDP filter"):
 *   allowlist match -> PASS; live denylist match -> DROP;
 *   per-source rate exceeded (when enabled) -> DROP; else PASS.
 * Frames it cannot parse are passed and counted: the kernel part only looks
 * up tables and counts; everything else is the agent's job.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "palisade.h"

#define NSEC_PER_SEC 1000000000ULL
/* Caps that keep the token bucket's integer arithmetic below 2^64; the
 * agent refuses configurations above them. */
#define MAX_REFILL_NS (100ULL * NSEC_PER_SEC)

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* Inner maps of the lists. The kernel compares an inner map with this
 * template by type, key, value and flags, not size, so the agent creates each
 * generation with its own max_entries; BPF_F_NO_PREALLOC makes memory follow
 * the number of entries, not the capacity. */
#define INNER_FLAGS BPF_F_NO_PREALLOC

struct inner_v4 {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, INNER_FLAGS);
	__type(key, __u32); /* network byte order */
	__type(value, struct list_entry);
};

struct inner_v4_lpm {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, INNER_FLAGS);
	__type(key, struct lpm_v4_key);
	__type(value, struct list_entry);
};

struct inner_v6 {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, INNER_FLAGS);
	__type(key, struct src_key);
	__type(value, struct list_entry);
};

struct inner_v6_lpm {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, INNER_FLAGS);
	__type(key, struct lpm_v6_key);
	__type(value, struct list_entry);
};

/* Each list is four outer maps (exact/prefix x v4/v6) of two slots, one per
 * generation. list_gen says which slot is live, so that a whole list (all
 * four maps) is replaced by one 4-byte write. */
#define OUTER(name, inner)                                                     \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                      \
		__uint(max_entries, 2);                                        \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                           \
		__type(key, __u32);                                            \
		__array(values, struct inner);                                 \
	} name SEC(".maps")

OUTER(allow_v4, inner_v4);
OUTER(allow_v4_lpm, inner_v4_lpm);
OUTER(allow_v6, inner_v6);
OUTER(allow_v6_lpm, inner_v6_lpm);
OUTER(deny_v4, inner_v4);
OUTER(deny_v4_lpm, inner_v4_lpm);
OUTER(deny_v6, inner_v6);
OUTER(deny_v6_lpm, inner_v6_lpm);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LIST_COUNT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u32);
} list_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, struct filter_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, struct counter_key);
	__type(value, struct counter_value);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, struct src_key);
	__type(value, struct rate_state);
} rate_buckets SEC(".maps");

/* Texts of entry reasons, deduplicated. Only the agent reads and writes
 * it; it lives in bpffs so that reasons outlive the agent with the lists. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, struct reason_text);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_budget);
} sample_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} samples SEC(".maps");

/* Clang emits only a forward declaration for a struct reached solely through
 * a map definition's pointer members; these globals force the full types
 * into BTF, for the loader (inner map key sizes) and for bpf2go. */
const struct drop_sample *unused_drop_sample __attribute__((unused));
const struct list_entry *unused_list_entry __attribute__((unused));
const struct lpm_v4_key *unused_lpm_v4_key __attribute__((unused));
const struct lpm_v6_key *unused_lpm_v6_key __attribute__((unused));
const struct src_key *unused_src_key __attribute__((unused));
const enum list_id *unused_list_id __attribute__((unused));
const enum verdict_reason *unused_verdict_reason __attribute__((unused));
const enum entry_source *unused_entry_source __attribute__((unused));
const struct reason_text *unused_reason_text __attribute__((unused));

static __always_inline int live(const struct list_entry *e, __u64 now)
{
	return e && (e->expires_ns == 0 || e->expires_ns > now);
}

static __always_inline __u32 generation(__u32 list)
{
	__u32 *gen = bpf_map_lookup_elem(&list_gen, &list);

	return gen ? (*gen & 1) : 0;
}

/* Look up an exact key, then a prefix, in the live generation of one list.
 * The macro keeps each map reference a compile-time constant, as the
 * verifier wants. */
#define MATCH(outer_exact, outer_lpm, exact_key, lpm_key, gen, now)            \
	({                                                                     \
		int hit = 0;                                                   \
		void *m = bpf_map_lookup_elem(&outer_exact, &gen);             \
		if (m && live(bpf_map_lookup_elem(m, exact_key), now))         \
			hit = 1;                                               \
		if (!hit) {                                                    \
			m = bpf_map_lookup_elem(&outer_lpm, &gen);             \
			if (m && live(bpf_map_lookup_elem(m, lpm_key), now))   \
				hit = 1;                                       \
		}                                                              \
		hit;                                                           \
	})

static __always_inline int count(struct xdp_md *ctx, int action, __u8 reason)
{
	struct counter_key key = {
		.ifindex = ctx->ingress_ifindex,
		.action = action,
		.reason = reason,
	};
	__u64 len = ctx->data_end - ctx->data;
	struct counter_value *v = bpf_map_lookup_elem(&counters, &key);

	if (!v) {
		struct counter_value zero = {};

		bpf_map_update_elem(&counters, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&counters, &key);
		if (!v)
			return action;
	}
	/* Per-CPU value: no other CPU writes it, no atomics needed. */
	v->packets++;
	v->bytes += len;
	return action;
}

/* Token bucket per source. Returns 1 when the packet is over the limit.
 * Concurrent CPUs may race on one source's bucket; the error is at most a
 * packet per CPU, which a rate limiter can afford. */
static __always_inline int over_rate(const struct filter_config *cfg,
				     const struct src_key *src, __u64 now)
{
	__u64 cap = cfg->burst * NSEC_PER_SEC;
	struct rate_state *st = bpf_map_lookup_elem(&rate_buckets, src);

	if (!st) {
		struct rate_state fresh = {
			.tokens = cap > NSEC_PER_SEC ? cap - NSEC_PER_SEC : 0,
			.last_ns = now,
		};

		bpf_map_update_elem(&rate_buckets, src, &fresh, BPF_ANY);
		return cap < NSEC_PER_SEC;
	}

	__u64 elapsed = now > st->last_ns ? now - st->last_ns : 0;

	if (elapsed > MAX_REFILL_NS)
		elapsed = MAX_REFILL_NS;
	__u64 tokens = st->tokens + elapsed * cfg->rate_pps;

	if (tokens > cap)
		tokens = cap;
	st->last_ns = now;
	if (tokens < NSEC_PER_SEC) {
		st->tokens = tokens;
		return 1;
	}
	st->tokens = tokens - NSEC_PER_SEC;
	return 0;
}

static __always_inline void sample(struct xdp_md *ctx,
				   const struct filter_config *cfg,
				   const struct src_key *src, __u8 family,
				   __u8 l4proto, __u8 reason, __u64 now)
{
	__u32 zero = 0;
	struct sample_budget *b = bpf_map_lookup_elem(&sample_budget, &zero);

	if (!b || !cfg->samples_per_sec)
		return;
	__u64 second = now / NSEC_PER_SEC;

	if (b->second != second) {
		b->second = second;
		b->sent = 0;
	}
	if (b->sent >= cfg->samples_per_sec)
		return;

	struct drop_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);

	if (!s)
		return;
	b->sent++;
	s->boot_ns = now;
	s->ifindex = ctx->ingress_ifindex;
	s->reason = reason;
	s->family = family;
	s->l4proto = l4proto;
	s->pad = 0;
	__builtin_memcpy(s->saddr, src->addr, sizeof(s->saddr));
	s->pkt_len = ctx->data_end - ctx->data;
	s->pad2 = 0;
	bpf_ringbuf_submit(s, 0);
}

SEC("xdp")
int palisade_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cur = eth + 1;

	if (cur > end)
		return count(ctx, XDP_PASS, REASON_MALFORMED);

	__be16 proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = cur;

		if ((void *)(vh + 1) > end)
			return count(ctx, XDP_PASS, REASON_MALFORMED);
		proto = vh->encapsulated_proto;
		cur = vh + 1;
	}

	struct src_key src = {};
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 gen_allow = generation(LIST_ALLOW);
	__u32 gen_deny = generation(LIST_DENY);
	__u8 family, l4proto;
	int allowed, denied;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cur;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5 ||
		    cur + ip->ihl * 4 > end ||
		    bpf_ntohs(ip->tot_len) < ip->ihl * 4)
			return count(ctx, XDP_PASS, REASON_MALFORMED);

		__u32 addr = ip->saddr;
		struct lpm_v4_key lpm = { .prefixlen = 32 };

		__builtin_memcpy(lpm.addr, &addr, 4);
		src.addr[10] = 0xff;
		src.addr[11] = 0xff;
		__builtin_memcpy(&src.addr[12], &addr, 4);
		family = 4;
		l4proto = ip->protocol;
		allowed = MATCH(allow_v4, allow_v4_lpm, &addr, &lpm, gen_allow, now);
		denied = !allowed &&
			 MATCH(deny_v4, deny_v4_lpm, &addr, &lpm, gen_deny, now);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return count(ctx, XDP_PASS, REASON_MALFORMED);

		struct lpm_v6_key lpm = { .prefixlen = 128 };

		__builtin_memcpy(src.addr, &ip6->saddr, 16);
		__builtin_memcpy(lpm.addr, &ip6->saddr, 16);
		family = 6;
		l4proto = ip6->nexthdr;
		allowed = MATCH(allow_v6, allow_v6_lpm, &src, &lpm, gen_allow, now);
		denied = !allowed &&
			 MATCH(deny_v6, deny_v6_lpm, &src, &lpm, gen_deny, now);
	} else {
		return count(ctx, XDP_PASS, REASON_NOT_IP);
	}

	if (allowed)
		return count(ctx, XDP_PASS, REASON_ALLOWLIST);

	__u32 zero = 0;
	const struct filter_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (denied) {
		if (cfg)
			sample(ctx, cfg, &src, family, l4proto, REASON_DENYLIST, now);
		return count(ctx, XDP_DROP, REASON_DENYLIST);
	}
	if (cfg && cfg->rate_pps && over_rate(cfg, &src, now)) {
		sample(ctx, cfg, &src, family, l4proto, REASON_RATELIMIT, now);
		return count(ctx, XDP_DROP, REASON_RATELIMIT);
	}
	return count(ctx, XDP_PASS, REASON_NO_MATCH);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
