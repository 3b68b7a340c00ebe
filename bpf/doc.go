// Package bpf holds Palisade's BPF programs: the C sources, the shared
// header, and the objects and Go bindings bpf2go generates from them.
//
// The generated files are committed so that `go build` needs no clang; `make
// generate` rebuilds them and CI fails when they differ from the sources.
// Go code uses the types generated here (XdpListEntry, XdpCounterKey, ...)
// rather than hand-written copies of the C structs.
package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -go-package bpf -type list_entry -type lpm_v4_key -type lpm_v6_key -type counter_key -type counter_value -type filter_config -type src_key -type drop_sample -type rate_state -type list_id -type verdict_reason -type entry_source -type reason_text Xdp xdp.c -- -I.
