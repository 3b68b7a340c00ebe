/* Types shared by Palisade's BPF programs and, through bpf2go, its Go code.
 * Keep them fixed-size and explicitly padded: Go reads them byte for byte.
 */
#pragma once

#include <linux/types.h>

/* Lists the XDP program consults. Index into list_gen. */
enum list_id {
	LIST_ALLOW = 0,
	LIST_DENY = 1,
	LIST_COUNT = 2,
};

/* Value of every list entry, exact or prefix, v4 or v6. */
struct list_entry {
	/* Absolute expiry in CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns);
	 * 0 means never. The kernel treats an expired entry as absent. */
	__u64 expires_ns;
	/* Index into the pinned `reasons` table (0 = none). Userspace only. */
	__u32 reason_id;
	/* Where the entry came from (enum entry_source). Userspace only. */
	__u32 source;
};

/* Where an entry came from, for operators and counters. */
enum entry_source {
	SOURCE_MANUAL = 0, /* palisadectl / admin API */
	SOURCE_FILE = 1,   /* lists file loaded at start */
	SOURCE_CLOUD = 2,  /* cloud ruleset */
};

#define REASON_TEXT_LEN 64

struct reason_text {
	char text[REASON_TEXT_LEN];
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Why the program returned what it returned. A small, fixed set: it is a
 * Prometheus label, so it never carries an address or a rule id. */
enum verdict_reason {
	REASON_NO_MATCH = 0,  /* PASS: no list matched, under rate */
	REASON_ALLOWLIST = 1, /* PASS: allowlist match */
	REASON_DENYLIST = 2,  /* DROP: denylist match, not expired */
	REASON_RATELIMIT = 3, /* DROP: per-source rate exceeded */
	REASON_MALFORMED = 4, /* PASS: truncated or malformed frame */
	REASON_NOT_IP = 5,    /* PASS: not IPv4/IPv6 (ARP, LLDP, ...) */
	REASON_COUNT = 6,
};

struct counter_key {
	__u32 ifindex;
	__u8 action; /* XDP_PASS or XDP_DROP */
	__u8 reason; /* enum verdict_reason */
	__u16 pad;
};

struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/* Global knobs, written by the agent: index 0 of the `config` array. */
struct filter_config {
	/* Per-source token bucket; rate_pps == 0 disables rate limiting. */
	__u64 rate_pps;
	__u64 burst;
	/* Samples of dropped packets per second and CPU sent to the ring buffer. */
	__u32 samples_per_sec;
	__u32 pad;
};

struct rate_state {
	/* Tokens scaled by 1e9 (one packet = NSEC_PER_SEC), so that refill is
	 * integer arithmetic on elapsed nanoseconds. */
	__u64 tokens;
	__u64 last_ns;
};

/* Source address as a 16-byte key: IPv4 is stored v4-mapped (::ffff:a.b.c.d). */
struct src_key {
	__u8 addr[16];
};

struct sample_budget {
	__u64 second;
	__u32 sent;
	__u32 pad;
};

/* A dropped-packet sample sent to userspace at a bounded rate. */
struct drop_sample {
	__u64 boot_ns;
	__u32 ifindex;
	__u8 reason;
	__u8 family; /* 4 or 6 */
	__u8 l4proto;
	__u8 pad;
	__u8 saddr[16]; /* v4-mapped for IPv4 */
	__u32 pkt_len;
	__u32 pad2;
};
