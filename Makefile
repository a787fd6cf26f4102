# lvsctl — build, test and demo. `make help` lists the targets.
#
# `make test` works as root on a fresh Debian 12 that has Swift: it installs the Debian packages the
# build and the lab need, builds, runs the unit tests on this machine, then runs the real-kernel
# suite where IPVS exists (here, or else in a QEMU guest: see Tests/Lab/README.md).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Swift is installed under /opt/swift on the project's machines; a non-login shell may not have it
# on PATH yet.
ifeq ($(shell command -v swift 2>/dev/null),)
ifneq ($(wildcard /opt/swift/usr/bin/swift),)
export PATH := $(PATH):/opt/swift/usr/bin
endif
endif

SWIFT ?= swift
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DESTDIR ?=

# Build: pkg-config + libnl (netlink), libsqlite3 (store). Lab and tests: ipvsadm, keepalived, iproute2, curl (run by
# the kernel tests), qemu-system-x86, busybox-static, kmod, cpio (the guest),
# python3-prometheus-client (the daemon tests parse /metrics with Prometheus' own parser),
# python3-jsonschema (the manifests and the golden machine output are validated against Manifests/*.schema.json),
# bird2 (the BGP speaker lvsctl configures: its parser checks rendered configs; the ECMP tests run it),
# openssh-server and openssh-client (the rollout tests run sshd per director; disable the host's own ssh service).
DEB_PACKAGES := pkg-config libnl-3-dev libnl-genl-3-dev libsqlite3-dev ipvsadm keepalived \
	iproute2 curl qemu-system-x86 busybox-static kmod cpio python3-prometheus-client python3-jsonschema bird2 \
	openssh-server openssh-client

.PHONY: help deps build test unit-test kernel-test demo bench docs install clean

help: ## List the targets
	@echo "lvsctl make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
	@echo "Variables: PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) MANDIR=$(MANDIR) SWIFT=$(SWIFT); lab settings: Tests/Lab/README.md"

deps: ## Install the Debian packages the build and tests need (only missing ones); check for swift
	@missing=(); \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$$p"); \
	done; \
	if [ $${#missing[@]} -gt 0 ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "deps: missing Debian packages: $${missing[*]}; install them as root (apt-get install $${missing[*]}) or run 'make deps' as root" >&2; exit 1; \
	  fi; \
	  echo "deps: installing $${missing[*]}"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$${missing[@]}" >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "deps: '$(SWIFT)' is not on PATH. Install Swift 6.3 (on the project's machines it is in /opt/swift/usr/bin: export PATH=\$$PATH:/opt/swift/usr/bin)" >&2; exit 1; }
	@echo "deps: ok ($$($(SWIFT) --version 2>/dev/null | head -n 1))"

build: deps ## Build lvsctl (debug)
	$(SWIFT) build

RESULTS := .build/lab
# The whole real-kernel suite runs in one guest boot: the director pair, cut-over, rollout (four
# sshd) and BGP (BIRD on a router and three directors) suites take most of an hour in the
# emulated guest, past the lab's 1800 s default for one guest.
KERNEL_SUITE_TIMEOUT := 4200

test: deps ## Unit tests on this machine, then the real-kernel suite (in the lab guest if needed)
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual
	mkdir -p $(RESULTS) && rm -f $(RESULTS)/unit*.xml $(RESULTS)/kernel-tests.xml
	$(SWIFT) test --skip-build --skip LVSRealKernelTests --xunit-output $(RESULTS)/unit.xml
	LVSCTL_LAB_TIMEOUT=$${LVSCTL_LAB_TIMEOUT:-$(KERNEL_SUITE_TIMEOUT)} Tests/Lab/run-kernel-tests
	@read -r u uf us < <(Tests/Lab/xunit-count $(RESULTS)/unit*.xml); \
	read -r k kf ks < <(Tests/Lab/xunit-count $(RESULTS)/kernel-tests.xml); \
	echo "unit tests: $$u passed, $$uf failed; kernel tests: $$k passed, $$kf failed"; \
	echo "tests: $$((u + k)) passed, $$((uf + kf)) failed"

unit-test: deps ## Unit tests only (no kernel, no root)
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual
	$(SWIFT) test --skip-build --skip LVSRealKernelTests

