package bpf

// The steering program (sklookup.c): types are generated for the bypass key
// and the counter index the agent's steer package uses.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -go-package bpf -type steer_bypass_key -type steer_counter Sklookup sklookup.c -- -I.
