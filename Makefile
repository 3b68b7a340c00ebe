# Palisade build and test entry points. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/palisadewaf/palisade/agent/version.Version=$(VERSION) -X main.version=$(VERSION)
# Tools the tests need; `make test` runs `make deps` when one is missing.
NEEDED_TOOLS := clang llvm-strip bpftool ip nft ping curl pg_ctlcluster wrk
export PATH := $(PATH):$(shell $(GO) env GOPATH)/bin

.PHONY: help deps generate check-generated build test test-unit test-e2e fuzz bench lint demo demo-down clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

deps: ## install build and test dependencies (Debian/Ubuntu, idempotent)
	bash tools/ci/deps.sh

generate: ## regenerate BPF objects and Go bindings (bpf2go)
	$(GO) generate ./bpf/...

check-generated: generate ## fail when committed generated files differ from a fresh generate
	@if ! git diff --exit-code --stat -- bpf/; then \
	  echo "generated BPF files differ from the committed ones: run 'make generate' and commit"; exit 1; fi

build: ## build the three binaries into bin/
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

test: ## everything CI checks: deps, generated files, lint, unit, BPF, e2e, short fuzz
	@for t in $(NEEDED_TOOLS); do command -v $$t >/dev/null || { echo "missing $$t: running make deps"; $(MAKE) deps; break; }; done
	@command -v staticcheck >/dev/null || $(MAKE) deps
	$(MAKE) check-generated
	$(MAKE) lint
	$(MAKE) build
	$(MAKE) test-unit
	$(MAKE) test-e2e
	$(MAKE) fuzz

test-unit: ## unit, BPF (BPF_PROG_TEST_RUN) and store tests
	source tools/ci/test-env.sh && $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /test/)

test-e2e: build ## end-to-end tests in network-namespace labs (root)
	source tools/ci/test-env.sh && PALISADE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m -p 1 ./test/...

FUZZTIME ?= 10s
fuzz: ## a short run of every fuzz target
	@bash tools/ci/fuzz.sh $(FUZZTIME)

bench: ## benchmarks (see docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: build ## the main job: cloud + agent protecting a sample app in a lab, a scripted attack, a summary (root)
	$(GO) run ./tools/demo -bin $(BIN) -state .demo

demo-down: ## stop a demo started from another shell and remove what it left
	@if [ -f .demo/demo.pid ] && kill -TERM $$(cat .demo/demo.pid) 2>/dev/null; then \
	  echo "demo stopping"; while [ -f .demo/demo.pid ]; do sleep 0.2; done; \
	else \
	  for ns in $$(ip netns list | awk '/^pdemo-/{print $$1}'); do ip netns delete $$ns; done; \
	  [ -x $(BIN)/palisade-agent ] && $(BIN)/palisade-agent --detach --config .demo/agent.yaml || true; \
	fi

lint: ## go vet + staticcheck
	$(GO) vet ./...
	staticcheck ./...

clean:
	rm -rf $(BIN)

# Operations (docs/OPERATIONS.md): Debian packages built with nfpm.
NEEDED_TOOLS += debootstrap promtool prometheus vagrant systemd-analyze
DEB_COMMITS := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
.PHONY: package
package: build ## build the .deb packages (palisade-agent, palisade-cloud, palisadectl) into dist/
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) \
	  $(GO) run ./tools/packaging -bin $(BIN) -out dist -version '$(VERSION)' -commits $(DEB_COMMITS)
