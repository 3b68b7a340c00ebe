//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Programs for benchmarks only (tools/xdpbench), never attached by the
 * agent. With BPF_PROG_TEST_RUN in live-frames mode, gen_tx puts crafted
 * frames on a veth as XDP frames, so the receiving side sees what a NIC
 * driver would hand it: no skb yet. gen_drop is the same sender that
 * transmits nothing (the benchmark's baseline); pass stands in for "an XDP
 * program that lets everything through" on the nftables side. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int gen_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int gen_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
