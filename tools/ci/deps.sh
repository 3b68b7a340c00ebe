#!/usr/bin/env bash
# Installs, idempotently, what Palisade's build and tests need on
# Debian/Ubuntu. Called by `make deps`; safe to run again.
set -euo pipefail

pkgs=(
  clang llvm libbpf-dev bpftool   # BPF C -> object (bpf2go), inspection
  iproute2 iputils-ping nftables  # labs, steering, nftables baseline
  curl ca-certificates            # e2e probes
  postgresql                      # the cloud's store suite on PostgreSQL
  wrk                             # proxy benchmarks
  debootstrap debian-archive-keyring prometheus vagrant vagrant-libvirt systemd  # test/ops: package root, promtool + e2e, vagrant validate (+libvirt provider), systemd-analyze
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# bpftool is its own package on Debian 12; on Ubuntu it ships in linux-tools.
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go tools pinned in go.mod (bpf2go) are run through `go tool`; staticcheck is
# pinned here.
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
echo "deps: ok"
