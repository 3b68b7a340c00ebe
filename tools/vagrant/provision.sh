#!/usr/bin/env bash
# Provisions a Debian or Ubuntu machine (the Vagrant VM) with Palisade from a
# source tree: build dependencies, a Go toolchain, `make package`, the
# packages installed, the cloud and the agent started in front of a sample
# application.
#
#   provision.sh SRC_DIR [STEP...]
#
# STEPs, in order (default: all): deps go build install configure start.
# test/ops runs `install configure` of this very script in a Debian root;
# deps is tools/ci/deps.sh, which CI runs, and build is `make package`, which
# test/ops checks: the VM is provisioned by nothing CI does not run.
set -euo pipefail

src=${1:?usage: provision.sh SRC_DIR [STEP...]}
shift
steps=("$@")
((${#steps[@]})) || steps=(deps go build install configure start)

export DEBIAN_FRONTEND=noninteractive
# Where the sample application listens; the agent serves it on port 80.
sample_port=8081

log() { printf '\n== provision: %s\n' "$*"; }

step_deps() {
  log "build and test dependencies (tools/ci/deps.sh)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends make git rsync python3
  bash "$src/tools/ci/deps.sh"
}

# Distributions ship an older Go; any Go >= 1.21 fetches the toolchain that
# go.mod names (GOTOOLCHAIN=auto) through the module proxy.
step_go() {
  log "Go toolchain"
  command -v go >/dev/null || apt-get install -y -qq --no-install-recommends golang-go ca-certificates
  (cd "$src" && GOTOOLCHAIN=auto go version)
}

step_build() {
  log "make package"
  # The tree belongs to the login user; build as root like CI does.
  (cd "$src" && GOTOOLCHAIN=auto make package)
}

step_install() {
  log "install the packages"
  apt-get install -y -qq --no-install-recommends \
    "$src"/dist/palisade-cloud_*.deb "$src"/dist/palisade-agent_*.deb "$src"/dist/palisadectl_*.deb
}

step_configure() {
  log "configure the sample application, the cloud and the agent"
  install -d -m 0755 /var/www/palisade-sample
  echo "<h1>Palisade sample application</h1>" >/var/www/palisade-sample/index.html
  cat >/etc/systemd/system/palisade-sample-app.service <<UNIT
[Unit]
Description=Palisade sample application (static files on 127.0.0.1:$sample_port)

[Service]
ExecStart=/usr/bin/python3 -m http.server $sample_port --bind 127.0.0.1 --directory /var/www/palisade-sample
DynamicUser=yes
ProtectSystem=strict
ProtectHome=yes
NoNewPrivileges=yes
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT

  # The cloud listens on all addresses inside the VM (Vagrant forwards it
  # to the host's loopback only).
  sed -i 's/^PALISADE_CLOUD_LISTEN=.*/PALISADE_CLOUD_LISTEN=0.0.0.0:8080/' /etc/palisade/cloud.env

  # XDP on the interface of the default route; the sample application
  # behind the agent's reverse proxy on port 80.
  local iface=""
  if command -v ip >/dev/null; then
    iface=$(ip -o route show default | awk '{print $5; exit}')
  fi
  cat >/etc/palisade/agent.yaml <<YAML
# Written by tools/vagrant/provision.sh for the Palisade VM; the packaged
# default, with every field explained, is in docs/OPERATIONS.md.
xdp:
  interfaces: [${iface:-}]
  mode: auto
applications:
  - id: 1
    name: sample
    mode: monitoring
    listen: 0.0.0.0:80
    upstream: http://127.0.0.1:$sample_port
YAML
  palisade-agent check-config --config /etc/palisade/agent.yaml
}

step_start() {
  log "start the sample application, the cloud and the agent"
  systemctl daemon-reload
  systemctl enable --now palisade-sample-app.service
  systemctl restart palisade-cloud.service palisade-agent.service
  wait_http "cloud" http://127.0.0.1:8080/healthz
  wait_http "agent metrics" http://127.0.0.1:9464/metrics
  cat <<DONE

Palisade is running:
  cloud   http://localhost:8808 on the host (first admin's password:
          sudo journalctl -u palisade-cloud | grep -i password)
  sample  http://localhost:8880 on the host, through the agent
  status  sudo systemctl status palisade-agent palisade-cloud
  tests   cd ~/palisade && sudo make test-e2e
DONE
}

wait_http() {
  local what=$1 url=$2
  for _ in $(seq 60); do
    curl -fsS -o /dev/null "$url" && return 0
    sleep 1
  done
  echo "provision: $what did not answer at $url" >&2
  systemctl --no-pager status palisade-cloud palisade-agent >&2 || true
  return 1
}

for s in "${steps[@]}"; do
  case $s in
  deps | go | build | install | configure | start) "step_$s" ;;
  *) echo "provision: unknown step $s" >&2; exit 2 ;;
  esac
done