kernel-test: deps ## The real-kernel suite only (in the lab guest if this kernel lacks IPVS)
	$(SWIFT) build --build-tests
	LVSCTL_LAB_TIMEOUT=$${LVSCTL_LAB_TIMEOUT:-$(KERNEL_SUITE_TIMEOUT)} Tests/Lab/run-kernel-tests

demo: deps build ## Load-balance HTTP between two real servers with lvsctl (in the lab guest if needed)
	Tests/Lab/demo.sh

bench: deps ## Benchmark lvsctl against ipvsadm (release build; in the lab guest if needed): Tests/Bench/README.md
	Tests/Bench/run

MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

DOCS := .build/docs

# Man pages and completions: Tools/make-docs (one recipe for `docs`, `install` and DocsTests).
define make-docs
Tools/make-docs "$(1)" "$(2)" $(DOCS)
endef

docs: ## Generate the man pages and shell completions (of the debug build) into .build/docs
	$(SWIFT) build --product lvsctl
	$(SWIFT) build --product generate-manual
	$(call make-docs,$$($(SWIFT) build --show-bin-path)/lvsctl,$$($(SWIFT) build --show-bin-path)/generate-manual)
	@echo "docs: $$(ls $(DOCS)/man8 | wc -l) man pages in $(DOCS)/man8 (man -l $(DOCS)/man8/lvsctl.8), completions in $(DOCS)/completions"

install: deps ## Install the release binary, its man pages, shell completions, the systemd unit and an example daemon.json
	$(SWIFT) build -c release --product lvsctl --static-swift-stdlib
	install -D -m 0755 "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/lvsctl" "$(DESTDIR)$(SBINDIR)/lvsctl"
	@echo "installed $(DESTDIR)$(SBINDIR)/lvsctl"
	$(SWIFT) build -c release --product generate-manual
	$(call make-docs,$(DESTDIR)$(SBINDIR)/lvsctl,$$($(SWIFT) build -c release --show-bin-path)/generate-manual)
	install -d "$(DESTDIR)$(MANDIR)/man8" && install -m 0644 $(DOCS)/man8/*.8 "$(DESTDIR)$(MANDIR)/man8/"
	@echo "installed $$(ls $(DOCS)/man8 | wc -l) man pages in $(DESTDIR)$(MANDIR)/man8"
	install -D -m 0644 $(DOCS)/completions/lvsctl.bash "$(DESTDIR)$(BASHCOMPDIR)/lvsctl"
	install -D -m 0644 $(DOCS)/completions/_lvsctl "$(DESTDIR)$(ZSHCOMPDIR)/_lvsctl"
	install -D -m 0644 $(DOCS)/completions/lvsctl.fish "$(DESTDIR)$(FISHCOMPDIR)/lvsctl.fish"
	@echo "installed completions for bash, zsh and fish under $(DESTDIR)$(PREFIX)/share"
	sed 's|/usr/local/sbin/lvsctl|$(SBINDIR)/lvsctl|' Sources/lvsctl/systemd/lvsctl.service > .build/lvsctl.service
	install -D -m 0644 .build/lvsctl.service "$(DESTDIR)/lib/systemd/system/lvsctl.service"
	install -D -m 0644 Sources/lvsctl/systemd/lvsctl-keepalived.service "$(DESTDIR)/lib/systemd/system/lvsctl-keepalived.service"
	install -D -m 0644 Sources/lvsctl/systemd/daemon.json.example "$(DESTDIR)/etc/lvsctl/daemon.json.example"
	install -D -m 0644 Sources/lvsctl/systemd/lvsctl-bird.service "$(DESTDIR)/lib/systemd/system/lvsctl-bird.service"
	@# The daemon refuses a missing config: install the defaults, never over an existing one.
	[ -e "$(DESTDIR)/etc/lvsctl/daemon.json" ] || install -D -m 0644 Sources/lvsctl/systemd/daemon.json "$(DESTDIR)/etc/lvsctl/daemon.json"
	@echo "installed $(DESTDIR)/lib/systemd/system/lvsctl.service, lvsctl-keepalived.service, lvsctl-bird.service, $(DESTDIR)/etc/lvsctl/daemon.json.example (and daemon.json if there was none)"

clean: ## Remove build products (the lab's kernel cache stays; see Tests/Lab/README.md)
	rm -rf .build
