package bpf

// Benchmark-only programs (trafficgen.c), used by tools/xdpbench.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -go-package bpf Trafficgen trafficgen.c -- -I.
